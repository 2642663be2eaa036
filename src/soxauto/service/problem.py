"""Errors of the service as RFC 9457 problem documents (``application/problem+json``).

One mapping from the product's exception tree to HTTP status codes, used by every route. A
failing control is never an error here: it is a 200 result whose status says INVESTIGATE or
ERROR. Errors mean the request could not be answered: no credentials (401), a role that may not
act (403), nothing by that name (404), a refusal of the current state (409: a period locked by
its sign-off, a close already running), a bad request (400 or 422), an engine down (503).

The dashboard shares the mapping but answers a browser with an HTML page of the same content.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import SoxautoError, UsageError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://soxauto.dev/problems/"


class NotFound(UsageError):
    """Nothing by that name: no such run, period, line, evidence package or catalog item."""


class Conflict(UsageError):
    """The request is valid but the current state refuses it."""


class LoginRequired(SoxautoError):
    """A dashboard page without a session: the browser goes to the login page."""


# By class name, most specific first along the MRO: the auth and lock errors live in modules
# this one must not import (the service starts even when a module is being replaced).
STATUS = {
    "AuthError": (401, "not authenticated"),
    "Forbidden": (403, "forbidden"),
    "NotFound": (404, "not found"),
    "Conflict": (409, "conflict"),
    "ConflictError": (409, "conflict"),
    "LockedError": (409, "period is being closed"),
    "IntegrityError": (409, "evidence integrity failure"),
    "UsageError": (400, "bad request"),
    "EngineError": (503, "engine unavailable"),
    "SoxautoError": (500, "could not be determined"),
}


def status_of(exc: BaseException) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls.__name__ in STATUS:
            return STATUS[cls.__name__]
    return 500, "internal error"


def slug(title: str) -> str:
    return TYPE_BASE + title.replace(" ", "-")


def document(status: int, title: str, detail: str, **extra) -> dict:
    return {"type": slug(title), "title": title, "status": status, "detail": detail, **extra}


def problem_response(status: int, title: str, detail: str, headers: dict | None = None, **extra) -> JSONResponse:
    return JSONResponse(document(status, title, detail, **extra), status_code=status, media_type=MEDIA_TYPE,
                        headers=headers)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI, html_error) -> None:
    """Exception handlers: problem+json for the API, ``html_error(request, doc)`` for pages."""

    def answer(request: Request, doc: dict, headers: dict | None = None) -> Response:
        if _wants_html(request):
            return html_error(request, doc)
        return JSONResponse(doc, status_code=doc["status"], media_type=MEDIA_TYPE, headers=headers)

    @app.exception_handler(SoxautoError)
    async def _soxauto(request: Request, exc: SoxautoError) -> Response:
        if isinstance(exc, LoginRequired) and not request.url.path.startswith("/api/"):
            from urllib.parse import quote

            from fastapi.responses import RedirectResponse

            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        status, title = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return answer(request, document(status, title, str(exc)), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return answer(request, document(422, "invalid request", where or "the request does not match the API"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "not found", 405: "method not allowed"}.get(exc.status_code, "http error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}; see /openapi.json for the API"
        return answer(request, document(exc.status_code, title, detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # A bug, not a finding: the detail names the class only (no server paths or values leak).
        return answer(request, document(500, "internal error", f"{exc.__class__.__name__}; see the server log"))
