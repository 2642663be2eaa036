"""S3 for the Athena engine: result locations, UNLOAD manifests and Parquet files.

Every read that finds nothing raises: an Athena result location, manifest or data file that
does not exist means the answer could not be determined, never that it is empty.
"""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from ..errors import EngineError, UsageError

_S3 = re.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/([A-Za-z0-9!_.*'()/=\-]*)")
_MISSING = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}


def split(url: str, what: str = "S3 location") -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``; the key may be empty or a prefix."""
    m = _S3.fullmatch(url or "")
    if not m:
        raise UsageError(f"{what} '{url}' is not an s3://bucket/prefix URL (lowercase bucket; letters, digits "
                         "and !_.*'()/=- in the key)")
    return m.group(1), m.group(2)


def prefix(url: str, what: str) -> str:
    """``url`` checked and ending in '/', the form Athena wants for a folder."""
    split(url, what)
    return url if url.endswith("/") else url + "/"


def _fail(e: ClientError, url: str, what: str) -> EngineError:
    code = e.response.get("Error", {}).get("Code", "")
    if code in _MISSING:
        return EngineError(f"{what} {url} does not exist ({code}): Athena reported success but its result is "
                           "missing; it may have been deleted by a lifecycle rule or written to another bucket. "
                           "Re-run the query; check the workgroup's result location")
    return EngineError(f"cannot read {what} {url}: {code or e}")


def exists(s3, url: str, what: str) -> int:
    """The size of the object at ``url``; EngineError when there is none."""
    bucket, key = split(url, what)
    try:
        return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except ClientError as e:
        raise _fail(e, url, what) from None


def read_bytes(s3, url: str, what: str) -> bytes:
    bucket, key = split(url, what)
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as e:
        raise _fail(e, url, what) from None


def manifest(s3, url: str) -> list[str]:
    """The data files an UNLOAD wrote, one s3:// URL per line of its manifest (none for 0 rows)."""
    text = read_bytes(s3, url, "UNLOAD manifest").decode("utf-8")
    files = [line.strip() for line in text.splitlines() if line.strip()]
    for f in files:
        split(f, "file listed in the UNLOAD manifest")
    return files


def read_parquet(s3, files: list[str]) -> pa.Table | None:
    """The files concatenated in manifest order; None when there are none."""
    tables = [pq.read_table(io.BytesIO(read_bytes(s3, f, "UNLOAD data file"))) for f in files]
    if not tables:
        return None
    try:
        return pa.concat_tables(tables)
    except pa.ArrowInvalid as e:
        raise EngineError(f"the UNLOAD files of one query disagree on their schema: {e}") from None


def put_parquet(s3, url: str, table: pa.Table) -> None:
    """Write ``table`` as one Parquet file readable by Athena's Hive Parquet reader: timestamps as
    INT96, the encoding every Athena engine version reads without a table property."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy", use_deprecated_int96_timestamps=True)
    bucket, key = split(url, "staging file")
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
    except ClientError as e:
        raise EngineError(f"cannot write {url}: {e.response.get('Error', {}).get('Code', e)}; "
                          "check the staging location and the s3:PutObject permission") from None


def delete_prefix(s3, url: str) -> int:
    """Delete every object under ``url`` (a folder); returns how many were deleted."""
    bucket, key = split(url, "staging folder")
    done = 0
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
    for page in pages:
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            done += len(keys)
    return done
