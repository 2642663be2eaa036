"""Sign-off gated by the line's status (domain spec, "Sign-off"), on hand-built runs: a line in
ERROR is refused with its cause, an INVESTIGATE line needs comments and is approved with
exception (naming the open items it accepts), an auto-certified line is prepared by the system,
a reviewer approves every prepared RECONCILED line of an entity in one action, and every refusal
lands in the audit log. The lines are written out at the top, as a run would store them."""

from __future__ import annotations

import pytest
from signkit import ABOVE_BUCKET, ADMIN, AUDITOR, AUTO_NEW, AUTO_OLD, ITEMISED, PREPARER, RATE_MISSING, REVIEWER, \
    REWORKED, TIE_OUT_FAILED, add_run

from soxauto.auth import Forbidden, Principal
from soxauto.close import audit
from soxauto.close.store import RunStore
from soxauto.errors import ConflictError, UsageError
from soxauto.signoff import SYSTEM, SignOffs, error_cause, open_items
from soxauto.signoff.gate import offer

P = "2025-09"
ROB = Principal("rob", frozenset({"reviewer"}), "token")


@pytest.fixture
def runs(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    yield store
    store.close()


def state(signoffs: SignOffs, line: str, entity: str = "HF_SN") -> dict:
    return next(r for r in signoffs.current(P) if (r["entity"], r["line"]) == (entity, line))


def refusals(runs) -> list[tuple]:
    return [(e.user, e.action, e.detail.get("line"), e.detail["why"]) for e in audit.entries(runs.engine)
            if audit.is_refused(e.action)]


# the two functions every reader shares


def test_error_cause_names_the_failed_test_or_the_missing_rate():
    assert error_cause(TIE_OUT_FAILED) == "CR_03.tie_out failed"  # the warning is not why the line is in ERROR
    assert error_cause(RATE_MISSING) == ("FX_RATE_MISSING: CR_05 has no Closing rate for HF_SN: add it to ref.fx_rates "
                                         "(a USD company carries rate 1)")
    two = {"reasons": ["INPUT_TEST_FAILED"], "findings": [
        {"code": "INPUT_TEST_FAILED", "detail": [{"test": "tie_out", "item": "CR_04", "outcome": "errored"}]},
        {"code": "INPUT_TEST_FAILED", "detail": [{"test": "IPE_07.completeness", "item": "IPE_07", "outcome": "failed"}]}]}
    assert error_cause(two) == "CR_04.tie_out errored, IPE_07.completeness failed"
    assert error_cause({"reason": "BRIDGE_RULES_OVERLAP", "findings": []}) == "BRIDGE_RULES_OVERLAP"


def test_open_items_read_todays_lines_and_the_reworked_ones():
    # today: no bridge has a nature, so only the unexplained rest is open
    assert open_items(ABOVE_BUCKET) == [{"bridge": "UNEXPLAINED", "key": None, "open_lcy": "20899.11", "count": 3}]
    # reworked, no item lists: the exception bridges with an amount, and the unexplained rest
    assert open_items(REWORKED) == [{"bridge": "NOT_IN_TV", "key": None, "open_lcy": "900000.00", "count": 2},
                                    {"bridge": "UNEXPLAINED", "key": None, "open_lcy": "-250.00", "count": 1}]
    # reworked with items: each open amount without a disposition, and the tie-out difference
    assert open_items(ITEMISED) == [{"bridge": "NOT_IN_TV", "key": "V-1", "open_lcy": "600000.00", "count": 1},
                                    {"bridge": "TIMING", "key": "V-4", "open_lcy": "400.00", "count": 1},
                                    {"bridge": "UNEXPLAINED", "key": "V-9", "open_lcy": "-250.50", "count": 1},
                                    {"bridge": "TIE_OUT_DIFFERENCE", "key": None, "open_lcy": "0.50", "count": 0}]
    assert open_items({"status": "RECONCILED", "unexplained_lcy": "0.00", "bridges": {}}) == []


# ERROR


def test_a_line_in_error_is_neither_prepared_nor_approved_and_the_refusal_says_why(runs):
    add_run(runs, "r1", overrides={("HF_SN", "VOUCHERS"): TIE_OUT_FAILED, ("HF_SN", "CUSTOMER_AR"): RATE_MISSING})
    s = SignOffs(runs)
    with pytest.raises(ConflictError, match=r"^2025-09 HF_SN VOUCHERS is in ERROR \(CR_03.tie_out failed\) and cannot be "
                                            r"prepared; fix the input and run 'soxauto close --period 2025-09' again$"):
        s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "looks fine")
    with pytest.raises(ConflictError, match=r"is in ERROR \(FX_RATE_MISSING: CR_05 has no Closing rate for HF_SN"):
        s.approve(REVIEWER, P, "HF_SN", "CUSTOMER_AR", "ok")
    assert s.history(P) == []
    row = state(s, "VOUCHERS")
    assert (row["state"], row["line_status"], row["cause"]) == ("unsigned", "ERROR", "CR_03.tie_out failed")
    assert refusals(runs) == [
        ("pat", "signoff.prepare.refused", "VOUCHERS", "2025-09 HF_SN VOUCHERS is in ERROR (CR_03.tie_out failed) and "
         "cannot be prepared; fix the input and run 'soxauto close --period 2025-09' again"),
        ("rita", "signoff.approve.refused", "CUSTOMER_AR", "2025-09 HF_SN CUSTOMER_AR is in ERROR (FX_RATE_MISSING: CR_05 "
         "has no Closing rate for HF_SN: add it to ref.fx_rates (a USD company carries rate 1)) and cannot be approved; "
         "fix the input and run 'soxauto close --period 2025-09' again")]
    assert audit.verify(runs.engine) == []


