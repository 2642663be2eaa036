"""C&A rules on hand-built lakes: each test shows the data, the rule, and the verdict."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path


from lakekit import D, write_lake
from soxauto.catalog import load_catalog
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period
from validkit import SpyEngine, balances_sql, write_balances_item
from soxauto.validation import Outcome, validate
from soxauto.validation.history import HistoryStore

P = Period(2025, 9)

BALANCES_SQL = balances_sql(refreshed_at=True)
TIE_OUT = """\
  - id: CR_04.tie_out
    kind: source_tie_out
    by: [gl_account_no]
    measures: {balance_lcy: SUM(balance_lcy)}
    sql: |
      SELECT e.gl_account_no, SUM(e.amount) AS balance_lcy
      FROM nav.gl_entries AS e
      WHERE e.company_id = :company_id AND e.posting_date <= :cutoff
      GROUP BY e.gl_account_no
"""


def pack(tmp_path: Path, tests: str, sql: str = BALANCES_SQL) -> Path:
    folder = tmp_path / "pack" / "catalog"
    folder.mkdir(parents=True)
    write_balances_item(folder, "CR_04", tests, sql=sql, refreshed_at=True)
    return folder.parent


def balance(account: str, amount: str, refreshed=datetime(2025, 10, 1, 3)):
    return {"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": account,
            "currency": "NGN", "balance_lcy": D(amount), "refreshed_at": refreshed}


def entry(no: int, account: str, amount: str, posted=date(2025, 9, 10)):
    return {"company_id": "EC_NG", "entry_no": no, "gl_account_no": account, "amount": D(amount), "posting_date": posted}



def run_rules(tmp_path, tables, tests, **kw):
    lake = write_lake(tmp_path / "lake", tables)
    item = load_catalog(pack(tmp_path, tests, **{k: v for k, v in kw.items() if k == "sql"})).item("CR_04")
    engine = SpyEngine(lake_binding(lake))
    ex = extract(engine, item, P, "EC_NG")
    engine.statements.clear()
    result = validate(engine, ex, sample_size=kw.get("sample_size", 20), history=kw.get("history"))
    return {r.rule_id: r for r in result.results}, result, engine


LEDGER = {
    "nav.gl_balances": [balance("18412", "-150.00"), balance("13005", "40.00")],
    "nav.gl_entries": [
        entry(1, "18412", "-100.00"), entry(2, "18412", "-50.00"), entry(3, "13005", "40.00"),
        entry(4, "18412", "-999.00", posted=date(2025, 10, 1)),  # after cutoff: not in the balance
    ],
}


def test_tie_out_passes_when_balances_equal_entries_by_cutoff(tmp_path):
    results, _, _ = run_rules(tmp_path, LEDGER, TIE_OUT)
    r = results["CR_04.tie_out"]
    assert r.outcome is Outcome.PASSED
    assert r.observed == {"balance_lcy": "-110.00"} and r.expected == {"balance_lcy": "-110.00"}
    assert r.failing_count == 0 and r.sample == ()


def test_tie_out_fails_and_names_the_account_that_does_not_tie(tmp_path):
    tables = dict(LEDGER, **{"nav.gl_balances": [balance("18412", "-150.00"), balance("13005", "45.00")]})
    r = run_rules(tmp_path, tables, TIE_OUT)[0]["CR_04.tie_out"]
    assert r.outcome is Outcome.FAILED and r.failing_count == 1
    assert r.sample == ({"gl_account_no": "13005", "extract_balance_lcy": "45.00", "other_balance_lcy": "40.00"},)
    assert r.observed == {"balance_lcy": "-105.00"} and r.expected == {"balance_lcy": "-110.00"}


def test_an_account_missing_on_one_side_counts_as_zero_and_fails(tmp_path):
    tables = dict(LEDGER, **{"nav.gl_entries": LEDGER["nav.gl_entries"] + [entry(5, "18350", "-7.00")]})
    r = run_rules(tmp_path, tables, TIE_OUT)[0]["CR_04.tie_out"]
    assert r.outcome is Outcome.FAILED
    assert r.sample == ({"gl_account_no": "18350", "extract_balance_lcy": "0.00", "other_balance_lcy": "-7.00"},)


ROW_RULES = """\
  - id: CR_04.not_null
    kind: not_null
  - id: CR_04.key
    kind: unique
  - id: CR_04.accounts
    kind: allowed_values
    column: gl_account_no
    values: ["18412", "13005"]
  - id: CR_04.liability_sign
    kind: range
    column: balance_lcy
    min: -1000
    max: 1000
  - id: CR_04.fresh
    kind: freshness
    column: refreshed_at
  - id: CR_04.contract
    kind: output_contract
