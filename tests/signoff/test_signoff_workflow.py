"""The sign-off workflow on hand-built runs: who may do what, what each event records, the
suspension of a sign-off whose evidence a rerun changed, the lock of an approved period and
its unlock, each with its history and audit log entries."""

from __future__ import annotations

import pytest
from signkit import ADMIN, AUDITOR, PREPARER, REVIEWER, add_run

from soxauto.auth import Forbidden, Principal
from soxauto.close import audit
from soxauto.close.store import RunStore
from soxauto.errors import UsageError
from soxauto.signoff import SignOffs, check_open

P = "2025-09"


@pytest.fixture
def runs(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    yield store
    store.close()


def state(signoffs: SignOffs, entity: str, line: str) -> dict:
    return next(r for r in signoffs.current(P) if (r["entity"], r["line"]) == (entity, line))


def test_prepare_records_who_when_and_the_evidence_of_the_line(runs):
    add_run(runs, "r1")
    s = SignOffs(runs)
    event = s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "tied out to IPE_08")
    assert event["action"] == "prepare" and event["user"] == "pat" and event["run_id"] == "r1"
    assert event["comment"] == "tied out to IPE_08" and event["at"].startswith("20") and event["at"].endswith("Z")
    # the line reads CR_03, CR_04, CR_05 and its target value item IPE_08: not IPE_07
    assert event["evidence"] == {"CR_03_HF_SN_202509": "m-r1-CR_03-HF_SN", "CR_04_HF_SN_202509": "m-r1-CR_04-HF_SN",
                                 "CR_05_HF_SN_202509": "m-r1-CR_05-HF_SN", "IPE_08_HF_SN_202509": "m-r1-IPE_08-HF_SN"}
    assert event["fingerprints"]["IPE_08_HF_SN_202509"] == "fp-IPE_08-HF_SN"
    row = state(s, "HF_SN", "VOUCHERS")
    assert (row["state"], row["prepared_by"], row["reviewed_by"], row["run_id"]) == ("prepared", "pat", None, "r1")
    assert row["evidence"] == event["evidence"]
    assert state(s, "HF_SN", "CUSTOMER_AR")["state"] == "unsigned"
    entry = audit.entries(runs.engine)[-1]
    assert (entry.user, entry.action, entry.run_id) == ("pat", "signoff.prepare", "r1")
    assert entry.detail["line"] == "VOUCHERS" and entry.detail["evidence"] == event["evidence"]


def test_roles_are_enforced_and_a_preparer_never_reviews_own_line(runs):
    add_run(runs, "r1")
    s = SignOffs(runs)
    with pytest.raises(Forbidden, match="needs the role preparer"):
        s.prepare(REVIEWER, P, "HF_SN", "VOUCHERS")
    with pytest.raises(Forbidden, match="needs the role preparer"):
        s.prepare(AUDITOR, P, "HF_SN", "VOUCHERS")
    both = Principal("bo", frozenset({"preparer", "reviewer"}), "token")
    s.prepare(both, P, "HF_SN", "VOUCHERS")
    with pytest.raises(Forbidden, match="^bo prepared 2025-09 HF_SN VOUCHERS and cannot review it; another reviewer must$"):
        s.approve(both, P, "HF_SN", "VOUCHERS")
    with pytest.raises(Forbidden, match="cannot review it"):
        s.reject(both, P, "HF_SN", "VOUCHERS", "no")
    s.prepare(ADMIN, P, "HF_SN", "CUSTOMER_AR")  # admin holds every role, but is still the preparer
    with pytest.raises(Forbidden, match="^ada prepared 2025-09 HF_SN CUSTOMER_AR and cannot review it"):
        s.approve(ADMIN, P, "HF_SN", "CUSTOMER_AR")
    with pytest.raises(Forbidden, match="needs the role reviewer"):
        s.approve(PREPARER, P, "HF_SN", "VOUCHERS")
    assert s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")["user"] == "rita"
    assert [e["action"] for e in s.history(P)] == ["prepare", "prepare", "approve"]


def test_states_allow_only_their_actions(runs):
    add_run(runs, "r1")
    s = SignOffs(runs)
    with pytest.raises(UsageError, match="is unsigned; only a prepared line can be approved"):
        s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")
    s.prepare(PREPARER, P, "HF_SN", "VOUCHERS")
    with pytest.raises(UsageError, match="a rejection needs a comment"):
        s.reject(REVIEWER, P, "HF_SN", "VOUCHERS", "  ")
    s.reject(REVIEWER, P, "HF_SN", "VOUCHERS", "bridge B3 lacks support")
    row = state(s, "HF_SN", "VOUCHERS")
    assert (row["state"], row["reviewed_by"], row["comment"]) == ("rejected", "rita", "bridge B3 lacks support")
    with pytest.raises(UsageError, match="is rejected; only a prepared line can be approved"):
        s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")
    assert s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "support attached")["action"] == "redo"
    s.approve(Principal("rob", frozenset({"reviewer"}), "oidc"), P, "HF_SN", "VOUCHERS", "ok")
    with pytest.raises(UsageError, match="was approved by rob at .*; it is prepared again only after a rerun"):
        s.prepare(PREPARER, P, "HF_SN", "VOUCHERS")
    assert [(e["action"], e["user"]) for e in s.history(P, "HF_SN", "VOUCHERS")] == \
        [("prepare", "pat"), ("reject", "rita"), ("redo", "pat"), ("approve", "rob")]


