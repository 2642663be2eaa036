"""Dispositions on a completed close (close.dispositions): a good one is recorded and revises its
line at once, figure for figure; every bad one is refused with why, written to the audit log,
and changes nothing (no disposition, no revision, no stored attachment)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from dispokit import ENTITY, OTHER_PREPARER, PREPARER, REVIEWER, RUN, close_by_hand, reopen

from soxauto.auth import Forbidden
from soxauto.cli import run
from soxauto.close import audit
from soxauto.close.attachment import display_name, read_stored
from soxauto.close.dispositions import DispositionSpec, history, in_force, note_suspended, record, recorders, withdraw
from soxauto.close.lock import LockedError, acquire, release
from soxauto.errors import ConflictError, UsageError


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The hand-built close, made once per module; each test gets its own copy (``closed``)."""
    root = tmp_path_factory.mktemp("dispositions")
    close_by_hand(root / "home", root).runs.close()
    return root / "home"


@pytest.fixture
def closed(template, isolated_home):
    import shutil

    shutil.copytree(template, isolated_home, dirs_exist_ok=True)
    world = reopen(isolated_home)
    yield world
    world.runs.close()


def spec(key="P3", bridge="NOT_IN_TV", kind="explained", reason="seller credit note 118, received 2025-10-03", **kw):
    return DispositionSpec("2025-09", ENTITY, kw.pop("line", "PACKAGES"), key, bridge, kind, reason, **kw)


def put(world, what, who=PREPARER, locked=False, max_bytes=1024):
    return record(world.runs, who, what, locked=locked, reports=world.reports, attachment_dir=world.attachments,
                  max_bytes=max_bytes)


def state(world) -> dict:
    """Everything a disposition may change."""
    from sqlalchemy import select

    from soxauto.close.dispositions import dispositions
    from soxauto.close.store import recon_revisions

    with world.runs.engine.connect() as con:
        rows = con.execute(select(dispositions)).all()
        revisions = con.execute(select(recon_revisions)).all()
    stored = sorted(p.name for p in world.attachments.iterdir()) if world.attachments.exists() else []
    return {"dispositions": len(rows), "revisions": len(revisions), "lines": world.runs.recon_lines(RUN), "files": stored}


def test_an_explained_disposition_revises_the_line_at_once(closed):
    before = closed.line()
    assert (before["status"], before["reasons"], before["unresolved_lcy"], before["resolved_lcy"]) == (
        "INVESTIGATE", ["MATERIAL_ITEM_UNRESOLVED"], "40.00", "100.00")
    done = put(closed, spec())
    d, after = done["disposition"], closed.line()
    # P3's 30.00 is resolved; P4's 10.00 is left: under the bucket (50.00 NGN) and the line item (25.00 NGN)
    assert (after["status"], after["reasons"], after["reason"], after["unresolved_lcy"], after["unresolved_usd"],
            after["resolved_lcy"], after["resolved_usd"]) == ("RECONCILED", [], "", "10.00", "200.00", "130.00", "2600.00")
    assert after["variance_lcy"] == before["variance_lcy"] and after["bridges"] == before["bridges"]
    assert (after["revision"], after["revision_cause"]) == (1, {"disposition": d["id"], "sha256": d["sha256"]})
    assert after["reconciling_items"]["resolved"] == 1 and after["reconciling_items"]["unresolved"] == 1
    assert after == done["line"]
    assert (d["kind"], d["open_lcy"], d["recorded_by"], d["run_id"], d["state"], d["attachments"]) == (
        "explained", "30.00", "pat", RUN, "in force", [])
    (kept,) = in_force(closed.runs, "2025-09", ENTITY).values()
    assert (kept.id, kept.open_lcy, kept.sha256, kept.period, kept.reason) == (
        d["id"], Decimal("30.00"), d["sha256"], "2025-09", "seller credit note 118, received 2025-10-03")
    revisions = closed.runs.revisions(RUN, ENTITY, "PACKAGES")
    assert [(r["revision"], r["cause"]) for r in revisions] == [(0, None), (1, after["revision_cause"])]
    assert revisions[0]["detail"] == before and revisions[1]["detail"] == after
    # the run store's row moved with it; the other line did not
    from sqlalchemy import select

    from soxauto.close.store import recon_results

    with closed.runs.engine.connect() as con:
        rows = {r.line: (r.status, r.reason) for r in con.execute(select(recon_results))}
    assert rows == {"PACKAGES": ("RECONCILED", ""), "VOUCHERS": ("ERROR", "FX_RATE_MISSING")}
    (event,) = [e for e in audit.entries(closed.runs.engine) if e.action == "disposition.record"]
    assert (event.user, event.run_id, event.detail["id"], event.detail["sha256"], event.detail["revision"],
            event.detail["status"], event.detail["key"]) == ("pat", RUN, d["id"], d["sha256"], 1, "RECONCILED", "P3")
    assert audit.verify(closed.runs.engine) == []


