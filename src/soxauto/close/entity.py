"""One entity's share of a close, on a worker thread with the worker's own engine.

For each item still to do: extract it (and the items its cross-source tests compare with),
run its C&A tests, write its evidence package under the close's run id, and record the step.
An item reading the run's time bounds (CR_06) gets the entity's horizon and the pack's
window_end, computed once for the entity.
Then reconcile the entity from the extracts. On a resumed run the extracts of steps done
earlier are read back from their (verified) evidence packages: the package is what the
reconciliation must agree with, and its data is the extract, byte for byte.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Mapping

import pyarrow as pa
import pyarrow.dataset as ds

from ..catalog.model import TIME_BOUNDS, Catalog
from ..engines.base import Engine
from ..errors import SoxautoError
from ..evidence.facts import RunLog
from ..evidence.keys import Signer
from ..evidence.package import write_package
from ..extract import ExtractResult, extract, time_bounds
from ..recon import ReconPack, control_report, reconcile
from ..stream import SPOOL_ROWS, spool_folder
from ..validation import Outcome, TestResult, ValidationResult, validate
from ..validation.history import HistoryStore
from ..validation.shared import SharedScans
from .dispositions import note_suspended
from .history import item_history
from .items import write_items
from .plan import EVIDENCE, RECONCILE, ClosePlan
from .store import RunStore


class Cancelled(Exception):
    """The close was interrupted (Ctrl-C): the worker stops between two steps."""


@dataclass(frozen=True)
class Event:
    """Progress: ``stage`` is extract, test, evidence, reconcile, verified (a resumed step
    whose evidence still verifies) or failed."""

    stage: str
    entity: str
    item: str
    seconds: float
    rows: int | None = None
    outcome: int | None = None
    message: str = ""


@dataclass(frozen=True)
class Context:
    run_id: str
    plan: ClosePlan
    catalog: Catalog
    pack: ReconPack
    store: Path
    signer: Signer
    history: HistoryStore
    runs: RunStore
    cancel: threading.Event
    notify: Callable[[Event], None]
    packages: Mapping[tuple[str, str], Path] = field(default_factory=dict)  # (entity, item) → verified package
    reports: Path | None = None  # where the proof items of each reconciled entity are written (close.items)
    spool_rows: int | None = SPOOL_ROWS  # extracts above this many rows stream to disk (soxauto.stream); None: never
    engine_memory: str | None = None  # each worker engine's memory limit (DuckDB spills beyond it)
    shared: SharedScans | None = None  # source scans run once for all entities (validation.shared)
    user: str = "soxauto"  # who runs the close (audit events of the entity's steps)


def close_entity(ctx: Context, engine: Engine, entity: str, todo: tuple[str, ...], recon: bool) -> bool:
    """Do the entity's remaining steps; False when a step failed (its reconciliation is then
    blocked: it would be computed from missing inputs)."""
    if ctx.spool_rows is None:
        return _close_entity(ctx, engine, entity, todo, recon, None)
    with spool_folder(ctx.store, f"{ctx.run_id}-{entity}") as spool:
        return _close_entity(ctx, engine, entity, todo, recon, spool)


def _close_entity(ctx: Context, engine: Engine, entity: str, todo: tuple[str, ...], recon: bool, spool: Path | None) -> bool:
    fresh: dict[str, ExtractResult] = {}
    tests: dict[str, ValidationResult] = {}
    bounds: dict[str, dict] = {}
    keep = set(ctx.plan.recon_items)
    ok = True
    for n, item in enumerate(todo):
        if ctx.cancel.is_set():
            raise Cancelled()
        ok = _evidence(ctx, engine, entity, item, fresh, tests, spool, bounds) and ok
        later = set(ctx.plan.needs(todo[n + 1:]))
        for done in [i for i in fresh if i not in keep and i not in later]:
            del fresh[done]  # bounded memory: only what reconciliation or a later test still reads
    if not ok:
        ctx.runs.finish_step(ctx.run_id, entity, RECONCILE, status="blocked", error="an evidence step of the entity failed")
        return False
    if recon:
        if ctx.cancel.is_set():
            raise Cancelled()
        return _reconcile(ctx, engine, entity, fresh, tests)
    return True


def _time_bounds(ctx: Context, engine: Engine, entity: str, names, cache: dict) -> dict:
    """The entity's horizon and window_end (from the pack), computed once per entity, by the
    first step whose items read them; ``{}`` for a step whose items do not."""
    if not any(set(TIME_BOUNDS) & ctx.catalog.item(n).reads for n in names):
        return {}
    if "entity" not in cache:
        items = [ctx.catalog.item(i) for i in ctx.plan.items]
        cache["entity"] = time_bounds(engine, ctx.pack, ctx.plan.period, entity, items)
    return cache["entity"]


def _evidence(ctx: Context, engine: Engine, entity: str, item: str, fresh: dict, tests: dict, spool: Path | None,
              bounds: dict) -> bool:
    run_id, period = ctx.run_id, ctx.plan.period
    ctx.runs.start_step(run_id, entity, EVIDENCE, item)
    t0 = time.perf_counter()
    log = RunLog()
    try:
        log.step("extract.start", item=item, entity=entity, period=period, run_id=run_id)
        names = (item, *ctx.plan.others.get(item, ()))
        overrides = _time_bounds(ctx, engine, entity, [n for n in names if n not in fresh], bounds)
        for name in names:
            if name not in fresh:
                fresh[name] = extract(engine, ctx.catalog.item(name), period, entity, overrides, spool=spool,
                                      spool_rows=ctx.spool_rows or 0)
            q = fresh[name].query
            log.step("extract.done" if name == item else "extract.other", item=name, rows=fresh[name].row_count,
                     engine=q.engine, execution_id=q.execution_id, elapsed_ms=int(round(q.elapsed_seconds * 1000)))
        result = fresh[item]
        t1 = time.perf_counter()
        ctx.notify(Event("extract", entity, item, t1 - t0, result.row_count))
        others = {o: fresh[o] for o in ctx.plan.others.get(item, ())}
        log.step("tests.start", rules=len(result.item.tests))
        checked = validate(engine, result, others=others, history=ctx.history, shared=ctx.shared)
        log.step("tests.done", **checked.to_dict()["summary"])
        t2 = time.perf_counter()
        ctx.notify(Event("test", entity, item, t2 - t1, result.row_count, checked.exit_code))
        written = _package(ctx, result, checked, log)
        t3 = time.perf_counter()
    except Exception as e:  # noqa: BLE001  a step's failure is recorded; the other entities go on
        code = e.exit_code if isinstance(e, SoxautoError) else 4
        message = str(e) if isinstance(e, SoxautoError) else f"{e.__class__.__name__}: {e}"
        ctx.runs.finish_step(run_id, entity, EVIDENCE, item, status="failed", outcome=code, error=message,
                             seconds=time.perf_counter() - t0)
        ctx.notify(Event("failed", entity, item, time.perf_counter() - t0, outcome=code, message=message))
        return False
    tests[item] = checked
    ctx.runs.finish_step(
        run_id, entity, EVIDENCE, item, status="done", seconds=t3 - t0,
        timings={"extract": round(t1 - t0, 4), "test": round(t2 - t1, 4), "evidence": round(t3 - t2, 4)},
        evidence_id=written.evidence_id, manifest_sha256=written.manifest_sha256, fingerprint=written.fingerprint,
        ledger_seq=written.seq, rows=result.row_count, outcome=checked.exit_code, tests=checked.to_dict()["summary"])
    ctx.notify(Event("evidence", entity, item, t3 - t2, result.row_count, checked.exit_code))
    return True


def _package(ctx: Context, result: ExtractResult, checked: ValidationResult, log: RunLog):
    # The writer locks its uniquely named temporary folder before anyone can see it unlocked,
    # so a resumed run or another worker's recovery never collides with it.
    return write_package(ctx.store, result, checked, signer=ctx.signer, log=RunLog(list(log.steps)), run_id=ctx.run_id)


def _reconcile(ctx: Context, engine: Engine, entity: str, fresh: dict, tests: dict) -> bool:
    ctx.runs.start_step(ctx.run_id, entity, RECONCILE)
    t0 = time.perf_counter()
    try:
        tables: dict[str, pa.Table] = {}
        checks: dict[str, ValidationResult] = {}
        bound: dict[str, dict] = {}
        for item in ctx.plan.recon_items:
            if item in tests:  # done in this attempt (an item extracted only as another's input is not)
                tables[item], checks[item], bound[item] = fresh[item].scan(), tests[item], dict(fresh[item].parameters)
            else:
                tables[item], checks[item] = from_package(ctx.packages[(entity, item)])
                bound[item] = package_parameters(ctx.packages[(entity, item)])
        state = item_history(ctx.runs, ctx.reports, ctx.plan.period, entity)
        result = reconcile(engine, tables, ctx.plan.period, ctx.plan.entity(entity), pack=ctx.pack, validations=checks,
                           history=state, horizon=_date(bound["CR_06"]["horizon"]))
        written = write_items(ctx.reports, ctx.run_id, result) if ctx.reports is not None else None
        for ln in result.lines:
            if ln.reconciling is not None and ln.reconciling.suspended:
                note_suspended(ctx.runs, ctx.user, ctx.run_id, str(ctx.plan.period), entity, ln.line, ln.reconciling.suspended)
    except Exception as e:  # noqa: BLE001
        code = e.exit_code if isinstance(e, SoxautoError) else 4
        message = str(e) if isinstance(e, SoxautoError) else f"{e.__class__.__name__}: {e}"
        ctx.runs.finish_step(ctx.run_id, entity, RECONCILE, status="failed", outcome=code, error=message,
                             seconds=time.perf_counter() - t0)
        ctx.notify(Event("failed", entity, "", time.perf_counter() - t0, outcome=code, message=message))
        return False
    detail = {"entity": result.to_dict(), "workflow_state": state.to_dict(),
              "control_reports": [control_report(ln, ctx.catalog).to_dict() for ln in result.lines if ln.control_report]}
    if written is not None:
        detail["items"] = written
    meter = getattr(engine, "meter", None)
    if meter is not None:  # Athena: the statements no evidence package claimed (close.report counts them)
        detail["query_usage"] = [u.to_dict() for u in meter.drain_outside()]
    seconds = time.perf_counter() - t0
    ctx.runs.save_recon(ctx.run_id, entity, [ln.to_dict() for ln in result.lines], detail, seconds)
    ctx.notify(Event("reconcile", entity, "", seconds, len(result.lines)))
    return True


def _date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def package_parameters(folder: Path) -> dict:
    """The parameters a committed package's extract was bound with (parameters.json)."""
    return json.loads((folder / "parameters.json").read_bytes())["parameters"]


def from_package(folder: Path) -> tuple[ds.Dataset, ValidationResult]:
    """An extract (a lazy dataset over its Parquet file: never loaded whole) and its test
    results, as a committed package holds them."""
    table = ds.dataset(folder / "data.parquet", format="parquet")
    doc = json.loads((folder / "tests.json").read_bytes())
    from ..period import Period

    results = tuple(TestResult(r["rule_id"], r["kind"], r["severity"], Outcome(r["outcome"]), r.get("observed"),
                               r.get("expected"), tuple(r.get("sql") or ()), tuple(r.get("sample") or ()),
                               int(r.get("failing_count") or 0), r.get("message") or "") for r in doc["results"])
    return table, ValidationResult(doc["item"], doc["entity"], Period.parse(doc["period"]), results)
