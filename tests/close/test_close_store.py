"""The run store on SQLite and on a real PostgreSQL server: runs, steps, reconciliation figures
to the cent, the append-only audit log, and (period, entity) locks with stale-lock detection."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from closekit import pg_database
from sqlalchemy.exc import DBAPIError

from soxauto.close import audit, lock
from soxauto.close.lock import LockedError
from soxauto.close.store import RunStore

_COUNTER = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.sqlite'}"
    return pg_database(request.getfixturevalue("pg_url"), f"runs_{os.getpid()}_{next(_COUNTER)}")


@pytest.fixture
def store(url):
    s = RunStore(url)
    s.ensure_user("ana")
    yield s
    s.close()


def new_run(store: RunStore, run_id: str = "202509-A", period: str = "2025-09") -> None:
    store.create_run(run_id, period=period, entities=["EC_NG", "JM_EG"], user="ana", host="h", pid=1,
                     source="lake:/x", pack_version="1.0.0", previous_run=None)


def test_runs_steps_and_figures_round_trip_exactly(store):
    new_run(store)
    store.add_steps("202509-A", [("EC_NG", "evidence", "CR_04"), ("EC_NG", "reconcile", "")])
    store.add_steps("202509-A", [("EC_NG", "evidence", "CR_04")])  # planned twice: kept once
    store.start_step("202509-A", "EC_NG", "evidence", "CR_04")
    store.finish_step("202509-A", "EC_NG", "evidence", "CR_04", status="done", seconds=0.25, rows=10,
                      timings={"extract": 0.1, "test": 0.1, "evidence": 0.05}, evidence_id="CR_04_EC_NG_202509",
                      manifest_sha256="ab" * 32, fingerprint="cd" * 32, ledger_seq=7, outcome=0,
                      tests={"passed": 5, "failed": 0, "errored": 0})
    line = {"line": "VOUCHERS", "currency": "NGN", "gl_amount": "10049705.29", "tv_amount": "8803969.39",
            "variance_lcy": "1245735.90", "unexplained_lcy": "0.10", "unexplained_usd": "0.00",
            "status": "RECONCILED", "reason": "WITHIN_TOLERANCE", "bridges": {"X": {"amount_lcy": "1245735.80"}}}
    store.save_recon("202509-A", "EC_NG", [line], {"entity": {"entity": "EC_NG"}, "control_reports": []}, 0.5)
    steps = {(s["stage"], s["item"]): s for s in store.steps("202509-A")}
    assert len(steps) == 2
    ev = steps[("evidence", "CR_04")]
    assert (ev["status"], ev["attempts"], ev["rows"], ev["ledger_seq"]) == ("done", 1, 10, 7)
    assert ev["timings"] == {"extract": 0.1, "test": 0.1, "evidence": 0.05} and ev["tests"]["passed"] == 5
    assert steps[("reconcile", "")]["status"] == "done"
    assert store.recon_lines("202509-A") == {"EC_NG": [line]}
    with store.engine.connect() as con:
        row = con.execute(sa.text("SELECT gl_amount, unexplained_lcy FROM recon_results")).one()
    assert tuple(row) == ("10049705.29", "0.10")
    run = store.run("202509-A")
    assert run["entities"] == ["EC_NG", "JM_EG"] and run["status"] == "running" and run["user"] == "ana"
    store.update_run("202509-A", status="completed", summary={"exit_code": 0})
    new_run(store, "202509-B")
    assert store.previous_run("2025-09", "202509-B")["id"] == "202509-A"
    assert store.previous_run("2025-09", "202509-A") is None  # B is not completed


def test_audit_log_refuses_updates_and_deletes(store):
    for n in range(3):
        audit.append(store.engine, "ana", "run.start", f"R{n}", period="2025-09")
    assert [e.seq for e in audit.entries(store.engine)] == [1, 2, 3] and audit.verify(store.engine) == []
    for statement in ("UPDATE audit_log SET action = 'run.finish' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 3"):
        with pytest.raises(DBAPIError) as e:
            with store.engine.begin() as con:
                con.execute(sa.text(statement))
        assert "audit_log is append-only" in str(e.value)
    assert [e.action for e in audit.entries(store.engine)] == ["run.start"] * 3


def test_audit_log_detects_what_gets_past_the_triggers(store):
    for n in range(4):
        audit.append(store.engine, "ana", "run.start", f"R{n}", n=n)
    with store.engine.begin() as con:  # an administrator drops the guard and edits history
        if store.engine.dialect.name == "sqlite":
            con.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            con.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        else:
            con.execute(sa.text("DROP TRIGGER audit_log_no_change ON audit_log"))
        con.execute(sa.text("UPDATE audit_log SET user = 'mallory' WHERE seq = 2" if store.engine.dialect.name == "sqlite"
                            else 'UPDATE audit_log SET "user" = \'mallory\' WHERE seq = 2'))
        con.execute(sa.text("DELETE FROM audit_log WHERE seq = 3"))
    assert audit.verify(store.engine) == [
        "audit_log: entry 2 (run.start) was changed after it was written",
        "audit_log: entry 4 where 3 was expected (entries removed)",
        "audit_log: entry 4 does not follow the entry before it (chain broken)",
    ]


def test_concurrent_appends_keep_one_chain(store):
    def writer(n: int) -> None:
        for k in range(5):
            audit.append(store.engine, "ana", "step", f"W{n}", k=k)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(audit.entries(store.engine)) == 20 and audit.verify(store.engine) == []


def test_a_second_close_of_the_same_period_and_entity_is_refused_naming_the_first(store):
    assert lock.acquire(store.engine, "2025-09", ["EC_NG", "JM_EG"], "RUN-1") == []
    holder = lock.holders(store.engine)[0]
    with pytest.raises(LockedError) as e:
        lock.acquire(store.engine, "2025-09", ["JM_EG", "EC_KE"], "RUN-2")
    message = str(e.value)
    assert message.startswith(f"run RUN-1 (pid {os.getpid()} on {holder.host}, started {holder.acquired_at}) is closing "
                              "2025-09 for JM_EG; wait for it with --wait")
    assert e.value.exit_code == 4
    assert [h.entities for h in lock.holders(store.engine)] == [("EC_NG", "JM_EG")]  # nothing of RUN-2 was kept
    assert lock.acquire(store.engine, "2025-08", ["EC_NG", "JM_EG"], "RUN-3") == []  # another period: side by side
    assert lock.acquire(store.engine, "2025-09", ["EC_KE"], "RUN-4") == []  # another entity too
    lock.release(store.engine, "RUN-1")
    assert lock.acquire(store.engine, "2025-09", ["JM_EG"], "RUN-2") == []


def test_wait_polls_until_the_holder_releases(store):
    lock.acquire(store.engine, "2025-09", ["EC_NG"], "RUN-1")
    seen: list[str] = []
    threading.Timer(0.5, lambda: lock.release(store.engine, "RUN-1")).start()
    t0 = time.monotonic()
    lock.acquire(store.engine, "2025-09", ["EC_NG"], "RUN-2", wait=True, poll=0.05, on_wait=lambda h: seen.append(h.run_id))
    assert seen == ["RUN-1"] and time.monotonic() - t0 >= 0.45
    assert [h.run_id for h in lock.holders(store.engine)] == ["RUN-2"]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lock_of_a_dead_process_is_stale_and_taken_over(store):
    host, _, token = lock.identity()
    with store.engine.begin() as con:
        con.execute(sa.insert(lock.locks).values(period="2025-09", entity="EC_NG", run_id="CRASHED", host=host,
                                                 pid=dead_pid(), proc_start=token, acquired_at="2025-10-03T06:00:00Z",
                                                 heartbeat_at="2025-10-03T06:00:00Z"))
    taken = lock.acquire(store.engine, "2025-09", ["EC_NG"], "RUN-2")
    assert len(taken) == 1 and taken[0].startswith("took over the stale lock of run CRASHED on 2025-09 (EC_NG): its process ")
    assert [h.run_id for h in lock.holders(store.engine)] == ["RUN-2"]


def test_a_reused_pid_is_not_mistaken_for_the_holder(store):
    host, pid, token = lock.identity()
    boot, _, start = token.partition(":")
    with store.engine.begin() as con:  # our own pid, but a process that started at another time
        con.execute(sa.insert(lock.locks).values(period="2025-09", entity="EC_NG", run_id="OLD", host=host, pid=pid,
                                                 proc_start=f"{boot}:{int(start) - 1}", acquired_at="x", heartbeat_at="x"))
    assert lock.acquire(store.engine, "2025-09", ["EC_NG"], "RUN-2")[0].startswith("took over the stale lock of run OLD")


@pytest.mark.parametrize("age, refused", [(30, True), (3600, False)])
def test_another_hosts_lock_is_stale_after_its_heartbeat_stops(store, age, refused):
    from datetime import datetime, timedelta, timezone

    beat = (datetime.now(timezone.utc) - timedelta(seconds=age)).isoformat().replace("+00:00", "Z")
    with store.engine.begin() as con:
        con.execute(sa.insert(lock.locks).values(period="2025-09", entity="EC_NG", run_id="REMOTE", host="other-host",
                                                 pid=1, proc_start="", acquired_at=beat, heartbeat_at=beat))
    if refused:
        with pytest.raises(LockedError, match="run REMOTE .pid 1 on other-host"):
            lock.acquire(store.engine, "2025-09", ["EC_NG"], "RUN-2", stale_seconds=900)
    else:
        taken = lock.acquire(store.engine, "2025-09", ["EC_NG"], "RUN-2", stale_seconds=900)
        prefix = "took over the stale lock of run REMOTE on 2025-09 (EC_NG): no heartbeat from other-host for "
        assert len(taken) == 1 and taken[0].startswith(prefix) and taken[0].endswith(" s")
        assert age <= int(taken[0][len(prefix):-2]) < age + 60


def test_run_store_url_errors_are_usage_errors():
    from soxauto.errors import UsageError

    with pytest.raises(UsageError, match="mysql://u@h/db: only sqlite:// and postgresql"):
        RunStore("mysql://u@h/db")
