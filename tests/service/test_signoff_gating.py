"""Sign-off gating through the API and the dashboard, over a hand-built run (tests/signoff/signkit.py)
whose lines are in each status: a line in ERROR is refused (409, problem+json, the failed test
named), an INVESTIGATE line is approved with exception, auto-certified lines are prepared by the
system, the bulk approval (endpoint and button), the buttons each role and state is shown, and
refused actions and failed logins in the audit log and on its page."""

from __future__ import annotations

from dataclasses import replace

import pytest
from servicekit import client_for, csrf_of, login
from signoff.signkit import ABOVE_BUCKET, AUTO_NEW, PREPARER, TIE_OUT_FAILED, add_run

from soxauto.auth import LocalUsers
from soxauto.close import audit
from soxauto.close.store import RunStore
from soxauto.config import load_config
from soxauto.service import create_app
from soxauto.signoff import SignOffs

P = "2025-09"
USERS = {"pat": ("preparer",), "rita": ("reviewer",), "audrey": ("auditor",), "adam": ("admin",)}
LINES = {"CUSTOMER_AR": "IPE_07", "COLLECTIONS": "IPE_07", "VOUCHERS": "IPE_08", "PACKAGES": "IPE_08"}
DRESS = {"title": "A line", "variance_usd": "0.00", "threshold": {"bucket_usd": "1000", "line_item_usd": "500"}, "fx_rate": "560.0",
         "findings": [], "key_level": {"keys": 0}, "gl_accounts": ["18412"], "unexplained_items": 0}
STATUS = {"CUSTOMER_AR": AUTO_NEW, "COLLECTIONS": TIE_OUT_FAILED, "VOUCHERS": ABOVE_BUCKET | {"currency": "XOF"}}


@pytest.fixture
def gated(tmp_path):
    """HF_SN and JM_EG: CUSTOMER_AR auto-certified (the system prepares it), COLLECTIONS in ERROR
    (CR_03.tie_out failed), VOUCHERS INVESTIGATE (20,899.11 XOF unexplained, 3 items), PACKAGES
    RECONCILED and prepared by pat."""
    cfg = replace(load_config({"SOXAUTO_HOME": str(tmp_path / "home"), "SOXAUTO_LAKE": str(tmp_path / "lake"),
                               "SOXAUTO_USER": "closer"}), session_secret="test-session-secret")
    runs = RunStore(cfg.run_store)
    overrides = {(e, n): DRESS | STATUS.get(n, {}) for e in ("HF_SN", "JM_EG") for n in LINES}
    add_run(runs, "r1", entities=("HF_SN", "JM_EG"), lines=LINES, overrides=overrides)
    signoffs = SignOffs(runs)
    signoffs.after_run("r1")
    for entity in ("HF_SN", "JM_EG"):
        signoffs.prepare(PREPARER, P, entity, "PACKAGES")
    users = LocalUsers(runs, actor="setup")
    tokens = {}
    for name, roles in USERS.items():
        users.add(name, roles, password=f"pw-{name}")
        tokens[name] = users.issue_token(name, "tests")
    runs.close()
    with client_for(create_app(cfg)) as c:
        c.bearer = lambda user: {"Authorization": f"Bearer {tokens[user]}"}
        c.cfg = cfg
        yield c


def act(c, user, path, comment=""):
    return c.post(f"/api/signoffs/{P}/{path}", json={"comment": comment}, headers=c.bearer(user))


def refused(c) -> list[tuple]:
    runs = RunStore(c.cfg.run_store)
    try:
        return [(e.user, e.action, e.detail.get("line"), e.detail["why"]) for e in audit.entries(runs.engine)
                if audit.is_refused(e.action)]
    finally:
        runs.close()


