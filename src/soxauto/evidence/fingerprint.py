"""The data fingerprint: one SHA-256 for a set of rows, whatever their order or file format.

Definition (``soxauto-fingerprint/3``; docs/evidence.md states it for auditors, with a script):

1. **Order.** Sort the rows ascending by every column in declared order: NULLs last, text by its
   UTF-8 bytes, decimals numerically, booleans false before true, dates and timestamps by time.
   Two rows that tie on every column are identical, so every correct sort gives one sequence.
2. **Header.** ``soxauto-fingerprint/3`` and a newline, the row count, then each column's name
   and type tag (``text``, ``decimal:<scale>``, ``integer``, ``boolean``, ``date``,
   ``timestamp``), each written as a field ``<UTF-8 byte length>:<text>``.
3. **Column digests**, in declared order, over the sorted rows. A column's *parts* are: its
   validity bytes (one per row: 1 value, 0 NULL); then its values in a fixed binary form, a
   NULL's slot counting as zero or empty: decimal 16-byte little-endian two's complement of the
   unscaled integer; integer int64 LE; date int32 LE days since 1970-01-01; timestamp int64 LE
   microseconds since 1970-01-01; boolean one byte 0/1; text as two parts, the uint32 LE byte
   lengths of all rows, then their UTF-8 bytes. The column digest is the SHA-256 of the
   concatenated SHA-256 digests of its parts.
4. **Fingerprint**: SHA-256 of the header followed by the column digests, as 64 hex digits.

With the row count and types in the header every part has a known length, so the digests pin
the sorted rows exactly: a NULL differs from an empty string or a zero (validity byte), one
cent changes a decimal, a duplicated row changes the count, and values swapped between rows
change the sorted sequence.

Why this shape: each part is a stream of Arrow's own buffers (little-endian, fixed width) that
grows row by row, so the fingerprint is computed while the extract streams from the engine in
batches, holding one batch at a time (``Fingerprinter``), and the parts hash in parallel
(hashlib releases the GIL). Extracts usually arrive in the canonical order (their queries sort
by the leading columns): the order is checked batch by batch, across batch boundaries too; a
stream found out of order is fingerprinted again from the whole table, sorted.
"""

from __future__ import annotations

import hashlib
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ALGORITHM = "soxauto-fingerprint/3"
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


def column_parts(column: pa.ChunkedArray | pa.Array, tag: str) -> list[list]:
    """Step 3 for one (already ordered) column or chunk: its parts, each as buffers in sequence."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    valid = [_validity(chunk) for chunk in chunks]
    validity: list = []
    for chunk, v in zip(chunks, valid):
        if v is not None:
            validity.append(v)
        else:
            validity.extend(_ONES[:min(len(_ONES), len(chunk) - start)] for start in range(0, len(chunk), len(_ONES)))
    if tag == "text":
        texts = [_text(chunk, v) for chunk, v in zip(chunks, valid)]
        return [validity, [lengths for lengths, _ in texts], [body for _, body in texts]]
    width = 16 if tag.startswith("decimal") else _FIXED[tag][1]
    return [validity, [_values(_physical(chunk, tag), width) for chunk in chunks]]


def _feed(job) -> None:
    hasher, buffers = job
    for b in buffers:
        hasher.update(b)


class Fingerprinter:
    """The fingerprint of rows fed in batches, in order. ``ordered`` turns False when a batch
    (or a batch boundary) breaks the canonical order: the caller then fingerprints the whole
    table with ``fingerprint``, which sorts."""

    def __init__(self, schema: pa.Schema):
        if sys.byteorder != "little":  # Arrow buffers are native-endian; the definition is little-endian
            raise RuntimeError("the data fingerprint is computed from little-endian Arrow buffers")
        self.schema = schema
        self.tags = [type_tag(f.type) for f in schema]
        self.parts = [[hashlib.sha256() for _ in range(3 if tag == "text" else 2)] for tag in self.tags]
        self.rows = 0
        self.ordered = True
        self._last: pa.Table | None = None

    def update(self, batch: pa.RecordBatch | pa.Table, *, sorted_already: bool = False) -> None:
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        if not table.num_rows:
            return
        if self.ordered and not sorted_already:
            probe = table if self._last is None else pa.concat_tables([self._last, table])
            self.ordered = in_canonical_order(probe)
            self._last = table.slice(table.num_rows - 1)
        if not self.ordered:
            return
        self.rows += table.num_rows
        columns = [column_parts(col, tag) for col, tag in zip(table.columns, self.tags)]
        jobs = [(h, p) for hashers, parts in zip(self.parts, columns) for h, p in zip(hashers, parts)]
        if table.num_rows >= 65_536 and len(jobs) > 1:
            list(_hash_pool().map(_feed, jobs))
        else:
            for job in jobs:
                _feed(job)

    def hexdigest(self) -> str:
        if not self.ordered:
            raise ValueError("the rows were not in canonical order; fingerprint the whole table")
        digest = hashlib.sha256(header(self.schema, self.rows))
        for hashers in self.parts:
            digest.update(hashlib.sha256(b"".join(h.digest() for h in hashers)).digest())
        return digest.hexdigest()


_POOL = None


def _hash_pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="soxauto-fingerprint")
    return _POOL


def fingerprint(table: pa.Table) -> str:
    order = canonical_order(table)
    f = Fingerprinter(table.schema)
    f.update(table if order is None else table.take(order), sorted_already=True)
    return f.hexdigest()


def parquet_fingerprint(path: Path | pa.NativeFile) -> str:
    """``path``: a file, or bytes already read (``pa.BufferReader``), as verify passes them."""
    import pyarrow.parquet as pq

    return fingerprint(pq.read_table(path))


def csv_fingerprint(path: Path | pa.NativeFile, schema: pa.Schema) -> str:
    """Read the CSV with the recorded column types: an empty unquoted field is NULL, ``""`` is
    the empty string (the writer quotes every text value)."""
    import pyarrow.csv as pcsv

    options = pcsv.ConvertOptions(column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False,
                                  include_columns=schema.names)
    table = pcsv.read_csv(path, convert_options=options)
    return fingerprint(table.select(schema.names))
