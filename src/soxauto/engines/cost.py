"""What a close costs on Athena: each query execution's bytes scanned and engine time, as
``GetQueryExecution`` reports them (``Statistics.DataScannedInBytes``,
``EngineExecutionTimeInMillis``), and their price.

Athena bills the bytes a query scans: per query rounded up to the next megabyte, at least
10 MB, at a price per terabyte (5 USD in most regions; the ``athena_price_per_tb`` setting).
Megabyte and terabyte are decimal here, 10^6 and 10^12 bytes (docs/engines.md says where that
comes from). Money is exact: ``cost = billed bytes x price / 10^12`` in Decimal.

The engine keeps a ``Meter`` of its executions. An evidence package claims the executions of
its step (its extract and the C&A statements run after it) and writes one ``query.usage`` step
per execution into its ``log.jsonl``; what no package claims (the entity's time-bounds query and
its reconciliation) goes into the entity's reconcile step; the close summary adds up both
(``close.report``). Only the plan's period and scope checks, on the close's own engine before
any worker starts, are not counted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

MB = 10**6
TB = 10**12
MINIMUM_BYTES = 10 * MB
DEFAULT_PRICE_PER_TB = Decimal("5")


@dataclass(frozen=True)
class QueryUsage:
    """One execution's statistics, as Athena reported them."""

    execution_id: str
    data_scanned_bytes: int
    engine_execution_ms: int | None = None

    @property
    def billed_bytes(self) -> int:
        """Rounded up to the next megabyte, at least ``MINIMUM_BYTES``."""
        return max(MINIMUM_BYTES, -(-self.data_scanned_bytes // MB) * MB)

    def to_dict(self) -> dict:
        return {"execution_id": self.execution_id, "data_scanned_bytes": self.data_scanned_bytes,
                "engine_execution_ms": self.engine_execution_ms}

    @classmethod
    def of(cls, execution: Mapping[str, Any]) -> "QueryUsage":
        """From a ``GetQueryExecution`` answer's ``QueryExecution``."""
        stats = execution.get("Statistics") or {}
        engine_ms = stats.get("EngineExecutionTimeInMillis")
        return cls(execution["QueryExecutionId"], int(stats.get("DataScannedInBytes") or 0),
                   None if engine_ms is None else int(engine_ms))


class Meter:
    """The executions of one engine, in order, until an evidence package claims them. An engine
    serves one thread (each close worker has its own), so the executions after an extract's are
    that extract's tests until the package is sealed."""

    def __init__(self) -> None:
        self._pending: list[QueryUsage] = []
        self._outside: list[QueryUsage] = []  # executions no package claimed (checks, a reconciliation)
        self._lock = threading.Lock()

    def record(self, usage: QueryUsage) -> None:
        with self._lock:
            self._pending.append(usage)

    def claim(self, since_execution_id: str) -> tuple[QueryUsage, ...]:
        """The executions from ``since_execution_id`` on, which are then no longer pending;
        those before it (the period and scope checks, a reconciliation) are dropped. When that
        execution was claimed already (an extract another item's package took with its own),
        every pending execution is this step's."""
        with self._lock:
            ids = [u.execution_id for u in self._pending]
            start = ids.index(since_execution_id) if since_execution_id in ids else 0
            taken = tuple(self._pending[start:])
            self._outside.extend(self._pending[:start])
            self._pending = []
            return taken

    def drain_outside(self) -> tuple[QueryUsage, ...]:
        """Every execution no evidence package claimed (the time-bounds query before an
        entity's first extract, its reconciliation), once: the close records them in the
        entity's reconcile step so that the run's total counts every query it sent."""
        with self._lock:
            out = tuple(self._outside + self._pending)
            self._outside, self._pending = [], []
            return out

    @property
    def pending(self) -> tuple[QueryUsage, ...]:
        with self._lock:
            return tuple(self._pending)


@dataclass(frozen=True)
class Cost:
    """Executions added up, and their price."""

    queries: int
    data_scanned_bytes: int
    billed_bytes: int
    engine_execution_ms: int
    price_per_tb_usd: Decimal

    @property
    def cost_usd(self) -> Decimal:
        return price(self.billed_bytes, self.price_per_tb_usd)

    def to_dict(self) -> dict:
        return {"queries": self.queries, "data_scanned_bytes": self.data_scanned_bytes,
                "billed_bytes": self.billed_bytes, "engine_execution_ms": self.engine_execution_ms,
                "price_per_tb_usd": plain(self.price_per_tb_usd), "cost_usd": plain(self.cost_usd),
                "billing": f"per query rounded up to 1 MB (10^6 bytes), at least 10 MB; TB = 10^12 bytes"}


def plain(value: Decimal) -> str:
    """``0.00025``, ``5``: without trailing zeros or an exponent."""
    return format(value.normalize(), "f")


def price(billed_bytes: int, price_per_tb: Decimal) -> Decimal:
    """``billed_bytes / 10^12 x price_per_tb``, exact (a shift of the decimal point, no division)."""
    return (Decimal(billed_bytes) * Decimal(price_per_tb)).scaleb(-12)


def total(usages: Iterable[QueryUsage], price_per_tb: Decimal = DEFAULT_PRICE_PER_TB) -> Cost:
    rows = list(usages)
    return Cost(len(rows), sum(u.data_scanned_bytes for u in rows), sum(u.billed_bytes for u in rows),
                sum(u.engine_execution_ms or 0 for u in rows), Decimal(price_per_tb))
