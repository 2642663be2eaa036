"""Collections tagging: hand-built IPE_31 rows tagged by the pack's rules, the summary per rule,
untagged rows, and the load-time shadowing check (one earlier rule, several together, prefixes).

Entity EC_NG (NGN), period 2025-09. ``in_tv`` rows are open at cutoff; the others are context
(settled in the period): the summary's count and amount are over open rows only.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from soxauto.engines.duckdb import DuckDBEngine
from soxauto.lake.binding import lake_binding
from soxauto.money import Money
from soxauto.period import Period
from soxauto.recon.rulefile import RuleFileError
from soxauto.recon.tagging import load_collection_rules, tag_collections

PARAMS = {"company_id": "EC_NG", "currency": "NGN", "period": Period(2025, 9)}

# (transaction_id, transaction_type, collection_partner, related_entity, status, amount, in_tv) -> expected rule
ROWS = [
    (("T01", "Payment", "Jumia Express", "NG-O0001", "open", "100.00", True), "SALES_DELIVERY"),
    (("T02", "Payment", "Paystack", "NG-O0002", "open", "250.00", True), "PREPAYMENT"),
    (("T03", "Payment - Rev", "Paystack", "NG-O0002", "open", "-40.00", True), "REFUND"),
    (("T04", "Payment - Rev", "Aramex", "NG-O0004", "open", "-30.00", True), "SALES_CREDIT_MEMO"),
    (("T05", "Transfer to", "GIG Logistics", "DEP-0005", "open", "-500.00", True), "CASH_DEPOSIT"),
    (("T06", "Transfer to", "GIG Logistics", "DEP-0006", "cancelled", "500.00", True), "DEPOSIT_CANCELLED"),
    (("T07", "Transfer From", "Kwik Delivery", "DEP-0007", "open", "75.00", True), "DEPOSIT_RETURNED"),
    (("T08", "Third Party Collection", "JForce", "JF-0008", "open", "60.00", True), "JFORCE_PAYOUT"),
    (("T09", "Third Party Collection", "Glovo", "NG-O0009", "open", "45.00", True), "THIRD_PARTY_DELIVERY"),
    (("T10", "Translist in progress", "Flutterwave", "TL-0010", "open", "5.00", True), "PAYMENT_RECONCILE"),
    (("T11", "Payment Charges Rev", "Cellulant", "NG-O0011", "open", "2.50", True), "PAYMENT_RECONCILE"),
    (("T12", "Reallocation From", "Jumia Express", "SEL-0012", "open", "33.00", True), "SELLER_ACCOUNT_STATEMENT"),
    (("T13", "Payment", "Glovo", "NG-O0013", "open", "20.00", True), None),  # a partner no rule names
    (("T14", "Payment", "Jumia Express", "NG-O0014", "settled", "80.00", False), "SALES_DELIVERY"),
]

SUMMARY = [  # (rule, accounting rule, debit, credit, open items, amount, context items), file order
    ("DEPOSIT_RETURNED", "deposit cancellation", "13011", "51100", 1, "75.00", 0),
    ("DEPOSIT_CANCELLED", "deposit cancellation", "13011", "51100", 1, "500.00", 0),
    ("CASH_DEPOSIT", "cash deposit", "51100", "13011", 1, "-500.00", 0),
    ("JFORCE_PAYOUT", "JForce payout", "40100", "13011", 1, "60.00", 0),
    ("THIRD_PARTY_DELIVERY", "sales delivery", "13011", "13005", 1, "45.00", 0),
    ("SALES_DELIVERY", "sales delivery", "13011", "13005", 1, "100.00", 1),
    ("PREPAYMENT", "prepayment", "13012", "18350", 1, "250.00", 0),
    ("SALES_CREDIT_MEMO", "sales credit memo", "70100", "13011", 1, "-30.00", 0),
    ("REFUND", "refund", "18350", "13012", 1, "-40.00", 0),
    ("PAYMENT_RECONCILE", "payment reconcile", "51100", "13012", 2, "7.50", 0),
    ("SELLER_ACCOUNT_STATEMENT", "seller account statement", "13011", "40100", 1, "33.00", 0),
]


def ipe31(rows) -> pa.Table:
    cols = ["transaction_id", "transaction_type", "collection_partner", "related_entity", "status", "amount", "in_tv"]
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols) if c != "amount"})
    return table.add_column(5, "amount", pa.array([Decimal(r[5]) for r in rows], pa.decimal128(18, 2)))


@pytest.fixture
def engine(tmp_path):
    with DuckDBEngine(lake_binding(tmp_path)) as e:
        yield e


def test_rows_tagged_with_rule_and_accounts(engine):
    result = tag_collections(engine, engine.register("ipe31", ipe31([r for r, _ in ROWS])), PARAMS)
    got = {r["transaction_id"]: r["rule_id"] for r in result.tagged.to_pylist()}
    assert got == {r[0]: rule for r, rule in ROWS}
    t06 = next(r for r in result.tagged.to_pylist() if r["transaction_id"] == "T06")
    assert (t06["accounting_rule"], t06["debit_account"], t06["credit_account"]) == ("deposit cancellation", "13011", "51100")


def test_summary_per_rule_and_untagged_rows(engine):
    result = tag_collections(engine, engine.register("ipe31", ipe31([r for r, _ in ROWS])), PARAMS)
    assert [(s.rule_id, s.accounting_rule, s.debit, s.credit, s.count, str(s.amount.amount), s.context_count)
            for s in result.summary] == SUMMARY
    assert result.untagged.column("transaction_id").to_pylist() == ["T13"]
    assert result.untagged_amount == Money(Decimal("20.00"), "NGN")
    assert result.rules_version == "1.0.0"


def write(tmp_path, rules: str):
    path = tmp_path / "collections_rules.yaml"
    path.write_text("version: 1.0.0\naccounting_rules: [cash deposit, deposit cancellation, refund]\nrules:\n" + rules)
    return str(path)


def load_error(path: str) -> str:
    with pytest.raises(RuleFileError) as e:
        load_collection_rules(path)
    return str(e.value)


def test_shadowed_rule_names_both_lines(tmp_path):
    path = write(tmp_path, """\
  - id: CASH_DEPOSIT
    accounting_rule: cash deposit
    debit: "51100"
    credit: "13011"
    when:
      transaction_type: Transfer to
  - id: DEPOSIT_CANCELLED
    accounting_rule: deposit cancellation
    debit: "13011"
    credit: "51100"
    when:
      transaction_type: Transfer to
      status: cancelled