"""


def test_dataset_rules_pass_on_a_clean_extract_with_one_merged_query(tmp_path):
    results, result, engine = run_rules(tmp_path, LEDGER, ROW_RULES)
    assert {k: r.outcome for k, r in results.items()} == {k: Outcome.PASSED for k in results}
    assert len(results) == 6 and result.exit_code == 0
    # not_null, unique, allowed_values, range and freshness share ONE aggregate statement.
    assert len(engine.statements) == 1
    assert all(results[k].sql == (engine.statements[0],) for k in ("CR_04.not_null", "CR_04.key", "CR_04.fresh"))


def test_each_dataset_rule_fails_on_its_own_defect_with_a_sample(tmp_path):
    tables = {
        "nav.gl_balances": [
            balance("18412", "-150.00"), balance("18412", "-1.00"),          # duplicated key
            balance("99999", "5000.00"),                                      # not allowed, out of range
            balance("13005", "40.00", refreshed=datetime(2025, 9, 29, 23)),   # refreshed before cutoff
        ],
    }
    results, result, _ = run_rules(tmp_path, tables, ROW_RULES)
    outcome = {k: r.outcome for k, r in results.items()}
    assert outcome == {
        "CR_04.not_null": Outcome.PASSED, "CR_04.key": Outcome.FAILED, "CR_04.accounts": Outcome.FAILED,
        "CR_04.liability_sign": Outcome.FAILED, "CR_04.fresh": Outcome.FAILED, "CR_04.contract": Outcome.PASSED,
    }
    assert results["CR_04.key"].sample == ({"gl_account_no": "18412", "n": 2},) and results["CR_04.key"].failing_count == 1
    assert [row["gl_account_no"] for row in results["CR_04.accounts"].sample] == ["99999"]
    assert [row["balance_lcy"] for row in results["CR_04.liability_sign"].sample] == ["5000.00"]
    assert results["CR_04.fresh"].observed == "2025-09-29T23:00:00"
    assert result.exit_code == 1


def test_not_null_counts_every_row_and_caps_the_sample(tmp_path):
    sql = BALANCES_SQL.replace("b.gl_account_no,", "CASE WHEN b.balance_lcy > 0 THEN NULL ELSE b.gl_account_no END AS gl_account_no,")
    tables = {"nav.gl_balances": [balance(f"1{i:04d}", f"{i}.00") for i in range(1, 31)]}
    r = run_rules(tmp_path, tables, "  - id: CR_04.nn\n    kind: not_null\n", sql=sql, sample_size=5)[0]["CR_04.nn"]
    assert r.outcome is Outcome.FAILED and r.failing_count == 30 and len(r.sample) == 5


def test_recompute_fails_on_the_row_that_does_not_recompute_and_null_counts_as_failing(tmp_path):
    rules = "  - id: CR_04.recompute\n    kind: recompute\n    expect: balance_lcy = CAST(gl_account_no AS DECIMAL(18, 2))\n"
    tables = {"nav.gl_balances": [balance("10", "10.00"), balance("20", "21.00"), balance("30", "30.00")]}
    r = run_rules(tmp_path, tables, rules)[0]["CR_04.recompute"]
    assert r.failing_count == 1 and r.sample[0]["gl_account_no"] == "20"


def test_a_broken_rule_is_errored_and_the_others_still_run(tmp_path):
    rules = ROW_RULES + "  - id: CR_04.bad\n    kind: recompute\n    expect: balance_lcy = no_such_column\n"
    results, result, _ = run_rules(tmp_path, LEDGER, rules)
    assert results["CR_04.bad"].outcome is Outcome.ERRORED and "no_such_column" in results["CR_04.bad"].message
    assert all(r.outcome is Outcome.PASSED for k, r in results.items() if k != "CR_04.bad")
    assert result.exit_code == 1


def test_warn_only_failures_exit_2(tmp_path):
    rules = "  - id: CR_04.accounts\n    kind: allowed_values\n    severity: warn\n    column: gl_account_no\n    values: ['18412']\n"
    _, result, _ = run_rules(tmp_path, LEDGER, rules)
    assert result.exit_code == 2


WITNESSES = """\
  - id: CR_04.witness_present
    kind: witness
    expect: present
    sql: SELECT b.gl_account_no FROM nav.gl_balances AS b WHERE b.company_id = :company_id AND b.closing_date = :cutoff
  - id: CR_04.witness_absent
    kind: witness
    expect: absent
    sql: SELECT b.gl_account_no FROM nav.gl_balances AS b WHERE b.company_id = :company_id AND b.closing_date < :cutoff
