"""``soxauto close`` end to end on a small generated lake (scale 0.01, 2025-08 and 2025-09):
the summary and reconciliation agree with ``soxauto recon``; evidence, run store, audit log and
reports are written; a rerun chains to the previous run and names the changed fingerprints;
a resume redoes exactly the steps that are not done or whose evidence no longer verifies;
concurrent closes of one period and entity are refused or wait, other periods run alongside."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from closekit import figures, fingerprints, make_lake, pg_database, read_json

from soxauto.cli import run
from soxauto.close import audit, lock
from soxauto.close.store import RunStore
from soxauto.evidence import trusted_keys, verify_store

ENTITY = "HF_SN"
ITEMS = ["CR_03", "CR_04", "CR_05", "CR_06", "IPE_07", "IPE_08", "IPE_09", "IPE_10", "IPE_11", "IPE_12", "IPE_31", "IPE_34", "JDASH"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    return make_lake(tmp_path_factory.mktemp("lake") / "lake", first=(2025, 8), periods=2)


def close(capsys, *argv: str) -> tuple[int, dict]:
    code = run(["close", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def store_of(home: Path) -> RunStore:
    return RunStore(f"sqlite:///{home / 'runs.sqlite'}")


def test_close_matches_recon_and_writes_everything(lake, capsys, isolated_home):
    code, summary = close(capsys, "--lake", str(lake), "--period", "2025-09", "--entities", ENTITY, "JM_EG")
    assert run(["recon", "--lake", str(lake), "--period", "2025-09", "--entity", ENTITY, "--entity", "JM_EG", "--json"]) == code
    recon = json.loads(capsys.readouterr().out)
    assert figures(summary["reconciliation"]) == figures(recon)
    assert summary["reconciliation"]["summary"] == recon["summary"]
    assert summary["reconciliation"]["control_reports"]["CR_01"][0]["entity"] == ENTITY
    assert summary["status"] == "completed" and summary["exit_code"] == code and summary["attempts"] == 1
    assert summary["entities"] == [ENTITY, "JM_EG"]
    assert sorted(fingerprints(summary)) == sorted(f"{i}_{e}_202509" for i in ITEMS for e in (ENTITY, "JM_EG"))
    assert [(s["entity"], s["stage"]) for s in summary["steps"] if s["stage"] == "reconcile"] == \
        [(ENTITY, "reconcile"), ("JM_EG", "reconcile")]
    assert set(summary["stages"]) == {"extract", "test", "evidence", "reconcile", "report", "wall_this_attempt"}
    assert summary["fingerprints"] == {"previous_run": None, "changed": [], "unchanged": 0, "new": sorted(fingerprints(summary))}
    folder = isolated_home / "reports" / summary["run_id"]
    assert sorted(p.name for p in folder.iterdir()) == ["items", "reconciliation.json", "report.html", "run.json", "summary.txt",
                                                        "workbook.xlsx"]
    assert figures(read_json(folder / "reconciliation.json")) == figures(recon)
    assert read_json(folder / "run.json")["run_id"] == summary["run_id"]
    text = (folder / "summary.txt").read_text()
    assert f"Close 2025-09  run {summary['run_id']}: completed" in text and "│ HF_SN  │ 13/13 │" in text
    report = verify_store(isolated_home / "evidence", trusted_keys(isolated_home / "evidence"))
    assert report.ok and report.ledger_entries == 26
    # CR_06 per entity: tested, and bound with the entity's horizon and the pack's window end
    for entity in (ENTITY, "JM_EG"):
        package = isolated_home / "evidence" / f"CR_06_{entity}_202509"
        bound = read_json(package / "parameters.json")
        assert bound["parameters"]["window_end"] == "2025-11-14" and bound["types"]["horizon"] == "date"
        assert bound["parameters"]["horizon"] >= "2025-09-30"
        results = {r["rule_id"]: r["outcome"] for r in read_json(package / "tests.json")["results"]}
        assert results["CR_06.tie_out"] == "passed" and len(results) == 8
    ledger = [json.loads(x) for x in (isolated_home / "evidence" / "ledger.jsonl").read_text().splitlines()]
    assert {e["run_id"] for e in ledger} == {summary["run_id"]}  # packages carry the close's run id
    runs = store_of(isolated_home)
    assert runs.run(summary["run_id"])["status"] == "completed"
    entries = audit.entries(runs.engine)
    assert [e.action for e in entries if not e.action.startswith("signoff.")] == ["run.start", "run.finish"]
    # as the close ended, the system prepared each auto-certified line (docs/signoff.md)
    auto = [ln for ln in summary["reconciliation"]["lines"] if ln["auto_certified"]]
    assert [(e.user, e.action, e.detail["line"]) for e in entries if e.action.startswith("signoff.")] == \
        [("soxauto", "signoff.prepare", ln["line"]) for ln in auto]
    assert lock.holders(runs.engine) == []
    runs.close()


def test_the_tests_source_batches_run_before_the_workers_once_each(lake, capsys, isolated_home, monkeypatch):
    import threading

    from soxauto.validation import shared

    ran: list[str] = []
    real = shared._run

    def spy(engine, query, values, entities):
        ran.append(threading.current_thread().name)
        return real(engine, query, values, entities)

    monkeypatch.setattr(shared, "_run", spy)
    from soxauto.close import run as close_run

    prepare = close_run.prepare_sources  # reports 10 s more than it took, to see how it is counted
    monkeypatch.setattr(close_run, "prepare_sources", lambda *a: prepare(*a) + 10.0)
    code = run(["close", "--lake", str(lake), "--period", "2025-09", "--entities", ENTITY, "JM_EG", "-j", "2", "--json"])
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert code == summary["exit_code"] and summary["tests"]["errored"] == 0
    # the two workers waited for the batches: in the stages' worker-seconds they count twice
    assert 20.0 < summary["stages"]["test"] < 30.0
    # every batch ran once, on the main thread before the workers started; none in a worker
    assert ran and set(ran) == {"MainThread"}
    assert f"tests' source queries: {len(ran)} batch(es) for 2 entities" in captured.err
    # and the evidence names the batch a worker's test read
    tests = read_json(isolated_home / "evidence" / "CR_04_JM_EG_202509" / "tests.json")
    tie_out = next(r for r in tests["results"] if r["kind"] == "source_tie_out")
    assert "CROSS JOIN LATERAL" in tie_out["shared"][0]["sql"] and tie_out["outcome"] == "passed"


def test_rerun_chains_to_the_previous_run_and_names_changed_fingerprints(lake, capsys, isolated_home, tmp_path):
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)
    args = ["--lake", str(copy), "--period", "2025-09", "--entities", ENTITY]
    _, first = close(capsys, *args)
    _, second = close(capsys, *args)
    assert second["run_id"] != first["run_id"]
    assert second["fingerprints"] == {"previous_run": first["run_id"], "changed": [], "unchanged": 13, "new": []}
    before = {s["evidence_id"]: s["manifest_sha256"] for s in first["steps"] if s["evidence_id"]}
    for s in second["steps"]:
        if s["evidence_id"]:
            manifest = read_json(isolated_home / "evidence" / s["evidence_id"] / "manifest.json")
            assert manifest["supersedes_manifest_sha256"] == before[s["evidence_id"]]
    usage = copy / "jdash" / "voucher_usage" / f"{ENTITY}.parquet"
    table = pq.read_table(usage)
    first = next(n for n, t in enumerate(table.column("used_at").to_pylist()) if t < datetime(2025, 10, 1))
    fewer = pa.concat_tables([table.slice(0, first), table.slice(first + 1)])
    pq.write_table(fewer, usage)  # one usage row of the period fewer in JDASH
    _, third = close(capsys, *args)
    jdash = f"JDASH_{ENTITY}_202509"
    assert third["fingerprints"]["previous_run"] == second["run_id"]
    assert [c["evidence_id"] for c in third["fingerprints"]["changed"]] == [jdash]
    assert third["fingerprints"]["changed"][0]["before"] == fingerprints(second)[jdash] != fingerprints(third)[jdash]
    assert third["fingerprints"]["unchanged"] == 12
    assert verify_store(isolated_home / "evidence", trusted_keys(isolated_home / "evidence")).ok


def test_resume_redoes_only_what_is_not_done_or_no_longer_verifies(lake, capsys, isolated_home):
    code, full = close(capsys, "--lake", str(lake), "--period", "2025-09", "--entities", ENTITY)
    run_id = full["run_id"]
    runs = store_of(isolated_home)
    # The state a crash leaves: the run still "running", one step never finished, the
    # reconciliation not done; and meanwhile one committed package was altered on disk.
    runs.update_run(run_id, status="running")
    runs.reset_step(run_id, ENTITY, "evidence", "IPE_10", "simulated crash")
    runs.reset_step(run_id, ENTITY, "reconcile", "", "simulated crash")
    with runs.engine.begin() as con:
        con.execute(sa.text("DELETE FROM recon_results"))
    tampered = isolated_home / "evidence" / f"IPE_31_{ENTITY}_202509" / "data.csv"
    tampered.write_bytes(tampered.read_bytes().replace(b",", b";", 1))
    runs.close()
    capsys.readouterr()
    code2 = run(["close", "--resume", run_id, "--json"])  # the lake is the one the run recorded
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert code2 == code and summary["run_id"] == run_id and summary["attempts"] == 2
    assert f"{ENTITY} IPE_31: its package at " in captured.err and "no longer verifies; doing it again" in captured.err
    assert "1 entities, 2 evidence steps and 1 reconciliations to do" in captured.err
    # the tests' source batches are prepared for the items redone only (one tie-out each)
    assert "tests' source queries: 2 batch(es) for 1 entities" in captured.err
    redone = {s["item"] for s in summary["steps"] if s["ledger_seq"] and s["ledger_seq"] > 13}
    assert redone == {"IPE_10", "IPE_31"}
    assert figures(summary["reconciliation"]) == figures(full["reconciliation"])
    assert fingerprints(summary) == fingerprints(full)
    assert verify_store(isolated_home / "evidence", trusted_keys(isolated_home / "evidence")).packages


def test_resume_refusals(lake, capsys, isolated_home):
    _, done = close(capsys, "--lake", str(lake), "--period", "2025-09", "--entities", ENTITY)
    assert run(["close", "--resume", "nope"]) == 3
    assert "no run nope in the run store" in capsys.readouterr().err
    assert run(["close", "--resume", done["run_id"], "--period", "2025-08"]) == 3
    assert f"run {done['run_id']} closes 2025-09, not 2025-08" in capsys.readouterr().err
    assert run(["close", "--resume", done["run_id"], "--lake", str(isolated_home)]) == 3
    assert f"was started from lake:{lake}" in capsys.readouterr().err
    assert run(["close", "--resume", done["run_id"]]) == done["exit_code"]
    assert f"run {done['run_id']} is already completed; nothing to resume" in capsys.readouterr().err


def test_a_month_the_lake_has_no_balances_for_is_refused_before_a_run_starts(lake, capsys, isolated_home):
    # A typo or a month not loaded yet would close empty extracts whose tests all pass.
    assert run(["close", "--lake", str(lake), "--period", "2024-09"]) == 3
    assert ("the lake has no GL balances at 2024-09-30, so nothing to extract for 2024-09: "
            "nav.gl_balances has month-ends from 2025-08-31 to 2025-09-30") in capsys.readouterr().err
    assert not (isolated_home / "runs.sqlite").exists() or store_of(isolated_home).runs() == []
    assert not (isolated_home / "evidence").exists()


def test_a_failed_step_fails_the_run_and_resume_finishes_it(lake, capsys, isolated_home, tmp_path):
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)
    moved = tmp_path / "voucher_usage"
    shutil.move(copy / "jdash" / "voucher_usage", moved)
    code, summary = close(capsys, "--lake", str(copy), "--period", "2025-09", "--entities", ENTITY)
    failed = [(s["item"], s["status"]) for s in summary["steps"] if s["status"] != "done"]
    assert failed == [("", "blocked"), ("JDASH", "failed")] or failed == [("JDASH", "failed"), ("", "blocked")]
    assert summary["status"] == "failed" and code == 3  # the lake breaks its contract: a configuration error
    assert "jdash.voucher_usage: folder" in next(s["error"] for s in summary["steps"] if s["item"] == "JDASH")
    shutil.move(moved, copy / "jdash" / "voucher_usage")
    code, resumed = close(capsys, "--resume", summary["run_id"])
    assert resumed["status"] == "completed" and all(s["status"] == "done" for s in resumed["steps"])
    assert len(resumed["reconciliation"]["lines"]) == 7


def test_same_period_and_entity_is_refused_other_periods_run_alongside(lake, capsys, isolated_home):
    runs = store_of(isolated_home)
    lock.acquire(runs.engine, "2025-09", [ENTITY], "HOLDER-RUN")
    holder = lock.holders(runs.engine)[0]
    assert run(["close", "--lake", str(lake), "--period", "2025-09", "--entities", ENTITY, "JM_EG"]) == 4
    err = capsys.readouterr().err
    assert f"run HOLDER-RUN (pid {os.getpid()} on {holder.host}, started {holder.acquired_at}) is closing 2025-09 for {ENTITY}" in err
    code, other = close(capsys, "--lake", str(lake), "--period", "2025-08", "--entities", ENTITY)
    assert other["status"] == "completed" and other["period"] == "2025-08"
    assert [h.run_id for h in lock.holders(runs.engine)] == ["HOLDER-RUN"]  # held all along
    refused = [r for r in runs.runs() if r["period"] == "2025-09"]
    assert refused == []  # a refused close leaves no run behind
    lock.release(runs.engine, "HOLDER-RUN")
    runs.close()


def test_wait_waits_for_the_running_close(lake, isolated_home, tmp_path):
    runs = store_of(isolated_home)
    lock.acquire(runs.engine, "2025-09", [ENTITY], "HOLDER-RUN")
    err = tmp_path / "err.txt"
    with open(err, "w") as fe:
        proc = subprocess.Popen([sys.executable, "-c", "from soxauto.cli import main; main()", "close", "--lake", str(lake),
                                 "--period", "2025-09", "--entities", ENTITY, "--wait", "--json"],
                                stdout=subprocess.PIPE, stderr=fe, text=True)
        deadline = time.monotonic() + 60
        while "waiting: run HOLDER-RUN" not in err.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, err.read_text()
            time.sleep(0.05)
        time.sleep(0.3)
        assert proc.poll() is None and runs.runs() == []  # still waiting, nothing started
        lock.release(runs.engine, "HOLDER-RUN")
        out, _ = proc.communicate(timeout=120)
    summary = json.loads(out)
    assert summary["status"] == "completed" and proc.returncode == summary["exit_code"]
    assert f"(pid {os.getpid()} on " in err.read_text()
    runs.close()


def test_close_with_the_run_store_on_postgresql(lake, capsys, isolated_home, monkeypatch, pg_url):
    url = pg_database(pg_url, f"close_{os.getpid()}")
    monkeypatch.setenv("SOXAUTO_RUN_STORE", url)
    _, first = close(capsys, "--lake", str(lake), "--period", "2025-09", "--entities", ENTITY)
    _, second = close(capsys, "--lake", str(lake), "--period", "2025-09", "--entities", ENTITY)
    assert first["run_store"] == url and second["fingerprints"]["previous_run"] == first["run_id"]
    assert second["fingerprints"]["unchanged"] == 13
    assert not (isolated_home / "runs.sqlite").exists()
    runs = RunStore(url)
    assert [(r["id"], r["status"]) for r in runs.runs("2025-09")] == [(first["run_id"], "completed"), (second["run_id"], "completed")]
    lines = runs.recon_lines(second["run_id"])[ENTITY]
    assert [ln["line"] for ln in lines] == [ln["line"] for ln in second["reconciliation"]["lines"]]
    assert figures({"lines": lines}) == figures(second["reconciliation"])
    actions = [e.action for e in audit.entries(runs.engine)]
    assert [a for a in actions if a != "signoff.prepare"] == ["run.start", "run.finish"] * 2  # and the system's
    assert audit.verify(runs.engine) == []  # preparations of auto-certified lines after the first close only
    runs.close()
