"""``soxauto extract``: one catalog item, one entity, one period: the extract (Parquet), its
C&A tests, and its evidence package in the store (``$SOXAUTO_HOME/evidence``).

The exit code is 0 once the evidence is committed, whatever the tests found: failing tests are
results recorded in the package (``soxauto validate`` exits 1/2 on them)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ..catalog import load_catalog
from ..engines import connect
from ..evidence.package import CSV_MAX_ROWS
from ..evidence.record import record
from ..evidence.store import evidence_store
from ..extract import check_in_scope, entities_in_scope, resolve_period, time_bounds
from ..home import home
from ..lake.binding import lake_binding, load_binding
from ..lake.preflight import preflight, tables_read
from ..validation.history import HistoryStore

# The company id becomes part of the extract's file name: nothing that could leave the folder.
_ENTITY = re.compile(r"[A-Za-z0-9_-]+")


def register(app: typer.Typer) -> None:
    @app.command("extract")
    def extract_cmd(
        item: str = typer.Argument(..., help="Catalog item id, e.g. IPE_08."),
        period: str = typer.Option("latest", "--period", help="YYYY-MM, or 'latest' for the lake's latest month-end."),
        entity: str = typer.Option(..., "--entity", help="Company id, e.g. EC_NG."),
        lake: Optional[Path] = typer.Option(None, "--lake", help="Lake folder (embedded DuckDB binding)."),
        binding: Optional[Path] = typer.Option(None, "--binding", help="Binding file instead of --lake."),
        out: Path = typer.Option(Path("out"), "--out", help="Folder for the Parquet extract."),
        param: list[str] = typer.Option([], "--param", help="Override a catalog list parameter: NAME=a,b,c"),
        pack: Optional[Path] = typer.Option(None, "--pack", help="Control pack folder (default: the built-in C-PG-1 pack)."),
        csv_max_rows: int = typer.Option(CSV_MAX_ROWS, "--csv-max-rows", min=0, help="Add data.csv to the evidence up to this many rows."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    ) -> None:
        """Extract ITEM for one entity and period, run its tests, write its evidence package."""
        from ..errors import UsageError

        if not _ENTITY.fullmatch(entity):
            raise UsageError(
                f"--entity '{entity}' is not a company id: use only letters, digits, '_' and '-' "
                "(for example EC_NG); it becomes part of the extract's file name"
            )
        if (lake is None) == (binding is None):
            raise UsageError("give exactly one of --lake DIR or --binding FILE")
        catalog = load_catalog(pack)
        spec = catalog.item(item)
        overrides = {}
        for text in param:
            name, sep, value = text.partition("=")
            if not sep:
                raise UsageError(f"--param '{text}' is not NAME=VALUE")
            overrides[name.strip()] = value
        bound = load_binding(binding) if binding else lake_binding(lake)
        # before any extract or evidence is written: exit 3 on a lake that breaks the contract
        checked = preflight(bound, tables_read([spec], catalog), "extract")
        if checked.skipped:
            typer.secho(str(checked), err=True)
        items = [spec, *(catalog.item(o) for o in spec.compared_with)]
        window = clearing_window(catalog, items)
        with connect(bound) as engine:
            p = resolve_period(engine, period)
            check_in_scope([entity], entities_in_scope(engine))
            # the run's time bounds first: a --param window_end=... given on purpose wins
            overrides = {**time_bounds(engine, window, p, entity, items), **overrides}
            done = record(engine, catalog, spec.id, p, entity, store=evidence_store(), overrides=overrides,
                          history=HistoryStore(home() / "history.jsonl"), csv_max_rows=csv_max_rows, out=out)
        result, package, path = done.extract, done.package, done.parquet
        totals = {k: str(v) for k, v in result.control_totals.items()}
        summary = done.tests.to_dict()["summary"]
        if as_json:
            typer.echo(json.dumps({
                "item": spec.id, "period": str(p), "entity": entity, "row_count": result.row_count,
                "control_totals": totals, "path": str(path), "query_sha256": spec.query_sha256,
                "tests": summary,
                "evidence": {"path": str(package.path), "manifest_sha256": package.manifest_sha256,
                             "ledger_seq": package.seq, "fingerprint": package.fingerprint, "run_id": package.run_id},
            }, indent=2))
            return
        console = Console()
        table = Table(title=f"{spec.id} {entity} {p}: {result.row_count:,} rows → {path}")
        table.add_column("control total")
        table.add_column("amount", justify="right")
        for name, value in totals.items():
            table.add_row(name, f"{value}")
        console.print(table)
        console.print(", ".join(f"{n} {o}" for o, n in summary.items()) + " tests")
        console.print(f"evidence {package.path} (ledger {package.seq}, manifest {package.manifest_sha256[:16]}…)")


def clearing_window(catalog, items):
    """The recon pack beside the catalog when one of ``items`` reads ``:window_end`` (C + the
    largest clearing window of its lines); None when none does, or when the pack has no recon
    folder: such an item is then refused by ``extract``, which names the missing bound."""
    if not any("window_end" in i.reads for i in items) or not (catalog.pack / "recon").is_dir():
        return None
    from ..recon import load_pack

    return load_pack(catalog.pack, catalog)
