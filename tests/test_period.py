"""Period: the time words of the domain (S, C, N, Y), worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from soxauto.errors import UsageError
from soxauto.period import Period


@pytest.mark.parametrize(
    "text, start, cutoff, as_of, year_start",
    [
        ("2025-09", date(2025, 9, 1), date(2025, 9, 30), date(2025, 10, 1), date(2025, 1, 1)),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 31), date(2026, 1, 1), date(2025, 1, 1)),
        ("2025-01", date(2025, 1, 1), date(2025, 1, 31), date(2025, 2, 1), date(2025, 1, 1)),
        ("2025-02", date(2025, 2, 1), date(2025, 2, 28), date(2025, 3, 1), date(2025, 1, 1)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1), date(2024, 1, 1)),
        ("2000-02", date(2000, 2, 1), date(2000, 2, 29), date(2000, 3, 1), date(2000, 1, 1)),  # divisible by 400
        ("2100-02", date(2100, 2, 1), date(2100, 2, 28), date(2100, 3, 1), date(2100, 1, 1)),  # by 100, not 400
        ("2025-04", date(2025, 4, 1), date(2025, 4, 30), date(2025, 5, 1), date(2025, 1, 1)),
    ],
)
def test_dates_of_a_period(text, start, cutoff, as_of, year_start):
    p = Period.parse(text)

    assert (p.start, p.cutoff, p.as_of, p.year_start) == (start, cutoff, as_of, year_start)
    assert p.parameters() == {"cutoff": cutoff, "as_of": as_of, "period_start": start, "year_start": year_start}


def test_text_forms():
    p = Period.parse(" 2025-09 ")
    assert p == Period(2025, 9)
    assert str(p) == "2025-09"
    assert p.compact == "202509"
    assert str(Period(987 + 1000, 3)) == "1987-03"


@pytest.mark.parametrize("text", ["2025-9", "2025/09", "202509", "25-09", "2025-09-30", "Sep 2025", ""])
def test_parse_refuses_other_forms(text):
    with pytest.raises(UsageError) as e:
        Period.parse(text)
    assert str(e.value) == f"period '{text}' is not of the form YYYY-MM (for example 2025-09)"


@pytest.mark.parametrize("text, shown", [("2025-13", "2025-13"), ("2025-00", "2025-00"), ("1899-12", "1899-12")])
def test_parse_refuses_impossible_months(text, shown):
    with pytest.raises(UsageError, match=f"^period {shown} is not a valid month$"):
        Period.parse(text)


def test_usage_errors_exit_3():
    with pytest.raises(UsageError) as e:
        Period.parse("2025-13")
    assert e.value.exit_code == 3


@pytest.mark.parametrize(
    "period, months, expected",
    [
        (Period(2025, 9), 0, Period(2025, 9)),
        (Period(2025, 9), 3, Period(2025, 12)),
        (Period(2025, 9), 4, Period(2026, 1)),
        (Period(2025, 1), -1, Period(2024, 12)),
        (Period(2025, 9), -21, Period(2023, 12)),
        (Period(2025, 9), 28, Period(2028, 1)),
        (Period(2025, 12), -12, Period(2024, 12)),
    ],
)
def test_shift(period, months, expected):
    assert period.shift(months) == expected


def test_next_and_previous_cross_year_ends():
    assert Period(2025, 12).next() == Period(2026, 1)
    assert Period(2026, 1).previous() == Period(2025, 12)
    assert Period(2025, 9).next() == Period(2025, 10)
    assert Period(2025, 9).previous() == Period(2025, 8)
    for month in range(1, 13):
        p = Period(2025, month)
        assert p.next().previous() == p == p.shift(1).shift(-1)


def test_periods_order_by_time_and_are_hashable():
    periods = [Period(2025, 10), Period(2024, 12), Period(2025, 9)]
    assert sorted(periods) == [Period(2024, 12), Period(2025, 9), Period(2025, 10)]
    assert len({Period(2025, 9), Period.parse("2025-09")}) == 1
