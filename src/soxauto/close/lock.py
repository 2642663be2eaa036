"""Locks: one close at a time per (period, entity), across processes and hosts.

A row per locked (period, entity) in the ``locks`` table, whose primary key makes a second
insert fail on SQLite and PostgreSQL alike: whoever inserts first holds the lock. The row
names its holder (run id, host, pid, the process's start time, heartbeat), so a refusal can
say who is running, and a lock left by a close that crashed can be told apart from a live one:

- same host: the pid is gone, is a zombie, or is now another process (its start time differs);
- another host: no heartbeat for ``lock_stale_seconds`` (the holder beats after every step).

A stale lock is taken over (and the audit log says so); a live one refuses or, with
``wait``, is polled until it is released.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable, Sequence

from sqlalchemy import Column, Integer, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ..errors import SoxautoError
from .store import metadata, now

locks = Table(
    "locks", metadata,
    Column("period", String(7), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("proc_start", String(80), nullable=False),
    Column("acquired_at", String(32), nullable=False),
    Column("heartbeat_at", String(32), nullable=False),
)


class LockedError(SoxautoError):
    """Another close holds the period and entity: a runtime refusal (exit 4), not a usage error."""

    exit_code = 4


@dataclass(frozen=True)
class Holder:
    run_id: str
    host: str
    pid: int
    acquired_at: str
    heartbeat_at: str
    entities: tuple[str, ...]

    def describe(self, period: str) -> str:
        return (f"run {self.run_id} (pid {self.pid} on {self.host}, started {self.acquired_at}) is closing "
                f"{period} for {', '.join(self.entities)}")


def _stat_start(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) from /proc, or None without /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode()
    except OSError:
        return None
    rest = raw[raw.rindex(")") + 2:].split()  # the command name may contain spaces and parentheses
    return rest[0], rest[19]


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def identity() -> tuple[str, int, str]:
    """(host, pid, process token): the token survives pid reuse and reboots where /proc exists."""
    stat = _stat_start(os.getpid())
    return socket.gethostname(), os.getpid(), f"{_boot_id()}:{stat[1]}" if stat else ""


def alive(pid: int, token: str) -> bool:
    """Is the process that took the lock still running on this host?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    stat = _stat_start(pid)
    if stat is None:
        return True
    state, start = stat
    if state in ("Z", "X"):
        return False  # dead, waiting to be reaped
    boot, _, started = token.partition(":")
    return not token or (boot == _boot_id() and started == start)


def stale(row, stale_seconds: int) -> str | None:
    """Why the lock row's holder is gone, or None when it may still be running."""
    host, _, _ = identity()
    if row.host == host:
        return None if alive(row.pid, row.proc_start) else f"its process {row.pid} on {row.host} has ended"
    beat = datetime.fromisoformat(row.heartbeat_at.replace("Z", "+00:00"))
    silent = (datetime.now(timezone.utc) - beat).total_seconds()
    return f"no heartbeat from {row.host} for {int(silent)} s" if silent > stale_seconds else None


def acquire(engine, period: str, entities: Sequence[str], run_id: str, *, wait: bool = False, stale_seconds: int = 900,
            poll: float = 0.5, on_wait: Callable[[Holder], None] | None = None) -> list[str]:
    """Lock every entity of the period for ``run_id``, all or none. Returns a line for each
    stale lock taken over. Raises ``LockedError`` naming the holder unless ``wait``."""
    told = False
    while True:
        try:
            taken, holder = _try(engine, period, list(entities), run_id, stale_seconds)
        except (IntegrityError, OperationalError):
            taken, holder = [], None  # another close inserted in between (PostgreSQL): look again
            time.sleep(poll / 5)
            continue
        if holder is None:
            return taken
        if not wait:
            raise LockedError(f"{holder.describe(period)}; wait for it with --wait, or if it has died its locks are "
                              f"released when its process is gone (resume it with --resume {holder.run_id})")
        if on_wait is not None and not told:
            on_wait(holder)
            told = True
        time.sleep(poll)


def _try(engine, period: str, entities: list[str], run_id: str, stale_seconds: int) -> tuple[list[str], Holder | None]:
    host, pid, token = identity()
    gone: dict[tuple[str, str], list[str]] = {}  # (run id, why) → entities
    with engine.begin() as con:
        rows = con.execute(select(locks).where(locks.c.period == period, locks.c.entity.in_(entities))).all()
        mine, live = set(), []
        for r in rows:
            if r.run_id == run_id and r.host == host and r.pid == pid:
                mine.add(r.entity)
                continue
            why = stale(r, stale_seconds)
            if why is None:
                live.append(r)
                continue
            con.execute(delete(locks).where(locks.c.period == period, locks.c.entity == r.entity,
                                            locks.c.run_id == r.run_id, locks.c.pid == r.pid))
            gone.setdefault((r.run_id, why), []).append(r.entity)
        taken = [f"took over the stale lock of run {run} on {period} ({', '.join(ents)}): {why}"
                 for (run, why), ents in gone.items()]
        if live:
            return taken, _holder(live)
        stamp = now()
        new = [{"period": period, "entity": e, "run_id": run_id, "host": host, "pid": pid, "proc_start": token,
                "acquired_at": stamp, "heartbeat_at": stamp} for e in entities if e not in mine]
        if new:
            con.execute(insert(locks), new)
    return taken, None


def _holder(rows) -> Holder:
    """The holder of the first of ``rows`` (lock rows), with every entity it holds among them."""
    first = rows[0]
    ents = tuple(sorted(r.entity for r in rows if r.run_id == first.run_id))
    return Holder(first.run_id, first.host, first.pid, first.acquired_at, first.heartbeat_at, ents)


def live_holder(con, period: str, *, other_than: str | None = None, stale_seconds: int = 900) -> Holder | None:
    """The live close holding ``period`` (in the caller's transaction ``con``), other than run
    ``other_than``; a crashed holder does not count."""
    rows = [r for r in con.execute(select(locks).where(locks.c.period == period)).all()
            if r.run_id != other_than and stale(r, stale_seconds) is None]
    return _holder(rows) if rows else None


def heartbeat(engine, run_id: str) -> None:
    with engine.begin() as con:
        con.execute(update(locks).where(locks.c.run_id == run_id).values(heartbeat_at=now()))


def release(engine, run_id: str) -> None:
    host, pid, _ = identity()
    with engine.begin() as con:
        con.execute(delete(locks).where(locks.c.run_id == run_id, locks.c.host == host, locks.c.pid == pid))


def holders(engine, period: str | None = None) -> list[Holder]:
    q = select(locks).order_by(locks.c.period, locks.c.run_id, locks.c.entity)
    if period:
        q = q.where(locks.c.period == period)
    with engine.connect() as con:
        rows = con.execute(q).all()
    out: dict[tuple[str, str], list] = {}
    for r in rows:
        out.setdefault((r.period, r.run_id), []).append(r)
    return [Holder(rs[0].run_id, rs[0].host, rs[0].pid, rs[0].acquired_at, rs[0].heartbeat_at, tuple(r.entity for r in rs))
            for rs in out.values()]
