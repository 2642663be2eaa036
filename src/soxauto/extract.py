"""Run one catalog item for one entity and period: bind, execute, conform to the output contract."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .catalog import ItemSpec
from .engines.base import Engine, QueryResult
from .errors import CatalogError, Problem, UsageError
from .period import Period


@dataclass(frozen=True)
class ExtractResult:
    item: ItemSpec
    period: Period
    company_id: str
    parameters: Mapping[str, Any]
    query: QueryResult
    table: pa.Table

    @property
    def row_count(self) -> int:
        return self.table.num_rows

    @property
    def control_totals(self) -> dict[str, Decimal]:
        return control_totals(self.table, self.item.money_columns)

    @property
    def name(self) -> str:
        return f"{self.item.id}_{self.company_id}_{self.period.compact}"


def control_totals(table: pa.Table, columns) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for name in columns:
        total = pc.sum(table.column(name)).as_py()
        scale = table.schema.field(name).type.scale
        out[name] = (total if total is not None else Decimal(0)).quantize(Decimal(1).scaleb(-scale))
    return out


def conform(item: ItemSpec, table: pa.Table) -> pa.Table:
    """Cast the engine's result to the item's declared output types, exactly.

    Engines widen types (SUM of DECIMAL(18,2) is DECIMAL(38,2), INTEGER vs BIGINT); the output
    contract is what the evidence records, so the extract is cast to it. A cast that would lose
    a value fails, and a missing or extra column is a catalog error."""
    declared = [c.name for c in item.output]
    got = table.column_names
    if got != declared:
        where = str(item.query_file or item.source_file)
        missing = [c for c in declared if c not in got]
        extra = [c for c in got if c not in declared]
        raise CatalogError(
            f"{item.id}: the query's columns do not match its output contract",
            [Problem(where, f"missing {missing}, extra {extra}, order {got}")],
        )
    schema = pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in item.output])
    try:
        return table.cast(schema, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise CatalogError(f"{item.id}: the result does not fit its output contract: {e}") from None


def extract(engine: Engine, item: ItemSpec, period: Period, company_id: str, overrides: Mapping[str, Any] | None = None) -> ExtractResult:
    if not item.extractable:
        raise UsageError(f"{item.id} is a {item.kind} derived from {', '.join(item.derived_from) or 'other results'}; it has no query to extract")
    params = item.bind(period, company_id, overrides)
    result = engine.run(item.query, params)
    return ExtractResult(item, period, company_id, params, result, conform(item, result.table))


def write_parquet(result: ExtractResult, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{result.name}.parquet"
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(result.table, tmp, compression="zstd")
    tmp.replace(path)
    return path
