"""The ``soxauto`` command. Errors are mapped to exit codes here and only here:
0 all passed, 1 error findings, 2 warnings only, 3 usage or configuration error,
4 engine or runtime error, 5 evidence integrity failure, 130 interrupted."""

from __future__ import annotations

import sys

import typer

from ..errors import SoxautoError
from . import auth as auth_cli
from . import batch as batch_cli
from . import catalog as catalog_cli
from . import close as close_cli
from . import config as config_cli
from . import disposition as disposition_cli
from . import evidence as evidence_cli
from . import extract as extract_cli
from . import lake as lake_cli
from . import recon as recon_cli
from . import report as report_cli
from . import schedule as schedule_cli
from . import signoff as signoff_cli
from . import sql as sql_cli
from . import users as users_cli
from . import serve as serve_cli
from . import validate as validate_cli

app = typer.Typer(
    name="soxauto",
    help="Automates the SOX reconciliation control C-PG-1: extraction, tests, evidence, reconciliation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(lake_cli.app, name="lake", help="Check and generate lakes of the source contract.")
app.add_typer(catalog_cli.app, name="catalog", help="List, show, validate and export the IPE catalog.")
app.add_typer(evidence_cli.app, name="evidence", help="Verify evidence packages and the ledger.")
app.add_typer(evidence_cli.keys_app, name="keys", help="Show or export the evidence signing key.")
app.add_typer(config_cli.app, name="config", help="Show the effective configuration.")
app.add_typer(sql_cli.app, name="sql", help="Show the SQL a close sends to an engine, as that engine receives it.")
extract_cli.register(app)
batch_cli.register(app)
validate_cli.register(app)
recon_cli.register(app)
report_cli.register(app)
schedule_cli.register(app)
close_cli.register(app)
auth_cli.register(app)
users_cli.register(app)
signoff_cli.register(app)
disposition_cli.register(app)
serve_cli.register(app)


@app.command()
def version() -> None:
    """Print the SOXauto version."""
    from .. import __version__

    typer.echo(__version__)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this; the console script wraps it)."""
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="soxauto")
    except SoxautoError as e:
        typer.secho(f"error: {e}", err=True, fg="red")
        return e.exit_code
    except (KeyboardInterrupt, typer.Abort):
        typer.secho("interrupted", err=True)
        return 130
    except typer.Exit as e:
        return e.exit_code
    except typer.TyperException as e:  # bad options or arguments
        show = getattr(e, "show", None)
        show() if show else typer.secho(f"error: {e.format_message()}", err=True)
        return 3
    return rv if isinstance(rv, int) else 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))