def test_the_api_refuses_an_error_line_with_409_naming_the_failed_test(gated):
    c = gated
    r = act(c, "pat", "HF_SN/COLLECTIONS/prepare", "tied out")
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "conflict"
    assert r.json()["detail"] == ("2025-09 HF_SN COLLECTIONS is in ERROR (CR_03.tie_out failed) and cannot be prepared; "
                                  "fix the input and run 'soxauto close --period 2025-09' again")
    assert act(c, "rita", "HF_SN/COLLECTIONS/approve", "ok").status_code == 409
    assert act(c, "rita", "HF_SN/CUSTOMER_AR/reject").status_code == 400  # a rejection needs a comment
    row = next(s for s in c.get(f"/api/signoffs/{P}?entity=HF_SN", headers=c.bearer("audrey")).json()["lines"]
               if s["line"] == "COLLECTIONS")
    assert (row["state"], row["line_status"], row["cause"]) == ("unsigned", "ERROR", "CR_03.tie_out failed")
    assert [(u, a, line) for u, a, line, _ in refused(c)] == [
        ("pat", "signoff.prepare.refused", "COLLECTIONS"), ("rita", "signoff.approve.refused", "COLLECTIONS"),
        ("rita", "signoff.reject.refused", "CUSTOMER_AR")]


def test_the_api_approves_an_investigate_line_with_exception_and_in_bulk(gated):
    c = gated
    assert act(c, "pat", "HF_SN/VOUCHERS/prepare").status_code == 400  # INVESTIGATE: a comment is required
    assert act(c, "pat", "HF_SN/VOUCHERS/prepare", "FIN-112 opened").status_code == 200
    no_comment = act(c, "rita", "HF_SN/VOUCHERS/approve")
    assert no_comment.status_code == 400 and "accepts 1 open item: UNEXPLAINED 20,899.11 XOF (3 items)" in \
        no_comment.json()["detail"]
    ok = act(c, "rita", "HF_SN/VOUCHERS/approve", "accepted for September").json()
    assert ok["exception"]["open_items"] == [{"bridge": "UNEXPLAINED", "key": None, "open_lcy": "20899.11", "count": 3}]
    assert act(c, "pat", "HF_SN/approve-reconciled").status_code == 403
    assert act(c, "rita", "XX_YY/approve-reconciled").status_code == 404
    bulk = act(c, "rita", "HF_SN/approve-reconciled", "September").json()
    assert (bulk["approved"], [s["line"] for s in bulk["skipped"]]) == (["CUSTOMER_AR", "PACKAGES"], ["COLLECTIONS", "VOUCHERS"])
    assert [e["comment"] for e in bulk["events"]] == ["September", "September"]
    lines = {s["line"]: s for s in c.get(f"/api/signoffs/{P}?entity=HF_SN", headers=c.bearer("audrey")).json()["lines"]}
    assert {n: s["state"] for n, s in lines.items()} == {"CUSTOMER_AR": "approved", "COLLECTIONS": "unsigned",
                                                         "VOUCHERS": "approved_with_exception", "PACKAGES": "approved"}
    assert (lines["CUSTOMER_AR"]["prepared_by"], lines["CUSTOMER_AR"]["auto_certification"]) == ("soxauto", "NO_OPEN_ITEMS")
    only = c.get("/api/audit?refused=true", headers=c.bearer("audrey")).json()
    assert [(e["user"], e["action"], e["refused"]) for e in only["entries"]] == [  # XX_YY: a 404 before any sign-off
        ("pat", "signoff.approve_reconciled.refused", True),
        ("rita", "signoff.approve.refused", True), ("pat", "signoff.prepare.refused", True)]


