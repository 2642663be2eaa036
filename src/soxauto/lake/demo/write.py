"""Turn the generator's integer arrays into Arrow columns of the contract and write Parquet.

Money leaves numpy as int64 cents and becomes ``decimal128(18, 2)`` by reinterpreting the
cents as the decimal's unscaled integer (16-byte two's complement), so no float ever touches
an amount on its way into a file. Parquet options are fixed, so equal tables give equal bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..contract import contract
from .world import DAY, NEVER

WRITE_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    row_group_size=1 << 20,
    version="2.6",
)


def ids(prefix: str, numbers: np.ndarray, width: int = 9) -> pa.Array:
    """``prefix`` + zero-padded number, vectorised: ids('NG-I', [7]) -> 'NG-I000000007'."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def join(*parts: Any) -> pa.Array:
    """Concatenate string arrays and scalars element-wise."""
    return pc.binary_join_element_wise(*[p if isinstance(p, pa.Array) else pa.scalar(p) for p in parts], "")


def pick(choices: Sequence[str | None], index: np.ndarray) -> pa.Array:
    """choices[index] as a string array (None in choices gives NULL)."""
    return pc.take(pa.array(list(choices), pa.string()), pa.array(np.asarray(index, dtype=np.int64)))


def where(mask: np.ndarray, values: pa.Array) -> pa.Array:
    """values where mask, NULL elsewhere."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), values, pa.scalar(None, values.type))


def money(cents: np.ndarray) -> pa.Array:
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    return _decimal(cents, pa.decimal128(18, 2))


def rate(micros: np.ndarray) -> pa.Array:
    return _decimal(np.ascontiguousarray(micros, dtype=np.int64), pa.decimal128(18, 6))


def _decimal(unscaled: np.ndarray, typ: pa.DataType) -> pa.Array:
    words = np.empty((len(unscaled), 2), dtype="<i8")
    words[:, 0] = unscaled
    words[:, 1] = np.where(unscaled < 0, -1, 0)  # sign extension to 128 bits
    return pa.Array.from_buffers(typ, len(unscaled), [None, pa.py_buffer(words.tobytes())])


def timestamps(seconds: np.ndarray) -> pa.Array:
    seconds = np.asarray(seconds, dtype=np.int64)
    never = seconds == NEVER
    us = np.where(never, 0, seconds) * 1_000_000
    return pa.array(us, pa.timestamp("us"), mask=never)


def dates(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int64)
    never = days == NEVER
    return pa.array(np.where(never, 0, days).astype(np.int32), pa.date32(), mask=never)


def _column(kind: str, value: Any, n: int, typ: pa.DataType) -> pa.Array:
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        return value if value.type == typ else value.cast(typ)
    if value is None or isinstance(value, (str, bool)):
        return pa.repeat(pa.scalar(value, typ), n) if value is not None else pa.nulls(n, typ)
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if kind == "money":
        return money(arr)
    if kind == "rate":
        return rate(arr)
    if kind == "date":
        return dates(arr)
    if kind == "ts":
        return timestamps(arr)
    return pa.array(arr, typ)


def table(qualified: str, n: int, columns: Mapping[str, Any]) -> pa.Table:
    """A table of exactly the contract's schema; every column must be given (arrays of length n
    or scalars): int64 cents for money, days for dates, seconds for timestamps."""
    spec = contract().table(qualified)
    missing = set(spec.column_names) - set(columns)
    extra = set(columns) - set(spec.column_names)
    if missing or extra:
        raise AssertionError(f"{qualified}: missing {sorted(missing)}, unknown {sorted(extra)}")
    schema = spec.arrow_schema()
    arrays = [_column(c.type, columns[c.name], n, c.arrow_type) for c in spec.columns]
    for c, a in zip(spec.columns, arrays):
        if len(a) != n:
            raise AssertionError(f"{qualified}.{c.name}: {len(a)} values for {n} rows")
    return pa.Table.from_arrays(arrays, schema=schema)


def write(root: Path, qualified: str, part: str, tab: pa.Table) -> int:
    schema, name = qualified.split(".")
    folder = root / schema / name
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(tab, folder / f"{part}.parquet", **WRITE_OPTIONS)
    return tab.num_rows


def day_to_ts(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    return np.where(days == NEVER, NEVER, days * DAY)