def test_unknown_period_entity_or_line_is_a_usage_error(runs):
    s = SignOffs(runs)
    with pytest.raises(UsageError, match="period 2025-09 has no completed close; run 'soxauto close --period 2025-09' first"):
        s.prepare(PREPARER, P, "HF_SN", "VOUCHERS")
    add_run(runs, "r1")
    with pytest.raises(UsageError, match="entity 'HF_SM' is not in run r1 of 2025-09; did you mean 'HF_SN'"):
        s.prepare(PREPARER, P, "HF_SM", "VOUCHERS")
    with pytest.raises(UsageError, match="no line 'VOUCHER' for HF_SN in run r1; did you mean 'VOUCHERS'"):
        s.prepare(PREPARER, P, "HF_SN", "VOUCHER")
    with pytest.raises(UsageError, match="period '2025-9x' is not of the form YYYY-MM"):
        s.current("2025-9x")


def test_a_rerun_that_changes_a_relied_hash_suspends_and_the_history_keeps_every_event(runs):
    add_run(runs, "r1", entities=("HF_SN", "EC_NG"))
    s = SignOffs(runs)
    for entity in ("HF_SN", "EC_NG"):
        s.prepare(PREPARER, P, entity, "VOUCHERS")
        s.approve(REVIEWER, P, entity, "VOUCHERS")
    s.prepare(PREPARER, P, "HF_SN", "CUSTOMER_AR")
    add_run(runs, "r2", entities=("HF_SN", "EC_NG"))  # same data: manifests differ, fingerprints do not
    assert s.after_run("r2") == []
    add_run(runs, "r3", entities=("HF_SN", "EC_NG"), fingerprints={("HF_SN", "IPE_08"): "fp-CHANGED"})
    suspended = s.after_run("r3")
    assert [(e["action"], e["entity"], e["line"], e["user"], e["run_id"]) for e in suspended] == \
        [("suspend", "HF_SN", "VOUCHERS", "closer", "r3")]
    assert suspended[0]["comment"] == ("run r3 changed what the sign-off relied on: "
                                       "IPE_08_HF_SN_202509 fingerprint fp-IPE_08-HF -> fp-CHANGED")
    assert state(s, "HF_SN", "VOUCHERS")["state"] == "suspended"
    assert state(s, "EC_NG", "VOUCHERS")["state"] == "approved"  # another entity's IPE_08: not relied on
    assert state(s, "HF_SN", "CUSTOMER_AR")["state"] == "prepared"  # reads IPE_07, unchanged
    with pytest.raises(UsageError, match="is suspended; only a prepared line can be approved"):
        s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")
    redo = s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "rechecked on r3")
    assert redo["action"] == "redo" and redo["fingerprints"]["IPE_08_HF_SN_202509"] == "fp-CHANGED"
    s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")
    assert [e["action"] for e in s.history(P, "HF_SN", "VOUCHERS")] == ["prepare", "approve", "suspend", "redo", "approve"]
    assert [e.action for e in audit.entries(runs.engine) if not audit.is_refused(e.action)][-3:] == \
        ["signoff.suspend", "signoff.redo", "signoff.approve"]
    refused = [e for e in audit.entries(runs.engine) if audit.is_refused(e.action)]  # approving a suspended line
    assert [(e.user, e.action, e.detail["line"]) for e in refused] == [("rita", "signoff.approve.refused", "VOUCHERS")]
    assert refused[0].detail["why"].endswith("is suspended; only a prepared line can be approved")


def test_changed_figures_on_the_same_data_also_suspend(runs):
    add_run(runs, "r1")
    s = SignOffs(runs)
    s.prepare(PREPARER, P, "HF_SN", "CUSTOMER_AR")
    add_run(runs, "r2", unexplained={("HF_SN", "CUSTOMER_AR"): "12.50"})  # e.g. a new bridge rule version
    assert [e["comment"] for e in s.after_run("r2")] == ["run r2 changed what the sign-off relied on: the line's figures changed"]


def test_approve_refuses_a_preparation_made_on_other_data(runs):
    add_run(runs, "r1")
    s = SignOffs(runs)
    s.prepare(PREPARER, P, "HF_SN", "VOUCHERS")
    add_run(runs, "r2", fingerprints={("HF_SN", "CR_04"): "fp-new"})  # after_run not called (e.g. an older close)
    with pytest.raises(UsageError, match="was prepared on run r1, but run r2 differs \\(CR_04_HF_SN_202509 fingerprint"):
        s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")


