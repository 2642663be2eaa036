"""The dashboard: server-rendered pages over the same reader as the API.

Logged in with a local user's password; the session cookie carries the session's key, checked
against the user store on every request (``security.session_principal``), and the CSRF token that
every form posts back (``security.check_csrf``). Pages never fetch anything from the internet: the
CSS is served from the package and the waterfall chart is inline SVG drawn on the server.
Money is formatted from the stored decimal strings (``money``), never through a float.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..period import Period
from .problem import NotFound
from .security import check_csrf, csrf_token, failed_login, log_in, log_out, session_principal, signed_in

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)
STATUS_CLASS = {"RECONCILED": "ok", "INVESTIGATE": "warn", "ERROR": "bad", "approved": "ok", "prepared": "info",
                "approved_with_exception": "warn",
                "rejected": "bad", "suspended": "warn", "unsigned": "mute", "passed": "ok", "failed": "bad",
                "errored": "bad", "completed": "ok", "running": "info", "interrupted": "warn"}


def money(value) -> str:
    """``1234567.8`` as ``1,234,567.80``: grouping on the Decimal itself, no float in between."""
    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


templates.env.filters["money"] = money
templates.env.globals["status_class"] = lambda s: STATUS_CLASS.get(str(s), "mute")
templates.env.filters["state"] = lambda s: str(s or "").replace("_", " ")  # approved_with_exception: approved with exception
templates.env.globals["version"] = __version__


def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    who = context.pop("who", None) or signed_in(request)
    return templates.TemplateResponse(request, name, {"who": who, "csrf": csrf_token(request), **context},
                                      status_code=status)


def error_page(request: Request, doc: dict) -> HTMLResponse:
    return render(request, "error.html", status=doc["status"], problem=doc)


def data(request: Request):
    return request.app.state.reader


def period_of(text: str) -> str:
    return str(Period.parse(text))


async def posted(request: Request) -> dict:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, values)
    return values


async def actor(request: Request):
    """``session_principal`` for a coroutine route: its user-store read as ``Reader.read`` does reads."""
    return await data(request).read(session_principal, request)


# login


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_local(next), failed=False)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await posted(request)
    from ..auth import AuthError

    users = request.app.state.users
    try:  # argon2 takes tens of milliseconds: not on the event loop
        principal = await run_in_threadpool(users.verify_password, form.get("username", ""), form.get("password", ""))
    except AuthError as e:
        await run_in_threadpool(failed_login, request, "auth.login", form.get("username", "") or "anonymous", str(e),
                                via="dashboard")
        return render(request, "login.html", status=401, next=_local(form.get("next", "/")), failed=True)
    await run_in_threadpool(log_in, request, principal.name)
    return RedirectResponse(_local(form.get("next", "/")), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await posted(request)
    await run_in_threadpool(log_out, request)
    return RedirectResponse("/login", status_code=303)


def _local(target: str) -> str:
    """Only a path on this site: a login link must not send the user elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


# periods and lines


@router.get("/")
def home(request: Request) -> HTMLResponse:
    who = session_principal(request)
    reader = data(request)
    periods = reader.periods()
    for p in periods:
        p["lines"] = line_counts(reader, p["period"])
    return render(request, "home.html", who=who, periods=periods)


def line_counts(reader, period: str) -> dict | None:
    """What the latest completed close of a period says of its lines: how many in each status,
    how many auto-certified, and how many open items have no disposition (None without a close)."""
    try:
        run = reader.run_for(period)
    except NotFound:
        return None
    lines = reader.lines(run)
    out = {s: sum(1 for ln in lines if ln["status"] == s) for s in ("RECONCILED", "INVESTIGATE", "ERROR")}
    return out | {"run_id": run["id"], "auto_certified": sum(1 for ln in lines if ln.get("auto_certified")),
                  "unresolved_items": sum((ln.get("reconciling_items") or {}).get("unresolved") or 0 for ln in lines)}


@router.get("/periods/{period}")
def period_page(request: Request, period: str, run_id: str | None = None) -> HTMLResponse:
    who = session_principal(request)
    p = period_of(period)
    reader = data(request)
    run = reader.run_for(p, run_id)
    lines = reader.lines(run)
    names = list(dict.fromkeys(ln["line"] for ln in lines))
    grid = {(ln["entity"], ln["line"]): ln for ln in lines}
    signs = request.app.state.signoffs()
    states = {(s["entity"], s["line"]): s for s in signs.current(p)}
    return render(request, "period.html", who=who, period=p, run=run, entities=run["entities"], names=names,
                  grid=grid, states=states, locked=signs.locked(p), progress=reader.progress(run["id"]),
                  summary={s: sum(1 for ln in lines if ln["status"] == s) for s in ("RECONCILED", "INVESTIGATE", "ERROR")})


