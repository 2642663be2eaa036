"""Large results: UNLOAD to Parquet, read back from S3 with pyarrow, in the query's order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlglot
from athenakit import OUTPUT, Hooks, make_engine, put_parquet, put_text

from soxauto.engines.athena_order import restore, sort_keys
from soxauto.errors import EngineError

pytestmark = pytest.mark.usefixtures("aws")

SQL = """
SELECT b.gl_account_no, b.balance_lcy AS amount
FROM nav.gl_balances AS b
WHERE b.company_id = :company_id AND b.closing_date = :cutoff
ORDER BY b.gl_account_no DESC
"""
PARAMS = {"company_id": "EC_NG", "cutoff": date(2025, 9, 30)}
ID = "00000000000000000000000000000001"  # the engine's first generated id
UNLOAD_AT = f"{OUTPUT}soxauto-staging/unload/{ID}/"
MANIFEST = f"{OUTPUT}manifests/q1-manifest.csv"
MONEY = pa.decimal128(18, 2)


def q(text: str):
    return sqlglot.parse_one(text, read="trino")


def part(accounts: list[str], amounts: list[str]) -> pa.Table:
    return pa.table({"gl_account_no": pa.array(accounts), "amount": pa.array([Decimal(a) for a in amounts], MONEY)})


def test_unload_statement_wraps_the_select_and_rows_come_back_in_query_order():
    hooks = Hooks(statistics={"DataManifestLocation": MANIFEST})
    engine = make_engine(hooks)
    # Athena writes files in parallel: neither file nor row order follows the ORDER BY
    put_parquet(UNLOAD_AT + "part-b.parquet", part(["13003", "18412"], ["250.10", "-1500.00"]))
    put_parquet(UNLOAD_AT + "part-a.parquet", part(["13011"], ["0.20"]))
    put_text(MANIFEST, f"{UNLOAD_AT}part-b.parquet\n{UNLOAD_AT}part-a.parquet\n")

    result = engine.run(q(SQL), PARAMS)

    sent = hooks.started[0]
    assert sent["QueryString"].startswith("UNLOAD (\nSELECT\n  b.gl_account_no,\n  b.balance_lcy AS amount\nFROM (")
    assert sent["QueryString"].endswith(
        "ORDER BY\n  b.gl_account_no DESC\n) TO "
        f"'{UNLOAD_AT}' WITH (format = 'PARQUET', compression = 'SNAPPY')")
    assert sent["ExecutionParameters"] == ["'EC_NG'", "DATE '2025-09-30'"]
    assert result.sql == sent["QueryString"]
    assert result.table.column("gl_account_no").to_pylist() == ["18412", "13011", "13003"]
    assert result.table.column("amount").to_pylist() == [Decimal("-1500.00"), Decimal("0.20"), Decimal("250.10")]
    assert result.table.schema.field("amount").type == MONEY
    assert result.details["read"] == "UNLOAD" and result.details["manifest"] == MANIFEST
    assert result.details["unload_location"] == UNLOAD_AT


def test_an_empty_manifest_is_zero_rows_with_the_query_columns():
    engine = make_engine(Hooks(statistics={"DataManifestLocation": MANIFEST}))
    put_text(MANIFEST, "")

    table = engine.run(q(SQL), PARAMS).table

    assert table.num_rows == 0 and table.column_names == ["gl_account_no", "amount"]
    assert table.cast(pa.schema([("gl_account_no", pa.string()), ("amount", MONEY)])).num_rows == 0


def test_no_manifest_reported_is_an_error():
    engine = make_engine(Hooks())

    with pytest.raises(EngineError, match=r"\(UNLOAD\) reported no data manifest; its result cannot be located"):
        engine.run(q(SQL), PARAMS)


def test_a_manifest_that_does_not_exist_is_an_error_not_an_empty_result():
    engine = make_engine(Hooks(statistics={"DataManifestLocation": MANIFEST}))

    with pytest.raises(EngineError, match=f"UNLOAD manifest {MANIFEST} does not exist \\(NoSuchKey\\)"):
        engine.run(q(SQL), PARAMS)


def test_a_listed_file_that_does_not_exist_is_an_error():
    engine = make_engine(Hooks(statistics={"DataManifestLocation": MANIFEST}))
    put_text(MANIFEST, f"{UNLOAD_AT}gone.parquet\n")

    with pytest.raises(EngineError, match=f"UNLOAD data file {UNLOAD_AT}gone.parquet does not exist"):
        engine.run(q(SQL), PARAMS)


def test_a_missing_bucket_is_an_error():
    engine = make_engine(Hooks(statistics={"DataManifestLocation": "s3://no-such-bucket-x/m.csv"}))

    with pytest.raises(EngineError, match=r"s3://no-such-bucket-x/m.csv does not exist \(NoSuchBucket\)"):
        engine.run(q(SQL), PARAMS)


def test_a_query_whose_order_cannot_be_restored_is_read_page_by_page():
    from athenakit import column, queue_result, varchar

    hooks = Hooks()
    engine = make_engine(hooks)
    queue_result([varchar("gl_account_no"), column("amount", "decimal", 18, 2)], [("13003", "1.00")])

    engine.run(q("SELECT b.gl_account_no, b.balance_lcy AS amount FROM nav.gl_balances AS b ORDER BY b.currency"), {})

    assert not hooks.started[0]["QueryString"].startswith("UNLOAD")


@pytest.mark.parametrize(("sql", "keys"), [
    ("SELECT a, b AS c FROM t ORDER BY a", [("a", "ascending", "at_end")]),
    ("SELECT t.a, t.b AS c FROM t ORDER BY c DESC, t.a", [("c", "descending", "at_end"), ("a", "ascending", "at_end")]),
    ("SELECT a, b FROM t ORDER BY 2, 1", [("b", "ascending", "at_end"), ("a", "ascending", "at_end")]),
    ("SELECT a, SUM(x) AS s FROM t GROUP BY a ORDER BY SUM(x)", [("s", "ascending", "at_end")]),
    ("SELECT a, b FROM t ORDER BY a NULLS FIRST, b DESC", [("a", "ascending", "at_start"), ("b", "descending", "at_end")]),
    ("SELECT a FROM t", []),
])
def test_sort_keys_map_order_by_to_output_columns(sql, keys):
    assert sort_keys(q(sql)) == keys


@pytest.mark.parametrize("sql", [
    "SELECT a FROM t ORDER BY b",                        # not an output column
    "SELECT * FROM t ORDER BY a",                        # output unknown
    "SELECT a, a FROM t",                                # duplicate names
    "SELECT a FROM t UNION ALL SELECT a FROM u ORDER BY a",
])
def test_sort_keys_refuse_what_cannot_be_restored(sql):
    assert sort_keys(q(sql)) is None


def test_restore_puts_nulls_last_as_trino_does_and_keeps_ties_stable():
    table = pa.table({"k": ["b", None, "a", "b"], "n": [1, 2, 3, 4]})

    out = restore(table, sort_keys(q("SELECT k, n FROM t ORDER BY k")))

    assert out.column("n").to_pylist() == [3, 1, 4, 2]
    out = restore(table, sort_keys(q("SELECT k, n FROM t ORDER BY k DESC NULLS FIRST")))
    assert out.column("n").to_pylist() == [2, 1, 4, 3]
