"""The ledger: an append-only, signed hash chain of every manifest committed to an evidence store.

``<store>/ledger.jsonl`` holds one canonical JSON entry per line: ``seq`` (1, 2, 3 …),
``evidence_id``, ``manifest_sha256``, ``prev_entry_sha256`` (SHA-256 of the previous line's
bytes without its newline, signature included; 64 zeros for the first), ``run_id``, ``time``
(UTC), ``key_id`` and ``signature``: the base64 of the Ed25519 signature, by the key
``key_id`` names, over the canonical JSON of every other field of the entry. So every field is
signed, and through ``prev_entry_sha256`` each signature also covers every entry before it:
rewriting any entry, even the last, and recomputing the chain fails without the key.

Appending is the commit point of a package, so it happens last, under an exclusive ``fcntl``
lock on ``<store>/ledger.lock``, and is fsynced before the lock is released. ``read`` checks the
chain; ``signature_problems`` checks the signatures against the keys the verifier trusts.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Collection, Iterator, Mapping

from cryptography.exceptions import InvalidSignature

from .canonical import canonical_bytes, sha256_hex, utc_now, utc_text
from .folder import Refused, read_file

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from .keys import Signer

LEDGER = "ledger.jsonl"
LOCK = "ledger.lock"
GENESIS = "0" * 64
FIELDS = ("seq", "evidence_id", "manifest_sha256", "prev_entry_sha256", "run_id", "time", "key_id", "signature")


@dataclass(frozen=True)
class Entry:
    seq: int
    evidence_id: str
    manifest_sha256: str
    prev_entry_sha256: str
    run_id: str
    time: str
    key_id: str
    signature: str  # base64 of the Ed25519 signature over ``signed_bytes``

    def signed_fields(self) -> dict:
        return {"seq": self.seq, "evidence_id": self.evidence_id, "manifest_sha256": self.manifest_sha256,
                "prev_entry_sha256": self.prev_entry_sha256, "run_id": self.run_id, "time": self.time,
                "key_id": self.key_id}

    @property
    def signed_bytes(self) -> bytes:
        """What the signature is over: the entry's line without its ``signature`` field."""
        return canonical_bytes(self.signed_fields())

    def to_dict(self) -> dict:
        return self.signed_fields() | {"signature": self.signature}

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
    try:
        raw = read_file(path, None)  # a regular file only: never a link to a device
    except FileNotFoundError:
        return LedgerRead((), (), False)
    except Refused as e:
        return LedgerRead((), (str(e),), False)
    torn = bool(raw) and not raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]  # the last piece is empty, or the torn append
    entries: list[Entry] = []
    problems: list[str] = []
    for n, line in enumerate(lines, 1):
        try:
            d = json.loads(line)
            missing = [k for k in FIELDS if k not in d]
            if missing:
                old = {"key_id", "signature"} & set(missing)
                problems.append(f"{path}:{n}: not a ledger entry: it has no {', '.join(missing)}"
                                + (" (an unsigned entry of an older SOXauto: regenerate the store)" if old else ""))
                continue
            entry = Entry(**{k: d[k] for k in FIELDS})
            if type(entry.seq) is not int or not all(isinstance(d[k], str) for k in FIELDS[1:]):
                problems.append(f"{path}:{n}: not a ledger entry: seq must be a whole number and the other fields text")
                continue
            canonical = entry.line == line
        except (ValueError, TypeError) as e:
            problems.append(f"{path}:{n}: not a ledger entry ({e})")
            continue
        if not canonical:
            problems.append(f"{path}:{n}: entry is not in canonical form, or has fields a ledger entry has not (edited by hand?)")
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


def unsigned(entry: Entry, keys: Mapping[str, Ed25519PublicKey]) -> str:
    """Why ``entry``'s signature does not hold with ``keys`` (by key id); empty when it does."""
    if not isinstance(entry.key_id, str) or entry.key_id not in keys:
        return f"signed with key {str(entry.key_id)[:12]}…, which is not trusted"
    try:
        signature = base64.b64decode(entry.signature, validate=True)
        keys[entry.key_id].verify(signature, entry.signed_bytes)
    except (binascii.Error, TypeError, ValueError, InvalidSignature):
        return "the signature does not verify (the entry was edited, or signed without the evidence key)"
    return ""


def signature_problems(current: LedgerRead, keys: Mapping[str, Ed25519PublicKey], path: Path,
                       seqs: Collection[int] | None = None) -> list[str]:
    """The first entry (of ``seqs``, or of all) whose signature does not hold, with its line,
    and how many later ones fail too: one line however many were rewritten."""
    bad = [(n, e, why) for n, e in enumerate(current.entries, 1)
           if (seqs is None or e.seq in seqs) and (why := unsigned(e, keys))]
    if not bad:
        return []
    n, entry, why = bad[0]
    more = len(bad) - 1
    tail = f"; {more} later entr{'y fails' if more == 1 else 'ies fail'} too" if more else ""
    return [f"{path}:{n}: ledger entry {entry.seq} ({entry.evidence_id}): {why}{tail}"]


def refuse_damaged(store: Path, current: LedgerRead, signer: Signer) -> None:
    """Raise ``IntegrityError`` unless ``current`` may be extended: a sound chain whose last entry
    is signed by a key of the store (or the signer's). Through the chain, that signature vouches
    for every entry before it, so a forged ledger is never extended as if it were sound."""
    from ..errors import IntegrityError
    from .keys import trusted_keys

    if current.problems:
        raise IntegrityError("the evidence ledger is damaged; nothing was committed; run 'soxauto evidence verify --all'", [])
    head = current.head
    why = unsigned(head, trusted_keys(store) | {signer.key_id: signer.public}) if head is not None else ""
    if why:
        raise IntegrityError(f"{Path(store) / LEDGER}: the last entry ({head.seq}): {why}; nothing was committed; "
                             "run 'soxauto evidence verify --all'", [])


def append(store: Path, evidence_id: str, manifest_sha256: str, run_id: str, signer: Signer,
           current: LedgerRead | None = None) -> Entry:
    """Append one entry signed by ``signer``; the caller holds ``locked(store)``. Refuses what
    ``refuse_damaged`` refuses. ``current``: the ledger as the caller read it under the same
    lock, to spare a second read."""
    current = current if current is not None else read(store)
    refuse_damaged(store, current, signer)
    head = current.head
    entry = Entry(
        seq=(head.seq + 1) if head else 1,
        evidence_id=evidence_id,
        manifest_sha256=manifest_sha256,
        prev_entry_sha256=head.sha256 if head else GENESIS,
        run_id=run_id,
        time=utc_text(utc_now()),
        key_id=signer.key_id,
        signature="",
    )
    entry = replace(entry, signature=base64.b64encode(signer.sign(entry.signed_bytes)).decode("ascii"))
    fd = os.open(Path(store) / LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, entry.line + b"\n")  # one write of a short line: all or nothing for SIGKILL
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry
