"""Earlier periods' figures of an item, for the history rule.

Stored as JSON lines under the product's home folder; the latest record of an
(item, entity, period) wins, so re-running a period replaces its figures."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from statistics import median

from ..period import Period

# 0.6745 makes the MAD-based score comparable to a standard z-score for normal data
# (Iglewicz and Hoaglin); 3.5 is their usual outlier threshold.
Z_FACTOR = Decimal("0.6745")
MIN_PERIODS = 3


class HistoryStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _records(self) -> dict[tuple[str, str, str], dict[str, str]]:
        out: dict[tuple[str, str, str], dict[str, str]] = {}
        if self.path.exists():
            for line in self.path.read_text("utf-8").splitlines():
                if line.strip():
                    r = json.loads(line)
                    out[(r["item"], r["entity"], r["period"])] = r["metrics"]
        return out

    def record(self, item: str, entity: str, period: Period, metrics: dict[str, Decimal]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"item": item, "entity": entity, "period": str(period),
                           "metrics": {k: str(v) for k, v in sorted(metrics.items())}}, sort_keys=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def earlier(self, item: str, entity: str, period: Period, limit: int) -> list[tuple[Period, dict[str, Decimal]]]:
        records = self._records()
        found = []
        for (i, e, p), metrics in records.items():
            if i == item and e == entity and Period.parse(p) < period:
                found.append((Period.parse(p), {k: Decimal(v) for k, v in metrics.items()}))
        found.sort(key=lambda x: x[0])
        return found[-limit:]


def robust_z(value: Decimal, history: list[Decimal]) -> Decimal | None:
    """Robust z-score of ``value`` against ``history``; None when the history is too short.
    A history with no spread scores 0 for an equal value and infinity for any other."""
    if len(history) < MIN_PERIODS:
        return None
    med = Decimal(median(history))
    mad = Decimal(median([abs(h - med) for h in history]))
    if mad == 0:
        return Decimal(0) if value == med else Decimal("Infinity")
    return (Z_FACTOR * (value - med) / mad).quantize(Decimal("0.01"))