def test_a_line_prepared_before_it_fell_into_error_is_suspended_and_cannot_be_redone(runs):
    add_run(runs, "r1")
    s = SignOffs(runs)
    s.prepare(PREPARER, P, "HF_SN", "VOUCHERS")
    add_run(runs, "r2", overrides={("HF_SN", "VOUCHERS"): TIE_OUT_FAILED})
    assert [e["action"] for e in s.after_run("r2")] == ["suspend"]
    with pytest.raises(ConflictError, match="is in ERROR"):
        s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "again")


# INVESTIGATE


def test_an_investigate_line_needs_comments_and_is_approved_with_exception(runs):
    add_run(runs, "r1", overrides={("HF_SN", "VOUCHERS"): ABOVE_BUCKET})
    s = SignOffs(runs)
    with pytest.raises(UsageError, match=r"^2025-09 HF_SN VOUCHERS is INVESTIGATE \(UNRESOLVED_ABOVE_BUCKET\): preparing "
                                         "it needs a comment saying what was checked and why the open items stand$"):
        s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "  ")
    s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "3 vouchers of 18 Sep not in IPE_08; ticket FIN-112")
    with pytest.raises(UsageError, match=r"its approval is recorded as approved with exception and needs the reviewer's "
                                         r"comment; it accepts 1 open item: UNEXPLAINED 20,899.11 XOF \(3 items\)$"):
        s.approve(REVIEWER, P, "HF_SN", "VOUCHERS")
    event = s.approve(REVIEWER, P, "HF_SN", "VOUCHERS", "accepted: below materiality, fixed in October")
    exception = {"line_status": "INVESTIGATE", "reasons": ["UNRESOLVED_ABOVE_BUCKET"], "currency": "XOF",
                 "unresolved_lcy": "20899.11",
                 "open_items": [{"bridge": "UNEXPLAINED", "key": None, "open_lcy": "20899.11", "count": 3}]}
    assert (event["action"], event["exception"], event["comment"]) == \
        ("approve", exception, "accepted: below materiality, fixed in October")
    row = state(s, "VOUCHERS")
    assert (row["state"], row["reviewed_by"], row["exception"]) == ("approved_with_exception", "rita", exception)
    assert s.history(P, "HF_SN", "VOUCHERS")[-1]["exception"] == exception
    entry = audit.entries(runs.engine)[-1]
    assert (entry.action, entry.detail["exception"]) == ("signoff.approve", exception)
    # a period whose lines are approved, with or without exception, is locked
    s.prepare(PREPARER, P, "HF_SN", "CUSTOMER_AR")
    assert s.approve(REVIEWER, P, "HF_SN", "CUSTOMER_AR")["period_locked"] is True
    with pytest.raises(ConflictError, match="^period 2025-09 is locked since .*: every line is approved"):
        s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "once more")
    # a rerun that changes the line suspends the approval with exception like any other
    s.unlock(ADMIN, P, "late invoice")
    add_run(runs, "r2", overrides={("HF_SN", "VOUCHERS"): ABOVE_BUCKET | {"unexplained_lcy": "20000.00"}})
    assert [e["action"] for e in s.after_run("r2")] == ["suspend"]
    assert (state(s, "VOUCHERS")["state"], state(s, "VOUCHERS")["exception"]) == ("suspended", None)


