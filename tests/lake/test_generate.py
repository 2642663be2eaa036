"""The demo lake generator: determinism, contract shape, ground truth and its cross-checks.

One small lake (scale 0.01, periods 2025-08 and 2025-09, seed 7) is generated once per module;
the tests read it back with pyarrow and plain DuckDB SQL written here (not the product's
catalog), so they check the generator against docs/semantics.md independently.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

from soxauto.cli import run
from soxauto.lake.contract import contract
from soxauto.lake.demo import write as w
from soxauto.lake.demo.ledger import Posted, TVRows
from soxauto.lake.demo.truth import GENERIC, VOUCHER, decimal_text, line_truth
from soxauto.lake.demo.world import month_of
from soxauto.lake.generate import generate
from soxauto.period import Period

ARGS = dict(scale=0.01, seed=7, first_period=Period(2025, 8), periods=2)
COMPANIES = ("EC_NG", "JM_EG", "EC_KE", "JD_GH", "EC_IC", "HF_SN", "JD_UG", "JD_DZ", "EC_MA")
LINES = ("CUSTOMER_AR", "COLLECTIONS", "VOUCHERS", "PREPAYMENTS", "MPL_REFUNDS", "PACKAGES", "SC_ACCRUED")
PERIODS = ("2025-08", "2025-09")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "lake"
    generate(out, quiet=True, **ARGS)
    return out


@pytest.fixture(scope="module")
def truth(lake: Path) -> dict:
    return json.loads((lake / "ground_truth.json").read_text("utf-8"))


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def sql(lake: Path, query: str, **params):
    """Run plain DuckDB SQL over the lake, each logical table a view of its Parquet files."""
    con = duckdb.connect()
    for spec in contract().tables:
        glob = exp.Literal.string(str(lake / spec.schema / spec.name / "*.parquet"))
        files = exp.select("*").from_(exp.Table(this=exp.Anonymous(this="read_parquet", expressions=[glob])))
        name = exp.Table(this=exp.to_identifier(spec.name), db=exp.to_identifier(spec.schema))
        con.sql(exp.Create(this=exp.Table(this=exp.to_identifier(spec.schema)), kind="SCHEMA", exists=True).sql("duckdb"))
        con.sql(exp.Create(this=name, kind="VIEW", expression=files).sql("duckdb"))
    return con.sql(query, params=params).fetchall()


# --- determinism --------------------------------------------------------------------------------


def test_same_arguments_give_byte_identical_files(lake: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, quiet=True, **ARGS)
    first, second = digests(lake), digests(again)
    assert len(first) == 17 * 9 - 8 + 1  # 16 tables x 9 companies + gl_accounts/all + ground_truth.json
    assert first == second


def test_another_seed_gives_other_data(lake: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(other, quiet=True, **{**ARGS, "seed": 8})
    a, b = digests(lake), digests(other)
    assert a["nav/gl_entries/EC_NG.parquet"] != b["nav/gl_entries/EC_NG.parquet"]
    assert a["ground_truth.json"] != b["ground_truth.json"]
    assert a["nav/gl_accounts/all.parquet"] == b["nav/gl_accounts/all.parquet"]  # no randomness there


# --- contract shape --------------------------------------------------------------------------------


def test_every_table_has_the_contract_schema_and_no_nulls_where_not_null(lake: Path) -> None:
    for spec in contract().tables:
        files = sorted((lake / spec.schema / spec.name).glob("*.parquet"))
        names = [f.stem for f in files]
        assert names == (["all"] if spec.qualified == "nav.gl_accounts" else sorted(COMPANIES)), spec.qualified
        for f in files:
            table = pq.read_table(f)
            assert table.schema.equals(spec.arrow_schema()), f"{f}: {table.schema}"
            for c in spec.columns:
                if not c.nullable:
                    assert table.column(c.name).null_count == 0, f"{f}: {c.name} has NULLs"


def test_row_counts_in_ground_truth_match_the_files(lake: Path, truth: dict) -> None:
    counted = Counter()
    for spec in contract().tables:
        for f in (lake / spec.schema / spec.name).glob("*.parquet"):
            counted[spec.qualified] += pq.read_metadata(f).num_rows
    assert truth["row_counts"] == dict(counted)
    assert truth["row_counts"]["ref.companies"] == 9
    assert truth["row_counts"]["nav.gl_balances"] == 9 * 2 * 10  # companies x month-ends x reconciled accounts
    assert truth["row_counts"]["nav.gl_accounts"] == 18
    assert truth["generator"] == {"scale": "0.01", "seed": 7, "first_period": "2025-08", "periods": 2,
                                  "warmup_months": 2, "simulation_start": "2025-06-01",
                                  "extracted_through": "2025-10-20", "tail_days": 20,
                                  "data_horizon": "2025-10-20"}
    assert truth["format_version"] == 2


def test_september_closing_rates_are_the_spec_examples(lake: Path) -> None:
    rows = sql(lake, "SELECT company_id, rate_lcy_per_usd FROM ref.fx_rates "
                     "WHERE year = 2025 AND month = 9 AND rate_type = 'Closing' ORDER BY company_id")
    rates = dict(rows)
    assert rates["EC_NG"] == Decimal("1650.000000")
    assert rates["JM_EG"] == Decimal("48.900000")
    assert rates["EC_KE"] == Decimal("142.000000")
    assert rates["JD_GH"] == Decimal("15.500000")
    assert len(rates) == 9
    months = sql(lake, "SELECT count(DISTINCT (year, month)), count(*) FROM ref.fx_rates WHERE company_id = 'EC_NG'")
    assert months == [(4, 8)]  # Jun-Sep (2 warm-up months + 2 periods), Closing and Average


def test_money_is_written_exactly_from_integer_cents() -> None:
    arr = w.money(np.array([-1, 12345, -100_000_000_000, 0], dtype=np.int64))
    assert arr.to_pylist() == [Decimal("-0.01"), Decimal("123.45"), Decimal("-1000000000.00"), Decimal("0.00")]
    assert decimal_text(-123456) == "-1234.56"
    assert decimal_text(5) == "0.05"


# --- operational invariants -----------------------------------------------------------------------


def test_voucher_snapshots_agree_with_usage_and_their_own_arithmetic(lake: Path) -> None:
    bad = sql(lake, "SELECT count(*) FROM bob.store_credit_vouchers "
                    "WHERE remaining_amount <> discount_amount - used_discount_amount")
    assert bad == [(0,)]
    mismatched = sql(lake, """
        SELECT count(*) FROM bob.store_credit_vouchers v
        LEFT JOIN (SELECT s.snapshot_date, u.voucher_id, sum(u.amount_used) AS used
                   FROM jdash.voucher_usage u
                   JOIN (SELECT DISTINCT snapshot_date FROM bob.store_credit_vouchers) s
                     ON u.used_at < s.snapshot_date + INTERVAL 1 DAY
                   GROUP BY ALL) j
          ON j.voucher_id = v.voucher_id AND j.snapshot_date = v.snapshot_date
        WHERE coalesce(j.used, 0) <> v.used_discount_amount""")
    assert mismatched == [(0,)]
    snapshots = sql(lake, "SELECT DISTINCT snapshot_date FROM bob.store_credit_vouchers ORDER BY 1")
    assert snapshots == [(date(2025, 8, 31),), (date(2025, 9, 30),)]


def test_every_order_has_items(lake: Path) -> None:
    orphans = sql(lake, "SELECT count(*) FROM bob.sales_orders o WHERE NOT EXISTS "
                        "(SELECT 1 FROM oms.sales_order_items i WHERE i.order_nr = o.order_nr "
                        "AND i.company_id = o.company_id)")
    assert orphans == [(0,)]


def test_gl_balances_tie_to_entries_up_to_the_closing_date(lake: Path) -> None:
    rows = sql(lake, """
        SELECT b.company_id, b.closing_date, b.gl_account_no, b.balance_lcy,
               (SELECT coalesce(sum(e.amount), 0) FROM nav.gl_entries e
                 WHERE e.company_id = b.company_id AND e.gl_account_no = b.gl_account_no
                   AND e.posting_date <= b.closing_date) AS entries,
               b.refreshed_at
        FROM nav.gl_balances b""")
    assert len(rows) == 180
    assert [r for r in rows if r[3] != r[4]] == []
    # refreshed the day after the month-end at 03:00; the latest month-end again on the extraction day
    refreshed = {c: {r[5] for r in rows if r[1] == c} for c in {r[1] for r in rows}}
    assert refreshed == {date(2025, 8, 31): {datetime(2025, 9, 1, 3, 0)}, date(2025, 9, 30): {datetime(2025, 10, 20, 3, 0)}}
    assert sum(1 for r in rows if r[3] != 0) > 150  # the ledger is not empty


def test_the_data_horizon_is_the_extraction_day_and_no_entry_is_later(lake: Path, truth: dict) -> None:
    # H (domain spec "Time words"): the date part of the latest refreshed_at of the company's balances
    horizons = sql(lake, "SELECT company_id, CAST(max(refreshed_at) AS DATE) FROM nav.gl_balances GROUP BY 1")
    assert {h for _, h in horizons} == {date.fromisoformat(truth["generator"]["data_horizon"])} == {date(2025, 10, 20)}
    assert len(horizons) == 9
    last = sql(lake, "SELECT company_id, max(posting_date) FROM nav.gl_entries GROUP BY 1")
    assert max(d for _, d in last) == date(2025, 10, 20)  # postings run up to H, none after it
    after = sql(lake, """SELECT count(*) FROM nav.gl_entries
                         WHERE posting_date > DATE '2025-09-30' AND gl_account_no IN ('13011', '13012', '18412')""")
    assert after[0][0] > 100  # the clearing entries of the latest period's items are in the lake


def test_the_chart_holds_the_booking_journals_accounts(lake: Path) -> None:
    rows = dict((a, (n, c)) for a, n, c in sql(lake, "SELECT gl_account_no, gl_account_name, account_class FROM nav.gl_accounts"))
    assert rows["18415"] == ("Customer cash refunds clearing", "liability")
    assert rows["79100"] == ("Breakage income - expired vouchers", "income")
    assert rows["13020"] == ("Intercompany receivables", "asset")
    used = {a for (a,) in sql(lake, "SELECT DISTINCT gl_account_no FROM nav.gl_entries")}
    assert "13020" in used and not used & {"18415", "79100"}  # journals name them; nothing posts there yet


def test_entry_numbers_are_unique_per_company_and_users_follow_the_convention(lake: Path) -> None:
    assert sql(lake, "SELECT count(*) - count(DISTINCT (company_id, entry_no)) FROM nav.gl_entries") == [(0,)]
    rows = sql(lake, """
        SELECT user_id = 'JUMIA\\NAV31AFR.BATCH.SRVC' AS integration,
               count(*) FILTER (WHERE external_document_no IS NULL AND voucher_no IS NULL AND source_no IS NULL)
        FROM nav.gl_entries GROUP BY 1 ORDER BY 1""")
    people, service = rows  # keyless entries are manual journals, never the integration's
    assert service == (True, 0) and people[1] > 0


# --- ground truth ------------------------------------------------------------------------------


def test_ground_truth_covers_every_period_entity_and_line(truth: dict) -> None:
    keys = Counter((r["period"], r["company_id"], r["line"]) for r in truth["results"])
    assert set(keys) == {(p, c, line) for p in PERIODS for c in COMPANIES for line in LINES}
    assert set(keys.values()) == {1}
    currencies = {r["company_id"]: r["currency"] for r in truth["results"]}
    assert currencies["EC_IC"] == currencies["HF_SN"] == "XOF" and currencies["JM_EG"] == "EGP"


def test_ground_truth_is_internally_consistent(truth: dict) -> None:
    for r in truth["results"]:
        gl, tv, var = (Decimal(r[k]) for k in ("gl_amount", "tv_amount", "variance"))
        assert var == gl - tv, r
        assert var == sum(Decimal(v) for v in r["bridges"].values()) + Decimal(r["unexplained"]), r
        family = VOUCHER if r["line"] == "VOUCHERS" else GENERIC
        assert tuple(r["bridges"]) == family and tuple(r["bridge_keys"]) == family
        if r["line"] != "VOUCHERS":
            assert r["unexplained"] == "0.00", r  # the generic families explain every key


def test_every_bridge_appears_and_vouchers_keep_an_unexplained_rest(truth: dict) -> None:
    seen = {(r["line"] == "VOUCHERS", b) for r in truth["results"] for b, v in r["bridges"].items() if v != "0.00"}
    assert seen == {(False, b) for b in GENERIC} | {(True, b) for b in VOUCHER}
    rest = [r for r in truth["results"] if r["line"] == "VOUCHERS" and r["unexplained"] != "0.00"]
    assert len(rest) >= 9


def _truth(truth: dict, period: str, company: str, line: str) -> dict:
    return next(r for r in truth["results"] if (r["period"], r["company_id"], r["line"]) == (period, company, line))


IPE_10 = """
WITH items AS (
  SELECT sales_order_item_id, paid_price,
         least(CASE WHEN delivery_type IN ('Digital Content', 'Gift Card') THEN delivered_at
                    ELSE package_delivered_at END, refunded_at, cancelled_at) AS released_at
  FROM oms.sales_order_items
  WHERE company_id = $company AND is_prepayment AND finance_verified_at < $as_of)
