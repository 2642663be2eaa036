"""Earlier periods' figures of an item, for the history rule.

Stored as JSON lines under the product's home folder; the latest record of an
(item, entity, period) wins, so re-running a period replaces its figures."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path
from statistics import median

from ..errors import UsageError
from ..period import Period

# 0.6745 makes the MAD-based score comparable to a standard z-score for normal data
# (Iglewicz and Hoaglin); 3.5 is their usual outlier threshold.
Z_FACTOR = Decimal("0.6745")
MIN_PERIODS = 3


class HistoryStore:
    """Thread-safe; lines appended since the last read are parsed, not the whole file again (a
    close reads the history once per item and entity, and the file grows with every run)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] = (-1, 0, 0)  # (inode, bytes parsed, lines parsed)
        self._cache: dict[tuple[str, str], dict[str, dict[str, str]]] = {}  # (item, entity) -> period -> metrics

    def _records(self, item: str, entity: str) -> dict[str, dict[str, str]]:
        """Period -> metrics of one item and entity; the latest record of a period wins. A line
        that is not a record is an error naming the file and line (the history rule reports it
        as ``errored``), never skipped: a history with a hole would assess against less."""
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._seen, self._cache = (-1, 0, 0), {}
                return {}
            inode, done, lines = self._seen
            if inode != st.st_ino or st.st_size < done:  # replaced or truncated: read it all again
                done, lines, self._cache = 0, 0, {}
            with self.path.open("rb") as f:
                f.seek(done)
                chunk = f.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written is read next time
            text = complete.decode("utf-8", errors="replace").split("\n")[:-1]
            for n, line in enumerate(text, lines + 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                    self._cache.setdefault((r["item"], r["entity"]), {})[r["period"]] = dict(r["metrics"])
                except (ValueError, KeyError, TypeError) as e:
                    raise UsageError(f"{self.path}:{n}: not a history record ({type(e).__name__}: {e}); "
                                     "fix or delete that line") from None
            self._seen = (st.st_ino, done + len(complete), lines + len(text))
            return dict(self._cache.get((item, entity), {}))

    def record(self, item: str, entity: str, period: Period, metrics: dict[str, Decimal]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"item": item, "entity": entity, "period": str(period),
                           "metrics": {k: str(v) for k, v in sorted(metrics.items())}}, sort_keys=True)
        with self._lock, self.path.open("a+b") as f:
            # A line torn by a crash mid-write stays a line of its own (reported when read),
            # instead of joining this record into one unreadable line. (A whole line is one
            # small append, so a live writer never leaves a partial line behind.)
            end = f.seek(0, 2)
            torn = end > 0 and f.seek(end - 1) >= 0 and f.read(1) != b"\n"
            f.write((b"\n" if torn else b"") + line.encode("utf-8") + b"\n")

    def earlier(self, item: str, entity: str, period: Period, limit: int) -> list[tuple[Period, dict[str, Decimal]]]:
        found = []
        for p, metrics in self._records(item, entity).items():
            if Period.parse(p) < period:
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
