"""Money: exact Decimal amounts that carry their currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from soxauto.money import CurrencyMismatch, Money


def ngn(text: str) -> Money:
    return Money(Decimal(text), "NGN")


def test_arithmetic_is_exact():
    assert ngn("0.10") + ngn("0.20") == ngn("0.30")
    assert str((ngn("0.10") + ngn("0.20")).amount) == "0.30"
    assert ngn("100.00") - ngn("0.01") == ngn("99.99")
    assert -ngn("12.50") == ngn("-12.50")
    assert sum([ngn("0.10")] * 10, Money.zero("NGN")) == ngn("1.00")
    assert Money.zero("KES") == Money(Decimal("0.00"), "KES")


def test_comparison():
    assert ngn("1.00") < ngn("1.01")
    assert ngn("1.01") > ngn("1.00")
    assert ngn("1.00") <= ngn("1.00")
    assert not ngn("1.01") <= ngn("1.00")


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
    ],
)
def test_two_currencies_do_not_mix(combine):
    with pytest.raises(TypeError) as e:
        combine(ngn("1.00"), Money(Decimal("1.00"), "EGP"))
    assert isinstance(e.value, CurrencyMismatch)
    assert "NGN" in str(e.value) and "EGP" in str(e.value)


def test_money_does_not_combine_with_bare_numbers():
    with pytest.raises(TypeError, match="cannot combine Money with Decimal"):
        ngn("1.00") + Decimal("1.00")
    with pytest.raises(TypeError, match="cannot combine Money with int"):
        ngn("1.00") - 1
    with pytest.raises(TypeError):
        sum([ngn("1.00")])  # starts from int 0: give sum() a Money.zero start


@pytest.mark.parametrize("amount", [1.5, 1, "1.50"])
def test_the_amount_must_be_a_decimal(amount):
    with pytest.raises(TypeError, match=f"Money amount must be a Decimal, got {type(amount).__name__}"):
        Money(amount, "NGN")


@pytest.mark.parametrize("currency", ["ngn", "NG", "NAIRA", ""])
def test_the_currency_must_be_an_iso_code(currency):
    with pytest.raises(ValueError, match="is not an ISO-4217 currency code"):
        Money(Decimal("1"), currency)


@pytest.mark.parametrize(
    "amount, currency, rate, usd",
    [
        ("1650.00", "NGN", "1650.000000", "1.00"),
        ("-4890.00", "EGP", "48.9", "-100.00"),
        ("100.00", "KES", "142.0", "0.70"),  # 0.704225… rounds down
        ("2.25", "EGP", "18", "0.12"),  # 0.125 exactly: half to even, down
        ("2.43", "EGP", "18", "0.14"),  # 0.135 exactly: half to even, up
        ("-2.25", "EGP", "18", "-0.12"),
        ("0.01", "GHS", "15.5", "0.00"),
    ],
)
def test_to_usd_divides_by_the_rate_and_rounds_half_even(amount, currency, rate, usd):
    result = Money(Decimal(amount), currency).to_usd(Decimal(rate))

    assert result == Money(Decimal(usd), "USD")
    assert str(result.amount) == usd


@pytest.mark.parametrize("rate", [Decimal("0"), Decimal("-1650"), 1650.0, 1650, "1650"])
def test_to_usd_refuses_a_rate_that_is_not_a_positive_decimal(rate):
    with pytest.raises(ValueError, match="FX rate for NGN must be a positive Decimal"):
        ngn("1650.00").to_usd(rate)


def test_str_shows_amount_and_currency():
    assert str(ngn("1234567.5")) == "1,234,567.50 NGN"
    assert str(Money(Decimal("-0.10"), "USD")) == "-0.10 USD"
