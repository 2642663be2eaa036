"""Proof that the C-PG-1 pack's tests catch what they should.

A clean generated lake passes every rule of every item for every entity; then each defect the
generator can inject makes exactly its intended rule fail, and that rule's sample names the
offending row recorded in ground_truth.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakekit import generated

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import entities_in_scope, extract, time_bounds
from soxauto.lake.binding import lake_binding
from soxauto.period import Period
from soxauto.recon import load_pack
from soxauto.validation import Outcome, validate
from soxauto.validation.history import HistoryStore
from soxauto.validation.shared import SharedScans

P = Period(2025, 9)
CATALOG = load_catalog()
PACK = load_pack(catalog=CATALOG)


def make_lake(path: Path, defects: tuple[str, ...] = ()) -> Path:
    generated(path, scale=0.01, seed=11, first_period=P, periods=1, defects=defects)
    return path


def validate_entity(lake: Path, company_id: str, history: HistoryStore, shared: SharedScans | None = None) -> dict[str, object]:
    """Every rule of every extractable item for one entity: rule id -> TestResult. With
    ``shared``, source queries are read from batches over all entities, as a close does."""
    results = {}
    with DuckDBEngine(lake_binding(lake)) as engine:
        bounds = time_bounds(engine, PACK, P, company_id)
        extracts = {i.id: extract(engine, i, P, company_id, bounds) for i in CATALOG.extractable()}
        for item_id, ex in extracts.items():
            for r in validate(engine, ex, others=extracts, history=history, shared=shared).results:
                results[r.rule_id] = r
    return results


def shared_scans(lake: Path) -> SharedScans:
    with DuckDBEngine(lake_binding(lake)) as engine:
        return SharedScans(entities_in_scope(engine), CATALOG.extractable())


def verdicts(results: dict) -> dict:
    return {k: (r.outcome, r.observed, r.expected, r.failing_count, r.sample) for k, r in results.items()}


@pytest.fixture(scope="module")
def clean_lake(tmp_path_factory) -> Path:
    return make_lake(tmp_path_factory.mktemp("clean"))


def test_every_rule_passes_on_the_clean_lake_for_every_entity(clean_lake, tmp_path):
    history = HistoryStore(tmp_path / "h.jsonl")
    with DuckDBEngine(lake_binding(clean_lake)) as engine:
        entities = entities_in_scope(engine)
    assert len(entities) == 9
    declared = sum(len(i.tests) for i in CATALOG.extractable())
    shared = shared_scans(clean_lake)
    for company_id in entities:
        results = validate_entity(clean_lake, company_id, history, shared)
        assert len(results) == declared
        bad = {k: (r.outcome.value, r.message) for k, r in results.items() if r.outcome is not Outcome.PASSED}
        assert bad == {}, company_id
        # the same figures as each entity's own source queries give (history aside: it grows)
        alone = validate_entity(clean_lake, company_id, HistoryStore(tmp_path / f"{company_id}.jsonl"))
        assert {k: v for k, v in verdicts(results).items() if "history" not in k} == \
               {k: v for k, v in verdicts(alone).items() if "history" not in k}, company_id
        # the 12 tie-outs reading no time bound and CR_04's witness (CR_06 reads the entity's horizon: per entity)
        assert sum(1 for r in results.values() if r.shared) == 13


# defect -> (the one rule that must fail, the sample column that names the row)
INTENDED = {
    "fanout_duplicate": ("IPE_07.key", "entry_no"),
    "null_critical": ("IPE_07.not_null", "customer_no"),
    "gl_tie_out": ("CR_04.tie_out", "gl_account_no"),
    "jdash_mismatch": ("JDASH.agrees_with_bob", "voucher_id"),
    "stale_refresh": ("CR_04.freshness", "gl_account_no"),
    "voucher_recompute": ("IPE_08.remaining", "voucher_id"),
}


@pytest.mark.parametrize("defect", sorted(INTENDED))
def test_each_defect_fails_exactly_its_intended_rule_and_names_the_row(defect, tmp_path):
    lake = make_lake(tmp_path / "lake", (defect,))
    record = json.loads((lake / "ground_truth.json").read_text())["defects"][0]
    assert record["name"] == defect and record["period"] == str(P)
    results = validate_entity(lake, record["entity"], HistoryStore(tmp_path / "h.jsonl"), shared_scans(lake))
    failed = sorted(k for k, r in results.items() if r.outcome is not Outcome.PASSED)
    rule, column = INTENDED[defect]
    assert failed == [rule]
    r = results[rule]
    assert r.outcome is Outcome.FAILED and r.severity == "error" and r.failing_count >= 1
    named = {row[column] for row in r.sample}
    if defect == "fanout_duplicate":
        # The sample lists duplicated documents: they must be exactly the customer's documents.
        docs = pq.read_table(lake / "nav" / "customer_ledger_entries" / f"{record['entity']}.parquet")
        mine = {d["entry_no"] for d in docs.to_pylist() if d["customer_no"] == record["key"]["customer_no"]}
        assert named and named <= mine
    else:
        assert named == {record["key"][column]}