"""


def test_witnesses_present_and_absent(tmp_path):
    earlier = dict(balance("77777", "1.00"), closing_date=date(2025, 8, 31))
    tables = dict(LEDGER, **{"nav.gl_balances": LEDGER["nav.gl_balances"] + [earlier]})
    results = run_rules(tmp_path, tables, WITNESSES)[0]
    assert results["CR_04.witness_present"].outcome is Outcome.PASSED
    assert results["CR_04.witness_present"].observed == {"witnesses": 2, "failing": 0}
    assert results["CR_04.witness_absent"].outcome is Outcome.PASSED


def test_a_witness_missing_from_the_extract_fails(tmp_path):
    sql = BALANCES_SQL.replace("ORDER BY", "AND b.gl_account_no <> '13005' ORDER BY")
    results = run_rules(tmp_path, LEDGER, WITNESSES, sql=sql)[0]
    r = results["CR_04.witness_present"]
    assert r.outcome is Outcome.FAILED and r.sample == ({"gl_account_no": "13005"},)


def test_first_digit_rule_accepts_benford_and_flags_uniform_digits(tmp_path):
    rules = "  - id: CR_04.benford\n    kind: first_digit\n    column: balance_lcy\n"
    # Benford-shaped: counts proportional to log10(1 + 1/d) over 1000 amounts.
    benford = [301, 176, 125, 97, 79, 67, 58, 51, 46]
    rows, n = [], 0
    for digit, count in enumerate(benford, 1):
        for k in range(count):
            n += 1
            rows.append(balance(f"A{n:05d}", f"{digit}{k % 10}.50"))
    r = run_rules(tmp_path / "a", {"nav.gl_balances": rows * 2}, rules)[0]["CR_04.benford"]
    assert r.outcome is Outcome.PASSED and Decimal(r.observed["mad"]) < Decimal("0.001")
    uniform = [balance(f"U{i:05d}", f"{i % 9 + 1}.00") for i in range(1800)]
    r = run_rules(tmp_path / "b", {"nav.gl_balances": uniform}, rules)[0]["CR_04.benford"]
    assert r.outcome is Outcome.FAILED and r.severity == "warn"
    assert Decimal(r.observed["mad"]) > Decimal("0.015")


def test_history_warns_when_row_count_is_out_of_line(tmp_path):
    store = HistoryStore(tmp_path / "history.jsonl")
    for months_back, rows in zip(range(5, 0, -1), [10, 11, 10, 12, 11]):
        store.record("CR_04", "EC_NG", P.shift(-months_back), {"row_count": Decimal(rows)})
    rules = "  - id: CR_04.history\n    kind: history\n    measures: [row_count]\n"
    tables = {"nav.gl_balances": [balance(f"{i}", "1.00") for i in range(40)]}
    r = run_rules(tmp_path, tables, rules, history=store)[0]["CR_04.history"]
    assert r.outcome is Outcome.FAILED and r.severity == "warn"
    assert r.observed["z"]["row_count"] == "19.56"  # 0.6745 * (40 - 11) / 1


def test_history_with_too_few_periods_says_so(tmp_path):
    store = HistoryStore(tmp_path / "history.jsonl")
    rules = "  - id: CR_04.history\n    kind: history\n"
    r = run_rules(tmp_path, LEDGER, rules, history=store)[0]["CR_04.history"]
    assert r.outcome is Outcome.PASSED and "at least 3" in r.message
    assert store.earlier("CR_04", "EC_NG", P.next(), 12)[0][1]["row_count"] == Decimal(2)


def test_a_broken_history_file_errors_the_history_rule_only_and_names_the_line(tmp_path):
    store = HistoryStore(tmp_path / "history.jsonl")
    store.record("CR_04", "EC_NG", P.shift(-1), {"row_count": Decimal(2)})
    with store.path.open("a") as f:
        f.write("not json\n")
    rules = "  - id: CR_04.key\n    kind: unique\n  - id: CR_04.history\n    kind: history\n"
    results, result, _ = run_rules(tmp_path, LEDGER, rules, history=store)
    assert results["CR_04.key"].outcome is Outcome.PASSED
    r = results["CR_04.history"]
    assert r.outcome is Outcome.ERRORED and r.message.startswith(f"{store.path}:2: not a history record (")
    assert result.exit_code == 2  # the history rule is a warning: errored, it blocks nothing else


ACCOUNTS_PRESENT = """\
  - id: CR_04.accounts_present
    kind: witness
    expect: present
    by: [gl_account_no]
    sql: |
      SELECT e.gl_account_no,   SUM(e.amount) AS balance_lcy
      FROM nav.gl_entries AS e
      WHERE e.company_id = :company_id AND e.posting_date <= :cutoff
      GROUP BY e.gl_account_no