def test_a_new_disposition_supersedes_and_a_withdrawal_undoes(closed):
    first = put(closed, spec())["disposition"]
    second = put(closed, spec(reason="credit note 118 and the seller's statement"), who=OTHER_PREPARER)
    assert second["revision"] == 2 and second["superseded"] == first["id"]
    rows = history(closed.runs, "2025-09", reports=closed.reports)
    assert [(r["id"], r["state"], r["superseded_by"], r.get("applies")) for r in rows] == [
        (first["id"], "superseded", second["disposition"]["id"], None), (second["disposition"]["id"], "in force", None, True)]
    assert [d.id for d in in_force(closed.runs, "2025-09", ENTITY).values()] == [second["disposition"]["id"]]
    assert recorders(closed.runs, "2025-09", ENTITY, "PACKAGES") == {"pat", "paula"}
    assert recorders(closed.runs, "2025-09", ENTITY, "VOUCHERS") == set()
    undone = withdraw(closed.runs, PREPARER, "2025-09", ENTITY, "PACKAGES", "P3", "NOT_IN_TV", "the note was for P4",
                      locked=False, reports=closed.reports)
    line = closed.line()
    assert (line["revision"], line["status"], line["unresolved_lcy"], line["revision_cause"]["withdrawn"]) == (
        3, "INVESTIGATE", "40.00", True)
    assert undone["disposition"]["state"] == "withdrawn" and in_force(closed.runs, "2025-09", ENTITY) == {}
    assert [e.action for e in audit.entries(closed.runs.engine) if e.action.startswith("disposition.")] == [
        "disposition.record", "disposition.record", "disposition.withdraw"]


def test_an_adjust_disposition_proposes_its_journal_for_the_open_amount(closed):
    done = put(closed, spec(key="P4", kind="adjust", reason="", amount="10.00",
                            journal={"debit": "60950", "credit": "13005", "description": "write off P4: lost parcel"}))
    line = closed.line()
    assert done["disposition"]["journal"] == {"debit": "60950", "credit": "13005", "description": "write off P4: lost parcel",
                                              "amount_lcy": "10.00"}
    assert [(j["source"], j["debit"], j["credit"], j["amount_lcy"], j["items"], j["disposition_id"]) for j in line["proposed_journals"]] == [
        ("adjust", "60950", "13005", "10.00", ["P4"], done["disposition"]["id"])]
    # P3 (30.00, material) is still open without a disposition
    assert (line["status"], line["reasons"], line["unresolved_lcy"]) == ("INVESTIGATE", ["MATERIAL_ITEM_UNRESOLVED"], "30.00")


def test_attachments_are_stored_once_by_content_and_listed_with_their_hash(closed, tmp_path):
    note = tmp_path / "credit note 118.pdf"
    note.write_bytes(b"%PDF credit note 118")
    done = put(closed, spec(attachments=(note, ("../../../etc/statement.csv", b"seller,amount\nS1,30.00\n"), ("copy.pdf", note.read_bytes()))))
    import hashlib

    pdf, csv = hashlib.sha256(note.read_bytes()).hexdigest(), hashlib.sha256(b"seller,amount\nS1,30.00\n").hexdigest()
    assert done["disposition"]["attachments"] == [{"name": "credit note 118.pdf", "sha256": pdf, "size": 20},
                                                  {"name": "statement.csv", "sha256": csv, "size": 23},
                                                  {"name": "copy.pdf", "sha256": pdf, "size": 20}]
    assert sorted(p.name for p in closed.attachments.iterdir()) == sorted([pdf, csv])  # the name is never a path
    assert read_stored(closed.attachments, csv) == b"seller,amount\nS1,30.00\n"
    assert not (closed.home.parent / "etc").exists()
    # the attachments are part of what the disposition's SHA-256 covers
    other = tmp_path / "other.pdf"
    other.write_bytes(b"%PDF another note")
    again = put(closed, spec(attachments=(other,)))
    assert again["disposition"]["sha256"] != done["disposition"]["sha256"]


@pytest.mark.parametrize("name", ["", ".", "..", "a/", "\x00"])
def test_an_attachment_name_without_a_file_name_is_refused(name):
    with pytest.raises(UsageError, match="has no file name"):
        display_name(name)


