"""``soxauto lake``: check a lake against the source contract; generate the demo lake."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("check")
def check_cmd(lake: Path = typer.Argument(..., help="Lake folder: <lake>/<schema>/<table>/*.parquet|*.csv")) -> None:
    """Validate every table, column, type and nullability of a lake; exit 3 on any problem."""
    from ..lake.check import check_lake

    check_lake(lake)  # raises LakeContractError (exit 3) naming table, column and file
    typer.echo(f"{lake}: the lake satisfies the source contract (17 tables)")


@app.command("generate")
def generate_cmd(
    out: Path = typer.Option(..., "--out", help="Folder to write the lake into."),
    scale: float = typer.Option(0.1, "--scale", help="Volume factor; 1 ≈ 1M order items over 3 periods."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same arguments give identical files."),
    first_period: str = typer.Option("2025-07", "--first-period", help="First period, YYYY-MM."),
    periods: int = typer.Option(3, "--periods", help="Number of month-ends to generate."),
) -> None:
    """Generate a deterministic demo lake with ground_truth.json."""
    from ..lake.generate import generate
    from ..period import Period

    generate(out, scale=scale, seed=seed, first_period=Period.parse(first_period), periods=periods)
