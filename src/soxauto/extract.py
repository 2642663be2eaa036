"""Run one catalog item for one entity and period: bind, execute, conform to the output contract."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .catalog import ItemSpec
from .catalog.model import TIME_BOUNDS
from .engines.base import Engine, QueryResult
from .errors import UsageError, did_you_mean
from .period import Period
from .stream import BATCH_ROWS, SPOOL_ROWS, Spooled, at_scale, cast_to_contract, check_columns, first_rows, rest
from .stream import spool as spool_extract


@dataclass(frozen=True)
class ExtractResult:
    """An extract: in memory (``table``), or streamed to a Parquet file (``spooled``, see
    soxauto.stream) when it is too large to hold."""

    item: ItemSpec
    period: Period
    company_id: str
    parameters: Mapping[str, Any]
    query: QueryResult
    table: pa.Table | None
    spooled: Spooled | None = None

    @property
    def row_count(self) -> int:
        return self.spooled.rows if self.table is None else self.table.num_rows

    @property
    def control_totals(self) -> dict[str, Decimal]:
        if self.table is None:
            return dict(self.spooled.control_totals)
        return control_totals(self.table, self.item.money_columns)

    def scan(self):
        """What an engine registers to query the extract: the table, or a lazy dataset over
        the spooled file (scanned batch by batch, never loaded whole)."""
        if self.table is not None:
            return self.table
        import pyarrow.dataset as ds

        return ds.dataset(self.spooled.path, format="parquet")

    def data(self) -> pa.Table:
        """The whole extract in memory (for small uses: a CSV of at most 100,000 rows)."""
        return self.table if self.table is not None else pq.read_table(self.spooled.path)

    @property
    def name(self) -> str:
        return f"{self.item.id}_{self.company_id}_{self.period.compact}"


def control_totals(table: pa.Table, columns) -> dict[str, Decimal]:
    return {name: at_scale(pc.sum(table.column(name)).as_py(), table.schema.field(name).type.scale) for name in columns}


def conform(item: ItemSpec, table: pa.Table) -> pa.Table:
    """Cast the engine's result to the item's declared output types, exactly.

    Engines widen types (SUM of DECIMAL(18,2) is DECIMAL(38,2), INTEGER vs BIGINT); the output
    contract is what the evidence records, so the extract is cast to it. A cast that would lose
    a value fails, and a missing or extra column is a catalog error."""
    check_columns(item, table.column_names)
    # A NULL in a column declared NOT NULL is a finding for the not-null test, not a crash:
    # such a column is kept nullable in this extract so the tests can see and report it.
    schema = pa.schema([
        pa.field(c.name, c.arrow_type, nullable=c.nullable or table.column(c.name).null_count > 0)
        for c in item.output
    ])
    return cast_to_contract(item, table, schema)


def extract(engine: Engine, item: ItemSpec, period: Period, company_id: str, overrides: Mapping[str, Any] | None = None,
            *, spool: Path | None = None, spool_rows: int = SPOOL_ROWS) -> ExtractResult:
    """Run the item. With ``spool`` (a folder) and an engine that streams, an extract of more
    than ``spool_rows`` rows is written there batch by batch instead of held in memory."""
    if not item.extractable:
        raise UsageError(f"{item.id} is a {item.kind} derived from {', '.join(item.derived_from) or 'other results'}; it has no query to extract")
    params = _with_bounds(engine, item, period, company_id, item.bind(period, company_id, overrides))
    streams = getattr(engine, "stream", None)
    if spool is None or streams is None:
        result = engine.run(item.query, params)
        return ExtractResult(item, period, company_id, params, result, conform(item, result.table))
    stream = streams(item.query, params, BATCH_ROWS)
    with stream:
        taken, complete = first_rows(stream.reader, spool_rows)
        if complete:
            result = stream.result(pa.Table.from_batches(taken, schema=stream.reader.schema))
            return ExtractResult(item, period, company_id, params, result, conform(item, result.table))
        written = spool_extract(item, rest(taken, stream.reader), Path(spool) / f"{item.id}_{company_id}.parquet")
        result = stream.result(stream.reader.schema.empty_table())
    return ExtractResult(item, period, company_id, params, result, None, written)


def _with_bounds(engine: Engine, item: ItemSpec, period: Period, company_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The run's time bounds an item reads and its caller did not give: the horizon is read
    from the lake; window_end depends on the recon pack, so without it the run is refused
    rather than guessed."""
    if "window_end" in item.reads and "window_end" not in params:
        raise UsageError(
            f"{item.id} reads :window_end (the cutoff + the largest clearing window of the recon pack's lines), "
            f"and this run was not given it: pass overrides={{'window_end': ...}}, for example "
            f"soxauto.extract.time_bounds(engine, pack, period, company_id), or run it through a command "
            f"that knows the pack (close, recon, extract or validate with a pack that has a recon folder)")
    if "horizon" in item.reads and "horizon" not in params:
        params["horizon"] = horizon(engine, company_id, period)
    return params