def test_an_approved_period_is_locked_refused_to_close_and_unlocked_by_an_admin_with_a_reason(runs):
    add_run(runs, "r1")
    s = SignOffs(runs)
    s.prepare(PREPARER, P, "HF_SN", "VOUCHERS")
    assert s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")["period_locked"] is False
    assert s.locked(P) is None
    check_open(runs, P)  # not locked: no error
    s.prepare(PREPARER, P, "HF_SN", "CUSTOMER_AR")
    assert s.approve(Principal("ron", frozenset({"reviewer"}), "token"), P, "HF_SN", "CUSTOMER_AR")["period_locked"] is True
    lock = s.locked(P)
    assert (lock["action"], lock["locked_by"], lock["run_id"], lock["approvers"]) == ("lock", "ron", "r1", ["rita", "ron"])
    with pytest.raises(UsageError, match=r"^period 2025-09 is locked since .*: every line was approved \(by rita, ron\); "
                                         r"a close of it is refused until an admin runs 'soxauto signoff unlock 2025-09"):
        check_open(runs, P)
    with pytest.raises(Forbidden, match="needs the role admin"):
        s.unlock(REVIEWER, P, "restatement")
    with pytest.raises(UsageError, match="needs a reason"):
        s.unlock(ADMIN, P, " ")
    event = s.unlock(ADMIN, P, "FX rate restated by treasury")
    assert (event["action"], event["user"], event["comment"], event["entity"]) == ("unlock", "ada", "FX rate restated by treasury", None)
    assert s.locked(P) is None
    check_open(runs, P)
    with pytest.raises(UsageError, match="period 2025-09 is not locked"):
        s.unlock(ADMIN, P, "again")
    # a rerun on unchanged data leaves every line approved: the period is locked again
    add_run(runs, "r2")
    assert [(e["action"], e["user"], e["run_id"]) for e in s.after_run("r2")] == [("lock", "closer", "r2")]
    assert s.locked(P)["run_id"] == "r2"
    assert [e["action"] for e in s.history(P)] == ["prepare", "approve", "prepare", "approve", "lock", "unlock", "lock"]
    actions = [(e.user, e.action) for e in audit.entries(runs.engine)]
    assert actions == [("pat", "signoff.prepare"), ("rita", "signoff.approve"), ("pat", "signoff.prepare"),
                       ("ron", "signoff.approve"), ("ron", "signoff.lock"),
                       ("unknown", "close.refused"),  # check_open is not told who closes
                       ("rita", "signoff.unlock.refused"), ("ada", "signoff.unlock.refused"), ("ada", "signoff.unlock"),
                       ("ada", "signoff.unlock.refused"), ("closer", "signoff.lock")]
    assert [e.detail["why"] for e in audit.entries(runs.engine) if audit.is_refused(e.action)][1:] == [
        "rita (reviewer) may not do this: it needs the role admin",
        "unlocking 2025-09 needs a reason (it is kept in the sign-off history and audit log)",
        "period 2025-09 is not locked"]
    assert audit.verify(runs.engine) == []


def test_a_failed_run_suspends_but_never_locks(runs):
    add_run(runs, "r1")
    s = SignOffs(runs)
    for line in ("VOUCHERS", "CUSTOMER_AR"):
        s.prepare(PREPARER, P, "HF_SN", line)
        s.approve(REVIEWER, P, "HF_SN", line)
    s.unlock(ADMIN, P, "rerun needed")
    add_run(runs, "r2", status="failed")
    assert s.after_run("r2") == []
    assert s.locked(P) is None
    assert [r["run_id"] for r in s.current(P)] == ["r1", "r1"]  # the latest *completed* run


def test_two_reviewers_at_once_cannot_both_act_on_one_preparation(runs):
    import threading

    add_run(runs, "r1")
    SignOffs(runs).prepare(PREPARER, P, "HF_SN", "VOUCHERS")
    outcomes, start = [], threading.Barrier(2)

    def review(name: str, how: str) -> None:
        who = Principal(name, frozenset({"reviewer"}), "token")
        start.wait()
        try:
            s = SignOffs(runs)
            (s.approve(who, P, "HF_SN", "VOUCHERS") if how == "approve" else s.reject(who, P, "HF_SN", "VOUCHERS", "no"))
            outcomes.append(how)
        except UsageError as e:
            outcomes.append(str(e).split(";")[0])

    threads = [threading.Thread(target=review, args=a) for a in (("r-a", "approve"), ("r-b", "reject"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2 and sum(o in ("approve", "reject") for o in outcomes) == 1
    assert len(SignOffs(runs).history(P)) == 2


def test_the_event_table_is_append_only(runs):
    import sqlalchemy as sa

    add_run(runs, "r1")
    SignOffs(runs).prepare(PREPARER, P, "HF_SN", "VOUCHERS")
    for statement in ("UPDATE signoff_events SET user = 'mallory'", "DELETE FROM signoff_events"):
        with pytest.raises(sa.exc.DatabaseError, match="signoff_events is append-only"):
            with runs.engine.begin() as con:
                con.execute(sa.text(statement))
    assert [e["user"] for e in SignOffs(runs).history(P)] == ["pat"]
