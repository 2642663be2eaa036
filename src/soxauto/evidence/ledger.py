"""The ledger: an append-only hash chain of every manifest committed to an evidence store.

``<store>/ledger.jsonl`` holds one canonical JSON entry per line: ``seq`` (1, 2, 3 …),
``evidence_id``, ``manifest_sha256``, ``prev_entry_sha256`` (SHA-256 of the previous line's
bytes without its newline; 64 zeros for the first), ``run_id`` and ``time`` (UTC). Appending
is the commit point of a package, so it happens last, under an exclusive ``fcntl`` lock on
``<store>/ledger.lock``, and is fsynced before the lock is released.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .canonical import canonical_bytes, sha256_hex, utc_now, utc_text

LEDGER = "ledger.jsonl"
LOCK = "ledger.lock"
GENESIS = "0" * 64


@dataclass(frozen=True)
class Entry:
    seq: int
    evidence_id: str
    manifest_sha256: str
    prev_entry_sha256: str
    run_id: str
    time: str

    def to_dict(self) -> dict:
        return {"seq": self.seq, "evidence_id": self.evidence_id, "manifest_sha256": self.manifest_sha256,
                "prev_entry_sha256": self.prev_entry_sha256, "run_id": self.run_id, "time": self.time}

    @property
    def line(self) -> bytes:
        return canonical_bytes(self.to_dict())

    @property
    def sha256(self) -> str:
        return sha256_hex(self.line)


@dataclass(frozen=True)
class LedgerRead:
    entries: tuple[Entry, ...]
    problems: tuple[str, ...]  # lines that do not parse, or a broken chain
    torn_tail: bool  # a last line without its newline: an append cut short, never committed

    @property
    def head(self) -> Entry | None:
        return self.entries[-1] if self.entries else None

    def latest(self) -> dict[str, Entry]:
        """The last committed entry of each evidence id: the package that must sit in place."""
        return {e.evidence_id: e for e in self.entries}


@contextmanager
def locked(store: Path) -> Iterator[None]:
    """Exclusive lock of the store: two processes can never interleave a commit."""
    store.mkdir(parents=True, exist_ok=True)
    fd = os.open(store / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read(store: Path) -> LedgerRead:
    path = Path(store) / LEDGER
    if not path.exists():
        return LedgerRead((), (), False)
    raw = path.read_bytes()
    torn = bool(raw) and not raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]  # the last piece is empty, or the torn append
    entries: list[Entry] = []
    problems: list[str] = []
    for n, line in enumerate(lines, 1):
        try:
            d = json.loads(line)
            entry = Entry(**{k: d[k] for k in Entry.__dataclass_fields__})
        except (ValueError, KeyError, TypeError) as e:
            problems.append(f"{path}:{n}: not a ledger entry ({e})")
            continue
        if entry.line != line:
            problems.append(f"{path}:{n}: entry is not in canonical form (edited by hand?)")
        entries.append(entry)
    problems.extend(chain_problems(entries, path))
    return LedgerRead(tuple(entries), tuple(problems), torn)


def chain_problems(entries: list[Entry], path: Path) -> list[str]:
    """Gaps, reordering, removed or edited entries, and a manifest committed twice."""
    out: list[str] = []
    prev_hash, seen = GENESIS, {}
    for i, e in enumerate(entries):
        where = f"{path}:{i + 1}"
        if e.seq != i + 1:
            out.append(f"{where}: sequence {e.seq} where {i + 1} was expected (entry removed, added or reordered)")
        if e.prev_entry_sha256 != prev_hash:
            out.append(f"{where}: previous-entry hash does not match line {i} (chain broken)")
        if e.manifest_sha256 in seen:
            out.append(f"{where}: manifest {e.manifest_sha256[:12]}… already committed at line {seen[e.manifest_sha256]}")
        seen.setdefault(e.manifest_sha256, i + 1)
        prev_hash = e.sha256
    return out


def append(store: Path, evidence_id: str, manifest_sha256: str, run_id: str, current: LedgerRead | None = None) -> Entry:
    """Append one entry; the caller holds ``locked(store)``. Refuses a broken ledger, so a
    damaged chain is never extended as if it were sound. ``current``: the ledger as the caller
    read it under the same lock, to spare a second read."""
    current = current if current is not None else read(store)
    if current.problems:
        from ..errors import IntegrityError

        raise IntegrityError("the evidence ledger is damaged; run 'soxauto evidence verify --all'", [])
    head = current.head
    entry = Entry(
        seq=(head.seq + 1) if head else 1,
        evidence_id=evidence_id,
        manifest_sha256=manifest_sha256,
        prev_entry_sha256=head.sha256 if head else GENESIS,
        run_id=run_id,
        time=utc_text(utc_now()),
    )
    fd = os.open(Path(store) / LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, entry.line + b"\n")  # one write of a short line: all or nothing for SIGKILL
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def drop_torn_tail(store: Path) -> bool:
    """Cut an append that a crash left without its newline (caller holds the lock)."""
    path = Path(store) / LEDGER
    if not path.exists():
        return False
    raw = path.read_bytes()
    if not raw or raw.endswith(b"\n"):
        return False
    keep = raw.rfind(b"\n") + 1
    with open(path, "r+b") as f:
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return True
