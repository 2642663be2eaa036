"""``soxauto validate``: extract an item and run its completeness-and-accuracy tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ..catalog import load_catalog
from ..engines import connect
from ..errors import UsageError
from ..extract import check_in_scope, entities_in_scope, extract, resolve_period, time_bounds
from ..home import home
from ..lake.binding import lake_binding, load_binding
from ..lake.preflight import preflight, tables_read
from ..validation import Outcome, validate
from ..validation.history import HistoryStore
from .extract import clearing_window

STYLE = {Outcome.PASSED: "green", Outcome.FAILED: "red", Outcome.ERRORED: "magenta"}


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_cmd(
        item: str = typer.Argument(..., help="Catalog item id, e.g. IPE_08."),
        period: str = typer.Option("latest", "--period", help="YYYY-MM, or 'latest' for the lake's latest month-end."),
        entity: str = typer.Option(..., "--entity", help="Company id, e.g. EC_NG."),
        lake: Optional[Path] = typer.Option(None, "--lake", help="Lake folder (embedded DuckDB binding)."),
        binding: Optional[Path] = typer.Option(None, "--binding", help="Binding file instead of --lake."),
        pack: Optional[Path] = typer.Option(None, "--pack", help="Control pack folder."),
        sample: int = typer.Option(20, "--sample", min=0, help="Failing rows kept per test (the total is always counted)."),
        as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
    ) -> None:
        """Run ITEM's C&A tests; exit 0 all passed, 1 an error-severity test failed, 2 warnings only."""
        if (lake is None) == (binding is None):
            raise UsageError("give exactly one of --lake DIR or --binding FILE")
        catalog = load_catalog(pack)
        spec = catalog.item(item)
        needed = spec.compared_with
        bound = load_binding(binding) if binding else lake_binding(lake)
        checked = preflight(bound, tables_read([spec], catalog), "validate")
        if checked.skipped:
            typer.secho(str(checked), err=True)
        items = [spec, *(catalog.item(o) for o in needed)]
        window = clearing_window(catalog, items)
        with connect(bound) as engine:
            p = resolve_period(engine, period)
            check_in_scope([entity], entities_in_scope(engine))
            bounds = time_bounds(engine, window, p, entity, items)
            result = extract(engine, spec, p, entity, bounds)
            others = {o: extract(engine, catalog.item(o), p, entity, bounds) for o in needed}
            outcome = validate(engine, result, others=others, history=HistoryStore(home() / "history.jsonl"), sample_size=sample)
        if as_json:
            typer.echo(json.dumps(outcome.to_dict(), indent=2))
        else:
            _print(outcome, result.row_count)
        raise typer.Exit(outcome.exit_code)


def _print(outcome, rows: int) -> None:
    console = Console()
    table = Table(title=f"{outcome.item_id} {outcome.company_id} {outcome.period}: {rows:,} rows", title_justify="left")
    for col in ("test", "severity", "outcome", "failing", "detail"):
        table.add_column(col, overflow="fold")
    for r in outcome.results:
        table.add_row(r.rule_id, r.severity, f"[{STYLE[r.outcome]}]{r.outcome.value}[/]", f"{r.failing_count:,}", r.message or _short(r.observed))
    console.print(table)
    console.print(", ".join(f"{outcome.count(o)} {o.value}" for o in Outcome))


def _short(value) -> str:
    """A compact view of an observed value; long ones (a whole schema) are left to --json."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 48 else ""
