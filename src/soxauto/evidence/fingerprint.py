"""The data fingerprint: one SHA-256 for a set of rows, whatever their order or file format.

Definition (``soxauto-fingerprint/2``; docs/evidence.md states it for auditors, with a script):

1. **Order.** Sort the rows ascending by every column in declared order: NULLs last, text by its
   UTF-8 bytes, decimals numerically, booleans false before true, dates and timestamps by time.
   Two rows that tie on every column are identical, so every correct sort gives one sequence.
2. **Header.** ``soxauto-fingerprint/2`` and a newline, the row count, then each column's name
   and type tag (``text``, ``decimal:<scale>``, ``integer``, ``boolean``, ``date``,
   ``timestamp``), each written as a field ``<UTF-8 byte length>:<text>``.
3. **Columns**, in declared order, over the sorted rows: one validity byte per row (1 value,
   0 NULL), then the values in a fixed binary form, a NULL's slot counting as zero or empty:
   decimal 16-byte little-endian two's complement of the unscaled integer; integer int64 LE;
   date int32 LE days since 1970-01-01; timestamp int64 LE microseconds since 1970-01-01;
   boolean one byte 0/1; text the uint32 LE byte lengths of all rows, then their UTF-8 bytes.
4. **Fingerprint**: SHA-256 of the header and the column bytes, as 64 lowercase hex digits.

With the row count and types in the header every part has a known length, so the bytes spell
the sorted rows unambiguously: a NULL differs from an empty string or a zero (validity byte),
one cent changes a decimal, a duplicated row changes the count, and values swapped between
rows change the sorted sequence.

Why this shape: the bytes are Arrow's own buffers (little-endian, fixed width), so nothing is
converted to text or Python objects and SHA-256 runs over large contiguous buffers (hashlib
releases the GIL there). Extracts usually arrive in the canonical order already (their queries
sort by the leading columns), so the sort is skipped when a vectorised check of adjacent rows
shows the table is in order.
"""

from __future__ import annotations

import hashlib
import sys
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ALGORITHM = "soxauto-fingerprint/2"
# Physical form of the fixed-width types: Arrow type, byte width.
_FIXED = {"integer": (pa.int64(), 8), "date": (pa.int32(), 4), "timestamp": (pa.int64(), 8), "boolean": (pa.uint8(), 1)}
_ONES = b"\x01" * 1_048_576  # validity of a chunk without NULLs, sliced to its length


def type_tag(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_decimal(t) and t.bit_width == 128:
        return f"decimal:{t.scale}"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t) and t.tz is None:
        return "timestamp"
    raise TypeError(f"no canonical form for Arrow type {t}; the fingerprint covers the source contract's types")


def field(text: str) -> bytes:
    raw = text.encode("utf-8")
    return str(len(raw)).encode("ascii") + b":" + raw


def header(schema: pa.Schema, rows: int) -> bytes:
    out = [ALGORITHM.encode("ascii"), b"\n", field(str(rows))]
    for f in schema:
        out.append(field(f.name))
        out.append(field(type_tag(f.type)))
    return b"".join(out)


