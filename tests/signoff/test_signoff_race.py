"""Sign-off against a close that is changing the period: nothing is signed while a close holds
the period, and the period is locked only while every line is approved (a suspension ends the
lock). The race is run many times, bounded, and the invariant checked on the whole history."""

from __future__ import annotations

import threading
import time

import pytest
from signkit import ADMIN, PREPARER, REVIEWER, TV, add_run

from soxauto.close import lock
from soxauto.close.lock import LockedError
from soxauto.close.store import RunStore
from soxauto.errors import UsageError
from soxauto.signoff import SignOffs, check_open
from soxauto.signoff import events as ev

P = "2025-09"
LINES = tuple(TV)


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'runs.sqlite'}"


def sign_all(s: SignOffs) -> None:
    for name in LINES:
        s.prepare(PREPARER, P, "HF_SN", name, "tied out")
        s.approve(REVIEWER, P, "HF_SN", name)


def test_nothing_is_signed_while_a_close_holds_the_period(url):
    runs = RunStore(url)
    add_run(runs, "r1")
    s = SignOffs(runs)
    s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "tied out")
    lock.acquire(runs.engine, P, ["HF_SN"], "r2")
    try:
        with pytest.raises(LockedError, match=r"run r2 .* is closing 2025-09 for HF_SN; sign-off of 2025-09 waits"):
            s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")
        with pytest.raises(LockedError):
            s.prepare(PREPARER, P, "HF_SN", "CUSTOMER_AR", "tied out")
        assert [r["state"] for r in s.current(P)] == ["unsigned", "prepared"]  # nothing was written
    finally:
        lock.release(runs.engine, "r2")
    s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")
    assert s.current(P)[1]["state"] == "approved"
    runs.close()


def test_a_crashed_close_does_not_hold_sign_off(url):
    runs = RunStore(url)
    add_run(runs, "r1")
    with runs.engine.begin() as con:  # the lock row of a process that no longer exists on this host
        con.execute(lock.locks.insert().values(period=P, entity="HF_SN", run_id="dead", host=lock.identity()[0],
                                               pid=2**22 + 7, proc_start="x:1", acquired_at="2025-10-01T00:00:00Z",
                                               heartbeat_at="2025-10-01T00:00:00Z"))
    SignOffs(runs).prepare(PREPARER, P, "HF_SN", "VOUCHERS", "tied out")
    runs.close()


def test_a_suspension_ends_the_lock_of_the_period(url):
    runs = RunStore(url)
    add_run(runs, "r1")
    s = SignOffs(runs)
    sign_all(s)
    assert s.locked(P) is not None
    add_run(runs, "r2", fingerprints={("HF_SN", "IPE_08"): "fp-changed"})
    written = s.after_run("r2")
    assert [(e["action"], e["line"]) for e in written] == [("suspend", "VOUCHERS"), ("unlock", None)]
    assert "run r2 suspended HF_SN VOUCHERS" in written[-1]["comment"]
    assert s.locked(P) is None
    check_open(runs, P)  # the period may be closed again: its lock went with the approval it rested on
    runs.close()


def locked_over_unapproved(history: list[dict]) -> list[str]:
    """Every moment of ``history`` at which the period is locked while a line is not approved.
    The one allowed instant: a close's suspension immediately followed by its own unlock."""
    bad, states, locked = [], {name: "unsigned" for name in LINES}, False
    for n, e in enumerate(history):
        if e["entity"] is not None:
            states[e["line"]] = ev.fold([x for x in history[: n + 1] if x["line"] == e["line"]]).state
        elif e["action"] in ("lock", "unlock"):
            locked = e["action"] == "lock"
        loose = sorted(k for k, v in states.items() if v != "approved")
        after = history[n + 1] if n + 1 < len(history) else None
        ends = after is not None and after["action"] == "unlock" and after["run_id"] == e["run_id"]
        if locked and loose and not (e["action"] == "suspend" and ends):
            bad.append(f"#{e['seq']} {e['action']} {e['line'] or ''} leaves the period locked over {loose}")
    return bad


@pytest.mark.slow
def test_approvals_racing_closes_never_leave_a_lock_over_an_unapproved_line(url):
    """Each round: a 'close' takes the period's lock, is refused if the period is locked (as
    close.run does, after taking it), records a run whose IPE_08 data changed and calls
    after_run; meanwhile a preparer and a reviewer sign every line as fast as they can."""
    setup = RunStore(url)
    add_run(setup, "r0")
    setup.close()
    rounds, refused = 25, {"closes": 0, "signoffs": 0}

    def closer(n: int) -> None:
        runs = RunStore(url)
        run_id = f"r{n}"
        try:
            lock.acquire(runs.engine, P, ["HF_SN"], run_id, wait=True, poll=0.005)
            try:
                check_open(runs, P)
            except UsageError:
                refused["closes"] += 1
                SignOffs(runs).unlock(ADMIN, P, f"round {n}: close again")
                return
            time.sleep(0.02 * (n % 4))  # the close's work: extracts, tests, reconciliation
            add_run(runs, run_id, fingerprints={("HF_SN", "IPE_08"): f"fp-{n}"})
            SignOffs(runs).after_run(run_id)
        finally:
            lock.release(runs.engine, run_id)
            runs.close()

    def signer() -> None:
        runs = RunStore(url)
        s = SignOffs(runs)
        try:
            for _ in range(6):
                for name in LINES:
                    for act in (lambda: s.prepare(PREPARER, P, "HF_SN", name, "tied out"),
                                lambda: s.approve(REVIEWER, P, "HF_SN", name)):
                        try:
                            act()
                        except (LockedError, UsageError):
                            refused["signoffs"] += 1
        finally:
            runs.close()

    for n in range(1, rounds + 1):
        threads = [threading.Thread(target=closer, args=(n,)), threading.Thread(target=signer)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    runs = RunStore(url)
    s = SignOffs(runs)
    history = s.history(P)
    assert locked_over_unapproved(history) == []
    if s.locked(P) is not None:
        assert {r["state"] for r in s.current(P)} == {"approved"}
    assert any(e["action"] == "lock" for e in history), "no round locked the period: the race was not exercised"
    assert refused["signoffs"] > 0
    runs.close()