def horizon(engine: Engine, company_id: str, period: Period) -> date:
    """H (domain spec, "Time words"): the date part, as stored, of the latest ``refreshed_at``
    over all of the company's rows in ``nav.gl_balances``; the cutoff when it has none or when
    that date is before the cutoff. It comes from the data, never from the clock, so a re-run
    on the same lake reads the same entries after the cutoff."""
    from sqlglot import exp

    latest = exp.Max(this=exp.column("refreshed_at"))
    query = (exp.select(exp.alias_(latest, "refreshed_at"))
             .from_(exp.to_table("nav.gl_balances"))
             .where(exp.EQ(this=exp.column("company_id"), expression=exp.Placeholder(this="company_id"))))
    value = engine.run(query, {"company_id": company_id}).table.column("refreshed_at")[0].as_py()
    if value is None:
        return period.cutoff
    day = value.date() if isinstance(value, datetime) else value
    return max(day, period.cutoff)


def time_bounds(engine: Engine, window: Any, period: Period, company_id: str, items=None) -> dict[str, date]:
    """The run's time bounds for one entity, computed once and given to every extraction of it
    as overrides (an item that does not read them ignores them): ``window_end`` = C + the
    largest clearing window (``window``: a recon pack, which knows it, or a number of days; None
    when unknown, so that an item reading window_end is refused) and ``horizon`` = H. With
    ``items``, only the bounds some of them read are computed (none: no query at all)."""
    wanted = set(TIME_BOUNDS) if items is None else {n for i in items for n in i.reads if n in TIME_BOUNDS}
    out: dict[str, date] = {}
    if "window_end" in wanted and window is not None:
        out["window_end"] = window.window_end(period) if hasattr(window, "window_end") else \
            period.cutoff + timedelta(days=int(window))
    if "horizon" in wanted:
        out["horizon"] = horizon(engine, company_id, period)
    return out


_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")


def write_parquet(result: ExtractResult, out_dir: str | Path) -> Path:
    if not _SAFE_ID.fullmatch(result.company_id):
        raise UsageError(f"company id '{result.company_id}' cannot name a file; ids are letters, digits, '_' and '-'")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{result.name}.parquet"
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(result.data(), tmp, compression="zstd")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class ExtractSummary:
    """One extraction of a batch: where it went and its figures (no data kept in memory)."""

    item_id: str
    company_id: str
    row_count: int
    control_totals: Mapping[str, Decimal]
    path: Path
    seconds: float


def entities_in_scope(engine: Engine) -> list[str]:
    """Company ids with ``in_conso_scope``, read from ``ref.companies`` through the engine."""
    from sqlglot import exp

    query = (
        exp.select("company_id")
        .from_(exp.to_table("ref.companies"))
        .where(exp.column("in_conso_scope"))
        .order_by("company_id")
    )
    table = engine.run(query, {}).table
    return [str(v) for v in table.column("company_id").to_pylist()]


def check_in_scope(wanted, scope) -> None:
    """Refuse a company id that is not in scope: extracted anyway, it would be an empty extract
    whose tests all pass (a mistyped entity must not look like a clean one)."""
    unknown = [e for e in wanted if e not in scope]
    if unknown:
        raise UsageError(f"entity {unknown[0]} is not in ref.companies with in_conso_scope"
                         f"{did_you_mean(unknown[0], scope)}; in scope: {', '.join(scope)}")


def resolve_period(engine: Engine, text: str | None) -> Period:
    """The period a command works on: ``latest`` (or None) is the latest month-end in
    ``nav.gl_balances``; a YYYY-MM must be one of its month-ends. A month the lake holds no
    balances for (a typo, or data not loaded yet) would give empty extracts whose tests all
    pass, so it is refused, with the month-ends the lake has."""
    from sqlglot import exp

    wanted = None if text in (None, "latest") else Period.parse(text)  # malformed: refused before any query
    closing = exp.column("closing_date")
    cols = [exp.Min(this=closing).as_("first"), exp.Max(this=closing.copy()).as_("last")]
    if wanted is not None:
        at = exp.EQ(this=closing.copy(), expression=exp.Placeholder(this="cutoff"))
        cols.append(exp.Sum(this=exp.case().when(at, exp.Literal.number(1)).else_(exp.Literal.number(0))).as_("at_cutoff"))
    query = exp.select(*cols).from_(exp.to_table("nav.gl_balances"))
    row = engine.run(query, {"cutoff": wanted.cutoff} if wanted else {}).table.to_pylist()[0]
    if row["last"] is None:
        raise UsageError("nav.gl_balances is empty: the lake has no month-end to work on")
    if wanted is None:
        return Period(row["last"].year, row["last"].month)
    if not row["at_cutoff"]:
        raise UsageError(f"the lake has no GL balances at {wanted.cutoff.isoformat()}, so nothing to extract for {wanted}: "
                         f"nav.gl_balances has month-ends from {row['first'].isoformat()} to {row['last'].isoformat()}")
    return wanted


def extract_all(engine: Engine, items, period: Period, entities, out_dir: str | Path, on_done=None,
                window: Any = None) -> list[ExtractSummary]:
    """Every extractable item for every entity of one period, written to ``out_dir``.

    ``on_done(summary)`` is called after each extraction so a caller can show progress.
    ``window``: the recon pack (or its largest clearing window in days) that gives the items
    reading ``:window_end`` their bound; the time bounds are computed once per entity."""
    import time

    items = list(items)
    done: list[ExtractSummary] = []
    for company_id in entities:
        bounds = time_bounds(engine, window, period, company_id, items)
        for item in items:
            t0 = time.perf_counter()
            result = extract(engine, item, period, company_id, bounds)
            path = write_parquet(result, out_dir)
            summary = ExtractSummary(item.id, company_id, result.row_count, result.control_totals, path, time.perf_counter() - t0)
            done.append(summary)
            if on_done:
                on_done(summary)
    return done