def _compare_adjacent(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """For each pair of adjacent rows (i, i+1): whether row i's value sorts after, and whether
    it ties, with NULLs last and equal to each other."""
    n = len(column)
    a, b = column.slice(0, n - 1), column.slice(1)
    gt, eq = pc.greater(a, b), pc.equal(a, b)
    if column.null_count:
        va, vb = pc.is_valid(a), pc.is_valid(b)
        gt = pc.or_(pc.fill_null(gt, False), pc.and_(pc.invert(va), vb))
        eq = pc.or_(pc.fill_null(eq, False), pc.and_(pc.invert(va), pc.invert(vb)))
    return gt, eq


def in_canonical_order(table: pa.Table) -> bool:
    """Whether the rows are already sorted as step 1 requires (ties are identical rows)."""
    if table.num_rows < 2:
        return True
    undecided = None  # adjacent pairs equal on every column so far
    for column in table.columns:
        gt, eq = _compare_adjacent(column)
        if undecided is not None:
            gt, eq = pc.and_(undecided, gt), pc.and_(undecided, eq)
        if pc.any(gt).as_py():
            return False
        if not pc.any(eq).as_py():
            return True
        undecided = eq
    return True


def canonical_order(table: pa.Table) -> pa.Array | None:
    """Row indices in canonical order, or None when the table is in that order already."""
    if in_canonical_order(table):
        return None
    # Arrow sorts strings by bytes, decimals numerically and puts NULLs last by default.
    return pc.sort_indices(table, sort_keys=[(name, "ascending") for name in table.column_names])


def _physical(chunk: pa.Array, tag: str) -> pa.Array:
    """A fixed-width chunk with NULL slots zeroed, in its canonical physical type."""
    if tag.startswith("decimal"):
        return pc.fill_null(chunk, pa.scalar(Decimal(0), chunk.type)) if chunk.null_count else chunk
    if tag == "timestamp" and chunk.type.unit != "us":
        chunk = chunk.cast(pa.timestamp("us"))  # safe cast: fails rather than drop sub-microseconds
    if tag == "date" and not pa.types.is_date32(chunk.type):
        chunk = chunk.cast(pa.date32())
    chunk = chunk.cast(_FIXED[tag][0])
    return pc.fill_null(chunk, 0) if chunk.null_count else chunk


def _values(array: pa.Array, width: int) -> memoryview:
    buffer = array.buffers()[1]
    if buffer is None:  # an empty array may have no buffer at all
        return memoryview(b"")
    return memoryview(buffer)[array.offset * width:(array.offset + len(array)) * width]


def _validity(chunk: pa.Array) -> np.ndarray | None:
    """One byte per row, 1 for a value and 0 for NULL; None when the chunk has no NULLs."""
    if chunk.null_count == 0:
        return None
    return np.frombuffer(_values(pc.is_valid(chunk).cast(pa.uint8()), 1), dtype=np.uint8)


def _text(chunk: pa.Array, valid: np.ndarray | None) -> tuple[np.ndarray, memoryview]:
    """The uint32 byte lengths (0 for NULL) and the concatenated UTF-8 bytes of one chunk."""
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        chunk = chunk.cast(pa.large_string())
    wide = pa.types.is_large_string(chunk.type)
    n = len(chunk)
    if n == 0:
        return np.zeros(0, dtype="<u4"), memoryview(b"")
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if wide else np.int32, count=n + 1,
                            offset=chunk.offset * (8 if wide else 4))
    lengths = np.diff(offsets)
    if valid is not None and lengths[valid == 0].any():
        # Arrow lets a NULL slot own bytes; writers rarely do it. Empty those slots, then re-read.
        return _text(pc.fill_null(chunk, ""), valid)
    if wide and n and lengths.max() >= 2**32:
        raise ValueError("a text value of 4 GiB or more has no uint32 length in the fingerprint")
    data = chunk.buffers()[2]
    body = memoryview(data)[offsets[0]:offsets[-1]] if data is not None and n else memoryview(b"")
    return lengths.astype("<u4") if wide else lengths.view("<u4"), body


def column_bytes(column: pa.ChunkedArray, tag: str) -> Iterator[memoryview | bytes | np.ndarray]:
    """Step 3 for one (already ordered) column, as buffers to hash in sequence."""
    chunks = column.chunks
    valid = [_validity(chunk) for chunk in chunks]
    for chunk, v in zip(chunks, valid):
        if v is not None:
            yield v
        else:
            for start in range(0, len(chunk), len(_ONES)):
                yield _ONES[:min(len(_ONES), len(chunk) - start)]
    if tag == "text":
        parts = [_text(chunk, v) for chunk, v in zip(chunks, valid)]
        yield from (lengths for lengths, _ in parts)
        yield from (body for _, body in parts)
    else:
        width = 16 if tag.startswith("decimal") else _FIXED[tag][1]
        yield from (_values(_physical(chunk, tag), width) for chunk in chunks)


def fingerprint(table: pa.Table) -> str:
    if sys.byteorder != "little":  # Arrow buffers are native-endian; the definition is little-endian
        raise RuntimeError("the data fingerprint is computed from little-endian Arrow buffers")
    order = canonical_order(table)
    digest = hashlib.sha256(header(table.schema, table.num_rows))
    for f, column in zip(table.schema, table.columns):
        if order is not None:
            column = column.take(order)
        for part in column_bytes(column, type_tag(f.type)):
            digest.update(part)
    return digest.hexdigest()


def parquet_fingerprint(path: Path) -> str:
    import pyarrow.parquet as pq

    return fingerprint(pq.read_table(path))


def csv_fingerprint(path: Path, schema: pa.Schema) -> str:
    """Read the CSV with the recorded column types: an empty unquoted field is NULL, ``""`` is
    the empty string (the writer quotes every text value)."""
    import pyarrow.csv as pcsv

    options = pcsv.ConvertOptions(column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False,
                                  include_columns=schema.names)
    table = pcsv.read_csv(path, convert_options=options)
    return fingerprint(table.select(schema.names))
