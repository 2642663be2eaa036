"""Source scans shared by the entities of a close: each entity's verdict, sample and figures are
those of its own per-entity query, and the evidence names the batch that was run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from lakekit import D, write_lake
from soxauto.catalog import load_catalog
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period
from validkit import SpyEngine, write_balances_item
from soxauto.validation import Outcome, validate
from soxauto.validation.shared import SharedScans

P = Period(2025, 9)
ENTITIES = ("EC_KE", "EC_NG")

# Per account (grouped) and in total (scalar): the two shapes a tie-out takes.
BY_ACCOUNT = """\
  - id: {id}.by_account
    kind: source_tie_out
    by: [gl_account_no]
    measures: {{balance_lcy: SUM(balance_lcy)}}
    sql: |
      SELECT e.gl_account_no, SUM(e.amount) AS balance_lcy
      FROM nav.gl_entries AS e
      WHERE e.company_id = :company_id AND e.posting_date <= :cutoff
      GROUP BY e.gl_account_no
"""
TOTAL = """\
  - id: {id}.total
    kind: source_tie_out
    measures: {{balance_lcy: SUM(balance_lcy), accounts: COUNT(*)}}
    sql: |
      SELECT SUM(e.amount) AS balance_lcy, COUNT(DISTINCT e.gl_account_no) AS accounts
      FROM nav.gl_entries AS e
      WHERE e.company_id = :company_id AND e.posting_date <= :cutoff
