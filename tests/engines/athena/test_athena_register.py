"""register/unregister: an extract becomes a Glue table over Parquet in the staging prefix."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from athenakit import BUCKET, OUTPUT, REGION, Hooks, make_engine

from soxauto.engines.athena_glue import hive_type
from soxauto.errors import EngineError

pytestmark = pytest.mark.usefixtures("aws")

EXTRACT = pa.table({
    "gl_account_no": pa.array(["13003", "18412"]),
    "balance_lcy": pa.array([Decimal("250.10"), Decimal("-1500.00")], pa.decimal128(18, 2)),
    "closing_date": pa.array([date(2025, 9, 30)] * 2),
    "refreshed_at": pa.array([datetime(2025, 10, 1, 2, 0)] * 2, pa.timestamp("us")),
    "reversed": pa.array([False, True]),
    "entry_no": pa.array([1, 2], pa.int64()),
})
PREFIX = "soxauto/soxauto-staging/registered/ds_cr_04_000000000001/"


def objects() -> list[str]:
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET, Prefix="soxauto/soxauto-staging/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_register_writes_parquet_and_declares_a_glue_table_with_exact_types():
    engine = make_engine(Hooks())

    table = engine.register("ds_CR_04", EXTRACT)

    assert table.sql(dialect="trino") == "soxauto_scratch.ds_cr_04_000000000001"
    glue = boto3.client("glue", region_name=REGION)
    got = glue.get_table(DatabaseName="soxauto_scratch", Name="ds_cr_04_000000000001")["Table"]
    sd = got["StorageDescriptor"]
    assert sd["Location"] == f"{OUTPUT}soxauto-staging/registered/ds_cr_04_000000000001/"
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [
        ("gl_account_no", "string"), ("balance_lcy", "decimal(18,2)"), ("closing_date", "date"),
        ("refreshed_at", "timestamp"), ("reversed", "boolean"), ("entry_no", "bigint")]
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert objects() == [PREFIX + "data.parquet"]
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=PREFIX + "data.parquet")["Body"].read()
    back = pq.read_table(io.BytesIO(body))
    assert back.column("balance_lcy").to_pylist() == [Decimal("250.10"), Decimal("-1500.00")]


def test_unregister_drops_the_table_and_its_files_and_close_drops_the_rest():
    engine = make_engine(Hooks())
    engine.register("ds_cr_04", EXTRACT)
    engine.register("rk_line", EXTRACT.select(["gl_account_no"]))
    glue = boto3.client("glue", region_name=REGION)

    engine.unregister("ds_cr_04")

    assert [t["Name"] for t in glue.get_tables(DatabaseName="soxauto_scratch")["TableList"]] == ["rk_line_000000000002"]
    assert objects() == ["soxauto/soxauto-staging/registered/rk_line_000000000002/data.parquet"]
    engine.close()
    assert glue.get_tables(DatabaseName="soxauto_scratch")["TableList"] == [] and objects() == []


def test_a_registered_table_is_queried_by_its_glue_name():
    from athenakit import column, queue_result

    hooks = Hooks()
    engine = make_engine(hooks, unload="never")
    table = engine.register("ds_cr_04", EXTRACT)
    queue_result([column("total", "decimal", 38, 2)], [("-1249.90",)])

    query = sqlglot.select(sqlglot.exp.func("SUM", sqlglot.exp.column("balance_lcy")).as_("total")).from_(table)
    result = engine.run(query, {})

    assert hooks.started[0]["QueryString"] == "SELECT\n  SUM(balance_lcy) AS total\nFROM soxauto_scratch.ds_cr_04_000000000001"
    assert result.table.column("total").to_pylist() == [Decimal("-1249.90")]


def test_a_column_athena_cannot_hold_is_refused_by_name():
    with pytest.raises(EngineError, match="column 'tags' of type list<item: string> cannot be registered"):
        hive_type("tags", pa.list_(pa.string()))
