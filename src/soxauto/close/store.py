"""The run store: every close, its steps, outcomes, timings, evidence and reconciliation results.

SQLAlchemy Core over SQLite (a file under ``SOXAUTO_HOME`` by default) or PostgreSQL (by URL).

    users          who ran closes (name, first seen)
    runs           one row per close: period, entities, status, exit code, who, where, when
    steps          one row per unit of work: (entity, ``evidence``, item) and (entity, ``reconcile``);
                   status, attempts, timings, evidence id, manifest SHA-256, fingerprint, rows, tests
    recon_results  one row per reconciliation line, its figures as exact decimal strings and its JSON
                   (its latest revision: a disposition recomputes a line without re-running the close)
    recon_revisions every revision of a line's result after the close's own (revision 0), with its cause
    dispositions   a preparer's word on an open item (``close.dispositions``)
    locks          (period, entity) held by a running close (``close.lock``)
    audit_log      append-only, hash-chained (``close.audit``)

Amounts are stored as decimal strings, never floats: a run store must give back the figures
the reconciliation computed, to the cent. Times are UTC ISO strings, identical on both databases.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy import (Column, Float, ForeignKey, Integer, MetaData, String, Table, Text, create_engine, delete, event,
                        insert, select, update)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from ..errors import UsageError
from ..evidence.canonical import utc_now, utc_text

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("name", String(200), primary_key=True),
    Column("first_seen", String(32), nullable=False),
)
runs = Table(
    "runs", metadata,
    Column("id", String(64), primary_key=True),
    Column("period", String(7), nullable=False, index=True),
    Column("entities", Text, nullable=False),  # JSON list of company ids
    Column("status", String(16), nullable=False),  # running | interrupted | failed | completed
    Column("exit_code", Integer),
    Column("user", String(200), ForeignKey("users.name"), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    Column("attempts", Integer, nullable=False),
    Column("source", Text, nullable=False),  # the binding's name: which lake or warehouse
    Column("pack_version", String(64), nullable=False),
    Column("previous_run", String(64)),  # the run of the same period this one is compared with
    Column("summary", Text),  # JSON: stage timings, fingerprint changes, report paths
)
steps = Table(
    "steps", metadata,
    Column("run_id", String(64), ForeignKey("runs.id"), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("stage", String(16), primary_key=True),  # evidence | reconcile
    Column("item", String(64), primary_key=True),  # '' for an entity-level stage
    Column("status", String(16), nullable=False),  # pending | running | done | failed | blocked
    Column("attempts", Integer, nullable=False, default=0),
    Column("started_at", String(32)),
    Column("finished_at", String(32)),
    Column("seconds", Float),
    Column("timings", Text),  # JSON: seconds per sub-stage (extract, test, evidence)
    Column("evidence_id", String(128)),
    Column("manifest_sha256", String(64)),
    Column("fingerprint", String(64)),
    Column("ledger_seq", Integer),
    Column("rows", Integer),
    Column("outcome", Integer),  # the item's test exit code (0, 1, 2) or the failure's exit code
    Column("tests", Text),  # JSON: passed / failed / errored counts
    Column("error", Text),
    Column("detail", Text),  # JSON, reconcile steps: the entity's figures and control reports
)
recon_results = Table(
    "recon_results", metadata,
    Column("run_id", String(64), ForeignKey("runs.id"), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("line", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("gl_amount", String(48)),
    Column("tv_amount", String(48)),
    Column("variance_lcy", String(48)),
    Column("unexplained_lcy", String(48)),
    Column("unexplained_usd", String(48)),
    Column("status", String(16), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),  # the line in the shape of ``soxauto recon --json``
)

recon_revisions = Table(
    "recon_revisions", metadata,
    Column("run_id", String(64), ForeignKey("runs.id"), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("line", String(64), primary_key=True),
    Column("revision", Integer, primary_key=True, autoincrement=False),  # 0: the close's own result
    Column("cause", Text),  # JSON {disposition, sha256}; null for revision 0
    Column("detail", Text, nullable=False),  # the line as recon_results held it at this revision
    Column("at", String(32), nullable=False),
)

STEP_FIELDS = tuple(c.name for c in steps.columns)


def now() -> str:
    return utc_text(utc_now())


def connect_url(url: str) -> Engine:
    """An engine for the run store. SQLite: WAL, a busy timeout, and ``BEGIN IMMEDIATE`` so a
    read-then-write transaction takes the write lock first and two processes queue instead of
    failing with "database is locked" half way."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 60})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_con, _record) -> None:
            dbapi_con.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cur = dbapi_con.cursor()
            for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=60000", "PRAGMA foreign_keys=ON"):
                cur.execute(pragma)
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    raise UsageError(f"run store {parsed.render_as_string(hide_password=True)}: only sqlite:// and "
                     "postgresql+psycopg:// URLs are supported")


