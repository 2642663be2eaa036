"""The FastAPI application: ``create_app(cfg)``; ``soxauto serve`` runs it with uvicorn.

    /health, /openapi.json, /docs     open to all
    /api/...                          REST API, bearer token (service/api.py)
    /, /login, /periods/... ...       dashboard, session cookie + CSRF (service/pages.py)
    /static/...                       the dashboard's CSS, served from the package (no CDN)

Everything the routes need hangs off ``app.state``: the reader (run store, reports, evidence,
catalog), the local users (API tokens and dashboard sessions), the authenticator, the sign-off
workflow and the runner of background closes.
"""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from .. import __version__
from ..config import Config
from . import api, pages, problem
from .cache import ResponseCache
from .reader import Reader
from .runner import Runner

HERE = Path(__file__).parent
SESSION_HOURS = 8


def create_app(cfg: Config, *, authenticate: Callable[[str], object] | None = None) -> FastAPI:
    """The service for ``cfg``. ``authenticate`` replaces the configured bearer-token check
    (``soxauto.auth.authenticator``), for tests that bring their own."""
    reader = Reader(cfg)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        reader.close()

    app = FastAPI(title="SOXauto", version=__version__, docs_url="/docs", redoc_url=None, lifespan=lifespan,
                  description="Reconciliation control C-PG-1: runs, evidence, results, sign-off (docs/service.md).")
    from ..auth import LocalUsers

    # Read on every request (API tokens, dashboard sessions): the reading engine, no write lock taken.
    users = LocalUsers(reader.view, session_hours=SESSION_HOURS)
    if authenticate is None:
        from ..auth import authenticator

        authenticate = authenticator(cfg, reader.view, users=users)
    app.state.cfg = cfg
    app.state.reader = reader
    app.state.users = users
    app.state.answers = ResponseCache()
    app.state.authenticate = authenticate
    app.state.runner = Runner(cfg)
    app.state.signoffs = _lazy_signoffs(reader)
    # The cookie only carries the session's key and CSRF token, signed; whether the session is alive
    # and what roles it has are read from the user store on each request (security.session_principal).
    secret = getattr(cfg, "session_secret", None) or secrets.token_urlsafe(32)  # unset: sessions end with the process
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="soxauto_session",
                       max_age=SESSION_HOURS * 3600, same_site="strict", https_only=False)
    problem.install(app, pages.error_page)

    @app.get("/health", tags=["service"])
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    return app


def _lazy_signoffs(reader: Reader):
    """``SignOffs`` over the run store, made on first use."""
    made: list = []

    def get():
        if not made:
            from ..signoff import SignOffs

            made.append(SignOffs(reader.runs))
        return made[0]

    return get
