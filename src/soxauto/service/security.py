"""Who is asking: bearer tokens for the API, a session cookie with CSRF tokens for the dashboard.

API: ``Authorization: Bearer <token>``; the token is an OIDC JWT or a local API token, decided by
``soxauto.auth.authenticator`` (which checks revocation on every request and pays argon2's cost
only the first time it sees a token). The first check of a token runs in a worker thread, so
argon2 never holds up the event loop; a local token that has verified before costs one indexed
row read (the revocation check), and on SQLite that read runs on the event loop itself
(``Reader.inline``): handing it to a thread cost more CPU than the read and, with the GIL,
doubled the p95 latency of the load benchmark.

Dashboard: a signed session cookie (``SameSite=Strict``, ``HttpOnly``) holds the user name, roles
and a CSRF token; every form carries the token and every POST is refused (403) without it.
"""

from __future__ import annotations

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
    if state.reader.inline and cheap is not None and cheap(token):
        return state.authenticate(token)
    return await run_in_threadpool(state.authenticate, token)


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


def session_principal(request: Request):
    from ..auth import Principal

    name, roles = request.session.get("user"), request.session.get("roles")
    if not name:
        raise LoginRequired("log in first")
    return Principal(name, frozenset(roles or ()), "password")


def log_in(request: Request, principal) -> None:
    request.session.clear()  # a new session on login: no fixation of a token set before it
    request.session.update({"user": principal.name, "roles": sorted(principal.roles), "csrf": secrets.token_urlsafe(32)})


def log_out(request: Request) -> None:
    request.session.clear()
