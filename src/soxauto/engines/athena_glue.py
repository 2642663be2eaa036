"""Glue tables of registered extracts: an Arrow schema declared as an external Parquet table."""

from __future__ import annotations

import pyarrow as pa
from botocore.exceptions import ClientError

from ..errors import EngineError

PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


def hive_type(name: str, t: pa.DataType) -> str:
    """The Glue (Hive) type of an Arrow column, exact for money (decimal(p,s))."""
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    simple = [(pa.types.is_string, "string"), (pa.types.is_large_string, "string"), (pa.types.is_boolean, "boolean"),
              (pa.types.is_int8, "tinyint"), (pa.types.is_int16, "smallint"), (pa.types.is_int32, "int"),
              (pa.types.is_int64, "bigint"), (pa.types.is_date32, "date"), (pa.types.is_timestamp, "timestamp"),
              (pa.types.is_float64, "double"), (pa.types.is_float32, "float"), (pa.types.is_null, "string")]
    for test, hive in simple:
        if test(t):
            return hive
    raise EngineError(f"column '{name}' of type {t} cannot be registered in Athena; cast it to a string, "
                      "decimal, date, timestamp, boolean or integer column first")


def create_table(glue, database: str, name: str, location: str, schema: pa.Schema) -> None:
    """Create ``database.name`` over the Parquet files at ``location``; the database is created
    when missing (it holds only registered extracts, dropped again by ``unregister``)."""
    try:
        glue.get_database(Name=database)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "EntityNotFoundException":
            raise
        glue.create_database(DatabaseInput={"Name": database,
                                            "Description": "SOXauto: extracts registered for one run, dropped after"})
    columns = [{"Name": f.name.lower(), "Type": hive_type(f.name, f.type)} for f in schema]
    glue.create_table(DatabaseName=database, TableInput={
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "StorageDescriptor": {"Columns": columns, "Location": location, **PARQUET},
    })
