"""``soxauto lake``: check a lake against the source contract; generate the demo lake; map a Glue
database to a proposed Athena binding."""

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
    """Validate every table, column, type, NULL, money scale and reference-table key of a lake
    (the pre-flight of close, extract, extract-all, validate and recon checks the same); exit 3 on any problem."""
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


@app.command("map")
def map_cmd(
    database: str = typer.Option(..., "--database", help="Glue database to read, e.g. process_central_fin_dwh."),
    region: Optional[str] = typer.Option(None, "--region", help="AWS region (default: the boto3 chain's)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the proposed binding here instead of stdout."),
    profile: Optional[str] = typer.Option(None, "--profile", help="AWS profile (default: the boto3 chain's)."),
) -> None:
    """List a Glue database's tables and columns and propose an Athena binding for the logical
    tables it can match; unmatched columns are listed (rules: docs/engines.md)."""
    import boto3
    from rich.console import Console
    from rich.table import Table

    from ..lake.glue import list_tables, propose

    glue = boto3.Session(profile_name=profile, region_name=region).client("glue")
    tables = list_tables(glue, database)
    proposal = propose(database, tables)
    text = proposal.binding_yaml(region)
    console = Console(stderr=out is None)
    report = Table(title=f"Glue database {database}: {len(tables)} tables, {len(proposal.matches)} matched")
    for name in ("logical table", "Glue table", "columns", "missing", "unused Glue columns"):
        report.add_column(name)
    for m in proposal.matches:
        report.add_row(m.logical, m.glue_table, str(len(m.columns)), ", ".join(m.missing), ", ".join(m.extra))
    console.print(report)
    for t in proposal.unmatched:
        console.print(f"unmatched logical table: {t}")
    for t in proposal.unused:
        console.print(f"unused Glue table: {database}.{t}")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, "utf-8")
        console.print(f"binding written to {out}")
