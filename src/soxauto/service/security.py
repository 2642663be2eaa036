"""Who is asking: bearer tokens for the API, a session cookie with CSRF tokens for the dashboard.

API: ``Authorization: Bearer <token>``; the token is an OIDC JWT or a local API token, decided by
``soxauto.auth.authenticator`` (which checks revocation on every request and pays argon2's cost
only the first time it sees a token). The first check of a token runs in a worker thread, so
argon2 never holds up the event loop; a local token that has verified before costs one indexed
row read (the revocation check), and on SQLite that read runs on the event loop itself
(``Reader.inline``): handing it to a thread cost more CPU than the read and, with the GIL,
doubled the p95 latency of the load benchmark.

Either way a principal without a SOXauto role is refused (403) before any route runs: no role,
no data (an OIDC user whose groups name no role authenticates, and may do nothing). A token that
does not verify, like a dashboard login that fails, is written to the audit log (``failed_login``).

Dashboard: a signed session cookie (``SameSite=Strict``, ``HttpOnly``) holds a random session key
and a CSRF token, nothing else. The key names a row of the user store (``LocalUsers.session``),
read on every request with the user's current roles: logging out, or a change of the user's
roles or password, or the user's removal, deletes the row, and a copy of the cookie opens nothing
afterwards. Every form carries the CSRF token and every POST is refused (403) without it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..errors import SoxautoError
from .problem import LoginRequired


bearer = HTTPBearer(auto_error=False, description="An OIDC access token or a local API token (soxauto users token)")


def auth_error(message: str) -> SoxautoError:
    from ..auth import AuthError

    return AuthError(message)


def forbidden(message: str) -> SoxautoError:
    from ..auth import Forbidden

    return Forbidden(message)


async def api_principal(request: Request, credentials: HTTPAuthorizationCredentials | None):
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise auth_error("no bearer token: send 'Authorization: Bearer <token>' "
                         "(an OIDC access token, or a local token from 'soxauto users token')")
    state, token = request.app.state, credentials.credentials
    cheap = getattr(state.authenticate, "cheap", None)  # the authenticator knows what it verified before
    try:
        if state.reader.inline and cheap is not None and cheap(token):
            who = state.authenticate(token)
        else:
            who = await run_in_threadpool(state.authenticate, token)
    except SoxautoError as e:
        await run_in_threadpool(failed_login, request, "auth.token", "anonymous", str(e), via="api",
                                token_sha256=hashlib.sha256(token.encode("utf-8")).hexdigest()[:16])
        raise
    require(who)  # some role, whichever: without one a principal reads nothing
    return who


def failed_login(request: Request, action: str, user: str, why: str, **detail) -> None:
    """A credential that did not verify, in the audit log: who claimed it (a dashboard login's user
    name; ``anonymous`` for a bearer token), from where, why; never the password or the token
    (a token is named by the first 16 hex digits of its SHA-256, enough to see it come back)."""
    from ..close import audit

    client = request.client.host if request.client else None
    audit.refused(request.app.state.reader.runs.engine, user, action, why, client=client, **detail)


def require(principal, *roles: str) -> None:
    from ..auth import require as auth_require

    auth_require(principal, *roles)


# dashboard sessions


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, form: dict) -> None:
    expected = request.session.get("csrf")
    given = form.get("csrf") or ""
    if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
        raise forbidden("the form has no valid CSRF token; reload the page and submit it again")


_UNREAD = object()


def signed_in(request: Request):
    """The principal of the request's session, read from the user store once per request; None
    without a live session. A cookie naming a session that has ended is emptied (the browser drops
    it); an anonymous one keeps its CSRF token, which the login form needs."""
    who = getattr(request.state, "session_principal", _UNREAD)
    if who is _UNREAD:
        from ..auth import AuthError

        key = request.session.get("sid")
        try:
            who = request.app.state.users.session(key) if key else None
        except AuthError:
            who = None
        if who is None and set(request.session) - {"csrf"}:
            request.session.clear()
        request.state.session_principal = who
    return who


def session_principal(request: Request):
    """The principal of a dashboard page: LoginRequired without a live session, Forbidden (403)
    for a user who holds no role."""
    who = signed_in(request)
    if who is None:
        raise LoginRequired("log in first")
    require(who)
    return who


def log_in(request: Request, name: str) -> None:
    """A new session for ``name`` (whose password has just verified); the one the cookie held, if
    any, ends: a session set before the login, by anyone, is never the one that gets signed in."""
    users = request.app.state.users
    users.end_session(request.session.get("sid"))
    request.session.clear()
    request.session.update({"sid": users.start_session(name), "csrf": secrets.token_urlsafe(32)})


def log_out(request: Request) -> None:
    request.app.state.users.end_session(request.session.get("sid"))
    request.session.clear()
    request.state.session_principal = None
