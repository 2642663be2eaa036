"""Execute a close: plan, lock, run every entity on a bounded worker pool, reconcile, report.

``close(config, request)`` is the whole job; it returns the run summary (``report.summary``).
It starts with the pre-flight (``lake.preflight``): every file of every table the close reads is
checked against the source contract before a run, lock or package exists, and a breach raises
``LakeContractError`` (exit 3), whoever started the close (the CLI, the service, the scheduler).
A fresh close makes a new run; ``request.resume`` finishes an earlier run, skipping every step
that completed and whose evidence package still verifies (``pending``). Ctrl-C stops the
workers between two steps, marks the run ``interrupted`` and re-raises ``KeyboardInterrupt``
(exit 130); a SIGKILL leaves the run ``running`` under a lock whose process is gone, which
the next close of that period detects as stale. Either way ``--resume RUN_ID`` finishes it.
"""

from __future__ import annotations

import os
import queue
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..catalog import load_catalog
from ..config import RANK, Config, binding_of, signer_of
from ..engines import connect
from ..errors import UsageError
from ..evidence import ledger, trusted_keys, verify_path
from ..evidence.canonical import utc_now
from ..evidence.store import location
from ..extract import resolve_period
from ..lake.preflight import preflight, tables_read
from ..period import Period
from ..recon import load_pack
from ..validation.history import HistoryStore
from ..validation.shared import SharedScans
from . import audit, lock, report
from .entity import Cancelled, Context, Event, close_entity
from .plan import EVIDENCE, RECONCILE, ClosePlan, make_plan, plan_from_run
from .store import RunStore, now

HEARTBEAT_SECONDS = 10.0


@dataclass(frozen=True)
class CloseRequest:
    period: str | None = None  # YYYY-MM, or None / "latest" for the lake's latest month-end
    entities: tuple[str, ...] = ()
    resume: str | None = None
    wait: bool = False


class Observer:
    """What a close tells its caller while it runs; the CLI draws progress bars from it."""

    def started(self, run_id: str, plan: ClosePlan, todo: dict[str, tuple[str, ...]], recon: set[str], resumed: bool) -> None: ...

    def event(self, event: Event) -> None: ...

    def waiting(self, holder: lock.Holder) -> None: ...

    def note(self, text: str) -> None: ...


def new_run_id(period: Period) -> str:
    return f"{period.compact}-{utc_now():%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def close(cfg: Config, request: CloseRequest, observer: Observer | None = None) -> dict:
    obs = observer or Observer()
    catalog = load_catalog(cfg.pack)
    pack = load_pack(cfg.pack, catalog)
    if not request.resume:
        # Every way into a close (CLI, service, scheduler) passes here: the lake is checked
        # before the run store is even opened, so a breach leaves no run, lock or evidence.
        _preflight(binding_of(cfg), catalog, obs)
    runs = RunStore(cfg.run_store)
    try:
        previous = runs.run(request.resume) if request.resume else None
        if request.resume and previous is None:
            raise UsageError(f"no run {request.resume} in the run store {runs.engine.url.render_as_string(hide_password=True)}; "
                             "'soxauto close --json' prints run ids")
        binding = binding_of(_same_source(cfg, previous) if previous else cfg)
        if previous is not None and previous["status"] != "completed":
            _preflight(binding, catalog, obs)  # the lake may have changed since the run stopped
        runs.ensure_user(cfg.user)
        with connect(binding) as engine:
            plan = _plan(request, previous, engine, catalog, pack)
        if previous is not None and previous["status"] == "completed":
            obs.note(f"run {previous['id']} is already completed; nothing to resume")
            return previous["summary"] or {}
        from ..signoff import check_open  # here: signoff imports close (its run store and audit log)

        run_id = request.resume or new_run_id(plan.period)
        taken = lock.acquire(runs.engine, str(plan.period), plan.entity_ids, run_id, wait=request.wait,
                             stale_seconds=cfg.lock_stale_seconds, on_wait=obs.waiting)
        try:
            # An approved (locked) period is closed again only after an unlock. Asked once this
            # close holds the period: from then on no sign-off is written (signoff refuses while
            # a close holds it), so an approval cannot lock the period under a running close.
            check_open(runs, str(plan.period), cfg.user)
            for line in taken:
                obs.note(line)
                audit.append(runs.engine, cfg.user, "lock.stale_taken_over", run_id, message=line)
            return _run(cfg, runs, plan, pack, catalog, binding, run_id, previous, obs)
        finally:
            lock.release(runs.engine, run_id)
    finally:
        runs.close()


