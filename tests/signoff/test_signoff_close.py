"""Sign-off against real closes of a small generated lake, through the CLI: a rerun whose data
changed for one line's evidence suspends that line's sign-off and no other; a fully approved
period is locked, its close refused (exit 3) until an admin unlocks it with a reason."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from close.closekit import make_lake

from soxauto.auth import LocalUsers
from soxauto.cli import run
from soxauto.close import audit
from soxauto.close.store import RunStore

ENTITY = "HF_SN"
P = "2025-09"
LINES = ["CUSTOMER_AR", "COLLECTIONS", "VOUCHERS", "PREPAYMENTS", "MPL_REFUNDS", "PACKAGES", "SC_ACCRUED"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    return make_lake(tmp_path_factory.mktemp("lake") / "lake", first=(2025, 9), periods=1)


@pytest.fixture
def team(isolated_home, monkeypatch):
    """A preparer, a reviewer and an admin in the product home's run store; closes run as 'closer'."""
    monkeypatch.setenv("SOXAUTO_USER", "closer")
    runs = RunStore(f"sqlite:///{isolated_home / 'runs.sqlite'}")
    users = LocalUsers(runs, actor="setup")
    users.add("pat", ["preparer"])
    users.add("rita", ["reviewer"])
    users.add("ada", ["admin"])
    runs.close()


def close(capsys, lake: Path) -> tuple[int, dict, str]:
    code = run(["close", "--lake", str(lake), "--period", P, "--entities", ENTITY, "--json"])
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out.strip() else {}, out.err


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def status(capsys) -> dict:
    code, out, _ = cli(capsys, "signoff", "status", P, "--json", "--user", "rita")
    assert code == 0
    doc = json.loads(out)
    return {"locked": doc["locked"], **{r["line"]: r["state"] for r in doc["lines"]}}


def sign(capsys, line: str) -> None:
    assert cli(capsys, "signoff", "prepare", P, ENTITY, line, "--comment", "tied out", "--user", "pat")[0] == 0
    assert cli(capsys, "signoff", "approve", P, ENTITY, line, "--user", "rita", "--comment", "agreed")[0] == 0


