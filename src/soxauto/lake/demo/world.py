"""The demo world: entities, FX, calendar, random streams, Benford amounts and posting lags.

Time inside the generator is integers: a *day* is days since 1970-01-01 (Arrow ``date32``), a
*timestamp* is seconds since 1970-01-01 (written as ``timestamp[us]``). A timestamp that has not
happened is ``NEVER`` (the largest int64), so ``t < N`` is false for it exactly like SQL NULL.
Money is integer cents (int64) until it is written as ``decimal128(18, 2)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from ...errors import UsageError
from ...period import Period

DAY = 86_400
NEVER = np.iinfo(np.int64).max
EPOCH = date(1970, 1, 1)
WARMUP_MONTHS = 2
# The lake is "extracted" this many days after the last cutoff: follow-up events and postings
# up to then exist (so late postings of the last period are visible), new orders do not.
# 20 days put the data horizon H between the windows of the pack's lines (15 and 45 days):
# the latest period's COLLECTIONS and PACKAGES items are decided (cleared or uncleared) while
# the other lines' items not yet cleared are still pending.
TAIL_DAYS = 20
# Random streams: 1-17 are the operational model and its postings (see each module); the
# story's injections (``story``) draw from STORY + the line's index, one stream per line.
STORY = 20
INTEGRATION_USER = "JUMIA\\NAV31AFR.BATCH.SRVC"
PEOPLE = ("JUMIA\\ADA.OKAFOR", "JUMIA\\MONA.HASSAN", "JUMIA\\BRIAN.OTIENO", "JUMIA\\KOFI.MENSAH",
          "JUMIA\\AWA.DIALLO", "JUMIA\\YOUSSEF.BENALI")
# Items per month over all entities at scale 1 (two warm-up months + three periods = 1.0M rows).
ITEMS_PER_MONTH = 200_000


@dataclass(frozen=True)
class Entity:
    index: int
    country: str
    company_id: str
    currency: str
    name: str
    weight: float  # share of the group's volume
    closing_sep_2025: Decimal  # LCY per USD, Sep-2025 closing
    drift: Decimal  # monthly relative drift of the rate

    @property
    def usd(self) -> float:
        """Rough LCY per USD, only to scale random amounts (never used on a money path)."""
        return float(self.closing_sep_2025)


ENTITIES = tuple(
    Entity(i, *row)
    for i, row in enumerate(
        [
            ("NG", "EC_NG", "NGN", "Jumia Nigeria", 0.28, Decimal("1650.0"), Decimal("0.012")),
            ("EG", "JM_EG", "EGP", "Jumia Egypt", 0.24, Decimal("48.9"), Decimal("0.004")),
            ("KE", "EC_KE", "KES", "Jumia Kenya", 0.12, Decimal("142.0"), Decimal("0.002")),
            ("GH", "JD_GH", "GHS", "Jumia Ghana", 0.07, Decimal("15.5"), Decimal("0.009")),
            ("CI", "EC_IC", "XOF", "Jumia Cote d'Ivoire", 0.07, Decimal("560.0"), Decimal("0.001")),
            ("SN", "HF_SN", "XOF", "Jumia Senegal", 0.04, Decimal("560.0"), Decimal("0.001")),
            ("UG", "JD_UG", "UGX", "Jumia Uganda", 0.05, Decimal("3700.0"), Decimal("0.003")),
            ("DZ", "JD_DZ", "DZD", "Jumia Algeria", 0.05, Decimal("130.0"), Decimal("0.002")),
            ("MA", "EC_MA", "MAD", "Jumia Morocco", 0.08, Decimal("9.1"), Decimal("0.001")),
        ]
    )
)


def day_of(d: date) -> int:
    return (d - EPOCH).days


def date_of(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


@dataclass(frozen=True)
class Month:
    period: Period
    start: int  # S, a day
    as_of: int  # N, a day (exclusive)

    @property
    def cutoff(self) -> int:
        return self.as_of - 1

    @property
    def n_ts(self) -> int:
        """N as a timestamp (seconds)."""
        return self.as_of * DAY

    @property
    def s_ts(self) -> int:
        return self.start * DAY


def month_of(period: Period) -> Month:
    return Month(period, day_of(period.start), day_of(period.as_of))


@dataclass(frozen=True)
class Plan:
    """The generator's arguments and the calendar derived from them."""

    scale: float
    seed: int
    first_period: Period
    periods: int

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 20:
            raise UsageError(f"--scale {self.scale} is out of range; use a value in (0, 20], e.g. 0.1")
        if self.seed < 0:
            raise UsageError(f"--seed {self.seed} must be a non-negative integer")
        if not 1 <= self.periods <= 36:
            raise UsageError(f"--periods {self.periods} is out of range; use 1 to 36")

    @property
    def months(self) -> tuple[Month, ...]:
        """Every simulated month: the warm-up months, then the requested periods."""
        first = self.first_period.shift(-WARMUP_MONTHS)
        return tuple(month_of(first.shift(i)) for i in range(WARMUP_MONTHS + self.periods))

    @property
    def requested(self) -> tuple[Month, ...]:
        return self.months[WARMUP_MONTHS:]

    @property
    def start(self) -> int:
        return self.months[0].start

    @property
    def orders_end(self) -> int:
        """Day after the last requested cutoff: no order or voucher is created from then on."""
        return self.months[-1].as_of

    @property
    def horizon(self) -> int:
        """Extraction day X: nothing at or after it has happened yet."""
        return self.orders_end + TAIL_DAYS