"""


def test_an_item_answers_every_rule_with_one_statement(tmp_path):
    results, result, engine = run_rules(tmp_path, LEDGER, TIE_OUT + ROW_RULES + WITNESSES)
    assert result.exit_code == 0 and len(results) == 9
    # tie-out, witnesses and the dataset rules: one statement, recorded by every rule it answered
    assert len(engine.statements) == 1
    assert {r.sql for k, r in results.items() if k != "CR_04.contract"} == {(engine.statements[0],)}
    assert results["CR_04.tie_out"].observed == {"balance_lcy": "-110.00"}
    assert results["CR_04.witness_present"].observed == {"witnesses": 2, "failing": 0}


def test_a_source_query_written_identically_in_two_rules_is_read_once(tmp_path):
    results, _, engine = run_rules(tmp_path, LEDGER, TIE_OUT + ACCOUNTS_PRESENT)
    assert [r.outcome for r in results.values()] == [Outcome.PASSED, Outcome.PASSED]
    # the tie-out's query and the witness's (same words, other spacing) share one scan of the entries
    assert engine.statements[0].count("gl_entries") == 1
    assert results["CR_04.accounts_present"].observed == {"witnesses": 2, "failing": 0}


def test_shared_source_still_fails_each_rule_on_its_own_defect(tmp_path):
    sql = BALANCES_SQL.replace("ORDER BY", "AND b.gl_account_no <> '13005' ORDER BY")
    results, _, engine = run_rules(tmp_path, LEDGER, TIE_OUT + ACCOUNTS_PRESENT, sql=sql)
    witness, tie = results["CR_04.accounts_present"], results["CR_04.tie_out"]
    assert witness.outcome is Outcome.FAILED and witness.sample == ({"gl_account_no": "13005"},)
    assert tie.outcome is Outcome.FAILED and tie.sample == ({"gl_account_no": "13005", "extract_balance_lcy": "0.00", "other_balance_lcy": "40.00"},)
    # one statement for all answers, then one capped sample query per failed rule
    assert len(engine.statements) == 3


def test_a_broken_source_query_errors_its_rule_only(tmp_path):
    broken = TIE_OUT.replace("SUM(e.amount) AS balance_lcy", "SUM(e.no_such_column) AS balance_lcy")
    results, result, engine = run_rules(tmp_path, LEDGER, broken + ROW_RULES + WITNESSES)
    tie = results["CR_04.tie_out"]
    assert tie.outcome is Outcome.ERRORED and "no_such_column" in tie.message
    assert {k: r.outcome for k, r in results.items() if k != "CR_04.tie_out"} == {k: Outcome.PASSED for k in results if k != "CR_04.tie_out"}
    # the whole statement failed, so its parts ran one by one: the merged aggregate and the two witnesses
    assert len(engine.statements) == 3 and result.exit_code == 1


def test_a_cross_source_rule_without_the_other_extract_errors_alone(tmp_path):
    rules = "  - id: CR_04.agrees\n    kind: cross_source\n    other: IPE_08\n    measures: {n: COUNT(*)}\n" + ROW_RULES
    results, result, engine = run_rules(tmp_path, LEDGER, rules)
    r = results["CR_04.agrees"]
    assert r.outcome is Outcome.ERRORED and "needs the extract of IPE_08" in r.message
    assert all(x.outcome is Outcome.PASSED for k, x in results.items() if k != "CR_04.agrees")
    # the statement is not tried without the other extract: the merged aggregate runs on its own
    assert len(engine.statements) == 1 and "ds_ipe_08" not in engine.statements[0]