@router.get("/periods/{period}/{entity}/{line}")
def line_page(request: Request, period: str, entity: str, line: str, bridge: str = "", material: str = "",
              run_id: str | None = None) -> HTMLResponse:
    from ..reports.charts import waterfall_svg
    from ..reports.narrative import line_narrative

    who = session_principal(request)
    p = period_of(period)
    reader = data(request)
    run = reader.run_for(p, run_id)
    ln = reader.line(run, entity, line)
    flag = {"yes": True, "no": False}.get(material)
    try:
        items, items_error = reader.items(run, entity, line, bridge or None, flag), None
    except NotFound as e:
        items, items_error = [], str(e)
    from ..reports.ageing import ageing

    # the ageing is of the line's open items, whatever the filter on the list shows
    buckets = ageing(items if items_error or not (bridge or flag is not None) else reader.items(run, entity, line))
    from ..signoff.gate import offer

    signs = request.app.state.signoffs()
    state = next((s for s in signs.current(p, entity) if s["line"] == line), None)
    locked = signs.locked(p)
    query = urlencode({k: v for k, v in (("bridge", bridge), ("material", material)) if v})
    return render(request, "line.html", who=who, period=p, run=run, line=ln, chart=Markup(waterfall_svg(ln)),
                  narrative=line_narrative(ln), items=items, items_error=items_error, bridge=bridge, material=material,
                  ageing=buckets,
                  bridges=[*ln["bridges"], "UNEXPLAINED"], sources=reader.sources(run, entity, ln), state=state,
                  history=signs.history(p, entity, line), locked=locked, csv_query=query,
                  offer=offer(who, ln, state, locked is not None))


@router.get("/periods/{period}/{entity}/{line}/items.csv")
def line_items_csv(request: Request, period: str, entity: str, line: str, bridge: str = "", material: str = "") -> Response:
    from . import cache
    from .api import csv_answer

    session_principal(request)
    reader = data(request)
    run = reader.run_for(period_of(period))
    rows = reader.items(run, entity, line, bridge or None, {"yes": True, "no": False}.get(material))
    return cache.respond(request, csv_answer(rows, f"items-{run['id']}-{entity}-{line}.csv"))


@router.post("/periods/{period}/{entity}/{line}/signoff")
async def line_signoff(request: Request, period: str, entity: str, line: str) -> Response:
    form = await posted(request)
    who = await actor(request)
    p = period_of(period)
    reader = data(request)
    reader.line(reader.run_for(p), entity, line)
    action = form.get("action", "")
    if action not in ("prepare", "approve", "reject"):
        raise NotFound(f"no sign-off action {action!r}; use prepare, approve or reject")
    getattr(request.app.state.signoffs(), action)(who, p, entity, line, form.get("comment", ""))
    return RedirectResponse(f"/periods/{p}/{entity}/{line}#signoff", status_code=303)


@router.post("/periods/{period}/{entity}/{line}/disposition")
async def line_disposition(request: Request, period: str, entity: str, line: str) -> Response:
    """The line page's disposition form: ``item`` is ``BRIDGE:KEY`` of an open item; an
    ``attachment`` file is read up to the size limit, its name kept for display only."""
    from ..close.dispositions import DispositionSpec
    from .api import record_disposition

    form = await request.form()
    try:
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        check_csrf(request, values)
        who = await actor(request)
        p = period_of(period)
        bridge, _, key = values.get("item", "").partition(":")
        uploads = []
        upload = form.get("attachment")
        if upload is not None and not isinstance(upload, str) and upload.filename:
            limit = request.app.state.cfg.attachment_max_bytes
            uploads.append((upload.filename, await upload.read(limit + 1)))  # one byte more tells "too large" apart
    finally:
        await form.close()
    journal = {k: values.get(k, "") for k in ("debit", "credit", "description")}
    spec = DispositionSpec(p, entity, line, key, bridge, values.get("kind", ""), values.get("reason", ""),
                           journal if values.get("kind") == "adjust" else None, values.get("amount") or None, tuple(uploads))
    await run_in_threadpool(record_disposition, request, who, spec)
    return RedirectResponse(f"/periods/{p}/{entity}/{line}#items", status_code=303)


@router.post("/periods/{period}/unlock")
async def period_unlock(request: Request, period: str) -> Response:
    form = await posted(request)
    who = await actor(request)
    p = period_of(period)
    request.app.state.signoffs().unlock(who, p, form.get("reason", ""))
    return RedirectResponse(f"/periods/{p}", status_code=303)


