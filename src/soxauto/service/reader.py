"""What the service reads: runs and their steps, reconciliation lines, proof items, evidence
packages, C&A test results, the audit log and the catalog. The API and the dashboard both ask
this one object, so a figure on a page and in a JSON answer come from the same place.

A period's results are those of its latest completed run unless a run id is given. Completed
runs never change, so their lines, proof items and figure sources are read once and kept (the
load benchmark reads them hundreds of times a second); a running run is always read afresh.

``inline`` says whether a run-store read may run on the event loop (``await reader.read(...)``):
on SQLite in WAL mode a reader never waits for a writer and an indexed read takes about 0.1 ms,
less than the hand-over to a worker thread; a server database (PostgreSQL) is a network round
trip, so its reads go to a worker thread.
"""

from __future__ import annotations

import copy
import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Callable, TypeVar

from sqlalchemy import bindparam, select
from starlette.concurrency import run_in_threadpool

from ..close import audit
from ..close.store import RunStore
from ..close.store import runs as runs_table
from ..config import Config
from ..errors import UsageError, did_you_mean
from ..evidence.store import NAME, history_path, manifest_hash
from .problem import NotFound

# Which evidence stands behind which figure of a line: GL from CR_04 balances, the key-level
# join from CR_03 postings, TV from the line's own item (docs/semantics.md, "Lines").
FIGURES = (("gl_amount", "CR_04"), ("key_level", "CR_03"))
CACHED_RUNS = 64
T = TypeVar("T")

# The run a period's results come from, asked on every results request: built once.
_LATEST = (select(runs_table.c.id, runs_table.c.period, runs_table.c.entities, runs_table.c.status,
                  runs_table.c.user, runs_table.c.started_at, runs_table.c.finished_at)
           .where(runs_table.c.period == bindparam("period"), runs_table.c.status == "completed")
           .order_by(runs_table.c.started_at.desc(), runs_table.c.id.desc()).limit(1))


