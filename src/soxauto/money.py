"""Exact money: a Decimal amount that always carries its currency.

Adding or comparing amounts of two currencies is a type error, never a silent mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, ROUND_HALF_EVEN

CENT = Decimal("0.01")


class CurrencyMismatch(TypeError):
    pass


@dataclass(frozen=True, order=False)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money amount must be a Decimal, got {type(self.amount).__name__}")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"'{self.currency}' is not an ISO-4217 currency code")

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(Decimal("0.00"), currency)

    def _same(self, other: "Money") -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __lt__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount <= other.amount

    def to_usd(self, rate_lcy_per_usd: Decimal) -> "Money":
        """USD = LCY / rate, rounded half-even to the cent. A rate must be given and > 0."""
        if not isinstance(rate_lcy_per_usd, Decimal) or rate_lcy_per_usd <= 0:
            raise ValueError(f"FX rate for {self.currency} must be a positive Decimal")
        return Money((self.amount / rate_lcy_per_usd).quantize(CENT, ROUND_HALF_EVEN), "USD")

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"
