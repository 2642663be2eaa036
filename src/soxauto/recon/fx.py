"""LCY → USD at the entity's CR_05 closing rate (local units per 1 USD: USD = LCY / rate).

Amounts stay exact in LCY; USD is a presentation, rounded half-even to the cent. Comparisons
with USD thresholds are made in LCY instead (``|x_lcy| < threshold_usd × rate``), which is the
same test without any rounding. A missing rate is never replaced by 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

import pyarrow as pa

CENT = Decimal("0.01")
FX_RATE_MISSING = "FX_RATE_MISSING"
FX_RATE_AMBIGUOUS = "FX_RATE_AMBIGUOUS"
FX_RATE_INVALID = "FX_RATE_INVALID"


@dataclass(frozen=True)
class FxRate:
    """The closing rate of one entity and period, or why there is none (``problem``)."""

    company_id: str
    rate: Decimal | None
    currency: str | None = None
    problem: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.rate is not None

    def usd(self, lcy: Decimal) -> Decimal | None:
        """``lcy / rate`` rounded half-even to the cent; None without a rate."""
        if self.rate is None:
            return None
        return (lcy / self.rate).quantize(CENT, ROUND_HALF_EVEN)

    def lcy(self, usd: Decimal) -> Decimal | None:
        """A USD threshold in LCY, exact (rate has 6 places, so the product is exact)."""
        return None if self.rate is None else usd * self.rate

    def to_dict(self) -> dict:
        return {"rate_lcy_per_usd": None if self.rate is None else str(self.rate), "currency": self.currency,
                "problem": self.problem, "detail": self.detail or None}


def closing_rate(cr05: pa.Table, company_id: str) -> FxRate:
    """The one ``Closing`` rate of ``company_id`` in a CR_05 extract."""
    rows = [r for r in cr05.select(["company_id", "rate_type", "currency", "rate_lcy_per_usd"]).to_pylist()
            if r["company_id"] == company_id and r["rate_type"] == "Closing"]
    rates = {r["rate_lcy_per_usd"] for r in rows}
    if not rows or rates == {None}:
        return FxRate(company_id, None, None, FX_RATE_MISSING,
                      f"CR_05 has no Closing rate for {company_id}: add it to ref.fx_rates (a USD company carries rate 1)")
    if len(rates) > 1:
        return FxRate(company_id, None, rows[0]["currency"], FX_RATE_AMBIGUOUS,
                      f"CR_05 has {len(rates)} different Closing rates for {company_id}: {sorted(str(r) for r in rates)}")
    (rate,) = rates
    if rate is None or rate <= 0:
        return FxRate(company_id, None, rows[0]["currency"], FX_RATE_INVALID, f"Closing rate {rate} of {company_id} is not positive")
    return FxRate(company_id, rate, rows[0]["currency"])


def cents_at_least(amount: Decimal) -> Decimal:
    """The smallest cent amount >= ``amount``: for 2-place values ``|x| >= a`` iff ``|x| >= this``."""
    return amount.quantize(CENT, ROUND_CEILING)
