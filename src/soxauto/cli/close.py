"""``soxauto close``: the month-end close of one period (docs/close.md).

Exit codes: 0 every test passed and every line RECONCILED without findings; 1 an error finding
(a line ERROR or INVESTIGATE, a failed error-severity test); 2 warnings only; 3 usage or
configuration error; 4 engine or runtime error (a step that could not be done, another close
holding the period); 5 evidence integrity failure; 130 interrupted (the run can be resumed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..close import CloseRequest, Observer, close
from ..close.entity import Event
from ..close.lock import Holder
from ..close.plan import ClosePlan
from ..close.report import render
from ..config import load_config
from ..errors import UsageError

BARS = ("extract", "test", "evidence", "reconcile")


class Progressive(Observer):
    """Rich progress bars per stage on a terminal; otherwise one plain line per finished step.
    With ``--json`` only the run's start line and notes go to stderr."""

    def __init__(self, console: Console, quiet: bool):
        self.console, self.quiet = console, quiet
        console.soft_wrap = True  # a log line stays one line in a file or pipe
        self.bars = console.is_terminal and not quiet
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def started(self, run_id: str, plan: ClosePlan, todo, recon, resumed: bool) -> None:
        items = sum(len(v) for v in todo.values())
        self.console.print(f"close {plan.period} run {run_id}{' (resumed)' if resumed else ''}: "
                           f"{len(plan.entities)} entities, {items} evidence steps and {len(recon)} reconciliations to do",
                           highlight=False)
        if self.bars:
            self.progress = Progress(TextColumn("{task.description:<26}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=self.console)
            for stage in BARS:
                total = len(recon) if stage == "reconcile" else items
                self.tasks[stage] = self.progress.add_task(stage, total=total)
            self.progress.start()

    def event(self, e: Event) -> None:
        if self.progress is not None:
            if e.stage in self.tasks:
                self.progress.update(self.tasks[e.stage], advance=1, description=f"{e.stage} {e.entity} {e.item}".rstrip())
            elif e.stage == "failed":
                self.progress.console.print(f"[red]failed[/] {e.entity} {e.item}: {e.message}", highlight=False)
            return
        if self.quiet or e.stage in ("extract", "test"):
            return
        rows = "" if e.rows is None else f"{e.rows:>10,} {'lines' if e.stage == 'reconcile' else 'rows'}"
        tail = f"  {e.message}" if e.message else ("" if e.outcome is None else f"  tests exit {e.outcome}")
        self.console.print(f"{e.stage:9} {e.entity:6} {e.item:7} {rows} {e.seconds:7.2f}s{tail}", highlight=False)

    def waiting(self, holder: Holder) -> None:
        self.console.print(f"waiting: run {holder.run_id} (pid {holder.pid} on {holder.host}, started {holder.acquired_at}) "
                           f"holds {', '.join(holder.entities)}", highlight=False)

    def note(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def entity_ids(options: list[str], arguments: list[str] | None) -> tuple[str, ...]:
    """``--entities A B``, ``--entities A --entities B`` and ``--entities A,B`` all mean A and B."""
    if arguments and not options:
        raise UsageError(f"unexpected argument '{arguments[0]}'; company ids go after --entities")
    ids = [x.strip() for raw in [*options, *(arguments or [])] for x in raw.split(",")]
    return tuple(dict.fromkeys(x for x in ids if x))


def register(app: typer.Typer) -> None:
    @app.command("close")
    def close_cmd(
        more: Optional[list[str]] = typer.Argument(None, metavar="[ID ...]", show_default=False,
                                                   help="More company ids for --entities."),
        period: Optional[str] = typer.Option(None, "--period", help="YYYY-MM, or 'latest' (default): the lake's latest month-end."),
        entities: list[str] = typer.Option([], "--entities", "--entity", help="Company ids (default: all in scope)."),
        lake: Optional[Path] = typer.Option(None, "--lake", help="Lake folder (embedded DuckDB); overrides the configuration."),
        binding: Optional[Path] = typer.Option(None, "--binding", help="Binding file instead of a lake folder."),
        pack: Optional[Path] = typer.Option(None, "--pack", help="Control pack folder."),
        parallelism: Optional[int] = typer.Option(None, "--parallelism", "-j", help="Entities closed at once."),
        resume: Optional[str] = typer.Option(None, "--resume", metavar="RUN_ID", help="Finish an interrupted run."),
        wait: bool = typer.Option(False, "--wait", help="Wait for a close that holds the period instead of refusing."),
        as_json: bool = typer.Option(False, "--json", help="Print the run summary as one JSON object (docs/close.md)."),
    ) -> None:
        """Close PERIOD: extraction, C&A tests and evidence for every item and entity, then
        reconciliation and reports; exit 0 clean, 1 error findings, 2 warnings only."""
        cfg = load_config().override(lake=lake, binding=binding, pack=pack, parallelism=parallelism)
        request = CloseRequest(period, entity_ids(entities, more), resume, wait)
        observer = Progressive(Console(stderr=True), as_json)
        try:
            summary = close(cfg, request, observer)
        finally:
            observer.stop()
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        elif summary:
            out = Console()
            render(out if out.is_terminal else Console(width=110), summary)
        raise typer.Exit(summary.get("exit_code", 0) if summary else 0)
