"""Ageing of a line's open items (domain spec, "Reconciling items"): how many items with a
non-zero open amount, and how much, sit in each bucket of age, read from the proof items the
close wrote (``close.items``: ``open_lcy``, ``age_days``, ``disposition``).

    0–30, 31–60, 61–90, over 90   by ``age_days`` (days from the cutoff its age run started)
    no age                        the keyless ``manual`` key, which has no age

The buckets add up to every open item of the line, so a reader can tie them to the line's open
total. ``unresolved_lcy`` is the part of a bucket's open amount that has no disposition.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

BUCKETS = (("0–30", 0, 30), ("31–60", 31, 60), ("61–90", 61, 90), ("over 90", 91, None))
NO_AGE = "no age"
LABELS = tuple(b[0] for b in BUCKETS) + (NO_AGE,)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Bucket:
    label: str
    items: int = 0
    open_lcy: Decimal = ZERO
    unresolved_lcy: Decimal = ZERO


def bucket_of(age_days: int | None) -> str:
    if age_days is None:
        return NO_AGE
    return next(name for name, low, high in BUCKETS if age_days >= low and (high is None or age_days <= high))


def ageing(rows: Iterable[Mapping]) -> tuple[Bucket, ...]:
    """Every bucket (empty ones included, in order) over item rows with ``open_lcy``,
    ``age_days`` and ``disposition``; rows whose open amount is zero are not open and left out."""
    tally: dict[str, list] = {name: [0, ZERO, ZERO] for name in LABELS}
    for r in rows:
        open_lcy = Decimal(r["open_lcy"] if r["open_lcy"] is not None else 0)
        if open_lcy == 0:
            continue
        t = tally[bucket_of(r["age_days"])]
        t[0] += 1
        t[1] += open_lcy
        if not r["disposition"]:
            t[2] += open_lcy
    return tuple(Bucket(name, n, amount, unresolved) for name, (n, amount, unresolved) in tally.items())


def ageing_by_line(items: pa.Table) -> dict[tuple[str, str], tuple[Bucket, ...]]:
    """(entity, line) -> buckets, for every line that has an item in ``items`` (close.items rows)."""
    lines = {(e, ln) for e, ln in zip(items["entity"].to_pylist(), items["line"].to_pylist())} if items.num_rows else set()
    if not lines:
        return {}
    open_rows = items.filter(pc.not_equal(items["open_lcy"], pa.scalar(0, items.schema.field("open_lcy").type)))
    grouped: dict[tuple[str, str], list[dict]] = {key: [] for key in lines}
    for r in open_rows.select(["entity", "line", "open_lcy", "age_days", "disposition"]).to_pylist():
        grouped[(r["entity"], r["line"])].append(r)
    return {key: ageing(rows) for key, rows in grouped.items()}


def total(buckets: Iterable[Bucket]) -> Bucket:
    buckets = list(buckets)
    return Bucket("total", sum(b.items for b in buckets), sum((b.open_lcy for b in buckets), ZERO),
                  sum((b.unresolved_lcy for b in buckets), ZERO))
