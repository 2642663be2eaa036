"""Every catalog query through the Athena engine's rendering, and one full extract with evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot
import yaml
from athenakit import OUTPUT, REGION, Hooks, column, execution_ids, make_engine, queue_result, varchar
from moto.athena.models import athena_backends
from moto.core import DEFAULT_ACCOUNT_ID
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from soxauto.catalog import load_catalog
from soxauto.catalog.loader import default_pack
from soxauto.cli import run
from soxauto.period import Period

pytestmark = pytest.mark.usefixtures("aws")
QUERY_ITEMS = sorted(p.stem for p in (default_pack() / "catalog").glob("*.sql"))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize("item_id", QUERY_ITEMS)
def test_the_trino_rendering_of_every_catalog_query_parses_back_with_parameters_only_in_where(catalog, item_id):
    engine = make_engine(Hooks())
    item = catalog.item(item_id)
    params = item.bind(Period(2025, 9), "EC_NG", {"window_end": "2025-11-14", "horizon": "2025-10-05"})

    sql, sent = engine.render(item.query, params)

    parsed = sqlglot.parse(sql, read="trino", error_level=ErrorLevel.RAISE)
    assert len(parsed) == 1 and isinstance(parsed[0], exp.Query)
    assert [s.alias_or_name for s in parsed[0].selects] == [s.alias_or_name for s in item.query.selects]
    placeholders = list(parsed[0].find_all(exp.Placeholder))
    assert len(placeholders) == len(sent) and all(p.name == "?" or not p.this for p in placeholders)
    assert all(p.find_ancestor(exp.Where) is not None for p in placeholders)
    assert "'EC_NG'" in sent
    # A value is in the text only where Athena binds none: outside every WHERE.
    for node in parsed[0].find_all(exp.Literal):
        if node.name in ("EC_NG", "2025-09-30"):
            assert node.find_ancestor(exp.Where) is None, node.parent.sql("trino")
    # every logical table is read from its Glue table, never by its logical name
    tables = {".".join(p for p in (t.db, t.name) if p) for t in parsed[0].find_all(exp.Table)}
    assert all(t.startswith("process_") for t in tables if "." in t), tables


BALANCE_ROWS = [("EC_NG", "2025-09-30", "13003", "NGN", "250.10", "2025-10-01 02:00:00.000"),
                ("EC_NG", "2025-09-30", "18412", "NGN", "-1500.00", "2025-10-01 02:00:00.000")]
BALANCE_COLUMNS = [varchar("company_id"), column("closing_date", "date"), varchar("gl_account_no"),
                   varchar("currency"), column("balance_lcy", "decimal", 18, 2), column("refreshed_at", "timestamp")]


def binding_file(tmp_path: Path) -> Path:
    path = tmp_path / "athena.yaml"
    path.write_text(yaml.safe_dump({
        "engine": "athena",
        "connection": {"region": REGION, "output": OUTPUT, "unload": "never"},
        "tables": {"nav.gl_balances": {"location": "process_central_fin_dwh.nav_gl_balances",
                                       "columns": {"balance_lcy": "balance_lcy_amt"}},
                   "ref.companies": {"location": "process_central_fin_dwh.ref_companies"}},
    }), "utf-8")
    return path


def test_a_full_extract_through_athena_writes_a_valid_evidence_package(tmp_path, capsys, isolated_home):
    # moto runs no SQL: the answers, in order, to the period check, the entity's scope check
    # and CR_04
    queue_result([column("first", "date"), column("last", "date"), column("at_cutoff", "bigint")],
                 [("2025-08-31", "2025-09-30", "2")])
    queue_result([varchar("company_id")], [("EC_NG",), ("JM_EG",)])
    queue_result(BALANCE_COLUMNS, BALANCE_ROWS)

    code = run(["extract", "CR_04", "--period", "2025-09", "--entity", "EC_NG", "--binding",
                str(binding_file(tmp_path)), "--out", str(tmp_path / "out"), "--json"])

    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    assert summary["row_count"] == 2 and summary["control_totals"] == {"balance_lcy": "-1249.90"}
    package = Path(summary["evidence"]["path"])
    period_check, scope_check, qid = execution_ids()[:3]  # then the C&A statements
    executions = athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions
    assert "FROM process_central_fin_dwh.nav_gl_balances" in executions[period_check].query
    # the period check counts balances at the cutoff in its select list: a literal, not a '?'
    assert executions[period_check].execution_parameters is None
    assert "CAST('2025-09-30' AS DATE)" in executions[period_check].query
    checked = executions[scope_check].query
    assert "FROM process_central_fin_dwh.ref_companies" in checked and "in_conso_scope" in checked
    context = json.loads((package / "context.json").read_text("utf-8"))
    assert context["engine"] == {"name": "athena", "version": "Athena engine version 3"}
    assert context["query"]["execution_id"] == qid
    manifest = json.loads((package / "manifest.json").read_text("utf-8"))
    assert manifest["engine"]["execution_id"] == qid
    sql = (package / "query.sql").read_text("utf-8")
    assert '"balance_lcy_amt" AS balance_lcy' in sql and "FROM process_central_fin_dwh.nav_gl_balances" in sql
    driver = json.loads((package / "parameters.json").read_text("utf-8"))["driver"]
    assert driver[:2] == ["'EC_NG'", "DATE '2025-09-30'"] and "'18412'" in driver
    # the C&A statement got no canned answer: its tests are recorded as errored, not lost
    assert run(["evidence", "verify", str(package), "--json"]) == 0, capsys.readouterr().err


def test_items_with_parameters_outside_where_are_the_documented_ones(catalog):
    """AWS documents '?' in WHERE only; docs/engines.md lists the items whose canonical query
    goes further, where the engine writes typed literals instead. A change here must update
    that list."""
    outside = sorted(i.id for i in catalog.extractable()
                     if any(p.find_ancestor(exp.Where) is None for p in i.query.find_all(exp.Placeholder)))

    assert outside == ["CR_03", "CR_06", "IPE_07", "IPE_08", "IPE_10", "IPE_11", "IPE_12", "IPE_31", "IPE_34"]
    doc = (Path(__file__).resolve().parents[3] / "docs" / "engines.md").read_text("utf-8")
    assert "CR_03, CR_06, IPE_07, IPE_08, IPE_10, IPE_11, IPE_12, IPE_31 and IPE_34" in doc