def _symlink(tmp: Path) -> Path:
    target = tmp / "secret.txt"
    target.write_text("not to be attached")
    link = tmp / "note.pdf"
    link.symlink_to(target)
    return link


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.pdf"
    os.mkfifo(path)
    return path


def _big(tmp: Path) -> Path:
    path = tmp / "scan.pdf"
    path.write_bytes(b"x" * 1025)  # the limit in these tests is 1024 bytes
    return path


REFUSED = [
    ("no such key", lambda t: spec(key="P9"), UsageError, "does not exist in run r1: the line has no item with key 'P9'"),
    ("wrong bridge", lambda t: spec(bridge="TIMING"), UsageError, "key P3 is an item of NOT_IN_TV"),
    ("no such line", lambda t: spec(line="PACKAGE"), UsageError, "no line 'PACKAGE' for EC_NG in run r1; did you mean 'PACKAGES'?"),
    ("not open", lambda t: spec(key="P1", bridge="TIMING"), ConflictError, "is not open in run r1 (state cleared"),
    ("line in error", lambda t: spec(line="VOUCHERS", key="V1", bridge="NOT_IN_TV"), ConflictError, "is in ERROR (FX_RATE_MISSING)"),
    ("no reason", lambda t: spec(reason="  "), UsageError, "an explained disposition needs a reason"),
    ("unknown kind", lambda t: spec(kind="explain"), UsageError, "not 'explain'; did you mean 'explained'?"),
    ("adjust without journal", lambda t: spec(kind="adjust", journal={"debit": "60950"}), UsageError,
     "needs its credit, description"),
    ("adjust amount differs", lambda t: spec(key="P4", kind="adjust", amount="12.00",
                                             journal={"debit": "60950", "credit": "13005", "description": "write off"}),
     UsageError, "the adjustment's amount is the item's open amount, 10.00; 12.00 differs"),
    ("oversized attachment", lambda t: spec(attachments=(_big(t),)), UsageError, "is larger than 1024 bytes"),
    ("oversized upload", lambda t: spec(attachments=(("scan.pdf", b"x" * 1025),)), UsageError, "is larger than 1024 bytes"),
    ("symlink attachment", lambda t: spec(attachments=(_symlink(t),)), UsageError, "a symbolic link (to "),
    ("fifo attachment", lambda t: spec(attachments=(_fifo(t),)), UsageError, "a FIFO, not a regular file"),
    ("folder attachment", lambda t: spec(attachments=(t,)), UsageError, "a folder, not a regular file"),
    ("missing attachment", lambda t: spec(attachments=(t / "nothing.pdf",)), UsageError, "no such file"),
    ("path as upload name", lambda t: spec(attachments=(("../", b"x"),)), UsageError, "has no file name"),
]


@pytest.mark.parametrize("why,make,error,message", REFUSED, ids=[r[0] for r in REFUSED])
def test_a_bad_disposition_is_refused_logged_and_changes_nothing(closed, tmp_path, why, make, error, message):
    good = tmp_path / "good.pdf"
    good.write_bytes(b"fine")
    what = make(tmp_path)
    if not what.attachments:
        what = replace(what, attachments=(good,))  # a good file given with a bad disposition is not stored either
    before = state(closed)
    with pytest.raises(error) as caught:
        put(closed, what)
    assert message in str(caught.value)
    assert state(closed) == before
    (event,) = [e for e in audit.entries(closed.runs.engine) if e.action == "disposition.record.refused"]
    assert (event.user, event.detail["why"], event.detail["key"]) == ("pat", str(caught.value), what.key)


def test_a_non_preparer_a_locked_period_and_a_running_close_are_refused(closed, tmp_path):
    note = tmp_path / "note.pdf"
    note.write_bytes(b"%PDF note")
    before = state(closed)
    with pytest.raises(Forbidden, match=r"rita \(reviewer\) may not do this: it needs the role preparer"):
        put(closed, spec(), who=REVIEWER)
    with pytest.raises(ConflictError, match="period 2025-09 is locked"):
        put(closed, spec(), locked=lambda period: str(period) == "2025-09")
    acquire(closed.runs.engine, "2025-09", [ENTITY], "r2")
    try:
        with pytest.raises(LockedError, match="run r2 .* is closing 2025-09 for EC_NG; dispositions of 2025-09 wait"):
            put(closed, spec(attachments=(note,)))  # refused in the transaction: the file is not stored either
    finally:
        release(closed.runs.engine, "r2")
    with pytest.raises(UsageError, match="period 2025-10 has no completed close"):
        put(closed, DispositionSpec("2025-10", ENTITY, "PACKAGES", "P3", "NOT_IN_TV", "explained", "x"))
    assert state(closed) == before
    refused = [(e.user, e.action) for e in audit.entries(closed.runs.engine) if e.action.startswith("disposition.")]
    assert refused == [("rita", "disposition.record.refused"), ("pat", "disposition.record.refused"),
                       ("pat", "disposition.record.refused"), ("pat", "disposition.record.refused")]