SELECT coalesce(sum(paid_price) FILTER (WHERE released_at IS NULL OR released_at >= $as_of), 0),
       count(*) FILTER (WHERE released_at >= $start AND released_at < $as_of)
FROM items
WHERE released_at IS NULL OR released_at >= $start
"""

IPE_08 = """
SELECT coalesce(sum(remaining_amount), 0) FROM bob.store_credit_vouchers
WHERE company_id = $company AND snapshot_date = $cutoff AND created_at < $as_of AND is_active
  AND to_date >= $cutoff
  AND business_use IN ('refund', 'store_credit', 'apology_v2', 'jforce', 'jpay_store_credit')
"""

IPE_12 = """
SELECT coalesce(sum(amount_expected) FILTER (WHERE reconciled_at IS NULL OR reconciled_at >= $as_of), 0)
FROM oms.packages
WHERE company_id = $company AND NOT is_prepayment AND payment_method <> 'NoPayment' AND delivered_at < $as_of
"""

GL = """
SELECT coalesce(sum(amount), 0) FROM nav.gl_entries
WHERE company_id = $company AND posting_date <= $cutoff AND gl_account_no IN (SELECT unnest($accounts))
"""


@pytest.mark.parametrize("company", ["EC_NG", "JD_GH"])
@pytest.mark.parametrize("period", PERIODS)
def test_independent_sql_recomputes_the_ground_truth(lake: Path, truth: dict, company: str, period: str) -> None:
    p = Period.parse(period)
    common = dict(company=company, as_of=p.as_of)
    tv10, released_in_period = sql(lake, IPE_10, start=p.start, **common)[0]
    gl10 = -sql(lake, GL, cutoff=p.cutoff, accounts=["18350"], company=company)[0][0]
    assert (decimal_text(int(gl10 * 100)), decimal_text(int(tv10 * 100))) == tuple(
        _truth(truth, period, company, "PREPAYMENTS")[k] for k in ("gl_amount", "tv_amount"))
    assert released_in_period > 0  # context rows exist: items left the population during the period
    tv08 = sql(lake, IPE_08, cutoff=p.cutoff, **common)[0][0]
    gl08 = -sql(lake, GL, cutoff=p.cutoff, accounts=["18412"], company=company)[0][0]
    v = _truth(truth, period, company, "VOUCHERS")
    assert (Decimal(v["gl_amount"]), Decimal(v["tv_amount"])) == (gl08, tv08)
    tv12 = sql(lake, IPE_12, **common)[0][0]
    gl12 = sql(lake, GL, cutoff=p.cutoff, accounts=["13005"], company=company)[0][0]
    k = _truth(truth, period, company, "PACKAGES")
    assert (Decimal(k["gl_amount"]), Decimal(k["tv_amount"])) == (gl12, tv12)


NOT_IN_TV_PREPAYMENTS = """
WITH g AS (SELECT external_document_no AS key, -sum(amount) AS g FROM nav.gl_entries
           WHERE company_id = $company AND gl_account_no = '18350' AND posting_date <= $cutoff
             AND external_document_no IS NOT NULL GROUP BY 1),
     tv AS (SELECT sales_order_item_id AS key FROM oms.sales_order_items
            WHERE company_id = $company AND is_prepayment AND finance_verified_at < $as_of
              AND coalesce(least(CASE WHEN delivery_type IN ('Digital Content', 'Gift Card') THEN delivered_at
                                      ELSE package_delivered_at END, refunded_at, cancelled_at), $as_of) >= $start)
