"""Voucher posting classification: the rule file's load errors, a hand-built CR_03 of GL 18412
classified posting by posting, and the movement table worked out by hand.

Entity EC_NG (country NG, NGN), period 2025-09: S = 2025-09-01, C = 2025-09-30. Amounts are
NAV amounts (debit +, credit −); the movement table presents the liability positive, so every
movement is the negated sum of its postings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from soxauto.engines.duckdb import DuckDBEngine
from soxauto.errors import UsageError
from soxauto.lake.binding import lake_binding
from soxauto.money import Money
from soxauto.period import Period
from soxauto.recon.classify import classify_vouchers, load_voucher_rules
from soxauto.recon.rulefile import RuleFileError

I, M = "Integration", "Manual"
GL, BANK = "G/L Account", "Bank Account"

# (entry_no, posting_date, voucher_no, document_no, document_type, description, amount, integration_type, bal_account_type)
POSTINGS = [
    # before the period: the opening balance
    (1, date(2025, 8, 20), "V1", "BVCHI-20250820", None, "RF_NGV001", "-100.00", I, GL),
    (2, date(2025, 8, 21), "V2", "NG-SC0000002", None, "STORE CREDIT NGV002", "-80.00", M, GL),
    (3, date(2025, 8, 22), "V3", "BVCHI-20250822", None, "COMMERCIAL GESTURE NGV003", "-60.00", I, GL),
    (4, date(2025, 8, 23), "V4", "BVCHI-20250823", None, "PYT_NGV004", "-50.00", I, GL),
    (5, date(2025, 8, 24), "V5", "NG-SC0000005", None, "STORE CREDIT NGV005", "-40.00", M, GL),
    (6, date(2025, 8, 25), "V6", "BVCHI-20250825", None, "RF_NGV006", "-30.00", I, GL),
    (7, date(2025, 8, 26), "V7", "BVCHI-20250826", None, "COMMERCIAL GESTURE NGV007", "-20.00", I, GL),
    # the period
    (8, date(2025, 9, 2), "V1", "BVCHU-20250902", None, "RF_NGV001 USAGE", "25.00", I, GL),
    (9, date(2025, 9, 3), "V2", "BVCHU-20250903", None, "STORE CREDIT NGV002 USAGE", "30.00", I, GL),
    (10, date(2025, 9, 4), "V3", "GJ-EXPR-20250904", None, "EXPR_APLGY NGV003", "60.00", M, GL),
    (11, date(2025, 9, 5), "V4", "GJ-EXPR-20250905", None, "EXPR_JFORCE NGV004", "50.00", M, GL),
    (12, date(2025, 9, 6), "V5", "GJ-EXPR-20250906", None, "EXPR_STR CRDT NGV005", "10.00", M, GL),
    (13, date(2025, 9, 7), "V2", "GJ-EXPR-20250907", None, "EXPR_STR_CRDT NGV002", "5.00", M, GL),
    (14, date(2025, 9, 8), "V1", "GJ-VTC-20250908", None, "MANUAL RND NGV001", "15.00", M, BANK),
    (15, date(2025, 9, 9), "V6", "GJ-VTC-20250909", None, "VTC RF_NGV006", "12.00", M, BANK),
    (16, date(2025, 9, 10), "V7", "BVCHC-20250910", "Credit Memo", "CREDIT MEMO NGV007", "20.00", M, GL),
    (17, date(2025, 9, 11), "V5", "BVCHC-20250911", None, "Voucher Accrual reversal NGV005", "30.00", I, GL),
    (18, date(2025, 9, 12), None, "GJ-20250912", None, "Manual voucher accrual adjustment", "-7.50", M, GL),
    (19, date(2025, 9, 13), "V8", "BVCHI-20250913", None, "RF_NGV008", "-45.00", I, GL),
    (20, date(2025, 9, 14), "V6", "GJ-EXPR-20250914", None, "EXPR_RF_NGV006", "18.00", M, GL),
    (21, date(2025, 9, 15), "V8", "GJ-20250915", None, "OPENING BALANCE FIX", "3.00", M, GL),
    (22, date(2025, 9, 16), "V9", "NG-SC0000009", None, "STORE CREDIT NGV009", "-70.00", M, GL),
    (23, date(2025, 9, 17), "V10", "GJ-0000010", None, "STORE CREDIT NGV010", "-9.00", M, GL),
]
# Not voucher postings of this entity and period: another account, after the cutoff.
OTHERS = [
    (24, date(2025, 9, 18), None, "BPRPO-20250918", None, "RF_ prepayment", "-99.00", I, GL, "18350"),
    (25, date(2025, 10, 1), "V1", "BVCHU-20251001", None, "RF_NGV001 USAGE", "1.00", I, GL, "18412"),
]

EXPECTED = {  # entry_no: (category, voucher_type, category_rule, type_from)
    1: ("Issuance", "Refund", "ISSUANCE", "type rule"),
    2: ("Issuance", "Store Credit", "ISSUANCE", "type rule"),
    3: ("Issuance", "Apology", "ISSUANCE", "type rule"),
    4: ("Issuance", "JForce", "ISSUANCE", "type rule"),
    5: ("Issuance", "Store Credit", "ISSUANCE", "type rule"),
    6: ("Issuance", "Refund", "ISSUANCE", "type rule"),
    7: ("Issuance", "Apology", "ISSUANCE", "type rule"),
    8: ("Usage", "Refund", "USAGE", "type rule"),
    9: ("Usage", "Store Credit", "USAGE", "issuance"),  # V2 was issued by hand under NG-SC…
    10: ("Expired", "Apology", "EXPIRED_APOLOGY", "category rule"),
    11: ("Expired", "JForce", "EXPIRED_JFORCE", "category rule"),
    12: ("Expired", "Store Credit", "EXPIRED_STORE_CREDIT", "category rule"),
    13: ("Expired", "Store Credit", "EXPIRED_STORE_CREDIT", "category rule"),
    14: ("VTC", "Refund", "VTC_MANUAL_RND", "issuance"),
    15: ("VTC", "Refund", "VTC_BANK", "type rule"),
    16: ("Cancellation", "Apology", "CANCELLED_CREDIT_MEMO", "issuance"),
    17: ("Cancellation", "Store Credit", "CANCELLED_ACCRUAL_REVERSAL", "issuance"),
    18: ("Adjustment", "Unspecified", "MANUAL_JOURNAL", "none"),
    19: ("Issuance", "Refund", "ISSUANCE", "type rule"),
    20: ("Expired", "Refund", "EXPIRED", "type rule"),  # EXPR_RF_ contains RF_
    21: ("Unclassified", "Refund", None, "issuance"),  # a manual debit against a G/L account
    22: ("Issuance", "Store Credit", "ISSUANCE", "type rule"),
    23: ("Issuance", "Unspecified", "ISSUANCE", "none"),  # manual, but GJ- is no country code
}

# (category, voucher_type, postings, amount presented as a liability), in the file's order
MOVEMENTS = [
    ("Issuance", "Refund", 1, "45.00"),
    ("Issuance", "Store Credit", 1, "70.00"),
    ("Issuance", "Unspecified", 1, "9.00"),
    ("Usage", "Refund", 1, "-25.00"),
    ("Usage", "Store Credit", 1, "-30.00"),
    ("Cancellation", "Apology", 1, "-20.00"),
    ("Cancellation", "Store Credit", 1, "-30.00"),
    ("Expired", "Refund", 1, "-18.00"),
    ("Expired", "Apology", 1, "-60.00"),
    ("Expired", "JForce", 1, "-50.00"),
    ("Expired", "Store Credit", 2, "-15.00"),
    ("VTC", "Refund", 2, "-27.00"),
    ("Adjustment", "Unspecified", 1, "7.50"),
    ("Unclassified", "Refund", 1, "-3.00"),
]
OPENING = "380.00"  # 100 + 80 + 60 + 50 + 40 + 30 + 20
CLOSING = "233.50"  # 380 + 45 + 70 + 9 - 25 - 30 - 20 - 30 - 18 - 60 - 50 - 15 - 27 + 7.50 - 3

PARAMS = {"company_id": "EC_NG", "country_code": "NG", "currency": "NGN", "period": Period(2025, 9)}


def cr03(rows) -> pa.Table:
    cols = ["entry_no", "posting_date", "voucher_no", "document_no", "document_type", "description", "amount",
            "integration_type", "bal_account_type", "gl_account_no"]
    data = [r if len(r) == 10 else r + ("18412",) for r in rows]
    table = pa.table({c: [r[i] for r in data] for i, c in enumerate(cols)})
    amount = pa.array([Decimal(r[6]) for r in data], pa.decimal128(18, 2))
    table = table.set_column(cols.index("amount"), "amount", amount)
    return table.append_column("company_id", pa.array(["EC_NG"] * len(data)))


@pytest.fixture
def engine(tmp_path):
    with DuckDBEngine(lake_binding(tmp_path)) as e:
        yield e


def test_every_posting_classified_as_worked_out_by_hand(engine):
    result = classify_vouchers(engine, engine.register("cr03", cr03(POSTINGS + OTHERS)), PARAMS)
    got = {r["entry_no"]: (r["category"], r["voucher_type"], r["category_rule"], r["type_from"])
           for r in result.postings.to_pylist()}
    assert got == EXPECTED
    assert result.unclassified.column("entry_no").to_pylist() == [21]


def test_movement_table_rolls_the_liability_forward(engine):
    result = classify_vouchers(engine, engine.register("cr03", cr03(POSTINGS + OTHERS)), PARAMS)
    m = result.movement
    assert [(r.category, r.voucher_type, r.postings, str(r.amount.amount)) for r in m.rows] == MOVEMENTS
    assert m.opening == Money(Decimal(OPENING), "NGN")
    assert m.closing == Money(Decimal(CLOSING), "NGN")
    assert m.amount("Expired") == Money(Decimal("-143.00"), "NGN")
    assert m.to_dict()["rows"][0] == {"category": "Issuance", "voucher_type": "Refund", "postings": 1, "amount": "45.00"}
    assert result.rules_version == "1.0.0" and len(result.rules_sha256) == 64


def test_store_credit_type_needs_the_country_code(engine):
    table = engine.register("cr03", cr03(POSTINGS))
    with pytest.raises(UsageError, match="country_code"):
        classify_vouchers(engine, table, {k: v for k, v in PARAMS.items() if k != "country_code"})
    with pytest.raises(UsageError, match="'currency' is missing"):
        classify_vouchers(engine, table, {"company_id": "EC_NG", "period": "2025-09", "country_code": "NG"})


def test_movement_table_renders_in_rich(engine):
    from rich.console import Console

    result = classify_vouchers(engine, engine.register("cr03", cr03(POSTINGS)), PARAMS)
    console = Console(record=True, width=120)
    console.print(result)
    text = console.export_text()
    assert "Voucher movements EC_NG 2025-09 (NGN)" in text
    assert "Unclassified" in text and "233.50" in text and "380.00" in text


HEADER = """\
version: 1.0.0
gl_accounts: ["18412"]
account_class: liability
categories: [Issuance, Usage]
voucher_types: [Refund]
"""


def load_error(tmp_path, text: str) -> tuple[str, str]:
    path = tmp_path / "voucher_classification.yaml"
    path.write_text(text)
    with pytest.raises(RuleFileError) as e:
        load_voucher_rules(path)
    return str(path), str(e.value)


def test_load_errors_name_file_line_and_suggest(tmp_path):
    path, msg = load_error(tmp_path, HEADER + """\