"""


def balance(company: str, account: str, amount: str):
    return {"company_id": company, "closing_date": date(2025, 9, 30), "gl_account_no": account, "balance_lcy": D(amount)}


def entry(company: str, no: int, account: str, amount: str, posted=date(2025, 9, 10)):
    return {"company_id": company, "entry_no": no, "gl_account_no": account, "amount": D(amount), "posting_date": posted}


# EC_NG ties; EC_KE's balance of 13005 is 5.00 more than its entries; JM_EG has entries only.
LEDGER = {
    "nav.gl_balances": [balance("EC_NG", "18412", "-150.00"), balance("EC_NG", "13005", "40.00"),
                        balance("EC_KE", "13005", "25.00")],
    "nav.gl_entries": [entry("EC_NG", 1, "18412", "-100.00"), entry("EC_NG", 2, "18412", "-50.00"),
                       entry("EC_NG", 3, "13005", "40.00"), entry("EC_NG", 4, "18412", "-9.00", posted=date(2025, 10, 1)),
                       entry("EC_KE", 1, "13005", "20.00"), entry("JM_EG", 1, "13005", "70.00")],
}



def catalog(tmp_path: Path, items: dict[str, str]):
    folder = tmp_path / "pack" / "catalog"
    folder.mkdir(parents=True)
    for item_id, tests in items.items():
        write_balances_item(folder, item_id, tests.format(id=item_id))
    return load_catalog(folder.parent)


def run_all(tmp_path, items: dict[str, str], tables=LEDGER, entities=ENTITIES, shared=True, prepare=False):
    """entity -> rule id -> result, every item of ``items`` for every entity; and the engine.
    ``prepare``: the batches are run first on an engine of their own, as a close does."""
    cat = catalog(tmp_path, items)
    scans = SharedScans(entities, cat.extractable()) if shared else None
    binding = lake_binding(write_lake(tmp_path / "lake", tables))
    if prepare:
        with SpyEngine(binding) as first:
            assert scans.prepare(first, P) == len([s for s in first.statements if "LATERAL" in s]) > 0
            assert scans.prepare(first, P) == 0  # each batch runs once
    engine = SpyEngine(binding)
    out: dict[str, dict] = {}
    for company in ("EC_KE", "EC_NG"):
        for item in cat.extractable():
            ex = extract(engine, item, P, company)
            out.setdefault(company, {}).update({r.rule_id: r for r in validate(engine, ex, shared=scans).results})
    return out, engine


def verdicts(results):
    return {e: {k: (r.outcome, r.observed, r.expected, r.failing_count, r.sample) for k, r in rs.items()} for e, rs in results.items()}


def test_shared_batches_give_each_entity_the_verdict_of_its_own_query(tmp_path):
    shared, _ = run_all(tmp_path / "a", {"CR_04": BY_ACCOUNT + TOTAL})
    plain, _ = run_all(tmp_path / "b", {"CR_04": BY_ACCOUNT + TOTAL}, shared=False)
    assert verdicts(shared) == verdicts(plain)
    ke, ng = shared["EC_KE"], shared["EC_NG"]
    assert ng["CR_04.by_account"].outcome is Outcome.PASSED and ng["CR_04.total"].outcome is Outcome.PASSED
    assert ng["CR_04.total"].observed == {"balance_lcy": "-110.00", "accounts": "2"}
    # EC_KE: 25.00 in the balance, 20.00 in its entries (JM_EG's 70.00 is not its own)
    assert ke["CR_04.by_account"].sample == ({"gl_account_no": "13005", "extract_balance_lcy": "25.00", "other_balance_lcy": "20.00"},)
    assert ke["CR_04.total"].outcome is Outcome.FAILED and ke["CR_04.total"].failing_count == 1
    assert ke["CR_04.total"].observed == {"balance_lcy": "25.00", "accounts": "1"}
    assert ke["CR_04.total"].expected == {"balance_lcy": "20.00", "accounts": "1"}


def test_the_batch_runs_once_for_all_entities_and_is_recorded_with_its_parameters(tmp_path):
    results, engine = run_all(tmp_path, {"CR_04": BY_ACCOUNT + TOTAL})
    batches = [s for s in engine.statements if "LATERAL" in s]
    # both tie-outs read the entries with the same FROM and WHERE but group differently: two batches
    assert len(batches) == 2
    for company in ENTITIES:
        shared = results[company]["CR_04.by_account"].shared
        assert len(shared) == 1 and shared[0]["sql"] in batches
        assert shared[0]["parameters"] == {"cutoff": "2025-09-30", "entity_0": "EC_KE", "entity_1": "EC_NG"}
        # the catalog's query is in the batch word for word, with the entity read from the list
        assert "e.company_id = _entity.company_id" in shared[0]["sql"]
        # the entity's statement reads its own group of the batch, and no source table
        assert "gl_entries" not in results[company]["CR_04.by_account"].sql[0]
        assert "_entity_id = $company_id" in results[company]["CR_04.by_account"].sql[0]


def test_an_entity_without_source_rows_compares_with_an_empty_aggregate(tmp_path):
    # EC_KE has a balance but no entries at all: its source total is NULL (0) and 0 accounts
    tables = dict(LEDGER, **{"nav.gl_entries": [e for e in LEDGER["nav.gl_entries"] if e["company_id"] != "EC_KE"]})
    results, _ = run_all(tmp_path / "a", {"CR_04": TOTAL}, tables=tables)
    assert verdicts(results) == verdicts(run_all(tmp_path / "b", {"CR_04": TOTAL}, tables=tables, shared=False)[0])
    r = results["EC_KE"]["CR_04.total"]
    assert r.outcome is Outcome.FAILED
    assert r.observed == {"balance_lcy": "25.00", "accounts": "1"} and r.expected == {"balance_lcy": "0.00", "accounts": "0"}
    assert results["EC_NG"]["CR_04.total"].outcome is Outcome.PASSED


def test_items_whose_source_queries_read_the_same_rows_share_one_scan(tmp_path):
    results, engine = run_all(tmp_path, {"CR_04": BY_ACCOUNT, "CR_44": BY_ACCOUNT.replace("SUM(e.amount) AS balance_lcy", "SUM(e.amount) AS balance_lcy, COUNT(*) AS n")})
    assert len([s for s in engine.statements if "LATERAL" in s]) == 1
    assert results["EC_NG"]["CR_04.by_account"].shared == results["EC_NG"]["CR_44.by_account"].shared
    assert results["EC_NG"]["CR_44.by_account"].outcome is Outcome.PASSED
    assert results["EC_KE"]["CR_44.by_account"].outcome is Outcome.FAILED


def test_an_entity_outside_the_batch_list_runs_its_own_query(tmp_path):
    results, engine = run_all(tmp_path, {"CR_04": BY_ACCOUNT + TOTAL}, entities=("EC_NG",))
    ke = results["EC_KE"]["CR_04.by_account"]
    assert ke.shared == () and "gl_entries" in ke.sql[0] and ke.outcome is Outcome.FAILED
    assert results["EC_NG"]["CR_04.by_account"].shared != ()


def test_a_failing_batch_falls_back_to_the_per_entity_statement(tmp_path):
    broken = TOTAL.replace("SUM(e.amount) AS balance_lcy", "SUM(e.no_such_column) AS balance_lcy")
    results, _ = run_all(tmp_path, {"CR_04": BY_ACCOUNT + broken})
    for company in ENTITIES:
        r = results[company]
        assert r["CR_04.total"].outcome is Outcome.ERRORED and "no_such_column" in r["CR_04.total"].message
        # the item ran its per-entity statement: the other tie-out still gives its verdict
        assert r["CR_04.by_account"].shared == ()
    assert results["EC_NG"]["CR_04.by_account"].outcome is Outcome.PASSED
    assert results["EC_KE"]["CR_04.by_account"].outcome is Outcome.FAILED


def test_batches_prepared_before_the_workers_give_the_same_verdicts_and_evidence(tmp_path):
    lazy, _ = run_all(tmp_path / "a", {"CR_04": BY_ACCOUNT + TOTAL})
    prepared, engine = run_all(tmp_path / "b", {"CR_04": BY_ACCOUNT + TOTAL}, prepare=True)
    # the worker's engine reads the prepared batches: it runs no source query of its own
    assert not [s for s in engine.statements if "LATERAL" in s or "gl_entries" in s]
    assert verdicts(prepared) == verdicts(lazy)
    assert prepared["EC_KE"]["CR_04.total"].outcome is Outcome.FAILED
    for company in ENTITIES:
        for rule in ("CR_04.by_account", "CR_04.total"):
            (got,), (want,) = prepared[company][rule].shared, lazy[company][rule].shared
            assert got == dict(want, sql=want["sql"].replace(str(tmp_path / "a"), str(tmp_path / "b")))