def test_the_exception_names_each_open_item_when_the_line_lists_them(runs):
    add_run(runs, "r1", overrides={("HF_SN", "VOUCHERS"): ITEMISED})
    s = SignOffs(runs)
    s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "V-2 explained; the rest escalated")
    event = s.approve(REVIEWER, P, "HF_SN", "VOUCHERS", "accepted for September")
    assert event["exception"]["unresolved_lcy"] == "900250.00"
    assert [(i["bridge"], i["key"]) for i in event["exception"]["open_items"]] == \
        [("NOT_IN_TV", "V-1"), ("TIMING", "V-4"), ("UNEXPLAINED", "V-9"), ("TIE_OUT_DIFFERENCE", None)]


# auto-certified lines


def test_the_system_prepares_auto_certified_lines_with_their_code_and_never_reviews(runs):
    add_run(runs, "r1", overrides={("HF_SN", "VOUCHERS"): AUTO_OLD, ("HF_SN", "CUSTOMER_AR"): AUTO_NEW})
    s = SignOffs(runs)
    written = s.after_run("r1")
    assert [(e["action"], e["line"], e["user"], e["comment"], e["auto_certification"]) for e in written] == [
        ("prepare", "CUSTOMER_AR", SYSTEM, "auto-certified: NO_OPEN_ITEMS", "NO_OPEN_ITEMS"),
        ("prepare", "VOUCHERS", SYSTEM, "auto-certified: WITHIN_TOLERANCE", "WITHIN_TOLERANCE")]
    row = state(s, "CUSTOMER_AR")
    assert (row["state"], row["prepared_by"], row["auto_certification"], row["auto_certified"]) == \
        ("prepared", "soxauto", "NO_OPEN_ITEMS", True)
    assert s.after_run("r1") == []  # once only
    with pytest.raises(Forbidden, match="^'soxauto' is the system: it prepares auto-certified lines and never reviews one$"):
        s.approve(Principal(SYSTEM, frozenset({"admin"}), "token"), P, "HF_SN", "VOUCHERS")
    s.reject(REVIEWER, P, "HF_SN", "VOUCHERS", "TIMING bridge not agreed")
    assert s.approve(REVIEWER, P, "HF_SN", "CUSTOMER_AR")["user"] == "rita"  # no human preparer needed
    # a rerun on other data suspends it and the system prepares it again; a rejected line waits for a person
    add_run(runs, "r2", fingerprints={("HF_SN", "IPE_07"): "fp-new"},
            overrides={("HF_SN", "VOUCHERS"): AUTO_OLD, ("HF_SN", "CUSTOMER_AR"): AUTO_NEW})
    assert [(e["action"], e["line"], e["user"]) for e in s.after_run("r2")] == \
        [("suspend", "CUSTOMER_AR", "closer"), ("redo", "CUSTOMER_AR", SYSTEM)]
    assert (state(s, "CUSTOMER_AR")["state"], state(s, "VOUCHERS")["state"]) == ("prepared", "rejected")


def test_a_failed_run_prepares_nothing(runs):
    add_run(runs, "r1", status="failed", overrides={("HF_SN", "VOUCHERS"): AUTO_NEW})
    assert SignOffs(runs).after_run("r1") == []


# bulk approval


LINES = {"CUSTOMER_AR": "IPE_07", "COLLECTIONS": "IPE_07", "VOUCHERS": "IPE_08", "PREPAYMENTS": "IPE_07",
         "MPL_REFUNDS": "IPE_08", "PACKAGES": "IPE_08"}
BULK = {("HF_SN", "COLLECTIONS"): AUTO_NEW, ("HF_SN", "VOUCHERS"): ABOVE_BUCKET, ("HF_SN", "MPL_REFUNDS"): TIE_OUT_FAILED}


