"""The write-back tables in the Glue catalog, so that Athena (and Power BI through Athena's ODBC
driver) reads them: one external Parquet table per write-back table, partitioned by period and
entity, located under an S3 prefix; money is ``decimal(38,2)``.

``upload`` copies an exported folder (``lake.write_tables``) to S3 under the same layout;
``register`` creates the database and tables if missing (updating a table whose columns
changed) and adds every partition found in the folder. Clients are passed in (boto3 ``s3`` and
``glue``), so tests use moto and the Athena binding its own session.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from .lake import PARTITIONS, TABLES

SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


def hive_type(t: pa.DataType) -> str:
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t):
        return f"array<{hive_type(t.value_type)}>"
    for test, name in ((pa.types.is_string, "string"), (pa.types.is_int64, "bigint"), (pa.types.is_int32, "int"),
                       (pa.types.is_boolean, "boolean"), (pa.types.is_date32, "date")):
        if test(t):
            return name
    raise TypeError(f"no Glue type for {t}")


def storage(location: str, schema: pa.Schema) -> dict:
    return {"Columns": [{"Name": f.name, "Type": hive_type(f.type)} for f in schema if f.name not in PARTITIONS],
            "Location": location, "InputFormat": INPUT_FORMAT, "OutputFormat": OUTPUT_FORMAT,
            "SerdeInfo": {"SerializationLibrary": SERDE, "Parameters": {"serialization.format": "1"}}}


def table_input(name: str, location: str) -> dict:
    return {"Name": name, "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "ZSTD"},
            "StorageDescriptor": storage(location, TABLES[name]),
            "PartitionKeys": [{"Name": p, "Type": "string"} for p in PARTITIONS]}


def s3_url(bucket: str, prefix: str, *parts: str) -> str:
    return "s3://" + "/".join(x.strip("/") for x in (bucket, prefix, *parts) if x.strip("/")) + "/"


def upload(s3, folder: Path, bucket: str, prefix: str) -> int:
    """Every Parquet file of the exported tables, to ``s3://bucket/prefix/<table>/period=.../entity=.../``."""
    n = 0
    for name in TABLES:
        for path in sorted((Path(folder) / name).glob("*/*/*.parquet")):
            key = "/".join(x for x in (prefix.strip("/"), path.relative_to(folder).as_posix()) if x)
            s3.upload_file(str(path), bucket, key)
            n += 1
    return n


def partitions(folder: Path, name: str) -> list[tuple[str, str]]:
    """(period, entity) of every partition folder of a table."""
    out = []
    for part in sorted((Path(folder) / name).glob("period=*/entity=*")):
        out.append((part.parent.name.split("=", 1)[1], part.name.split("=", 1)[1]))
    return out


def register(glue, database: str, bucket: str, prefix: str, folder: Path) -> dict:
    """Create or update the database, tables and partitions; returns the partitions per table."""
    if not _exists(lambda: glue.get_database(Name=database)):
        glue.create_database(DatabaseInput={"Name": database, "Description": "SOXauto C-PG-1 results"})
    added: dict[str, list[tuple[str, str]]] = {}
    for name in TABLES:
        location = s3_url(bucket, prefix, name)
        spec = table_input(name, location)
        if _exists(lambda: glue.get_table(DatabaseName=database, Name=name)):
            glue.update_table(DatabaseName=database, TableInput=spec)
        else:
            glue.create_table(DatabaseName=database, TableInput=spec)
        have = {tuple(p["Values"]) for page in glue.get_paginator("get_partitions").paginate(
            DatabaseName=database, TableName=name) for p in page["Partitions"]}
        new = [p for p in partitions(folder, name) if p not in have]
        for start in range(0, len(new), 100):  # BatchCreatePartition takes at most 100
            glue.batch_create_partition(DatabaseName=database, TableName=name, PartitionInputList=[
                {"Values": list(p), "StorageDescriptor": storage(s3_url(bucket, prefix, name, f"period={p[0]}",
                                                                         f"entity={p[1]}"), TABLES[name])}
                for p in new[start:start + 100]])
        added[name] = new
    return added


def _exists(call) -> bool:
    try:
        call()
    except Exception as e:  # noqa: BLE001  botocore's EntityNotFoundException is generated per client
        if e.__class__.__name__ == "EntityNotFoundException":
            return False
        raise
    return True