def _preflight(binding, catalog, obs: Observer) -> None:
    """The source contract on every file of every table the close reads (``lake.preflight``);
    raises ``LakeContractError`` (exit 3) on a breach."""
    obs.note(str(preflight(binding, tables_read(catalog.extractable()), "close")))


def _same_source(cfg: Config, run: dict) -> Config:
    """A resumed run reads the lake or binding it started from: unless one is given on the
    command line or configured, it is the one the run recorded; a different one is refused."""
    source = run["source"]
    recorded = {"lake": Path(source[5:])} if source.startswith("lake:") else {"binding": Path(source)}
    key, path = next(iter(recorded.items()))
    chosen = max(("lake", "binding"), key=lambda k: RANK[cfg.source_of(k)] if getattr(cfg, k) is not None else -1)
    if getattr(cfg, chosen) is None or cfg.source_of(chosen) == "default":
        return cfg.override(**recorded)
    if chosen != key or Path(getattr(cfg, chosen)).resolve() != path.resolve():
        raise UsageError(f"run {run['id']} was started from {source}; resume it from the same {key} "
                         f"(drop --{chosen}, or give --{key} {path})")
    return cfg


def _plan(request: CloseRequest, previous: dict | None, engine, catalog, pack) -> ClosePlan:
    if request.resume:
        if request.period not in (None, "latest", previous["period"]):
            raise UsageError(f"run {request.resume} closes {previous['period']}, not {request.period}; drop --period to resume it")
        if request.entities and sorted(request.entities) != sorted(previous["entities"]):
            raise UsageError(f"run {request.resume} closes {', '.join(previous['entities'])}; drop --entities to resume it")
        return plan_from_run(previous, engine, catalog, pack)
    period = resolve_period(engine, request.period)
    return make_plan(engine, catalog, pack, period, request.entities)


def _run(cfg: Config, runs: RunStore, plan: ClosePlan, pack, catalog, binding, run_id: str, previous: dict | None,
         obs: Observer) -> dict:
    t0 = time.perf_counter()
    host, pid = socket.gethostname(), os.getpid()
    if previous is None:
        before = runs.previous_run(str(plan.period), run_id)
        runs.create_run(run_id, period=str(plan.period), entities=plan.entity_ids, user=cfg.user, host=host, pid=pid,
                        source=binding.name, pack_version=pack.version, previous_run=before["id"] if before else None)
        runs.add_steps(run_id, [(s.entity, s.stage, s.item) for s in plan.steps()])
        audit.append(runs.engine, cfg.user, "run.start", run_id, period=str(plan.period), entities=list(plan.entity_ids),
                     source=binding.name, pid=pid, host=host)
    else:
        runs.update_run(run_id, status="running", host=host, pid=pid, attempts=previous["attempts"] + 1, finished_at=None)
        audit.append(runs.engine, cfg.user, "run.resume", run_id, attempt=previous["attempts"] + 1, pid=pid, host=host)
    store = Path(cfg.evidence_store)
    _recover(store, obs)
    try:
        todo, recon, packages = pending(runs, run_id, plan, store, obs)
        obs.started(run_id, plan, todo, recon, previous is not None)
        tested = [i for i in plan.items if any(i in items for items in todo.values())]
        ctx = Context(run_id, plan, catalog, pack, store, signer_of(cfg), HistoryStore(cfg.home / "history.jsonl"), runs,
                      threading.Event(), _notifier(runs, run_id, obs), packages, Path(cfg.reports), cfg.spool_rows, cfg.engine_memory,
                      shared=SharedScans([e for e in plan.entity_ids if todo.get(e)], [catalog.item(i) for i in tested]),
                      user=cfg.user)
        sources = prepare_sources(ctx, binding, obs)
        # The batches hold every core while each worker waits: in the summary's worker-seconds
        # they count once per worker, as each worker's own test steps do.
        sources *= execute(ctx, binding, cfg.parallelism, todo, recon)
    except KeyboardInterrupt:
        runs.update_run(run_id, status="interrupted", finished_at=now())
        audit.append(runs.engine, cfg.user, "run.interrupt", run_id, signal="SIGINT")
        obs.note(f"interrupted: run {run_id} can be finished with 'soxauto close --resume {run_id}'")
        raise
    except BaseException as e:
        runs.update_run(run_id, status="failed", finished_at=now(), exit_code=getattr(e, "exit_code", 4))
        audit.append(runs.engine, cfg.user, "run.fail", run_id, error=f"{e.__class__.__name__}: {e}")
        raise
    return _finish(cfg, runs, plan, pack, run_id, store, time.perf_counter() - t0, sources)


