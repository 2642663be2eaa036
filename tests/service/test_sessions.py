"""Dashboard sessions end when they should (issue #23): a cookie replayed after logout, a session
opened before its user's roles or password changed, and the sessions and API tokens of a removed
user all open nothing; a session's roles are the user's roles now, never those of the login."""

from __future__ import annotations

import json
from base64 import b64encode

from itsdangerous import TimestampSigner
from servicekit import PERIOD, client_for, csrf_of, login
from sqlalchemy import update

from soxauto.auth import LocalUsers
from soxauto.auth.local import auth_users
from soxauto.close import audit
from soxauto.close.store import RunStore
from soxauto.service import create_app

LINE = f"/periods/{PERIOD}/HF_SN/VOUCHERS"


def prepare(c, csrf: str):
    return c.post(f"{LINE}/signoff", data={"action": "prepare", "csrf": csrf}, follow_redirects=False)


def state_of(world, c) -> str:
    lines = c.get(f"/api/signoffs/{PERIOD}?entity=HF_SN", headers=world.bearer("audrey")).json()["lines"]
    return next(s["state"] for s in lines if s["line"] == "VOUCHERS")


def sent_to_login(r) -> bool:
    return r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def admin_tool(world):
    """``soxauto users`` as another process would run it: its own connection to the run store."""
    runs = RunStore(world.config().run_store)
    return runs, LocalUsers(runs, actor="root")


def test_a_session_cookie_replayed_after_logout_is_refused(fresh):
    with client_for(create_app(fresh.config())) as c:
        login(c, "pat")
        stolen, csrf = c.cookies["soxauto_session"], csrf_of(c.get("/").text)
        assert c.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
        c.cookies.set("soxauto_session", stolen)  # the cookie as it was before logging out
        refused = c.get(LINE, follow_redirects=False)
        assert sent_to_login(refused)
        assert refused.headers["set-cookie"].startswith("soxauto_session=null;")  # the browser drops it
        assert sent_to_login(prepare(c, csrf))
        assert state_of(fresh, c) == "unsigned"


def test_a_demoted_admin_may_not_prepare_in_the_session_opened_before(fresh):
    with client_for(create_app(fresh.config())) as c:
        login(c, "adam")
        page = c.get(LINE).text
        assert 'value="prepare"' in page
        runs, users = admin_tool(fresh)
        demoted = users.set_roles("adam", ["auditor"])
        assert sent_to_login(prepare(c, csrf_of(page)))
        assert state_of(fresh, c) == "unsigned"
        assert demoted["sessions_ended"] == 1
        entry = audit.entries(runs.engine)[-1]
        runs.close()
        assert (entry.user, entry.action, entry.detail) == \
            ("root", "user.roles", {"name": "adam", "roles": ["auditor"], "sessions_ended": 1})
        login(c, "adam")  # signed in again: an auditor now, who reads and does not sign off
        page = c.get(LINE).text
        assert 'value="prepare"' not in page and "Your role may read but not sign off." in page
        refused = prepare(c, csrf_of(page))
        assert refused.status_code == 403 and refused.json()["detail"].startswith("adam (auditor) may not do this")
        assert state_of(fresh, c) == "unsigned"


def test_a_password_change_ends_that_users_sessions_and_no_one_elses(fresh):
    app = create_app(fresh.config())
    with client_for(app) as pat, client_for(app) as rita:
        login(pat, "pat")
        login(rita, "rita")
        runs, users = admin_tool(fresh)
        ended = users.set_password("pat", "a-new-password")
        assert sent_to_login(pat.get(LINE, follow_redirects=False))
        assert rita.get(LINE).status_code == 200
        assert ended == 1
        entry = audit.entries(runs.engine)[-1]
        runs.close()
        assert (entry.action, entry.detail) == ("user.password", {"name": "pat", "sessions_ended": 1})
        assert login(pat, "pat").status_code == 401  # the old password is gone with the session
        token = csrf_of(pat.get("/login").text)
        again = pat.post("/login", data={"username": "pat", "password": "a-new-password", "csrf": token},
                         follow_redirects=False)
        assert again.status_code == 303 and pat.get(LINE).status_code == 200


def test_a_removed_users_sessions_and_api_tokens_stop_working_at_once(fresh):
    app = create_app(fresh.config())
    with client_for(app) as c:
        login(c, "pat")
        assert c.get(f"/api/results/{PERIOD}", headers=fresh.bearer("pat")).status_code == 200  # argon2 once
        runs, users = admin_tool(fresh)
        removed = users.remove("pat")
        refused = c.get(f"/api/results/{PERIOD}", headers=fresh.bearer("pat"))
        assert refused.status_code == 401 and refused.json()["detail"] == "unknown API token"
        assert sent_to_login(c.get(LINE, follow_redirects=False))
        assert c.get(f"/api/results/{PERIOD}", headers=fresh.bearer("rita")).status_code == 200
        assert not app.state.users.knows(fresh.tokens["pat"])  # no longer checked on the event loop
        token_id = fresh.tokens["pat"].split("_")[1]
        assert removed == {"name": "pat", "tokens": [token_id], "sessions_ended": 1}
        *_, entry, failed = audit.entries(runs.engine)
        runs.close()
        assert (entry.user, entry.action, entry.detail) == \
            ("root", "user.remove", {"name": "pat", "tokens": [token_id], "sessions_ended": 1})
        assert (failed.user, failed.action, failed.detail["why"]) == ("anonymous", "auth.token.refused", "unknown API token")


def test_a_sessions_roles_are_read_from_the_user_store_on_every_request(fresh):
    with client_for(create_app(fresh.config())) as c:
        assert c.post(f"/api/signoffs/{PERIOD}/HF_SN/VOUCHERS/prepare", json={"comment": "tied out"},
                      headers=fresh.bearer("pat")).status_code == 200  # approve is offered on a prepared line only
        login(c, "rita")
        page = c.get(LINE).text
        assert 'value="approve"' in page and 'value="prepare"' not in page
        runs = RunStore(fresh.config().run_store)
        with runs.engine.begin() as con:  # written beside the product: nothing ends the session
            con.execute(update(auth_users).where(auth_users.c.name == "rita").values(roles='["preparer"]'))
        runs.close()
        page = c.get(LINE).text
        assert 'value="prepare"' in page and 'value="approve"' not in page
        assert "rita <small>(preparer)</small>" in page


def test_a_cookie_that_carries_roles_instead_of_a_session_opens_nothing(world):
    """The cookie of the version before: name and roles, signed with the session key."""
    signer = TimestampSigner(world.config().session_secret)
    cookie = signer.sign(b64encode(json.dumps({"user": "adam", "roles": ["admin"], "csrf": "x" * 43}).encode()))
    with client_for(create_app(world.config())) as c:
        c.cookies.set("soxauto_session", cookie.decode())
        assert sent_to_login(c.get(f"/periods/{PERIOD}", follow_redirects=False))
        assert sent_to_login(c.post(f"{LINE}/signoff", data={"action": "prepare", "csrf": "x" * 43},
                                    follow_redirects=False))
