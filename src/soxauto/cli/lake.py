"""``soxauto lake``: check a lake against the source contract; generate the demo lake."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..lake.demo.defects import NAMES as DEFECTS

app = typer.Typer(no_args_is_help=True)


@app.command("check")
def check_cmd(
    lake: Optional[Path] = typer.Argument(None, help="Lake folder: <lake>/<schema>/<table>/*.parquet|*.csv"),
    binding: Optional[Path] = typer.Option(None, "--binding", help="Check the lake a binding file points at instead."),
) -> None:
    """Validate every table, column, type and nullability of a lake; exit 3 on any problem."""
    from rich.console import Console
    from rich.table import Table

    from ..errors import UsageError
    from ..lake.binding import load_binding
    from ..lake.check import check_lake

    if (lake is None) == (binding is None):
        raise UsageError("give exactly one of a lake folder or --binding FILE")
    # raises LakeContractError (exit 3) naming table, column and file
    report = check_lake(lake, load_binding(binding) if binding else None)
    table = Table(title=f"{report.location}: the lake satisfies the source contract ({len(report.tables)} tables)")
    table.add_column("table")
    table.add_column("format")
    table.add_column("files", justify="right")
    table.add_column("rows", justify="right")
    for t in report.tables:
        table.add_row(t.table, t.format, f"{len(t.files):,}", f"{t.rows:,}")
    console = Console()
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")


@app.command("generate")
def generate_cmd(
    out: Path = typer.Option(..., "--out", help="Folder to write the lake into."),
    scale: float = typer.Option(0.1, "--scale", help="Volume factor; 1 ≈ 1M order items over 3 periods."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same arguments give identical files."),
    first_period: str = typer.Option("2025-07", "--first-period", help="First period, YYYY-MM."),
    periods: int = typer.Option(3, "--periods", help="Number of month-ends to generate."),
    defects: str = typer.Option("", "--defects", help="Inject defects for C&A tests: " + ", ".join(DEFECTS)),
) -> None:
    """Generate a deterministic demo lake with ground_truth.json."""
    from ..lake.generate import generate
    from ..period import Period

    generate(out, scale=scale, seed=seed, first_period=Period.parse(first_period), periods=periods,
             defects=tuple(d for d in defects.split(",") if d.strip()))
