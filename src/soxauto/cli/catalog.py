"""``soxauto catalog``: list, show, validate, export (DOC_001)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