def rng(plan: Plan, entity: Entity, stream: int) -> np.random.Generator:
    """An independent random stream per (seed, entity, purpose): changing one part of the model
    does not reshuffle the others."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([plan.seed, entity.index, stream])))


def benford_cents(r: np.random.Generator, n: int, lo_usd: float, decades: int, entity: Entity) -> np.ndarray:
    """Amounts log-uniform over whole decades, so first digits follow Benford's law whatever the
    currency's scale. Floats only draw the random number; the amount is integer cents."""
    lo = np.log10(lo_usd * entity.usd * 100)
    cents = np.rint(10 ** (lo + decades * r.random(n)))
    return np.maximum(cents.astype(np.int64), 1)


def lag_days(r: np.random.Generator, n: int) -> np.ndarray:
    """Posting lag of the integration: 85% within 0-3 days (45/25/15/15%), 15% in 4-12 days.
    The tail stays inside the shortest clearing window (15 days), so an item the integration
    posts on its own clears in time; late postings are the story's injections (``story``)."""
    short = r.choice(4, size=n, p=[0.45, 0.25, 0.15, 0.15])
    tail = r.integers(4, 13, size=n)
    return np.where(r.random(n) < 0.85, short, tail).astype(np.int64)


def month_end(days: np.ndarray) -> np.ndarray:
    """The last day of each day's month (NEVER stays NEVER)."""
    days = np.asarray(days, dtype=np.int64)
    never = days == NEVER
    d = np.where(never, 0, days).astype("datetime64[D]")
    end = ((d.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1).astype(np.int64)
    return np.where(never, NEVER, end)


def manual_lag_days(r: np.random.Generator, n: int) -> np.ndarray:
    """Lag of month-end manual bookings (expiry write-offs): 60% 0-9 days, 40% 10-44 days."""
    return np.where(r.random(n) < 0.6, r.integers(0, 10, n), r.integers(10, 45, n)).astype(np.int64)


def in_month(r: np.random.Generator, month: Month, n: int) -> np.ndarray:
    """n timestamps uniform in the month, sorted."""
    return np.sort(month.s_ts + r.integers(0, (month.as_of - month.start) * DAY, n))


def count_for(plan: Plan, entity: Entity, per_month_at_scale_1: float, floor: int = 1) -> int:
    return max(floor, int(round(per_month_at_scale_1 * plan.scale * entity.weight)))


def few(r: np.random.Generator, plan: Plan, entity: Entity, rate: float, witness: bool = False) -> int:
    """How many discrepancies of one kind to inject in one line and month: Poisson, ``rate`` at
    scale 0.1 for an entity with all the volume; growing with the square root of the size, so a
    bigger ledger has more exceptions but not proportionally more (they are mistakes, not volume).
    A ``witness`` kind (one no natural event makes) has at least one in the largest entity (the
    first), so its bridge appears in every period even in a tiny lake."""
    n = int(r.poisson(rate * (plan.scale * entity.weight * 10) ** 0.5))
    return max(n, 1) if witness and entity.index == 0 else n


def day_of_ts(ts: np.ndarray) -> np.ndarray:
    """Day of a timestamp; NEVER stays NEVER."""
    return np.where(ts == NEVER, NEVER, ts // DAY)


def clip_future(ts: np.ndarray, horizon_day: int) -> np.ndarray:
    """Events at or after the extraction day have not happened: NEVER."""
    return np.where(ts >= horizon_day * DAY, NEVER, ts)


def fx_rates(entity: Entity, months: tuple[Month, ...]) -> list[tuple[int, int, str, Decimal]]:
    """Closing and Average rates for every simulated month, anchored on Sep-2025 closing and
    drifting by a fixed rate per month (Decimal arithmetic, 6 places)."""
    q = Decimal("0.000001")

    def closing(p: Period) -> Decimal:
        k = (p.year * 12 + p.month) - (2025 * 12 + 9)
        return (entity.closing_sep_2025 * (1 + entity.drift) ** k).quantize(q)

    rows = []
    for m in months:
        c, prev = closing(m.period), closing(m.period.previous())
        rows.append((m.period.year, m.period.month, "Closing", c))
        rows.append((m.period.year, m.period.month, "Average", ((c + prev) / 2).quantize(q)))
    return rows