""")
    msg = load_error(path)
    assert (f"{path}:10: rule DEPOSIT_CANCELLED is shadowed: every row it would tag is tagged first by "
            f"CASH_DEPOSIT ({path}:4)") in msg


def test_shadowed_by_two_earlier_rules_together(tmp_path):
    path = write(tmp_path, """\
  - id: OPEN_ITEMS
    accounting_rule: cash deposit
    debit: "51100"
    credit: "13011"
    when: {status: open}
  - id: OTHER_ITEMS
    accounting_rule: cash deposit
    debit: "51100"
    credit: "13011"
    when: {status: {not_in: [open]}}
  - id: REFUNDS
    accounting_rule: refund
    debit: "18350"
    credit: "13012"
    when: {transaction_type: Payment - Rev}
""")
    msg = load_error(path)
    assert f"{path}:14: rule REFUNDS is shadowed: every row it would tag is tagged first by OPEN_ITEMS ({path}:4), OTHER_ITEMS ({path}:9)" in msg


def test_prefixes_shadow_only_the_narrower_rule(tmp_path):
    narrow_first = """\
  - id: NARROW
    accounting_rule: refund
    debit: "18350"
    credit: "13012"
    when: {related_entity: {prefix: [JF-7]}}
  - id: WIDE
    accounting_rule: refund
    debit: "18350"
    credit: "13012"
    when: {related_entity: {prefix: [JF]}}
"""
    rules = load_collection_rules(write(tmp_path, narrow_first))
    assert [r.id for r in rules.rules] == ["NARROW", "WIDE"]
    wide_first = narrow_first.replace("NARROW", "TMP").replace("WIDE", "NARROW").replace("TMP", "WIDE")
    wide_first = wide_first.replace("[JF-7]", "[TMP]").replace("[JF]", "[JF-7]").replace("[TMP]", "[JF]")
    path = write(tmp_path, wide_first)
    assert f"{path}:9: rule NARROW is shadowed: every row it would tag is tagged first by WIDE ({path}:4)" in load_error(path)


def test_prefix_wildcards_are_literal_in_sql(tmp_path, engine):
    rules = load_collection_rules(write(tmp_path, """\
  - id: JF_AGENTS
    accounting_rule: refund
    debit: "18350"
    credit: "13012"
    when: {related_entity: {prefix: [JF_]}}
"""))
    rows = [("A1", "Payment", "P", "JF_01", "open", "1.00", True), ("A2", "Payment", "P", "JFX01", "open", "2.00", True),
            ("A3", "Payment", "P", "jf_01", "open", "4.00", True)]
    result = tag_collections(engine, engine.register("ipe31", ipe31(rows)), PARAMS, rules)
    assert {r["transaction_id"]: r["rule_id"] for r in result.tagged.to_pylist()} == {"A1": "JF_AGENTS", "A2": None, "A3": None}


def test_load_errors_name_file_line_and_suggest(tmp_path):
    path = write(tmp_path, """\
  - id: CASH_DEPOSIT
    accounting_rule: cash deposits
    debit: "51100"
    credit: "51100"
    when:
      transaction_typ: Transfer to
      status: {one_of: [open]}
      collection_partner: []
""")
    msg = load_error(path)
    assert f"{path}:5: unknown accounting rule 'cash deposits'; did you mean 'cash deposit'?" in msg
    assert f"{path}:7: debit and credit are the same account 51100" in msg
    assert f"{path}:9: unknown column 'transaction_typ'; did you mean 'transaction_type'?" in msg
    assert f"{path}:10: unknown condition 'one_of'" in msg
    assert f"{path}:11: an empty in list on collection_partner" in msg


def test_pack_rules_load_without_shadowing():
    rules = load_collection_rules()
    assert len(rules.rules) == 11
    assert {r.accounting_rule for r in rules.rules} == set(rules.accounting_rules)
