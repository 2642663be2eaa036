"""``soxauto config show``: the effective configuration and where each value comes from."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from ..config import SETTINGS, load_config

app = typer.Typer(no_args_is_help=True, help="Show the effective configuration (soxauto.toml and SOXAUTO_* variables).")


@app.command("show")
def show_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Every setting with its value and source (default, file, or environment variable);
    secrets are masked."""
    cfg = load_config()
    if as_json:
        typer.echo(json.dumps({"file": str(cfg.file) if cfg.file else None, "settings": cfg.to_dict()}, indent=2))
        return
    helps = {s.key: s for s in SETTINGS}
    table = Table(title=f"configuration ({cfg.file or 'no soxauto.toml: defaults and environment'})", title_justify="left")
    for name in ("setting", "value", "source", "environment variable"):
        table.add_column(name, overflow="fold")
    for key, value, source in cfg.shown():
        table.add_row(key, value, source, helps[key].env)
    out = Console()
    (out if out.is_terminal else Console(width=160)).print(table)
