"""Extracts too large to hold: streamed from the engine to a Parquet file, batch by batch.

A close must run in bounded memory whatever the size of the lake (one entity's GL entries at
scale 10 are 5.7 million rows, 1.3 GB in Arrow). ``extract`` keeps an extract in memory while it
is small; past ``spool_rows`` rows it hands the batches read so far and the rest of the stream
to ``spool``, which conforms each batch to the output contract and writes it to a Parquet file
while computing, in the same pass, everything the evidence needs from the whole table: row
count, control totals, null and true counts, and the data fingerprint. The file is then the
extract: the tests and the reconciliation scan it lazily in the engine, the evidence package
takes it by a hard link (the same bytes), and nothing holds more than one batch.

The spool folder lives in the evidence store under the temporary prefix and is locked while in
use, so the store's crash recovery removes what a killed close leaves behind.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import CatalogError, Problem

SPOOL_ROWS = 1_000_000  # larger extracts are streamed to disk (config: spool_rows)
BATCH_ROWS = 262_144


@dataclass(frozen=True)
class Spooled:
    """An extract written to ``path``, with the figures computed while it streamed."""

    path: Path
    rows: int
    control_totals: dict[str, Decimal]
    fingerprint: str
    profile: dict  # facts.profile's shape
    metadata: pq.FileMetaData


def contract_schema(item, *, nullable: bool) -> pa.Schema:
    """The item's output contract as Arrow. Streamed batches are written before the whole
    extract is seen, so every column is kept nullable: a NULL in a column declared NOT NULL is
    a finding for the not-null test, never a write error."""
    return pa.schema([pa.field(c.name, c.arrow_type, nullable=nullable or c.nullable) for c in item.output])


def check_columns(item, got: list[str]) -> None:
    """The query's columns are exactly the output contract's, in order; else a catalog error
    naming the item's file."""
    declared = [c.name for c in item.output]
    if got != declared:
        where = str(item.query_file or item.source_file)
        missing = [c for c in declared if c not in got]
        extra = [c for c in got if c not in declared]
        raise CatalogError(
            f"{item.id}: the query's columns do not match its output contract",
            [Problem(where, f"missing {missing}, extra {extra}, order {got}")],
        )


def cast_to_contract(item, data, schema: pa.Schema):
    """Cast a table or a batch to ``schema`` exactly: a cast that would lose a value fails."""
    try:
        return data.cast(schema, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise CatalogError(f"{item.id}: the result does not fit its output contract: {e}") from None


def at_scale(total: Decimal | None, scale: int) -> Decimal:
    """A money column's total at the column's scale (0 for no rows)."""
    return (total if total is not None else Decimal(0)).quantize(Decimal(1).scaleb(-scale))


class _Figures:
    """Row count, control totals, null and true counts, accumulated batch by batch."""

    def __init__(self, item, schema: pa.Schema):
        self.item, self.schema = item, schema
        self.rows = 0
        self.totals = {name: Decimal(0) for name in item.money_columns}
        self.nulls = {f.name: 0 for f in schema}
        self.trues = {f.name: 0 for f in schema if pa.types.is_boolean(f.type)}

    def update(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        for name in self.totals:
            self.totals[name] += pc.sum(batch.column(name)).as_py() or Decimal(0)
        for f, column in zip(self.schema, batch.columns):
            self.nulls[f.name] += column.null_count
            if f.name in self.trues:
                self.trues[f.name] += pc.sum(pc.cast(column, pa.int64())).as_py() or 0

    def control_totals(self) -> dict[str, Decimal]:
        return {name: at_scale(total, self.schema.field(name).type.scale) for name, total in self.totals.items()}

    def profile(self, path: Path, metadata: pq.FileMetaData) -> dict:
        from .evidence.facts import column_profile, parquet_bounds

        bounds = parquet_bounds(metadata)
        columns = [column_profile(col, self.schema.field(col.name).type, self.rows, self.nulls[col.name],
                                  true_count=self.trues.get(col.name), bounds=bounds.get(col.name),
                                  # no statistic: read this one column back from the file
                                  read=lambda name=col.name: pq.read_table(path, columns=[name]).column(0))
                   for col in self.item.output]
        return {"row_count": self.rows, "columns": columns, "control_totals": self.control_totals()}


def spool(item, batches: Iterable[pa.RecordBatch], path: Path) -> Spooled:
    """Write the stream to ``path`` (atomically) and compute its figures on the way."""
    from .evidence.fingerprint import Fingerprinter, fingerprint

    schema = contract_schema(item, nullable=True)
    figures, prints = _Figures(item, schema), Fingerprinter(schema)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for raw in batches:
                if not raw.num_rows:
                    continue
                check_columns(item, raw.schema.names)
                batch = cast_to_contract(item, raw, schema)
                writer.write_batch(batch, row_group_size=BATCH_ROWS)
                figures.update(batch)
                prints.update(batch)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    metadata = pq.read_metadata(path)
    # Out of canonical order (a query that does not sort fully): the definition needs the sorted
    # rows, so this one extract is read back whole. Catalog queries sort; this is the exception.
    value = prints.hexdigest() if prints.ordered else fingerprint(pq.read_table(path))
    return Spooled(path, figures.rows, figures.control_totals(), value, figures.profile(path, metadata), metadata)


def first_rows(reader: Iterator[pa.RecordBatch], limit: int) -> tuple[list[pa.RecordBatch], bool]:
    """Batches from ``reader`` until more than ``limit`` rows have come; whether it ran dry."""
    taken, rows = [], 0
    for batch in reader:
        taken.append(batch)
        rows += batch.num_rows
        if rows > limit:
            return taken, False
    return taken, True


def rest(taken: list[pa.RecordBatch], reader: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    return itertools.chain(taken, reader)


@contextlib.contextmanager
def spool_folder(store: Path, label: str) -> Iterator[Path]:
    """A locked temporary folder in the evidence store for one worker's spooled extracts,
    removed on the way out (a killed process leaves it to the store's recovery)."""
    from .evidence import ledger
    from .evidence.store import TEMP_PREFIX, writing

    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    folder = store / f"{TEMP_PREFIX}spool-{label}-{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as stack:
        # Created and locked under the store lock, as a package's temporary folder is: the
        # recovery of another process must never see it unlocked.
        with ledger.locked(store):
            folder.mkdir()
            stack.enter_context(writing(folder))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
