"""The audit log: who did what to which run, and when. Append-only, twice over.

1. The database refuses changes: triggers reject UPDATE and DELETE on ``audit_log`` (and
   TRUNCATE on PostgreSQL), so the product and anyone using its connection can only insert.
2. Whatever gets past that (an administrator who drops the triggers) is detected: each entry
   stores the SHA-256 of its canonical bytes and of the entry before it, so an edited, removed
   or reordered entry breaks the chain (``verify``). ``prev_sha256`` is unique, so two writers
   that read the same head cannot both append after it: the second retries.

Removing entries from the end leaves a shorter valid chain; the run rows record the audit
head at each run's end (``head``) so a truncated tail shows against them.

A refused action (a sign-off the role, the four-eyes rule or the line's state does not allow, a
failed login) is an entry too: its action ends in ``.refused`` (``signoff.approve.refused``,
``auth.login.refused``) and its detail says why (``refused``, ``is_refused``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import DDL, Column, Integer, String, Table, Text, event, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ..evidence.canonical import canonical_bytes, sha256_hex
from .store import metadata, now

GENESIS = "0" * 64

audit_log = Table(
    "audit_log", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("user", String(200), nullable=False),
    Column("run_id", String(64)),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=False),  # canonical JSON
    Column("prev_sha256", String(64), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
)

def append_only(table: Table) -> None:
    """Refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL) on ``table`` in the database itself,
    so that the product only ever inserts even if a bug or a person tries otherwise. The DDL
    names only the table (a constant of the code), never a value."""
    name = table.name
    sqlite = (
        f"CREATE TRIGGER {name}_no_update BEFORE UPDATE ON {name} "
        f"BEGIN SELECT RAISE(ABORT, '{name} is append-only'); END",
        f"CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {name} "
        f"BEGIN SELECT RAISE(ABORT, '{name} is append-only'); END",
    )
    postgres = (
        f"CREATE OR REPLACE FUNCTION soxauto_{name}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$body$ BEGIN RAISE EXCEPTION '{name} is append-only'; END $body$",
        f"CREATE TRIGGER {name}_no_change BEFORE UPDATE OR DELETE ON {name} "
        f"FOR EACH ROW EXECUTE FUNCTION soxauto_{name}_append_only()",
        f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION soxauto_{name}_append_only()",
    )
    for sql in sqlite:
        event.listen(table, "after_create", DDL(sql).execute_if(dialect="sqlite"))
    for sql in postgres:
        event.listen(table, "after_create", DDL(sql).execute_if(dialect="postgresql"))


append_only(audit_log)


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    user: str
    run_id: str | None
    action: str
    detail: dict
    prev_sha256: str
    sha256: str


def entry_hash(seq: int, at: str, user: str, run_id: str | None, action: str, detail: str, prev: str) -> str:
    return sha256_hex(canonical_bytes({"seq": seq, "at": at, "user": user, "run_id": run_id, "action": action,
                                       "detail": detail, "prev_sha256": prev}))


def append(engine, user: str, action: str, run_id: str | None = None, **detail) -> int:
    """Insert one entry after the current head; returns its sequence number."""
    text = canonical_bytes(detail).decode("utf-8")
    for _ in range(50):
        try:
            with engine.begin() as con:
                head = con.execute(select(audit_log.c.seq, audit_log.c.sha256).order_by(audit_log.c.seq.desc()).limit(1)).first()
                seq, prev = (head.seq + 1, head.sha256) if head else (1, GENESIS)
                at = now()
                con.execute(insert(audit_log).values(
                    seq=seq, at=at, user=user, run_id=run_id, action=action, detail=text, prev_sha256=prev,
                    sha256=entry_hash(seq, at, user, run_id, action, text, prev)))
            return seq
        except (IntegrityError, OperationalError):
            time.sleep(0.05)  # someone appended after the same head: read the new head
    raise RuntimeError("could not append to the audit log after 50 attempts")


REFUSED = ".refused"


def refused(engine, user: str, action: str, why: str, run_id: str | None = None, **detail) -> int:
    """Record that ``user`` was refused ``action`` (e.g. ``signoff.approve``) and why."""
    return append(engine, (user or "anonymous")[:200], action + REFUSED, run_id, why=why, **detail)


def is_refused(action: str) -> bool:
    return action.endswith(REFUSED)


def entries(engine, run_id: str | None = None) -> list[Entry]:
    q = select(audit_log).order_by(audit_log.c.seq)
    if run_id is not None:
        q = q.where(audit_log.c.run_id == run_id)
    with engine.connect() as con:
        return [Entry(r.seq, r.at, r.user, r.run_id, r.action, json.loads(r.detail), r.prev_sha256, r.sha256)
                for r in con.execute(q)]


def head(engine) -> int:
    with engine.connect() as con:
        row = con.execute(select(audit_log.c.seq).order_by(audit_log.c.seq.desc()).limit(1)).first()
    return row.seq if row else 0


def verify(engine) -> list[str]:
    """Problems with the chain, one line each; empty when every entry is intact and in place."""
    problems, prev, expected = [], GENESIS, 1
    with engine.connect() as con:
        rows = con.execute(select(audit_log).order_by(audit_log.c.seq)).all()
    for r in rows:
        if r.seq != expected:
            problems.append(f"audit_log: entry {r.seq} where {expected} was expected (entries removed)")
        if r.prev_sha256 != prev:
            problems.append(f"audit_log: entry {r.seq} does not follow the entry before it (chain broken)")
        if entry_hash(r.seq, r.at, r.user, r.run_id, r.action, r.detail, r.prev_sha256) != r.sha256:
            problems.append(f"audit_log: entry {r.seq} ({r.action}) was changed after it was written")
        prev, expected = r.sha256, r.seq + 1
    return problems