def test_history_says_when_a_disposition_no_longer_applies(closed, tmp_path):
    """A re-run whose P3 is open for another amount leaves the disposition in force, not applying."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from soxauto.close.items import items_path

    put(closed, spec())
    second = close_by_hand(closed.home, tmp_path / "again", run_id="r2")
    path = items_path(closed.reports, "r2", ENTITY)
    table = pq.read_table(path)
    changed = pc.if_else(pc.equal(table["key"], "P3"), pa.scalar(Decimal("29.00"), table["open_lcy"].type), table["open_lcy"])
    pq.write_table(table.set_column(table.schema.get_field_index("open_lcy"), "open_lcy", changed), path)
    (row,) = history(second.runs, "2025-09", ENTITY, reports=closed.reports)
    assert (row["state"], row["applies"]) == ("in force", False)
    second.runs.close()


# the command line


def cli(capsys, *argv):
    code = run(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_cli_records_lists_and_refuses_with_exit_3(closed, capsys, tmp_path):
    note = tmp_path / "note.pdf"
    note.write_bytes(b"%PDF note")
    code, out, err = cli(capsys, "disposition", "explain", "2025-09", ENTITY, "PACKAGES", "P3", "--bridge", "NOT_IN_TV",
                         "--reason", "seller credit note 118", "--attach", str(note), "--user", "pat")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("recorded explained disp-") and " on 2025-09 EC_NG PACKAGES P3 (NOT_IN_TV) for 30.00 by pat;" in lines[0]
    assert lines[1].startswith("  attached note.pdf (9 bytes, sha256 ")
    assert lines[2] == "PACKAGES revision 1 of run r1: RECONCILED, unresolved 10.00 NGN, resolved 130.00"
    code, out, err = cli(capsys, "disposition", "adjust", "2025-09", ENTITY, "PACKAGES", "P4", "--bridge", "NOT_IN_TV",
                         "--debit", "60950", "--credit", "13005", "--description", "write off", "--amount", "11.00", "--user", "pat")
    assert code == 3 and "the adjustment's amount is the item's open amount, 10.00; 11.00 differs" in err
    code, out, err = cli(capsys, "disposition", "explain", "2025-09", ENTITY, "PACKAGES", "P4", "--bridge", "NOT_IN_TV",
                         "--reason", "x", "--user", "rita")
    assert code == 3 and "it needs the role preparer" in err
    (tmp_path / "sub").mkdir()
    link = _symlink(tmp_path / "sub")
    code, out, err = cli(capsys, "disposition", "explain", "2025-09", ENTITY, "PACKAGES", "P4", "--bridge", "NOT_IN_TV",
                         "--reason", "x", "--attach", str(link), "--user", "pat")
    assert code == 3 and "a symbolic link" in err
    code, out, err = cli(capsys, "disposition", "list", "2025-09", "--user", "rita")
    assert code == 0 and len(out.splitlines()) == 2 and "[in force]  seller credit note 118" in out
    code, out, err = cli(capsys, "disposition", "list", "2025-09", ENTITY, "PACKAGES", "--json", "--user", "rita")
    doc = json.loads(out)
    assert [(d["key"], d["state"], d["applies"], d["attachments"][0]["name"]) for d in doc["dispositions"]] == [
        ("P3", "in force", True, "note.pdf")]
    assert [e.action for e in audit.entries(closed.runs.engine) if e.action.startswith("disposition.")] == [
        "disposition.record", "disposition.record.refused", "disposition.record.refused", "disposition.record.refused"]


def test_a_suspension_found_by_a_close_is_an_audit_event(closed):
    put(closed, spec())
    (d,) = in_force(closed.runs, "2025-09", ENTITY).values()
    assert note_suspended(closed.runs, "closer", "r2", "2025-09", ENTITY, "PACKAGES", [d]) == 1
    (event,) = [e for e in audit.entries(closed.runs.engine) if e.action == "disposition.suspend"]
    assert (event.user, event.run_id, event.detail["id"], event.detail["sha256"], event.detail["open_lcy"]) == (
        "closer", "r2", d.id, d.sha256, "30.00")