class RunStore:
    def __init__(self, url: str):
        from . import audit  # noqa: F401  (its table and triggers join the metadata)
        from . import dispositions  # noqa: F401
        from . import lock  # noqa: F401

        self.url = url
        self.engine = connect_url(url)
        try:
            metadata.create_all(self.engine)
        except SQLAlchemyError as e:
            from ..errors import EngineError

            raise EngineError(f"run store {make_url(url).render_as_string(hide_password=True)}: {e.__class__.__name__}: "
                              f"{str(e).splitlines()[0]}") from None

    def close(self) -> None:
        self.engine.dispose()

    # users and runs

    def ensure_user(self, name: str) -> None:
        with self.engine.begin() as con:
            if con.execute(select(users.c.name).where(users.c.name == name)).first() is None:
                con.execute(insert(users).values(name=name, first_seen=now()))

    def create_run(self, run_id: str, **values: Any) -> None:
        values = {**values, "entities": json.dumps(list(values["entities"]))}
        with self.engine.begin() as con:
            con.execute(insert(runs).values(id=run_id, status="running", attempts=1, started_at=now(), **values))

    def update_run(self, run_id: str, **values: Any) -> None:
        if "summary" in values and not isinstance(values["summary"], str):
            values["summary"] = json.dumps(values["summary"])
        with self.engine.begin() as con:
            con.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def run(self, run_id: str) -> dict | None:
        with self.engine.connect() as con:
            row = con.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        return _run_dict(row) if row else None

    def runs(self, period: str | None = None) -> list[dict]:
        q = select(runs).order_by(runs.c.started_at, runs.c.id)
        if period:
            q = q.where(runs.c.period == period)
        with self.engine.connect() as con:
            return [_run_dict(r) for r in con.execute(q).mappings()]

    def previous_run(self, period: str, run_id: str) -> dict | None:
        """The latest other completed run of the period: the one a rerun is compared with."""
        earlier = [r for r in self.runs(period) if r["id"] != run_id and r["status"] == "completed"]
        return earlier[-1] if earlier else None

    # steps

    def add_steps(self, run_id: str, keys: Iterable[tuple[str, str, str]]) -> None:
        """Plan steps as pending; steps already planned (a resumed run) are kept as they are."""
        with self.engine.begin() as con:
            have = {(r.entity, r.stage, r.item) for r in con.execute(
                select(steps.c.entity, steps.c.stage, steps.c.item).where(steps.c.run_id == run_id))}
            rows = [{"run_id": run_id, "entity": e, "stage": s, "item": i, "status": "pending", "attempts": 0}
                    for e, s, i in keys if (e, s, i) not in have]
            if rows:
                con.execute(insert(steps), rows)

    def start_step(self, run_id: str, entity: str, stage: str, item: str = "") -> None:
        with self.engine.begin() as con:
            con.execute(update(steps).where(*_step_is(run_id, entity, stage, item)).values(
                status="running", attempts=steps.c.attempts + 1, started_at=now(), finished_at=None, error=None))

    def finish_step(self, run_id: str, entity: str, stage: str, item: str = "", **values: Any) -> None:
        values = {k: json.dumps(v) if k in ("timings", "tests", "detail") and v is not None else v for k, v in values.items()}
        with self.engine.begin() as con:
            con.execute(update(steps).where(*_step_is(run_id, entity, stage, item)).values(finished_at=now(), **values))

    def reset_step(self, run_id: str, entity: str, stage: str, item: str, why: str) -> None:
        """Back to pending (a resumed run redoes it), keeping why in ``error``."""
        with self.engine.begin() as con:
            con.execute(update(steps).where(*_step_is(run_id, entity, stage, item)).values(
                status="pending", error=why, evidence_id=None, manifest_sha256=None, fingerprint=None, ledger_seq=None))

    def steps(self, run_id: str) -> list[dict]:
        with self.engine.connect() as con:
            rows = con.execute(select(steps).where(steps.c.run_id == run_id)
                               .order_by(steps.c.entity, steps.c.stage, steps.c.item)).mappings().all()
        return [_step_dict(r) for r in rows]

    # reconciliation

    def save_recon(self, run_id: str, entity: str, lines: list[dict], detail: dict, seconds: float) -> None:
        """The entity's lines and its reconcile step, in one transaction: both or neither."""
        with self.engine.begin() as con:
            con.execute(delete(recon_results).where(recon_results.c.run_id == run_id, recon_results.c.entity == entity))
            if lines:
                con.execute(insert(recon_results), [{
                    "run_id": run_id, "entity": entity, "line": ln["line"], "position": n, "currency": ln["currency"],
                    "gl_amount": ln["gl_amount"], "tv_amount": ln["tv_amount"], "variance_lcy": ln["variance_lcy"],
                    "unexplained_lcy": ln["unexplained_lcy"], "unexplained_usd": ln["unexplained_usd"],
                    "status": ln["status"], "reason": ln["reason"], "detail": json.dumps(ln)} for n, ln in enumerate(lines)])
            con.execute(update(steps).where(*_step_is(run_id, entity, "reconcile", "")).values(
                status="done", finished_at=now(), seconds=seconds, detail=json.dumps(detail), outcome=None, error=None))

    def save_revision(self, run_id: str, entity: str, line: dict, cause: dict, *, con=None) -> int:
        """Make ``line`` (a line dict carrying its ``revision``) the line's current result, and keep
        it in ``recon_revisions``; the first time, the close's own result is kept there first as
        revision 0. In the caller's transaction ``con`` when given (both or neither)."""
        if con is None:
            with self.engine.begin() as con:
                return self.save_revision(run_id, entity, line, cause, con=con)
        name, at = line["line"], now()
        where = (recon_results.c.run_id == run_id, recon_results.c.entity == entity, recon_results.c.line == name)
        current = con.execute(select(recon_results.c.detail).where(*where)).scalar_one_or_none()
        if current is None:
            raise UsageError(f"run {run_id} has no line {name} for {entity}: nothing to revise")
        kept = con.execute(select(recon_revisions.c.revision).where(
            recon_revisions.c.run_id == run_id, recon_revisions.c.entity == entity, recon_revisions.c.line == name).limit(1)).first()
        if kept is None:
            before = json.loads(current)
            con.execute(insert(recon_revisions).values(run_id=run_id, entity=entity, line=name, revision=before.get("revision", 0),
                                                       cause=None, detail=current, at=at))
        con.execute(insert(recon_revisions).values(run_id=run_id, entity=entity, line=name, revision=line["revision"],
                                                   cause=json.dumps(cause, sort_keys=True), detail=json.dumps(line), at=at))
        con.execute(update(recon_results).where(*where).values(
            unexplained_lcy=line["unexplained_lcy"], unexplained_usd=line["unexplained_usd"], status=line["status"],
            reason=line["reason"], detail=json.dumps(line)))
        return line["revision"]

    def revisions(self, run_id: str, entity: str, line: str) -> list[dict]:
        """Every kept revision of one line's result, oldest first (empty: never revised)."""
        with self.engine.connect() as con:
            rows = con.execute(select(recon_revisions).where(
                recon_revisions.c.run_id == run_id, recon_revisions.c.entity == entity, recon_revisions.c.line == line)
                .order_by(recon_revisions.c.revision)).mappings().all()
        return [{**r, "cause": json.loads(r["cause"]) if r["cause"] else None, "detail": json.loads(r["detail"])} for r in rows]

    def recon_lines(self, run_id: str) -> dict[str, list[dict]]:
        """Lines per entity, in the pack's order."""
        with self.engine.connect() as con:
            rows = con.execute(select(recon_results.c.entity, recon_results.c.detail).where(recon_results.c.run_id == run_id)
                               .order_by(recon_results.c.entity, recon_results.c.position)).all()
        out: dict[str, list[dict]] = {}
        for entity, detail in rows:
            out.setdefault(entity, []).append(json.loads(detail))
        return out


def _step_is(run_id: str, entity: str, stage: str, item: str):
    return (steps.c.run_id == run_id, steps.c.entity == entity, steps.c.stage == stage, steps.c.item == item)


def _run_dict(row) -> dict:
    d = dict(row)
    d["entities"] = json.loads(d["entities"])
    d["summary"] = json.loads(d["summary"]) if d.get("summary") else None
    return d


def _step_dict(row) -> dict:
    d = dict(row)
    for key in ("timings", "tests", "detail"):
        d[key] = json.loads(d[key]) if d.get(key) else None
    return d