SELECT coalesce(sum(g), 0), count(*) FROM g WHERE g <> 0 AND key NOT IN (SELECT key FROM tv)
"""


def test_key_level_not_in_tv_of_prepayments_matches(lake: Path, truth: dict) -> None:
    checked = 0
    for period in PERIODS:
        p = Period.parse(period)
        for company in COMPANIES:
            amount, keys = sql(lake, NOT_IN_TV_PREPAYMENTS, company=company, cutoff=p.cutoff, as_of=p.as_of,
                               start=p.start)[0]
            row = _truth(truth, period, company, "PREPAYMENTS")
            assert (amount, keys) == (Decimal(row["bridges"]["NOT_IN_TV"]), row["bridge_keys"]["NOT_IN_TV"])
            checked += keys
    assert checked > 0  # mis-postings and lost releases exist somewhere


# --- the truth rules on a hand-made ledger --------------------------------------------------------


def test_generic_bridges_on_a_hand_made_prepayment_line() -> None:
    m = month_of(Period(2025, 9))
    d = m.cutoff
    # keys: -1 manual; 1 matched; 2 in TV, not posted; 3 left TV in the period; 4 unknown to TV; 5 wrong amount
    posted = Posted(line=np.zeros(6, np.int8), key=np.array([-1, 1, 3, 4, 5, 1]),
                    amount=np.array([-500, -1000, -200, -50, -120, 0]), day=np.array([d, d, d, d, d, d + 1]),
                    integration=np.ones(6, bool), account=np.zeros(6, np.int64))
    tv = TVRows(key=np.array([1, 2, 3, 5]), in_tv=np.array([True, True, False, True]),
                measure=np.array([1000, 300, 200, 100]))
    t, _ = line_truth("PREPAYMENTS", posted, tv, m, "EC_NG", "NGN")
    assert (t.gl_amount, t.tv_amount, t.variance) == (1870, 1400, 470)
    assert {b: (c, k) for b, c, k in t.bridges} == {
        "MANUAL_ADJUSTMENT": (500, 1), "TIMING": (200, 1), "NOT_POSTED": (-300, 1),
        "NOT_IN_TV": (50, 1), "AMOUNT_DIFFERENCE": (20, 1)}
    assert t.unexplained == 0


def test_voucher_bridges_on_a_hand_made_line() -> None:
    m = month_of(Period(2025, 9))
    d = m.cutoff
    # voucher 1: issued 1000, used 300 in BOB, 100 posted -> TIMING_USAGE 200
    # voucher 2: expired with 400 left, not written off -> EXPIRED_NOT_WRITTEN_OFF 400
    # voucher 3: marketing voucher posted to 18412 -> no rule: unexplained 50
    posted = Posted(line=np.full(4, 2, np.int8), key=np.array([1, 1, 2, 3]), amount=np.array([-1000, 100, -400, -50]),
                    day=np.full(4, d), integration=np.ones(4, bool), account=np.zeros(4, np.int64))
    tv = TVRows(key=np.array([1, 2, 3]), in_tv=np.array([True, False, False]), measure=np.array([700, 0, 0]),
                extra=dict(is_expired=np.array([False, True, False]), active=np.array([True, False, True]),
                           reason=np.array([0, 3, 0]), used=np.array([300, 0, 0])))
    t, _ = line_truth("VOUCHERS", posted, tv, m, "EC_NG", "NGN")
    assert (t.gl_amount, t.tv_amount) == (1350, 700)
    assert {b: c for b, c, _ in t.bridges} == {"MANUAL_ADJUSTMENT": 0, "TIMING_USAGE": 200,
                                                "EXPIRED_NOT_WRITTEN_OFF": 400, "VTC_NOT_BOOKED": 0,
                                                "CANCELLED_NOT_BOOKED": 0}
    assert t.unexplained == 50


# --- amounts ---------------------------------------------------------------------------------------


def test_paid_prices_follow_benford(lake: Path) -> None:
    prices = [r[0] for r in sql(lake, "SELECT paid_price FROM oms.sales_order_items WHERE paid_price > 0")]
    assert len(prices) > 5000
    first = Counter(str(p).lstrip("0.")[0] for p in prices)
    mad = sum(abs(first[str(d)] / len(prices) - math.log10(1 + 1 / d)) for d in range(1, 10)) / 9
    assert mad < 0.015


# --- CLI and the contract check ------------------------------------------------------------------


def test_cli_generates_and_the_lake_passes_the_contract_check(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    code = run(["lake", "generate", "--out", str(out), "--scale", "0.005", "--seed", "3",
                "--first-period", "2025-09", "--periods", "1"])
    assert code == 0
    from soxauto.lake.check import check_lake

    report = check_lake(out)
    assert len(report.tables) == 17
    counts = json.loads((out / "ground_truth.json").read_text("utf-8"))["row_counts"]
    assert report.rows == sum(counts.values())


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    assert run(["lake", "generate", "--out", str(tmp_path / "x"), "--scale", "0"]) == 3
    assert run(["lake", "generate", "--out", str(tmp_path / "x"), "--periods", "0"]) == 3
    assert not (tmp_path / "x").exists()
