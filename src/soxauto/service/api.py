"""The REST API under ``/api/``: every route needs a bearer token; roles decide who may act.

A principal without a role is refused (403) by every route, reads included (``principal`` below).
Reading is open to every role (an auditor reads everything and changes nothing); starting a
close needs ``preparer`` or ``admin``; sign-off actions are checked by ``soxauto.signoff`` itself
(prepare: preparer; approve and reject: reviewer, never the line's preparer; unlock: admin), and
so is the line's status (ERROR refused with 409, INVESTIGATE only with a comment). Refusals are
written to the audit log, by ``soxauto.signoff`` for sign-off and here for a close.
Amounts are decimal strings exactly as the reconciliation computed them.

Answers about a completed run's results are built once and served from ``service/cache.py``
(with an ETag). The results routes are coroutines: a cached answer needs two short run-store
reads (the token's revocation, the period's latest run), which ``Reader.read`` does on the event
loop for SQLite; anything slower (argon2, files, a cache miss) goes to a worker thread. Measured
with bench/load.py: each hand-over to a worker thread cost as much CPU as a whole cached answer,
and the GIL contention between the threads and the loop doubled the p95 latency.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Security
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from ..errors import SoxautoError, did_you_mean
from ..period import Period
from . import cache
from .problem import NotFound
from .reader import Reader
from .security import api_principal, bearer, require

PERIOD = r"^\d{4}-\d{2}$"
NAME = r"^[A-Za-z0-9_.-]{1,64}$"


async def principal(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]):
    """The caller, holding some role (401 without a valid token, 403 without a role)."""
    return await api_principal(request, credentials)


async def reader(request: Request) -> Reader:
    return request.app.state.reader


Who = Annotated[object, Depends(principal)]
Data = Annotated[Reader, Depends(reader)]
PeriodPath = Annotated[str, Path(pattern=PERIOD, description="YYYY-MM")]
NamePath = Annotated[str, Path(pattern=NAME)]
RunQuery = Annotated[str | None, Query(pattern=NAME, description="a run id (default: the period's latest completed run)")]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=1000)]

router = APIRouter(prefix="/api")


class CloseBody(BaseModel):
    period: str | None = Field(None, pattern=PERIOD, description="YYYY-MM; omitted: the lake's latest month-end")
    entities: list[Annotated[str, Field(pattern=NAME)]] = Field(default_factory=list, max_length=200)


class CommentBody(BaseModel):
    comment: str = Field("", max_length=4000)


class ReasonBody(BaseModel):
    reason: str = Field(..., min_length=1, max_length=4000)


def period_of(text: str) -> str:
    return str(Period.parse(text))  # a month like 2025-13 is a 400 with the reason, not a crash


def paged(rows: list, page: int, per_page: int, **extra) -> dict:
    start = (page - 1) * per_page
    return {**extra, "total": len(rows), "page": page, "per_page": per_page, "rows": rows[start:start + per_page]}


def line_summary(ln: dict) -> dict:
    keys = ("entity", "line", "title", "currency", "gl_amount", "tv_amount", "variance_lcy", "variance_usd",
            "unexplained_lcy", "unexplained_usd", "status", "reason")
    return {k: ln.get(k) for k in keys} | {"bridges": {b: v["amount_lcy"] for b, v in ln["bridges"].items()}}


# catalog


@router.get("/catalog", tags=["catalog"])
def catalog_list(who: Who, data: Data) -> list[dict]:
    return data.catalog_items()


@router.get("/catalog/{item}", tags=["catalog"])
def catalog_item(item: NamePath, who: Who, data: Data) -> dict:
    return data.catalog_item(item)


# runs


@router.get("/runs", tags=["runs"])
def runs_list(who: Who, data: Data, period: Annotated[str | None, Query(pattern=PERIOD)] = None) -> list[dict]:
    keys = ("id", "period", "entities", "status", "exit_code", "user", "started_at", "finished_at", "attempts",
            "source", "previous_run")
    return [{k: r[k] for k in keys} for r in data.view.runs(period)]


@router.post("/runs", tags=["runs"], status_code=202)
def runs_start(body: CloseBody, who: Who, request: Request) -> dict:
    try:
        require(who, "preparer", "admin")
    except SoxautoError as e:
        from ..close import audit

        audit.refused(request.app.state.reader.runs.engine, who.name, "close", str(e), period=body.period)
        raise
    run_id = request.app.state.runner.start(who.name, period_of(body.period) if body.period else None,
                                            tuple(body.entities))
    return {"run_id": run_id, "progress": f"/api/runs/{run_id}/progress"}


@router.get("/runs/{run_id}", tags=["runs"])
def runs_detail(run_id: NamePath, who: Who, data: Data) -> dict:
    return data.run(run_id)


@router.get("/runs/{run_id}/progress", tags=["runs"])
def runs_progress(run_id: NamePath, who: Who, data: Data, request: Request) -> dict:
    doc = data.progress(run_id)
    error = request.app.state.runner.errors.get(run_id)
    return doc | ({"error": error} if error else {})


# evidence


@router.get("/evidence", tags=["evidence"])
def evidence_list(who: Who, data: Data, period: Annotated[str | None, Query(pattern=PERIOD)] = None,
                  entity: Annotated[str | None, Query(pattern=NAME)] = None,
                  item: Annotated[str | None, Query(pattern=NAME)] = None) -> list[dict]:
    return data.evidence(period, entity, item)


@router.get("/evidence/{evidence_id}", tags=["evidence"])
def evidence_detail(evidence_id: str, who: Who, data: Data) -> dict:
    return data.manifest(evidence_id)


@router.get("/evidence/{evidence_id}/zip", tags=["evidence"], response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}}}})
def evidence_zip(evidence_id: str, who: Who, data: Data) -> FileResponse:
    from ..evidence.archive import zip_package

    folder = data.package(evidence_id)
    tmp = FsPath(tempfile.mkdtemp(prefix="soxauto-zip-"))
    out = zip_package(folder, tmp / f"{evidence_id}.zip")

    def cleanup() -> None:
        out.unlink(missing_ok=True)
        tmp.rmdir()

    return FileResponse(out, media_type="application/zip", filename=out.name, background=BackgroundTask(cleanup))


@router.post("/evidence/{evidence_id}/verify", tags=["evidence"])
def evidence_verify(evidence_id: str, who: Who, data: Data) -> dict:
    return data.verify(evidence_id)


# reconciliation


@router.get("/results/{period}", tags=["reconciliation"])
async def results(period: PeriodPath, who: Who, data: Data, request: Request, run_id: RunQuery = None,
            entity: Annotated[str | None, Query(pattern=NAME)] = None,
            line: Annotated[str | None, Query(pattern=NAME)] = None,
            status: Literal["RECONCILED", "INVESTIGATE", "ERROR"] | None = None,
            page: Page = 1, per_page: PerPage = 100) -> dict:
    run = await data.read(data.run_for, period_of(period), run_id)

    def build() -> cache.Answer:
        rows = [line_summary(ln) for ln in data.lines(run)
                if (entity is None or ln["entity"] == entity) and (line is None or ln["line"] == line)
                and (status is None or ln["status"] == status)]
        return json_answer(paged(rows, page, per_page, period=run["period"], run_id=run["id"]))

    return await cache.answer(request, run, build)


@router.get("/results/{period}/lines.csv", tags=["reconciliation"], response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def results_csv(period: PeriodPath, who: Who, data: Data, request: Request, run_id: RunQuery = None) -> Response:
    run = await data.read(data.run_for, period_of(period), run_id)

    def build() -> cache.Answer:
        rows = [line_summary(ln) for ln in data.lines(run)]
        for r in rows:
            r["bridges"] = ";".join(f"{k}={v}" for k, v in r["bridges"].items())
        return csv_answer(rows, f"lines-{run['id']}.csv")

    return await cache.answer(request, run, build)


@router.get("/results/{period}/{entity}/{line}", tags=["reconciliation"])
async def result_line(period: PeriodPath, entity: NamePath, line: NamePath, who: Who, data: Data, request: Request,
                run_id: RunQuery = None) -> dict:
    run = await data.read(data.run_for, period_of(period), run_id)

    def build() -> cache.Answer:
        ln = data.line(run, entity, line)
        return json_answer({"run_id": run["id"], "line": ln, "sources": data.sources(run, entity, ln)})

    return await cache.answer(request, run, build)


@router.get("/results/{period}/{entity}/{line}/items", tags=["reconciliation"])
async def result_items(period: PeriodPath, entity: NamePath, line: NamePath, who: Who, data: Data, request: Request,
                 run_id: RunQuery = None, bridge: Annotated[str | None, Query(pattern=NAME)] = None,
                 material: bool | None = None, page: Page = 1, per_page: PerPage = 100) -> dict:
    run = await data.read(data.run_for, period_of(period), run_id)

    def build() -> cache.Answer:
        rows = data.items(run, entity, line, bridge, material)
        return json_answer(paged(rows, page, per_page, run_id=run["id"], entity=entity, line=line))

    return await cache.answer(request, run, build)


@router.get("/results/{period}/{entity}/{line}/items.csv", tags=["reconciliation"], response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def result_items_csv(period: PeriodPath, entity: NamePath, line: NamePath, who: Who, data: Data, request: Request,
                     run_id: RunQuery = None, bridge: Annotated[str | None, Query(pattern=NAME)] = None,
                     material: bool | None = None) -> Response:
    run = await data.read(data.run_for, period_of(period), run_id)

    def build() -> cache.Answer:
        rows = data.items(run, entity, line, bridge, material)
        return csv_answer(rows, f"items-{run['id']}-{entity}-{line}.csv")

    return await cache.answer(request, run, build)


def json_answer(doc: dict) -> cache.Answer:
    return cache.make(cache.json_bytes(doc), cache.JSON)


def csv_answer(rows: list[dict], filename: str) -> cache.Answer:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return cache.make(buf.getvalue().encode("utf-8"), cache.CSV, filename)


# C&A tests


@router.get("/validation/{period}", tags=["validation"])
def validation(period: PeriodPath, who: Who, data: Data, run_id: RunQuery = None,
               entity: Annotated[str | None, Query(pattern=NAME)] = None,
               item: Annotated[str | None, Query(pattern=NAME)] = None,
               outcome: Literal["passed", "failed", "errored"] | None = None,
               page: Page = 1, per_page: PerPage = 500) -> dict:
    run = data.run_for(period_of(period), run_id)
    rows = data.validation(run, entity, item, outcome)
    counts = {o: sum(1 for r in rows if r["outcome"] == o) for o in ("passed", "failed", "errored")}
    return paged(rows, page, per_page, period=run["period"], run_id=run["id"], outcomes=counts)


# sign-off


def signoffs(request: Request):
    return request.app.state.signoffs()


@router.get("/signoffs/{period}", tags=["sign-off"])
def signoff_current(period: PeriodPath, who: Who, request: Request,
                    entity: Annotated[str | None, Query(pattern=NAME)] = None) -> dict:
    s = signoffs(request)
    p = period_of(period)
    return {"period": p, "locked": s.locked(p), "lines": s.current(p, entity)}


@router.get("/signoffs/{period}/history", tags=["sign-off"])
def signoff_history(period: PeriodPath, who: Who, request: Request,
                    entity: Annotated[str | None, Query(pattern=NAME)] = None,
                    line: Annotated[str | None, Query(pattern=NAME)] = None) -> list[dict]:
    return signoffs(request).history(period_of(period), entity, line)


@router.post("/signoffs/{period}/{entity}/approve-reconciled", tags=["sign-off"])
def signoff_approve_reconciled(period: PeriodPath, entity: NamePath, body: CommentBody, who: Who, data: Data,
                               request: Request) -> dict:
    """Approve every prepared RECONCILED line of the entity (reviewer), one event per line;
    ``skipped`` lists the lines left out and why (a line the caller prepared, one not prepared,
    an INVESTIGATE or ERROR line)."""
    p = period_of(period)
    run = data.run_for(p)
    if entity not in run["entities"]:  # 404, as for a line the period does not have
        raise NotFound(f"run {run['id']} has no entity {entity!r}{did_you_mean(entity, run['entities'])}")
    return signoffs(request).approve_reconciled(who, p, entity, body.comment)


@router.post("/signoffs/{period}/{entity}/{line}/{action}", tags=["sign-off"])
def signoff_act(period: PeriodPath, entity: NamePath, line: NamePath, action: Literal["prepare", "approve", "reject"],
                body: CommentBody, who: Who, data: Data, request: Request) -> dict:
    p = period_of(period)
    data.line(data.run_for(p), entity, line)  # 404 for a line the period does not have
    return getattr(signoffs(request), action)(who, p, entity, line, body.comment)


@router.post("/periods/{period}/unlock", tags=["sign-off"])
def period_unlock(period: PeriodPath, body: ReasonBody, who: Who, request: Request) -> dict:
    return signoffs(request).unlock(who, period_of(period), body.reason)


# dispositions


class DispositionBody(BaseModel):
    """A disposition on an open item. The fields are checked by ``close.dispositions.record``, so
    that every refusal (an unknown kind, no reason, an amount other than the open amount) is
    written to the audit log with why; attachments are base64, at most ``attachment_max_bytes`` each."""

    kind: str = Field(..., max_length=32, description="explained | adjust")
    key: str = Field(..., min_length=1, max_length=400, description="the item's key, as the proof items list it")
    bridge: str = Field(..., min_length=1, max_length=64, description="the item's bridge; UNEXPLAINED for an unclaimed key")
    reason: str = Field("", max_length=4000, description="required for explained")
    journal: dict[str, str] | None = Field(None, description="adjust: {debit, credit, description}")
    amount: str | None = Field(None, max_length=48, description="adjust: the open amount (the default)")
    attachments: list["AttachmentBody"] = Field(default_factory=list, max_length=20)


class AttachmentBody(BaseModel):
    name: str = Field(..., max_length=1000, description="a display name; only its last path component is kept")
    content_base64: str


DispositionBody.model_rebuild()


def record_disposition(request: Request, who, spec) -> dict:
    """Record ``spec`` (close.dispositions.DispositionSpec) for ``who``, the period's lock read from
    the sign-off; the revised run's cached answers are dropped. Shared with the dashboard's form."""
    from ..close.dispositions import record

    cfg, reader = request.app.state.cfg, request.app.state.reader
    signs = signoffs(request)
    done = record(reader.runs, who, spec, locked=lambda p: signs.locked(str(p)) is not None, reports=reader.reports,
                  attachment_dir=FsPath(cfg.home) / "attachments", max_bytes=cfg.attachment_max_bytes)
    signs.after_revision(who.name, done)
    reader.forget(done["run_id"])
    request.app.state.answers.forget(done["run_id"])
    return done


@router.post("/periods/{period}/entities/{entity}/lines/{line}/dispositions", tags=["dispositions"], status_code=201)
def disposition_record(period: PeriodPath, entity: NamePath, line: NamePath, body: DispositionBody, who: Who,
                       request: Request) -> dict:
    """Record a disposition on an open item of the period's latest completed close (preparer). It
    takes effect at once: the answer holds the disposition and the line's new revision. Refused
    (and audit-logged): 403 not a preparer; 409 a locked period, a line in ERROR, an item not open,
    a close running; 400 no such item, no reason, no journal, another amount, a bad attachment."""
    import base64
    import binascii

    from ..close.dispositions import DispositionSpec

    uploads = []
    for a in body.attachments:
        try:
            uploads.append((a.name, base64.b64decode(a.content_base64, validate=True)))
        except (binascii.Error, ValueError):
            from ..close import audit
            from ..errors import UsageError

            why = f"attachment {a.name!r}: content_base64 is not base64"
            audit.refused(request.app.state.reader.runs.engine, who.name, "disposition.record", why, period=period,
                          entity=entity, line=line, key=body.key, bridge=body.bridge, kind=body.kind)
            raise UsageError(why) from None
    spec = DispositionSpec(period, entity, line, body.key, body.bridge, body.kind, body.reason, body.journal, body.amount,
                           tuple(uploads))
    return record_disposition(request, who, spec)


@router.get("/periods/{period}/entities/{entity}/lines/{line}/dispositions", tags=["dispositions"])
def disposition_list(period: PeriodPath, entity: NamePath, line: NamePath, who: Who, data: Data) -> dict:
    """Every disposition of the line in the order recorded (in force, superseded or withdrawn), and
    whether one in force applies in the period's latest completed close."""
    from ..close.dispositions import history

    p = period_of(period)
    return {"period": p, "entity": entity, "line": line,
            "dispositions": history(data.view, p, entity, line, reports=data.reports)}


@router.get("/periods/{period}/dispositions", tags=["dispositions"])
def disposition_period(period: PeriodPath, who: Who, data: Data,
                       entity: Annotated[str | None, Query(pattern=NAME)] = None) -> dict:
    from ..close.dispositions import history

    p = period_of(period)
    return {"period": p, "dispositions": history(data.view, p, entity, reports=data.reports)}


# audit


@router.get("/audit", tags=["audit"])
def audit_log(who: Who, data: Data, run_id: RunQuery = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0, refused: bool = False) -> dict:
    """Newest first; ``refused=true``: only refused actions and failed logins (``refused`` on each entry)."""
    return data.audit(run_id, limit, offset, refused)

