"""``soxauto sql render``: every statement a close of one period and entity sends, as one engine
receives it, for whoever must review what will run (a DBA) before it runs (docs/engines.md).

The close runs on DuckDB over the lake (or a DuckDB binding) to collect its statements
(``engines.corpus``); each is rendered for the dialect asked for, and written as
``NNN_<what>.sql`` with ``NNN_<what>.params.json`` beside it. Exit 0 when every rendering keeps
to its dialect's capability table, 1 when one does not (listed on stderr), 3 for a usage error
(an unknown dialect, an entity out of scope, a month the lake has no GL balances for)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(no_args_is_help=True)

DIALECTS = {"duckdb": "DuckDB", "trino": "Athena", "tsql": "SQL Server 2019 or later"}
_ENTITY = re.compile(r"[A-Za-z0-9_-]+")


@app.command("render")
def render_cmd(
    dialect: str = typer.Option(..., "--dialect", help="duckdb, trino (Athena) or tsql (SQL Server)."),
    lake: Optional[Path] = typer.Option(None, "--lake", help="Lake folder the close runs on (DuckDB)."),
    binding: Optional[Path] = typer.Option(None, "--binding", help="A DuckDB binding file instead of --lake."),
    period: str = typer.Option("latest", "--period", help="YYYY-MM, or 'latest' for the lake's latest month-end."),
    entity: str = typer.Option(..., "--entity", help="Company id, e.g. EC_NG."),
    out: Path = typer.Option(..., "--out", help="Folder for the NNN_<what>.sql and .params.json files."),
    pack: Optional[Path] = typer.Option(None, "--pack", help="Control pack folder (default: the built-in C-PG-1 pack)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a summary line."),
) -> None:
    """Write every statement a close of PERIOD for ENTITY sends, as DIALECT's engine receives it."""
    from ..catalog import load_catalog
    from ..config import binding_of, load_config
    from ..engines.corpus import collect, write
    from ..errors import UsageError, did_you_mean
    from ..lake.preflight import preflight, tables_read
    from ..recon import load_pack

    if dialect not in DIALECTS:
        raise UsageError(f"unknown dialect '{dialect}'{did_you_mean(dialect, DIALECTS)}; choose duckdb, trino "
                         "(Athena) or tsql (SQL Server)")
    if not _ENTITY.fullmatch(entity):
        raise UsageError(f"--entity '{entity}' is not a company id: use only letters, digits, '_' and '-' (for example EC_NG)")
    if lake is not None and binding is not None:
        raise UsageError("give one of --lake DIR or --binding FILE, not both")
    cfg = load_config().override(lake=lake, binding=binding, pack=pack)
    bound = binding_of(cfg)
    if bound.engine != "duckdb":
        raise UsageError(f"{bound.name} is a binding for engine '{bound.engine}'; sql render runs the close on DuckDB "
                         "to collect its statements: give --lake DIR (the demo lake, or an export of the same tables) "
                         "or a binding of engine duckdb, and --dialect for the engine to render for")
    catalog = load_catalog(cfg.pack)
    recon_pack = load_pack(cfg.pack, catalog)
    checked = preflight(bound, tables_read(catalog.extractable(), catalog), "sql render")
    typer.secho(f"{checked}\nclosing {entity} {period} on DuckDB over {bound.name} to collect its statements ...",
                err=True)
    corpus = collect(bound, period, entity, catalog=catalog, pack=recon_pack)
    written = write(corpus, dialect, out)
    conditional = sum(1 for s in corpus.statements if s.conditional)
    if as_json:
        typer.echo(json.dumps({"dialect": dialect, "engine": DIALECTS[dialect], "period": corpus.period,
                               "entity": entity, "folder": str(out), "statements": written.statements,
                               "conditional": conditional, "files": list(written.files),
                               "problems": [{"file": f, "problem": p} for f, p in written.problems]}, indent=2))
    else:
        typer.echo(f"{written.statements} statements of the close of {entity} {corpus.period} written for "
                   f"{DIALECTS[dialect]} ({dialect}) to {out}: NNN_<what>.sql as sent, NNN_<what>.params.json with "
                   f"the values bound; {conditional} of them are sent only when the data calls for them")
    for file, problem in written.problems:
        typer.secho(f"{out / file}: {problem}", err=True, fg="red")
    if written.problems:
        raise typer.Exit(1)
