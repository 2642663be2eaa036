"""Σ bridges + unexplained = variance, exactly, on random key tables (hypothesis).

The three sides are computed independently: variance from the balance-level query, each
bridge from its own group of key rows, unexplained from the unclaimed rows plus the CR_03/CR_04
tie-out difference. The proof items partition the keys with a delta."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reconkit import balance, gl, run_line

UNUSED = Path("no-lake-is-read")  # the engine only queries registered extracts
KEYS = st.sampled_from(["K0", "K1", "K2", "K3", "K4", "K5", None])
CENTS = st.integers(min_value=-2_000_000, max_value=2_000_000)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def money(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2))


entries = st.lists(st.tuples(KEYS, CENTS, st.booleans(), st.sampled_from(["13005", "13005", "13004"])), max_size=25)


def check_partition(line, independent_g: Decimal) -> None:
    assert line.variance_lcy == line.bridged_lcy + line.unexplained_lcy
    seen: set[str] = set()
    total = Decimal("0.00")
    for b in line.bridges:
        keys = b.items.column("key").to_pylist()
        amounts = b.items.column("amount_lcy").to_pylist()
        assert b.amount_lcy == sum(amounts, Decimal("0.00"))
        assert all(a != 0 for a in amounts)  # only rows with a delta are claimed
        assert not seen & set(keys)  # no key row is claimed twice
        seen |= set(keys)
        total += b.amount_lcy
    rest = sum(line.unexplained_items.column("amount_lcy").to_pylist(), Decimal("0.00"))
    assert line.unexplained_lcy == rest + line.tie_out_difference
    assert line.variance_lcy == total + rest + line.tie_out_difference
    assert line.key_gl_amount == independent_g


@SETTINGS
@given(gl_rows=entries,
       tv_rows=st.lists(st.tuples(st.sampled_from(["K0", "K1", "K2", "K3", "K6"]), CENTS, st.booleans()), max_size=15),
       offset=st.sampled_from([0, 0, 0, 1, -250]))
def test_generic_family_partitions_the_variance(gl_rows, tv_rows, offset):
    cr03 = [gl(acct, money(c), key, posted=date(2025, 9, 30) if by_cutoff else date(2025, 10, 1))
            for key, c, by_cutoff, acct in gl_rows]
    g = sum((Decimal(c).scaleb(-2) for _, c, by_cutoff, acct in gl_rows if by_cutoff and acct == "13005"), Decimal("0.00"))
    tv = [{"company_id": "EC_NG", "package_id": k, "amount_expected": Decimal(c).scaleb(-2), "in_tv": in_tv} for k, c, in_tv in tv_rows]
    line = run_line(UNUSED, "PACKAGES", cr03=cr03, cr04=[balance("13005", money(int(g * 100) + offset))], tv=tv)
    check_partition(line, g)
    assert line.tv_amount == sum((Decimal(c).scaleb(-2) for _, c, in_tv in tv_rows if in_tv), Decimal("0.00"))
    # the generic family claims every key with a delta: only a tie-out difference is left
    assert line.unexplained_items.num_rows == 0
    assert line.unexplained_lcy == Decimal(offset).scaleb(-2)


vouchers = st.lists(st.tuples(st.sampled_from(["K0", "K1", "K2", "K3", "K6"]), st.integers(0, 100_000), st.integers(0, 100_000),
                              st.booleans(), st.booleans(), st.booleans(),
                              st.sampled_from([None, "converted_to_cash", "cancelled", "expired"])), max_size=10, unique_by=lambda v: v[0])


@SETTINGS
@given(gl_rows=st.lists(st.tuples(KEYS, CENTS, st.booleans(), st.booleans()), max_size=25), tv_rows=vouchers,
       offset=st.sampled_from([0, 0, 7]))
def test_voucher_family_partitions_the_variance(gl_rows, tv_rows, offset):
    cr03 = []
    for key, c, integration, by_cutoff in gl_rows:
        row = gl("18412", money(c), key, voucher_no=key, posted=date(2025, 9, 30) if by_cutoff else date(2025, 10, 1))
        if not integration:
            row.update(integration_type="Manual", user_id="JUMIA\\FIRST.LAST")
        cr03.append(row)
    g = -sum((Decimal(c).scaleb(-2) for _, c, _, by_cutoff in gl_rows if by_cutoff), Decimal("0.00"))
    tv = [{"company_id": "EC_NG", "voucher_id": k, "discount_amount": Decimal(d + u).scaleb(-2), "used_discount_amount": Decimal(u).scaleb(-2),
           "remaining_amount": Decimal(d).scaleb(-2), "in_tv": in_tv, "is_active": active, "is_expired": expired,
           "inactive_reason": reason} for k, d, u, in_tv, active, expired, reason in tv_rows]
    line = run_line(UNUSED, "VOUCHERS", cr03=cr03, cr04=[balance("18412", money(-int(g * 100) - offset))], tv=tv)
    check_partition(line, g)