def test_a_reviewer_approves_every_prepared_reconciled_line_of_an_entity_in_one_action(runs):
    add_run(runs, "r1", entities=("HF_SN", "EC_NG"), lines=LINES, overrides=BULK)
    s = SignOffs(runs)
    s.after_run("r1")  # the system prepares COLLECTIONS of HF_SN
    s.prepare(PREPARER, P, "HF_SN", "CUSTOMER_AR")
    s.prepare(Principal("rob", frozenset({"preparer"}), "token"), P, "HF_SN", "PREPAYMENTS")
    s.prepare(PREPARER, P, "HF_SN", "VOUCHERS", "escalated")
    s.prepare(PREPARER, P, "EC_NG", "CUSTOMER_AR")
    done = s.approve_reconciled(ROB, P, "HF_SN")
    assert (done["approved"], done["period_locked"]) == (["CUSTOMER_AR", "COLLECTIONS"], False)
    assert done["skipped"] == [
        {"line": "VOUCHERS", "why": "INVESTIGATE (UNRESOLVED_ABOVE_BUCKET): approve it on its own with a comment; "
                                    "it is recorded as approved with exception"},
        {"line": "PREPAYMENTS", "why": "prepared by rob: another reviewer must approve it (four-eyes)"},
        {"line": "MPL_REFUNDS", "why": "ERROR (CR_03.tie_out failed): it can be neither prepared nor approved"},
        {"line": "PACKAGES", "why": "unsigned: not prepared"}]
    # each line its own event, by the reviewer, with the default comment; EC_NG untouched
    approvals = [e for e in s.history(P) if e["action"] == "approve"]
    assert [(e["entity"], e["line"], e["user"], e["comment"]) for e in approvals] == [
        ("HF_SN", "CUSTOMER_AR", "rob", "approved in one action with every prepared RECONCILED line of HF_SN"),
        ("HF_SN", "COLLECTIONS", "rob", "approved in one action with every prepared RECONCILED line of HF_SN")]
    assert state(s, "CUSTOMER_AR", "EC_NG")["state"] == "prepared"
    entry = audit.entries(runs.engine)[-1]
    assert (entry.user, entry.action, entry.detail["approved"], sorted(entry.detail["skipped"])) == \
        ("rob", "signoff.approve_reconciled", ["CUSTOMER_AR", "COLLECTIONS"],
         ["MPL_REFUNDS", "PACKAGES", "PREPAYMENTS", "VOUCHERS"])
    again = s.approve_reconciled(REVIEWER, P, "HF_SN", "second pass")
    assert again["approved"] == ["PREPAYMENTS"] and {"line": "CUSTOMER_AR", "why": "already approved"} in again["skipped"]


def test_bulk_approval_is_refused_to_a_non_reviewer_and_on_a_locked_period(runs):
    add_run(runs, "r1", overrides={("HF_SN", "VOUCHERS"): AUTO_NEW, ("HF_SN", "CUSTOMER_AR"): AUTO_NEW})
    s = SignOffs(runs)
    s.after_run("r1")
    with pytest.raises(Forbidden, match="needs the role reviewer"):
        s.approve_reconciled(PREPARER, P, "HF_SN")
    with pytest.raises(UsageError, match="entity 'HF_SM' is not in run r1 of 2025-09; did you mean 'HF_SN'"):
        s.approve_reconciled(REVIEWER, P, "HF_SM")
    assert s.approve_reconciled(REVIEWER, P, "HF_SN")["period_locked"] is True
    with pytest.raises(ConflictError, match="^period 2025-09 is locked since"):
        s.approve_reconciled(ROB, P, "HF_SN")
    assert [(u, a, why[:30]) for u, a, _, why in refusals(runs)] == [
        ("pat", "signoff.approve_reconciled.refused", "pat (preparer) may not do this"),
        ("rita", "signoff.approve_reconciled.refused", "entity 'HF_SM' is not in run r"),
        ("rob", "signoff.approve_reconciled.refused", "period 2025-09 is locked since")]


# refusals of every kind reach the audit log