def _recover(store: Path, obs: Observer) -> None:
    """What a killed process left in the evidence store (its spool and temporary folders, a
    commit cut short) is cleared before this run counts what is done."""
    from ..evidence import ledger
    from ..evidence.store import recover

    if not store.is_dir():
        return
    with ledger.locked(store):
        for line in recover(store):
            obs.note(f"evidence store: {line}")


def _notifier(runs: RunStore, run_id: str, obs: Observer):
    last = [time.monotonic()]
    guard = threading.Lock()

    def notify(event: Event) -> None:
        obs.event(event)
        with guard:
            due = time.monotonic() - last[0] > HEARTBEAT_SECONDS
            if due:
                last[0] = time.monotonic()
        if due:
            lock.heartbeat(runs.engine, run_id)

    return notify


def pending(runs: RunStore, run_id: str, plan: ClosePlan, store: Path, obs: Observer):
    """What is left to do: per entity the items whose step is not done or whose package no
    longer verifies, and the entities whose reconciliation must run (again)."""
    rows = {(s["entity"], s["stage"], s["item"]): s for s in runs.steps(run_id)}
    done = {k: s for k, s in rows.items() if k[1] == EVIDENCE and s["status"] == "done"}
    read = ledger.read(store) if done else None
    keys = trusted_keys(store) if done else {}
    todo: dict[str, tuple[str, ...]] = {}
    recon: set[str] = set()
    packages: dict[tuple[str, str], Path] = {}
    for entity in plan.entity_ids:
        items = []
        for item in plan.items:
            step = done.get((entity, EVIDENCE, item))
            if step is not None:
                t = time.perf_counter()
                folder, why = _verified(store, read, keys, step)
                if why is None:
                    packages[(entity, item)] = folder
                    obs.event(Event("verified", entity, item, time.perf_counter() - t, step["rows"], step["outcome"]))
                    continue
                runs.reset_step(run_id, entity, EVIDENCE, item, why)
                obs.note(f"{entity} {item}: {why}; doing it again")
            items.append(item)
        todo[entity] = tuple(items)
        if items or rows[(entity, RECONCILE, "")]["status"] != "done":
            recon.add(entity)  # inputs redone: the entity's figures are computed again from them
    return todo, recon, packages


def _verified(store: Path, read, keys, step: dict) -> tuple[Path | None, str | None]:
    entry = next((e for e in read.entries if e.manifest_sha256 == step["manifest_sha256"]), None)
    if entry is None:
        return None, f"its package {step['evidence_id']} is not in the evidence ledger"
    folder = location(store, entry, read.latest().get(entry.evidence_id))
    if not folder.is_dir():
        return None, f"its package is missing at {folder}"
    result = verify_path(folder, keys)
    if not result.ok or result.manifest_sha256 != step["manifest_sha256"]:
        return None, f"its package at {folder} no longer verifies"
    return folder, None


def prepare_sources(ctx: Context, binding, obs: Observer) -> float:
    """Run the tests' shared source batches (``validation.shared``) before the workers start,
    on an engine with every core; the seconds it took. Left to the workers, the first to need
    a batch runs it on its one DuckDB thread while the others, needing the same batch, wait:
    at scale 1 that left a core idle for about 0.45 s of a 4 s close. Only DuckDB batches."""
    if ctx.shared is None or binding.engine != "duckdb" or not ctx.shared.entities:
        return 0.0
    t0 = time.perf_counter()
    with connect(binding, threads=os.cpu_count() or 1, memory_limit=ctx.engine_memory) as engine:
        ran = ctx.shared.prepare(engine, ctx.plan.period)
    seconds = time.perf_counter() - t0
    if ran:
        obs.note(f"tests' source queries: {ran} batch(es) for {len(ctx.shared.entities)} entities in {seconds:.1f}s")
    return seconds


def execute(ctx: Context, binding, parallelism: int, todo: dict[str, tuple[str, ...]], recon: set[str]) -> int:
    """Entities on ``parallelism`` worker threads, each with its own engine; returns how many
    workers ran. Ctrl-C lets each worker finish the step it is in (a half-written package is
    never left by choice)."""
    work: queue.SimpleQueue[str] = queue.SimpleQueue()
    entities = [e for e in ctx.plan.entity_ids if todo[e] or e in recon]
    for e in entities:
        work.put(e)
    errors: list[BaseException] = []
    options = {"threads": max(1, (os.cpu_count() or 2) // parallelism), "memory_limit": ctx.engine_memory} \
        if binding.engine == "duckdb" else {}
    finished = [threading.Event() for _ in range(min(parallelism, len(entities)))]

    def worker(done: threading.Event) -> None:
        try:
            with connect(binding, **options) as engine:
                while not ctx.cancel.is_set():
                    try:
                        entity = work.get_nowait()
                    except queue.Empty:
                        return
                    close_entity(ctx, engine, entity, todo[entity], entity in recon)
        except Cancelled:
            return
        except BaseException as e:  # noqa: BLE001  reported by the main thread
            errors.append(e)
            ctx.cancel.set()
        finally:
            done.set()

    for n, done in enumerate(finished):
        threading.Thread(target=worker, args=(done,), name=f"close-worker-{n}", daemon=True).start()
    # Waiting on events, not Thread.join: a KeyboardInterrupt that lands inside join() can mark a
    # running thread as stopped (CPython's _wait_for_tstate_lock), and the close would then exit
    # while a worker is still writing a package.
    try:
        for done in finished:
            while not done.wait(0.2):  # a short wait keeps the main thread responsive to Ctrl-C
                pass
    except KeyboardInterrupt:
        ctx.cancel.set()
        for done in finished:
            done.wait()
        raise
    if errors:
        raise errors[0]
    return len(finished)


def _finish(cfg: Config, runs: RunStore, plan: ClosePlan, pack, run_id: str, store: Path, seconds: float,
            sources: float = 0.0) -> dict:
    t0 = time.perf_counter()
    steps = runs.steps(run_id)
    recon_doc = report.reconciliation(runs, run_id, plan, pack)
    code = report.exit_code(steps, recon_doc)
    status = "failed" if any(s["status"] in ("failed", "blocked") for s in steps) else "completed"
    run = runs.run(run_id)
    folder = Path(cfg.reports) / run_id
    summary = report.summary(run, steps, recon_doc, status=status, exit_code=code, previous=runs.run(run["previous_run"] or ""),
                             previous_steps=runs.steps(run["previous_run"]) if run["previous_run"] else [],
                             store=store, reports=folder, run_store=cfg.run_store, attempt_seconds=seconds,
                             sources_seconds=sources)
    published = _publish(store, steps)
    if published is not None:
        summary["publish"] = published
    summary["reports"].update(_run_reports(runs, run_id, Path(cfg.reports), store, summary))
    summary["stages"]["report"] = round(time.perf_counter() - t0, 3)
    report.write(folder, summary, recon_doc)
    runs.update_run(run_id, status=status, exit_code=code, finished_at=now(), summary=summary)
    audit.append(runs.engine, cfg.user, "run.finish", run_id, status=status, exit_code=code, reports=str(folder),
                 changed_fingerprints=len(summary["fingerprints"]["changed"]))
    from ..signoff import SignOffs

    SignOffs(runs).after_run(run_id)  # suspends the sign-offs whose evidence this run changed
    return summary


def _run_reports(runs: RunStore, run_id: str, reports: Path, store: Path, summary: dict) -> dict:
    """The workbook and HTML report (soxauto.reports); a failure is recorded, not fatal: the
    figures are stored and ``soxauto report RUN_ID`` can write them again."""
    from ..reports import write_run_reports

    try:
        return write_run_reports(runs, run_id, reports, store, summary)
    except Exception as e:  # noqa: BLE001
        return {"error": f"{e.__class__.__name__}: {e}"}


def _publish(store: Path, steps: list[dict]) -> dict | None:
    """Optional S3 copies and a timestamp anchor, when configured by environment."""
    from ..evidence.anchor import settings_from_env
    from ..evidence.publish import after_commit

    settings = settings_from_env()
    if not (settings.s3_bucket or settings.tsa_url):
        return None
    folders = [store / s["evidence_id"] for s in steps if s["stage"] == EVIDENCE and s["status"] == "done"]
    return after_commit(store, [f for f in folders if f.is_dir()], settings)
