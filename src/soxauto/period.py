"""The period and its dates. One meaning each, everywhere (domain spec, "Time words").

- ``start`` (S): first day of the month.
- ``cutoff`` (C): last day of the month, inclusive.
- ``as_of`` (N): first day of the next month, exclusive: an event is "by cutoff" when its
  timestamp is ``< as_of``.
- ``year_start`` (Y): 1 January of the cutoff's year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import UsageError

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1900 <= self.year <= 9999:
            raise UsageError(f"period {self.year:04d}-{self.month:02d} is not a valid month")

    @classmethod
    def parse(cls, text: str) -> "Period":
        m = _PERIOD.match(text.strip())
        if not m:
            raise UsageError(f"period '{text}' is not of the form YYYY-MM (for example 2025-09)")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def compact(self) -> str:
        """``YYYYMM``, as used in evidence folder names."""
        return f"{self.year:04d}{self.month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def as_of(self) -> date:
        return self.next().start

    @property
    def cutoff(self) -> date:
        return self.as_of - timedelta(days=1)

    @property
    def year_start(self) -> date:
        return date(self.year, 1, 1)

    def next(self) -> "Period":
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Period":
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def shift(self, months: int) -> "Period":
        index = self.year * 12 + self.month - 1 + months
        return Period(index // 12, index % 12 + 1)

    def parameters(self) -> dict[str, date]:
        """The standard query parameters every catalog item may use."""
        return {
            "cutoff": self.cutoff,
            "as_of": self.as_of,
            "period_start": self.start,
            "year_start": self.year_start,
        }