@router.get("/periods/{period}/validation")
def validation_page(request: Request, period: str, outcome: str = "", entity: str = "") -> HTMLResponse:
    who = session_principal(request)
    p = period_of(period)
    reader = data(request)
    run = reader.run_for(p)
    rows = reader.validation(run, entity or None, None, outcome or None)
    return render(request, "validation.html", who=who, period=p, run=run, rows=rows, outcome=outcome, entity=entity)


@router.get("/periods/{period}/history")
def history_page(request: Request, period: str) -> HTMLResponse:
    who = session_principal(request)
    p = period_of(period)
    signs = request.app.state.signoffs()
    return render(request, "history.html", who=who, period=p, events=signs.history(p), locked=signs.locked(p))


@router.get("/periods/{period}/{entity}")
def entity_page(request: Request, period: str, entity: str) -> HTMLResponse:
    who = session_principal(request)
    return _entity_page(request, who, period_of(period), entity)


@router.post("/periods/{period}/{entity}/approve-reconciled")
async def entity_approve(request: Request, period: str, entity: str) -> HTMLResponse:
    form = await posted(request)
    who = await actor(request)
    p = period_of(period)
    _entity_lines(data(request), data(request).run_for(p), entity)  # 404 for an entity the period does not have
    done = request.app.state.signoffs().approve_reconciled(who, p, entity, form.get("comment", ""))
    return _entity_page(request, who, p, entity, done=done)


def _entity_lines(reader, run: dict, entity: str) -> list[dict]:
    if entity not in run["entities"]:
        from ..errors import did_you_mean

        raise NotFound(f"run {run['id']} has no entity {entity!r}{did_you_mean(entity, run['entities'])}")
    return [ln for ln in reader.lines(run) if ln["entity"] == entity]


def _entity_page(request: Request, who, period: str, entity: str, done: dict | None = None) -> HTMLResponse:
    """One entity's lines with their status and sign-off state, and the bulk approval: offered to
    a reviewer only while some prepared RECONCILED line is one they may approve."""
    from ..signoff.gate import SYSTEM, bulk_skip, error_cause

    reader = data(request)
    run = reader.run_for(period)
    lines = _entity_lines(reader, run, entity)
    signs = request.app.state.signoffs()
    states = {s["line"]: s for s in signs.current(period, entity)}
    locked = signs.locked(period)
    rows = []
    for ln in lines:
        st = states.get(ln["line"]) or {"state": "unsigned", "prepared_by": None}
        rows.append({"line": ln, "state": st, "cause": error_cause(ln) if ln["status"] == "ERROR" else None,
                     "skip": bulk_skip(who.name, ln, st["state"], st["prepared_by"])})
    reviewer = who.has("reviewer") and who.name != SYSTEM
    eligible = [r for r in rows if r["skip"] is None]
    return render(request, "entity.html", who=who, period=period, entity=entity, run=run, rows=rows, locked=locked,
                  bulk=reviewer and not locked and bool(eligible), eligible=eligible, reviewer=reviewer, done=done)


# evidence, audit, catalog


@router.get("/evidence")
def evidence_page(request: Request, period: str = "", entity: str = "") -> HTMLResponse:
    who = session_principal(request)
    rows = data(request).evidence(period or None, entity or None)
    return render(request, "evidence.html", who=who, rows=rows, period=period, entity=entity)


@router.get("/evidence/{evidence_id}")
def package_page(request: Request, evidence_id: str) -> HTMLResponse:
    who = session_principal(request)
    return render(request, "package.html", who=who, doc=data(request).manifest(evidence_id), report=None)


@router.post("/evidence/{evidence_id}/verify")
async def package_verify(request: Request, evidence_id: str) -> HTMLResponse:
    await posted(request)
    who = await actor(request)
    reader = data(request)
    return render(request, "package.html", who=who, doc=reader.manifest(evidence_id), report=reader.verify(evidence_id))


@router.get("/audit")
def audit_page(request: Request, page: int = 1, refused: str = "") -> HTMLResponse:
    who = session_principal(request)
    page = max(1, page)
    doc = data(request).audit(None, 100, (page - 1) * 100, refused=bool(refused))
    return render(request, "audit.html", who=who, doc=doc, page=page, refused=bool(refused))


@router.get("/catalog")
def catalog_page(request: Request) -> HTMLResponse:
    who = session_principal(request)
    return render(request, "catalog.html", who=who, items=data(request).catalog_items())


@router.get("/catalog/{item}")
def catalog_item_page(request: Request, item: str) -> HTMLResponse:
    who = session_principal(request)
    return render(request, "item.html", who=who, item=data(request).catalog_item(item))


__all__ = ["error_page", "money", "router"]