rules:
  - id: ISSUANCE
    category: Issuence
    when:
      sign: credit
  - id: USAGE
    category: Usage
    when:
      integration_typ: Integration
      bal_account_type: Bank Acount
      sign: debet
  - id: USAGE
    category: Usage
    voucher_typ: Refund
    when: {sign: debit}
types:
  - id: TYPE_REFUND
    voucher_type: Refnd
    when: {description_contains: RF_}
""")
    assert f"{path}:8: unknown category 'Issuence'; did you mean 'Issuance'?" in msg
    assert f"{path}:14: unknown condition 'integration_typ'; did you mean 'integration_type'?" in msg
    assert f"{path}:15: unknown bal account type 'Bank Acount'; did you mean 'Bank Account'?" in msg
    assert f"{path}:16: unknown sign 'debet'; did you mean 'debit'?" in msg
    assert f"{path}:17: rule id 'USAGE' is also used at {path}:11" in msg
    assert f"{path}:19: unknown key 'voucher_typ'; did you mean 'voucher_type'?" in msg
    assert f"{path}:23: unknown voucher type 'Refnd'; did you mean 'Refund'?" in msg
    assert "has 7 problem(s)" in msg


def test_load_errors_for_header_and_yaml(tmp_path):
    path, msg = load_error(tmp_path, "version: 1.0\ngl_accounts: [18412]\naccount_class: liabilty\n"
                                     "categories: [Issuance, Unclassified]\nvoucher_types: []\nrules: []\n")
    assert f"{path}:1: version '1.0' is not of the form MAJOR.MINOR.PATCH" in msg
    assert f"{path}:3: unknown account class 'liabilty'; did you mean 'liability'?" in msg
    assert f"{path}:4: 'Unclassified' is reserved" in msg
    path, msg = load_error(tmp_path, HEADER + "rules:\n  - id: A\n    category: [Issuance\n")
    assert f"{path}:9: " in msg and "does not parse" in msg


def test_pack_rules_load():
    rules = load_voucher_rules()
    assert rules.gl_accounts == ("18412",) and rules.liability
    assert [r.id for r in rules.rules][:2] == ["MANUAL_JOURNAL", "EXPIRED_APOLOGY"]
    assert rules.categories == ("Issuance", "Usage", "Cancellation", "Expired", "VTC", "Adjustment")


def test_demo_lake_has_no_unclassified_posting_and_no_untagged_collection(tmp_path):
    """On a generated lake every voucher posting is classified and every IPE_31 row tagged; the
    movement table closes on the ground truth's VOUCHERS gl_amount and the tagged open items
    add up to its COLLECTIONS tv_amount."""
    import json

    from soxauto.catalog import load_catalog
    from soxauto.extract import entities_in_scope, extract
    from lakekit import generated
    from soxauto.recon.classify import company_context
    from soxauto.recon.tagging import tag_collections

    period = Period(2025, 9)
    generated(tmp_path, scale=0.01, seed=7, first_period=period, periods=1)
    truth = {(r["company_id"], r["line"]): r for r in json.loads((tmp_path / "ground_truth.json").read_text())["results"]}
    catalog, rules = load_catalog(), load_voucher_rules()
    checked = 0
    with DuckDBEngine(lake_binding(tmp_path)) as engine:
        for company in entities_in_scope(engine):
            params = {"company_id": company, "period": period, **company_context(engine, company)}
            cr03 = extract(engine, catalog.items["CR_03"], period, company, {"gl_accounts": list(rules.gl_accounts)})
            vouchers = classify_vouchers(engine, engine.register("cr03", cr03.table), params, rules)
            assert vouchers.unclassified.num_rows == 0, (company, vouchers.unclassified.to_pylist())
            assert vouchers.postings.num_rows == cr03.row_count
            assert str(vouchers.movement.closing.amount) == truth[(company, "VOUCHERS")]["gl_amount"]
            ipe31 = extract(engine, catalog.items["IPE_31"], period, company)
            tagging = tag_collections(engine, engine.register("ipe31", ipe31.table), params)
            assert tagging.untagged_count == 0, (company, tagging.untagged.to_pylist())
            open_amount = sum((s.amount.amount for s in tagging.summary), Decimal("0.00"))
            assert str(open_amount) == truth[(company, "COLLECTIONS")]["tv_amount"]
            engine.unregister("cr03")
            engine.unregister("ipe31")
            checked += 1
    assert checked == 9
