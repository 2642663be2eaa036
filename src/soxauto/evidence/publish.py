"""What happens to committed evidence beyond the store: RFC 3161 anchors of the ledger head,
locked copies in S3, and zips for download.

Records live next to the ledger, never inside packages (a package is sealed by its
manifest; adding a file to it would make it fail verification):

- ``anchors.jsonl``: one canonical JSON line per anchor: the ledger entry it anchors (seq and
  the entry's SHA-256) and the TSA's token (``anchor.anchor_ledger_head``).
- ``s3-copies.jsonl``: one line per package copied: bucket, keys, version ids, retention.

Both are written under the ledger lock and switched on by environment (``anchor.settings_from_env``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import IntegrityError, SoxautoError, UsageError
from . import ledger
from .anchor import AnchorSettings, anchor_ledger_head, settings_from_env, verify_anchor
from .canonical import canonical_bytes

ANCHORS = "anchors.jsonl"
S3_COPIES = "s3-copies.jsonl"


def _append(path: Path, record: dict) -> None:
    with path.open("ab") as f:
        f.write(canonical_bytes(record) + b"\n")
        f.flush()
        import os

        os.fsync(f.fileno())


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def anchor_head(store: Path, url: str, *, timeout: float = 10) -> dict:
    """Timestamp the current ledger head with the TSA at ``url`` and record it."""
    with ledger.locked(store):
        head = ledger.read(store).head
        if head is None:
            raise UsageError(f"{store}: the ledger is empty; there is nothing to anchor yet")
        record = {"ledger_seq": head.seq, "entry_sha256": head.sha256, **anchor_ledger_head(head.sha256, url, timeout=timeout)}
        _append(store / ANCHORS, record)
    return record


@dataclass(frozen=True)
class AnchorCheck:
    ledger_seq: int
    gen_time: str
    ok: bool
    detail: str

    def to_dict(self) -> dict:
        return {"ledger_seq": self.ledger_seq, "gen_time": self.gen_time, "ok": self.ok, "detail": self.detail}


def verify_anchors(store: Path, trusted_cert: bytes | None = None) -> list[AnchorCheck]:
    """Each anchor's token must verify AND the entry it anchored must still be in the ledger,
    unchanged: an anchor pins the whole chain up to that entry to a time."""
    entries = {e.seq: e for e in ledger.read(store).entries}
    out = []
    for record in _lines(store / ANCHORS):
        seq = int(record.get("ledger_seq", -1))
        entry = entries.get(seq)
        if entry is None or entry.sha256 != record.get("entry_sha256"):
            out.append(AnchorCheck(seq, str(record.get("gen_time")), False,
                                   f"ledger entry {seq} is missing or changed since it was anchored"))
            continue
        try:
            when = verify_anchor(record, entry.sha256, trusted_cert)
            out.append(AnchorCheck(seq, when.isoformat(), True, f"timestamped by {record.get('tsa_subject')}"))
        except IntegrityError as e:
            out.append(AnchorCheck(seq, str(record.get("gen_time")), False, str(e)))
    return out


def copy_to_s3(store: Path, folder: Path, settings: AnchorSettings, *, client=None, mode: str = "COMPLIANCE") -> list[dict]:
    """Copy one committed package to the configured bucket with Object Lock; record the copy."""
    from .s3 import copy_package

    if not settings.s3_bucket:
        raise UsageError("no S3 bucket configured: set SOXAUTO_EVIDENCE_S3_BUCKET")
    until = settings.retain_until(datetime.now(timezone.utc))
    objects = copy_package(folder, settings.s3_bucket, settings.s3_prefix, retain_until=until, mode=mode, client=client)
    with ledger.locked(store):
        _append(store / S3_COPIES, {"package": folder.name, "bucket": settings.s3_bucket, "objects": objects,
                                    "copied_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")})
    return objects


def after_commit(store: Path, folders: list[Path], settings: AnchorSettings | None = None) -> dict:
    """The optional steps after a run committed packages: S3 copies, then one anchor of the
    ledger head (so the anchor covers every package of the run). Failures are reported, not
    hidden, but do not undo the committed evidence."""
    settings = settings or settings_from_env()
    done: dict = {"s3": [], "anchor": None, "problems": []}
    for folder in folders if settings.s3_bucket else []:
        try:
            done["s3"].append({"package": folder.name, "objects": len(copy_to_s3(store, folder, settings))})
        except SoxautoError as e:
            done["problems"].append(f"S3 copy of {folder.name}: {e}")
    if settings.tsa_url:
        try:
            done["anchor"] = anchor_head(store, settings.tsa_url)
        except SoxautoError as e:
            done["problems"].append(f"anchor: {e}")
    return done