class Reader:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.runs = RunStore(cfg.run_store)  # writes: sign-offs, closes
        self.view = reading(self.runs)  # reads: every GET
        self.store = Path(cfg.evidence_store)
        self.reports = Path(cfg.reports)
        self._lines: dict[str, list[dict]] = {}
        self._cache: dict[tuple, object] = {}
        self._guard = threading.Lock()
        self._catalog = None
        self.inline = self.view.engine.dialect.name == "sqlite"

    async def read(self, fn: Callable[..., T], *args) -> T:
        """``fn(*args)``, a short run-store read: on the event loop for SQLite, else in a worker thread."""
        return fn(*args) if self.inline else await run_in_threadpool(fn, *args)

    def close(self) -> None:
        if self.view is not self.runs:
            self.view.close()
        self.runs.close()

    # runs

    def run(self, run_id: str) -> dict:
        run = self.view.run(run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r}; GET /api/runs lists the runs")
        return run

    def run_for(self, period: str, run_id: str | None = None) -> dict:
        """The run whose results a period shows: the given one, else the latest completed."""
        if run_id:
            run = self.run(run_id)
            if run["period"] != period:
                raise NotFound(f"run {run_id} closes {run['period']}, not {period}")
            return run
        latest = self._latest_completed(period)
        if latest is None:
            raise NotFound(f"no completed close of period {period}{self._period_hint(period)}")
        return latest

    def _latest_completed(self, period: str) -> dict | None:
        """Only the columns a results page needs: the run's summary JSON is large, and parsing
        it on every request was most of a request's time under load."""
        with self.view.engine.connect() as con:
            row = con.execute(_LATEST, {"period": period}).mappings().first()
        return None if row is None else {**row, "entities": json.loads(row["entities"])}

    def _period_hint(self, period: str) -> str:
        periods = sorted({r["period"] for r in self.view.runs()})
        return did_you_mean(period, periods) or (f"; closed periods: {', '.join(periods)}" if periods else "; none yet")

    def periods(self) -> list[dict]:
        out: dict[str, dict] = {}
        for r in self.view.runs():
            p = out.setdefault(r["period"], {"period": r["period"], "runs": 0, "latest_run": None, "latest_status": None})
            p["runs"] += 1
            p["latest_run"], p["latest_status"] = r["id"], r["status"]
        return sorted(out.values(), key=lambda p: p["period"], reverse=True)

    def progress(self, run_id: str) -> dict:
        run = self.run(run_id)
        steps = self.view.steps(run_id)
        by: dict[str, dict[str, int]] = {}
        for s in steps:
            stage = by.setdefault(s["stage"], {})
            stage[s["status"]] = stage.get(s["status"], 0) + 1
        done = sum(1 for s in steps if s["status"] == "done")
        return {"run_id": run_id, "status": run["status"], "exit_code": run["exit_code"], "steps": len(steps),
                "done": done, "stages": by,
                "failed": [{"entity": s["entity"], "stage": s["stage"], "item": s["item"], "error": s["error"]}
                           for s in steps if s["status"] in ("failed", "blocked")]}

    # reconciliation

    def lines(self, run: dict) -> list[dict]:
        cached = self._lines.get(run["id"])
        if cached is not None:
            return cached
        by_entity = self.view.recon_lines(run["id"])
        lines = [ln for e in run["entities"] for ln in by_entity.get(e, [])]
        if run["status"] == "completed":
            with self._guard:
                if len(self._lines) >= CACHED_RUNS:
                    self._lines.pop(next(iter(self._lines)))
                self._lines[run["id"]] = lines
        return lines

    def line(self, run: dict, entity: str, line: str) -> dict:
        lines = self.lines(run)
        for ln in lines:
            if ln["entity"] == entity and ln["line"] == line:
                return ln
        entities = sorted({ln["entity"] for ln in lines})
        if entity not in entities:
            raise NotFound(f"run {run['id']} has no entity {entity!r}{did_you_mean(entity, entities)}")
        names = [ln["line"] for ln in lines if ln["entity"] == entity]
        raise NotFound(f"run {run['id']} has no line {line!r} for {entity}{did_you_mean(line, names)}")

    def items(self, run: dict, entity: str, line: str, bridge: str | None = None,
              material: bool | None = None) -> list[dict]:
        """The line's proof items, amounts as exact decimal strings."""
        from ..close.items import read_items

        self.line(run, entity, line)
        key = ("items", run["id"], entity)
        rows = self._cache.get(key)
        if rows is None:
            try:
                table = read_items(self.reports, run["id"], entity=entity)
            except UsageError as e:
                raise NotFound(str(e)) from None
            rows = [{**r, "amount_lcy": _money(r["amount_lcy"])} for r in table.to_pylist()]
            self._remember(run, key, rows)
        return [r for r in rows if r["line"] == line and (bridge is None or r["bridge"] == bridge)
                and (material is None or r["material"] is material)]

    def forget(self, run_id: str) -> None:
        """Drop what is kept of a run: a disposition revised its lines (close.dispositions)."""
        with self._guard:
            self._lines.pop(run_id, None)
            for key in [k for k in self._cache if len(k) > 1 and k[1] == run_id]:
                del self._cache[key]

    def _remember(self, run: dict, key: tuple, value) -> None:
        """Keep what a completed run's files say: they never change once the run is done."""
        if run["status"] != "completed":
            return
        with self._guard:
            if len(self._cache) >= CACHED_RUNS * 16:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = value

    def sources(self, run: dict, entity: str, line: dict) -> list[dict]:
        """For each figure of the line: the evidence package, its executed SQL and parameters."""
        key = ("sources", run["id"], entity, line["line"])
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        steps = {s["item"]: s for s in self.view.steps(run["id"]) if s["entity"] == entity and s["stage"] == "evidence"}
        out = []
        for figure, item in (*FIGURES, ("tv_amount", line.get("tv_item"))):
            step = steps.get(item)
            if not step or not step.get("evidence_id"):
                out.append({"figure": figure, "item": item, "evidence_id": None, "sql": None, "parameters": None})
                continue
            folder = self.package_of_step(step)
            out.append({"figure": figure, "item": item, "evidence_id": step["evidence_id"],
                        "manifest_sha256": step["manifest_sha256"], "rows": step["rows"],
                        "sql": _text(folder / "query.sql") if folder else None,
                        "parameters": _json(folder / "parameters.json").get("parameters") if folder else None})
        self._remember(run, key, out)
        return out

    # evidence

    def package(self, evidence_id: str) -> Path:
        """The current package folder of an evidence id. The id is checked against the store's
        naming rule before it touches the file system, so no '..' or '/' ever reaches a path."""
        if not NAME.fullmatch(evidence_id or ""):
            raise NotFound(f"{evidence_id!r} is not an evidence id (ITEM_ENTITY_YYYYMM)")
        folder = self.store / evidence_id
        if not folder.resolve().is_relative_to(self.store.resolve()) or not (folder / "manifest.json").is_file():
            raise NotFound(f"no evidence package {evidence_id} in the store")
        return folder

    def package_of_step(self, step: dict) -> Path | None:
        """The package a step wrote: in place if still current, else its history copy."""
        current = self.store / step["evidence_id"]
        if manifest_hash(current) == step["manifest_sha256"]:
            return current
        if step.get("ledger_seq"):
            old = history_path(self.store, step["evidence_id"], step["ledger_seq"])
            if manifest_hash(old) == step["manifest_sha256"]:
                return old
        return None

    def evidence(self, period: str | None = None, entity: str | None = None, item: str | None = None) -> list[dict]:
        out = []
        for folder in sorted(p for p in self.store.iterdir() if p.is_dir() and NAME.fullmatch(p.name)) \
                if self.store.is_dir() else []:
            m = _json(folder / "manifest.json")
            if not m:
                continue
            row = {"evidence_id": folder.name, "item": (m.get("item") or {}).get("id"), "entity": m.get("entity"),
                   "period": m.get("period"), "run_id": m.get("run_id"), "rows": m.get("row_count"),
                   "created_at": m.get("created_at"), "manifest_sha256": manifest_hash(folder)}
            if (period, entity, item) == (None, None, None) or \
                    all(want is None or row[k] == want for k, want in (("period", period), ("entity", entity), ("item", item))):
                out.append(row)
        return out

    def manifest(self, evidence_id: str) -> dict:
        folder = self.package(evidence_id)
        return {"evidence_id": evidence_id, "manifest_sha256": manifest_hash(folder),
                "manifest": _json(folder / "manifest.json"),
                "parameters": _json(folder / "parameters.json").get("parameters"),
                "sql": _text(folder / "query.sql")}

    def verify(self, evidence_id: str) -> dict:
        from ..evidence import trusted_keys, verify_path

        report = verify_path(self.package(evidence_id), trusted_keys(self.store)).to_dict()
        report["path"] = evidence_id  # the server's folders are none of the client's business
        return report

    # C&A tests

    def validation(self, run: dict, entity: str | None = None, item: str | None = None,
                   outcome: str | None = None) -> list[dict]:
        out = []
        for s in self.view.steps(run["id"]):
            if s["stage"] != "evidence" or (entity and s["entity"] != entity) or (item and s["item"] != item):
                continue
            folder = self.package_of_step(s) if s.get("evidence_id") else None
            for r in _json(folder / "tests.json").get("results", []) if folder else []:
                if outcome and r.get("outcome") != outcome:
                    continue
                out.append({"entity": s["entity"], "item": s["item"], "evidence_id": s["evidence_id"],
                            "rule_id": r["rule_id"], "kind": r["kind"], "severity": r["severity"],
                            "outcome": r["outcome"], "observed": r.get("observed"), "expected": r.get("expected"),
                            "failing_count": r.get("failing_count", 0), "message": r.get("message", "")})
        return out

    # audit and catalog

    def audit(self, run_id: str | None = None, limit: int = 100, offset: int = 0, refused: bool = False) -> dict:
        """Newest first; with ``refused``, only the refused actions and failed logins."""
        entries = audit.entries(self.view.engine, run_id)
        entries.reverse()  # newest first
        if refused:
            entries = [e for e in entries if audit.is_refused(e.action)]
        page = entries[offset:offset + limit]
        return {"total": len(entries), "offset": offset, "limit": limit,
                "entries": [{"seq": e.seq, "at": e.at, "user": e.user, "run_id": e.run_id, "action": e.action,
                             "refused": audit.is_refused(e.action), "detail": e.detail, "sha256": e.sha256} for e in page]}

    @property
    def catalog(self):
        if self._catalog is None:
            from ..catalog import load_catalog

            self._catalog = load_catalog(self.cfg.pack)
        return self._catalog

    def catalog_items(self) -> list[dict]:
        return [{"id": i.id, "title": i.title, "kind": i.kind, "version": i.version, "owner": i.owner,
                 "source_systems": list(i.source_systems), "tests": len(i.tests), "has_sql": i.sql is not None}
                for i in sorted(self.catalog.items.values(), key=lambda i: i.id)]

    def catalog_item(self, item_id: str) -> dict:
        try:
            i = self.catalog.item(item_id)
        except UsageError as e:
            raise NotFound(str(e)) from None
        return {"id": i.id, "title": i.title, "kind": i.kind, "control": i.control, "owner": i.owner,
                "version": i.version, "description": i.description, "source_systems": list(i.source_systems),
                "sql": i.sql, "query_sha256": i.query_sha256,
                "parameters": [{"name": p.name, "type": p.type, "default": _plain(p.default),
                                "description": p.description} for p in i.parameters],
                "output": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in i.output],
                "key": list(i.key), "critical_columns": list(i.critical_columns),
                "tests": [{"id": t.id, "kind": t.kind, "severity": t.severity, "description": t.description,
                           "params": {k: _plain(v) for k, v in t.params.items()}} for t in i.tests]}


def reading(runs: RunStore) -> RunStore:
    """The run store for reading. On SQLite the store begins every transaction with ``BEGIN
    IMMEDIATE`` (so writers queue instead of failing half way); for a server's reads that takes
    the write lock on every GET and serialises them. WAL lets readers go without it, so reads
    get their own engine with the driver's plain deferred transactions."""
    if runs.engine.dialect.name != "sqlite":
        return runs
    from sqlalchemy import create_engine

    view = copy.copy(runs)
    view.engine = create_engine(runs.engine.url, connect_args={"check_same_thread": False, "timeout": 60},
                                pool_size=16, max_overflow=48)
    return view


def _money(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def _plain(value):
    """YAML values as JSON: tuples to lists, dates and decimals to strings."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}


def _text(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except OSError:
        return None