def test_a_rerun_that_changes_one_items_data_suspends_only_the_lines_relying_on_it(lake, capsys, team, isolated_home, tmp_path):
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)
    _, first, _ = close(capsys, copy)
    sign(capsys, "CUSTOMER_AR")
    sign(capsys, "VOUCHERS")
    code, out, err = cli(capsys, "signoff", "approve", P, ENTITY, "COLLECTIONS", "--user", "pat")
    assert code == 3 and "pat (preparer) may not do this: it needs the role reviewer" in err
    # One detailed customer ledger entry of the period less: IPE_07 (customer receivables) changes.
    source = copy / "nav" / "detailed_customer_ledger_entries" / f"{ENTITY}.parquet"
    table = pq.read_table(source)
    n = next(i for i, d in enumerate(table.column("posting_date").to_pylist()) if d <= date(2025, 9, 30))
    pq.write_table(pa.concat_tables([table.slice(0, n), table.slice(n + 1)]), source)
    _, second, _ = close(capsys, copy)
    assert [c["evidence_id"] for c in second["fingerprints"]["changed"]] == [f"IPE_07_{ENTITY}_202509"]
    # An auto-certified line is prepared by the system as each close ends (docs/signoff.md).
    auto = {ln["line"] for ln in first["reconciliation"]["lines"] if ln["auto_certified"]}
    auto_after = "CUSTOMER_AR" in {ln["line"] for ln in second["reconciliation"]["lines"] if ln["auto_certified"]}
    states = status(capsys)
    assert {k: states[k] for k in ("CUSTOMER_AR", "VOUCHERS", "COLLECTIONS")} == \
        {"CUSTOMER_AR": "prepared" if auto_after else "suspended", "VOUCHERS": "approved",
         "COLLECTIONS": "prepared" if "COLLECTIONS" in auto else "unsigned"}
    code, out, _ = cli(capsys, "signoff", "history", P, "--entity", ENTITY, "--line", "CUSTOMER_AR", "--json", "--user", "ada")
    events = json.loads(out)["events"]
    assert [(e["action"], e["user"], e["run_id"]) for e in events if e["user"] != "soxauto"] == \
        [("prepare", "pat", first["run_id"]), ("approve", "rita", first["run_id"]), ("suspend", "closer", second["run_id"])]
    assert [(e["action"], e["run_id"]) for e in events if e["user"] == "soxauto"] == \
        [("prepare", first["run_id"])] * ("CUSTOMER_AR" in auto) + [("redo", second["run_id"])] * auto_after
    suspend = next(e for e in events if e["action"] == "suspend")
    assert suspend["comment"].startswith(f"run {second['run_id']} changed what the sign-off relied on: IPE_07_{ENTITY}_202509 fingerprint ")
    relied = next(e for e in events if e["user"] == "pat")["evidence"]
    assert sorted(relied) == [f"{i}_{ENTITY}_202509" for i in ("CR_03", "CR_04", "CR_05", "CR_06", "IPE_07")]
    steps = {s["evidence_id"]: s["manifest_sha256"] for s in first["steps"] if s["evidence_id"]}
    assert relied == {k: steps[k] for k in relied}  # the first run's packages, by manifest hash
    assert cli(capsys, "signoff", "prepare", P, ENTITY, "CUSTOMER_AR", "--user", "pat")[0] == 0
    code, out, _ = cli(capsys, "signoff", "history", P, "--entity", ENTITY, "--line", "CUSTOMER_AR", "--user", "ada")
    assert [line.split()[2] for line in out.splitlines() if line.split()[5] != "soxauto"] == \
        ["prepare", "approve", "suspend", "prepare" if auto_after else "redo"]
    runs = RunStore(f"sqlite:///{isolated_home / 'runs.sqlite'}")
    actions = [e.action for e in audit.entries(runs.engine)]
    runs.close()
    finishes = [n for n, a in enumerate(actions) if a == "run.finish"]
    assert actions.count("signoff.suspend") == 1 and actions[-1] == ("signoff.prepare" if auto_after else "signoff.redo")
    assert len(finishes) == 2 and actions.index("signoff.suspend") == finishes[1] + 1  # written as the rerun ends


def test_a_locked_period_is_refused_until_an_admin_unlocks_it(lake, capsys, team, isolated_home):
    code1, first, _ = close(capsys, lake)
    for line in LINES:
        sign(capsys, line)
    assert status(capsys)["locked"]["locked_by"] == "rita"
    code, summary, err = close(capsys, lake)
    assert code == 3 and summary == {}
    assert f"period {P} is locked since " in err and "every line was approved (by rita)" in err
    assert f"soxauto signoff unlock {P} --reason" in err
    runs = RunStore(f"sqlite:///{isolated_home / 'runs.sqlite'}")
    assert [r["id"] for r in runs.runs(P)] == [first["run_id"]]  # the refused close made no run
    runs.close()
    code, _, err = cli(capsys, "signoff", "unlock", P, "--reason", "late journal", "--user", "rita")
    assert code == 3 and "needs the role admin" in err
    code, out, _ = cli(capsys, "signoff", "unlock", P, "--reason", "late journal", "--user", "ada")
    assert code == 0 and out.startswith(f"unlock {P} by ada at ") and out.endswith(": late journal\n")
    assert status(capsys)["locked"] is None
    code2, second, _ = close(capsys, lake)
    assert code2 == code1 and second["run_id"] != first["run_id"]
    # the same data: nothing suspended, every line still approved, so the period is locked again
    states = status(capsys)
    assert all(states[line] == "approved" for line in LINES)
    assert states["locked"]["run_id"] == second["run_id"]
    assert close(capsys, lake)[0] == 3
    code, out, _ = cli(capsys, "signoff", "history", P, "--json", "--user", "pat")
    period_events = [(e["action"], e["user"]) for e in json.loads(out)["events"] if e["entity"] is None]
    assert period_events[0] == ("lock", "rita") and period_events[1] == ("unlock", "ada") and period_events[2][0] == "lock"
