"""``soxauto extract-all``: every extraction of one period for all entities in scope.

Until the month-end close exists this is the main job that ``make demo`` runs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..catalog import load_catalog
from ..engines import connect
from ..errors import UsageError
from ..extract import check_in_scope, entities_in_scope, extract_all, resolve_period
from ..lake.binding import lake_binding, load_binding
from ..lake.preflight import preflight, tables_read
from ..period import Period
from .extract import clearing_window


def register(app: typer.Typer) -> None:
    @app.command("extract-all")
    def extract_all_cmd(
        period: str = typer.Option("latest", "--period", help="YYYY-MM, or 'latest' for the lake's latest month-end."),
        lake: Optional[Path] = typer.Option(None, "--lake", help="Lake folder (embedded DuckDB binding)."),
        binding: Optional[Path] = typer.Option(None, "--binding", help="Binding file instead of --lake."),
        entity: list[str] = typer.Option([], "--entity", help="Limit to these company ids (repeatable)."),
        out: Path = typer.Option(Path("out"), "--out", help="Folder for the Parquet extracts."),
        pack: Optional[Path] = typer.Option(None, "--pack", help="Control pack folder."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of a table."),
    ) -> None:
        """Extract every catalog item for every entity in scope for one period; print a summary."""
        if (lake is None) == (binding is None):
            raise UsageError("give exactly one of --lake DIR or --binding FILE")
        catalog = load_catalog(pack)
        items = catalog.extractable()
        console = Console(stderr=True)
        t0 = time.perf_counter()
        bound = load_binding(binding) if binding else lake_binding(lake)
        checked = preflight(bound, tables_read(items), "extract-all")
        if checked.skipped:
            console.print(str(checked), highlight=False)
        window = clearing_window(catalog, items)
        with connect(bound) as engine:
            p = resolve_period(engine, period)
            scope = entities_in_scope(engine)
            check_in_scope(entity, scope)
            entities = list(entity) or scope
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, disable=as_json or not console.is_terminal) as progress:
                task = progress.add_task(f"extracting {p}", total=len(items) * len(entities))

                def step(s) -> None:
                    progress.update(task, advance=1, description=f"{s.item_id} {s.company_id}")
                    if not console.is_terminal and not as_json:
                        console.print(f"{s.item_id:8} {s.company_id:6} {s.row_count:>10,} rows {s.seconds:6.2f}s")

                done = extract_all(engine, items, p, entities, out, on_done=step, window=window)
        elapsed = time.perf_counter() - t0
        if as_json:
            typer.echo(json.dumps({
                "period": str(p), "entities": entities, "seconds": round(elapsed, 3),
                "extracts": [{"item": s.item_id, "entity": s.company_id, "row_count": s.row_count,
                              "control_totals": {k: str(v) for k, v in s.control_totals.items()},
                              "path": str(s.path)} for s in done],
            }, indent=2))
            return
        _print_summary(Console(), p, items, entities, done, elapsed, out)


def _print_summary(console: Console, period: Period, items, entities, done, elapsed: float, out: Path) -> None:
    """Two narrow tables (per item, per entity) so the summary reads in an 80-column terminal."""
    by_item = Table(title=f"Extractions for {period}", title_justify="left")
    for col, justify in (("item", "left"), ("title", "left"), ("entities", "right"), ("rows", "right")):
        by_item.add_column(col, justify=justify)
    for item in items:
        mine = [s for s in done if s.item_id == item.id]
        by_item.add_row(item.id, item.title, str(len(mine)), f"{sum(s.row_count for s in mine):,}")
    console.print(by_item)
    by_entity = Table(title="per entity", title_justify="left")
    for col, justify in (("entity", "left"), ("extracts", "right"), ("rows", "right"), ("seconds", "right")):
        by_entity.add_column(col, justify=justify)
    for e in entities:
        mine = [s for s in done if s.company_id == e]
        by_entity.add_row(e, str(len(mine)), f"{sum(s.row_count for s in mine):,}", f"{sum(s.seconds for s in mine):.2f}")
    console.print(by_entity)
    console.print(f"{len(done)} extracts, {sum(s.row_count for s in done):,} rows in {elapsed:.1f} s → {out}/")