def test_the_line_page_shows_only_the_buttons_that_can_be_used_and_says_why(gated):
    c = gated
    login(c, "adam", f"/periods/{P}")  # admin: every role
    page = c.get(f"/periods/{P}/HF_SN/COLLECTIONS").text
    assert "ERROR: CR_03.tie_out failed. A line in ERROR can be neither prepared nor approved" in page
    assert 'value="prepare"' not in page and 'value="approve"' not in page and 'value="reject"' not in page
    page = c.get(f"/periods/{P}/HF_SN/VOUCHERS").text
    assert 'value="prepare"' in page and 'value="approve"' not in page  # nothing prepared yet
    assert "accepting 1 open item: UNEXPLAINED 20,899.11 XOF (3 items)" in page
    page = c.get(f"/periods/{P}/HF_SN/CUSTOMER_AR").text
    assert "Prepared by the system: auto-certified NO_OPEN_ITEMS." in page and "Prepared by <strong>soxauto</strong>" in page
    assert 'value="approve"' in page and 'value="reject"' in page
    c.post("/logout", data={"csrf": csrf_of(page)})
    login(c, "pat", f"/periods/{P}")
    page = c.get(f"/periods/{P}/HF_SN/PACKAGES").text  # prepared by pat: pat may prepare again, never review
    assert 'value="prepare"' in page and 'value="approve"' not in page
    c.post(f"/periods/{P}/HF_SN/VOUCHERS/signoff", data={"action": "prepare", "comment": "FIN-112", "csrf": csrf_of(page)})
    c.post("/logout", data={"csrf": csrf_of(page)})
    login(c, "rita", f"/periods/{P}")
    page = c.get(f"/periods/{P}/HF_SN/VOUCHERS").text
    assert ">Approve with exception</button>" in page and "comment (required for this INVESTIGATE line)" in page
    done = c.post(f"/periods/{P}/HF_SN/VOUCHERS/signoff", data={"action": "approve", "comment": "accepted",
                                                                  "csrf": csrf_of(page)})
    assert done.status_code == 200  # after the redirect
    assert "approved with exception</span>" in done.text and "Approved with exception</strong>: INVESTIGATE" in done.text
    assert 'value="approve"' not in done.text and 'value="prepare"' not in done.text
    assert "approve with exception</span>" in done.text  # the history row
    history = c.get(f"/periods/{P}/history").text
    assert "approve with exception (1 open item accepted)" in history and "prepare (auto-certified NO_OPEN_ITEMS)" in history


def test_the_entity_page_approves_every_prepared_reconciled_line_with_one_button(gated):
    c = gated
    login(c, "audrey", f"/periods/{P}")
    assert "Approve 2 prepared" not in c.get(f"/periods/{P}/HF_SN").text  # an auditor is not offered it
    c.post("/logout", data={"csrf": csrf_of(c.get("/").text)})
    login(c, "rita", f"/periods/{P}")
    grid = c.get(f"/periods/{P}").text
    assert f'href="/periods/{P}/HF_SN"' in grid
    page = c.get(f"/periods/{P}/HF_SN").text
    assert ">Approve 2 prepared RECONCILED lines</button>" in page
    assert "Each line is approved as its own event: CUSTOMER_AR, PACKAGES." in page
    assert "ERROR: CR_03.tie_out failed" in page
    done = c.post(f"/periods/{P}/HF_SN/approve-reconciled", data={"comment": "", "csrf": csrf_of(page)})
    assert done.status_code == 200
    assert "Approved 2 of 4 lines</strong>" in done.text and "CUSTOMER_AR, PACKAGES; skipped 2." in done.text
    assert "<strong>VOUCHERS</strong>: INVESTIGATE (UNRESOLVED_ABOVE_BUCKET): approve it on its own" in done.text
    assert "Approve 2 prepared" not in done.text and "No line to approve in one action" in done.text
    assert c.post(f"/periods/{P}/XX_YY/approve-reconciled", data={"csrf": csrf_of(page)}).status_code == 404


def test_failed_logins_and_bad_tokens_are_audit_logged_and_shown_as_refused(gated):
    c = gated
    token = csrf_of(c.get("/login").text)
    assert c.post("/login", data={"username": "pat", "password": "guess", "csrf": token}).status_code == 401
    assert c.get("/api/runs", headers={"Authorization": "Bearer sxa_nope_nope"}).status_code == 401
    assert c.get("/api/runs").status_code == 401  # no credential at all: not a login attempt
    entries = refused(c)
    assert [(u, a, why) for u, a, _, why in entries] == [
        ("pat", "auth.login.refused", "unknown user or wrong password"),
        ("anonymous", "auth.token.refused", "not a SOXauto API token (they start with 'sxa_'); 'soxauto users token NAME' "
                                            "issues one")]
    runs = RunStore(c.cfg.run_store)
    details = [e.detail for e in audit.entries(runs.engine) if audit.is_refused(e.action)]
    runs.close()
    assert details[0]["via"] == "dashboard" and "password" not in details[0] and "guess" not in str(details[0])
    assert details[1]["via"] == "api" and len(details[1]["token_sha256"]) == 16 and "nope" not in str(details[1])
    login(c, "audrey", "/audit")
    page = c.get("/audit?refused=1").text
    assert page.count('<span class="badge bad">refused</span>') == 2 and "auth.login.refused" in page
    assert "refused actions and failed logins" in page
