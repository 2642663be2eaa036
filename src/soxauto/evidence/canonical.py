"""Canonical bytes: the one JSON encoding that every hash and signature of the evidence is taken over.

Rules (docs/evidence.md, "Canonical JSON"): keys sorted, no insignificant whitespace, UTF-8
without escaping non-ASCII, decimals as strings in plain notation (never an exponent, never a
float), timezone-aware timestamps converted to UTC and written with an explicit ``Z``, dates as
``YYYY-MM-DD``. Floats are refused: an amount must never pass through one, and a float's text is
not a stable representation across languages.

Timestamps *without* a zone are data values of the source contract (wall-clock values as the
source recorded them); they are written in ISO form without a zone, because adding ``Z`` would
assert a zone the source never stated. Every timestamp the product itself records is UTC.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timezone
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any, Mapping

from ..period import Period


def utc_text(moment: datetime) -> str:
    """``2025-10-01T02:00:00.000000Z``: always microseconds, always ``Z``."""
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no zone; the product records UTC")
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def decimal_text(value: Decimal) -> str:
    """Plain notation with the value's own scale: ``Decimal('1.50')`` → ``'1.50'``, never ``1.5E+0``."""
    return format(value, "f")


def plain(value: Any, where: str = "$") -> Any:
    """``value`` as JSON-native types, following the canonical rules; ``where`` names a refused value."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        raise TypeError(f"{where}: float {value!r} has no canonical form; use Decimal or a string")
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return utc_text(value) if value.tzinfo else value.isoformat(timespec="microseconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return plain(value.value, where)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: key {k!r} is not a string")
            out[k] = plain(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v, where) for v in value)
    if isinstance(value, Period):
        return str(value)
    raise TypeError(f"{where}: {type(value).__name__} has no canonical JSON form")


def canonical_bytes(value: Any) -> bytes:
    text = json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_lines(records) -> bytes:
    """One canonical JSON document per line, each line ending with ``\\n``."""
    return b"".join(canonical_bytes(r) + b"\n" for r in records)