def test_every_refusal_is_audit_logged_with_who_what_and_why(runs):
    add_run(runs, "r1", overrides={("HF_SN", "VOUCHERS"): ABOVE_BUCKET})
    s = SignOffs(runs)
    attempts = [
        lambda: s.prepare(AUDITOR, P, "HF_SN", "CUSTOMER_AR"),  # wrong role
        lambda: s.prepare(PREPARER, P, "HF_SN", "VOUCHERS"),  # INVESTIGATE without a comment
        lambda: s.approve(REVIEWER, P, "HF_SN", "CUSTOMER_AR"),  # not prepared
        lambda: s.prepare(ADMIN, P, "HF_SN", "CUSTOMER_AR") and s.approve(ADMIN, P, "HF_SN", "CUSTOMER_AR"),  # same person
        lambda: s.reject(REVIEWER, P, "HF_SN", "CUSTOMER_AR", ""),  # a rejection without a comment
    ]
    for attempt in attempts:
        with pytest.raises((UsageError, Forbidden)):
            attempt()
    assert [(u, a, line) for u, a, line, _ in refusals(runs)] == [
        ("aude", "signoff.prepare.refused", "CUSTOMER_AR"), ("pat", "signoff.prepare.refused", "VOUCHERS"),
        ("rita", "signoff.approve.refused", "CUSTOMER_AR"), ("ada", "signoff.approve.refused", "CUSTOMER_AR"),
        ("rita", "signoff.reject.refused", "CUSTOMER_AR")]
    assert [why for *_, why in refusals(runs)][2:4] == [
        "2025-09 HF_SN CUSTOMER_AR is unsigned; only a prepared line can be approved",
        "ada prepared 2025-09 HF_SN CUSTOMER_AR and cannot review it; another reviewer must"]
    assert [e["action"] for e in s.history(P)] == ["prepare"]  # only ada's preparation was written


# what a page offers


@pytest.mark.parametrize(("who", "line", "row", "buttons", "note"), [
    (AUDITOR, {"status": "RECONCILED"}, None, "", "Your role may read but not sign off."),
    (PREPARER, {"status": "RECONCILED"}, None, "prepare", None),
    (REVIEWER, {"status": "RECONCILED"}, None, "", None),  # nothing prepared: nothing to review
    (REVIEWER, {"status": "RECONCILED"}, {"state": "prepared", "prepared_by": "pat"}, "approve reject", None),
    (Principal("duo", frozenset({"preparer", "reviewer"}), "token"), {"status": "RECONCILED"},
     {"state": "prepared", "prepared_by": "duo"}, "prepare", "You prepared this line: another reviewer approves or rejects it."),
    (ADMIN, TIE_OUT_FAILED, None, "", "ERROR: CR_03.tie_out failed. A line in ERROR can be neither prepared nor approved"),
    (REVIEWER, TIE_OUT_FAILED, {"state": "prepared", "prepared_by": "pat"}, "reject", "ERROR: CR_03.tie_out failed."),
    (ADMIN, ABOVE_BUCKET | {"currency": "XOF"}, {"state": "prepared", "prepared_by": "pat"}, "prepare approve reject",
     "INVESTIGATE (UNRESOLVED_ABOVE_BUCKET): preparing it needs a comment; its approval needs one too and is recorded as "
     "approved with exception, accepting 1 open item: UNEXPLAINED 20,899.11 XOF (3 items)."),
    (ADMIN, {"status": "RECONCILED"}, {"state": "approved_with_exception", "prepared_by": "pat"}, "", None),
    (REVIEWER, {"status": "RECONCILED"}, {"state": "prepared", "prepared_by": SYSTEM, "auto_certification": "ZERO_BALANCE"},
     "approve reject", "Prepared by the system: auto-certified ZERO_BALANCE."),
])
def test_a_page_offers_only_the_buttons_the_role_and_the_lines_state_allow(who, line, row, buttons, note):
    got = offer(who, line, row, locked=False)
    assert " ".join(b for b in ("prepare", "approve", "reject") if getattr(got, b)) == buttons
    assert (note is None and not got.notes) or any(n.startswith(note) for n in got.notes)
    assert offer(ADMIN, {"status": "RECONCILED"}, {"state": "prepared", "prepared_by": "pat"}, locked=True) == \
        type(got)()  # a locked period: no button


def test_the_reports_name_an_approval_with_exception():
    from soxauto.reports.sheets import signoff_text

    exception = {"open_items": [{"bridge": "UNEXPLAINED", "key": None, "open_lcy": "20899.11", "count": 3}]}
    row = {"state": "approved_with_exception", "prepared_by": "pat", "reviewed_by": "rita", "exception": exception}
    assert signoff_text(row) == "approved with exception (1 open item accepted), prepared by pat, reviewed by rita"
    assert signoff_text({"state": "prepared", "prepared_by": "soxauto", "reviewed_by": None}) == "prepared, prepared by soxauto"
