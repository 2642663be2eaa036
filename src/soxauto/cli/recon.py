"""``soxauto recon``: extract, test and reconcile every line of one period, per entity.

Exit codes (docs/recon.md): 0 every line RECONCILED without findings; 1 any line ERROR or
INVESTIGATE, or an error finding (such as a CR_03/CR_04 tie-out difference); 2 every line
RECONCILED but some carry warnings; 3 usage or configuration error; 4 engine error.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..catalog import load_catalog
from ..engines import connect
from ..errors import UsageError
from ..extract import resolve_period
from ..home import home
from ..lake.binding import lake_binding, load_binding
from ..lake.preflight import preflight, tables_read
from ..recon import Status, entities, load_pack, run_period
from ..recon.classify import UNCLASSIFIED, MovementResult
from ..recon.result import EntityResult, ReconResult, money
from ..recon.review import ReviewResult
from ..recon.tagging import TaggingResult
from ..validation.history import HistoryStore

STYLE = {Status.RECONCILED: "green", Status.INVESTIGATE: "yellow", Status.ERROR: "red"}
# Rows shown on the terminal (--json has them all): the movement table and the tagging summary
# are bounded by their rule files (categories x types, rules); the review lists grow with the data.
TABLE_CAP, LIST_CAP = 25, 10


def register(app: typer.Typer) -> None:
    @app.command("recon")
    def recon_cmd(
        period: str = typer.Option("latest", "--period", help="YYYY-MM, or 'latest' for the lake's latest month-end."),
        lake: Optional[Path] = typer.Option(None, "--lake", help="Lake folder (embedded DuckDB binding)."),
        binding: Optional[Path] = typer.Option(None, "--binding", help="Binding file instead of --lake."),
        entity: list[str] = typer.Option([], "--entity", help="Limit to these company ids (repeatable)."),
        pack: Optional[Path] = typer.Option(None, "--pack", help="Control pack folder."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object (shape in docs/recon.md)."),
        items: bool = typer.Option(False, "--items", help="With --json: every reconciling item of each bridge (state, "
                                   "cleared and open amounts, window end, age, disposition)."),
    ) -> None:
        """Reconcile GL to target values for every line and entity of PERIOD; exit 0 all reconciled,
        1 an ERROR or INVESTIGATE line (or an error finding), 2 reconciled with warnings only."""
        if (lake is None) == (binding is None):
            raise UsageError("give exactly one of --lake DIR or --binding FILE")
        catalog = load_catalog(pack)
        recon_pack = load_pack(pack, catalog)
        console = Console(stderr=True)
        started = time.perf_counter()
        bound = load_binding(binding) if binding else lake_binding(lake)
        checked = preflight(bound, tables_read([catalog.item(i) for i in recon_pack.items], catalog), "recon")
        if checked.skipped:
            console.print(str(checked), highlight=False)
        with connect(bound) as engine:
            p = resolve_period(engine, period)
            scope = entities(engine, entity)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, disable=as_json or not console.is_terminal) as progress:
                task = progress.add_task(f"reconciling {p}", total=3 * len(scope))

                def step(stage: str, company: str, seconds: float) -> None:
                    progress.update(task, advance=1, description=f"{stage} {company}")
                    if not console.is_terminal and not as_json:
                        console.print(f"{stage:9} {company:6} {seconds:6.2f}s", highlight=False)

                result = run_period(engine, catalog, p, scope, pack=recon_pack,
                                    history=HistoryStore(home() / "history.jsonl"), on_step=step)
        if as_json:
            typer.echo(json.dumps(result.to_dict(items=items), indent=2))
        else:
            out = Console()
            # a pipe or file gets the full width; a terminal wraps at its own
            render(out if out.is_terminal else Console(width=180), result, time.perf_counter() - started)
        raise typer.Exit(result.exit_code)


def render(console: Console, result: ReconResult, seconds: float | None = None) -> None:
    """One table per entity: a row per line, then a row per bridge of the line; after it the
    entity's voucher movements, collections tagging and review lists."""
    for ent in result.entities:
        rate = "no FX rate" if ent.fx.rate is None else f"{ent.fx.rate} {ent.currency}/USD"
        table = Table(title=f"{ent.company_id} {result.period} ({ent.currency}, {rate})", title_justify="left")
        for name in ("line / bridge", "items", "gl_amount", "tv_amount", "variance | bridge LCY", "USD",
                     "unresolved LCY", "unresolved USD", "bucket USD", "status", "reasons | nature, states"):
            table.add_column(name, justify="left" if name in ("line / bridge", "status", "reasons | nature, states") else "right",
                             no_wrap=name == "line / bridge", min_width=25 if name == "line / bridge" else None)
        for ln in ent.lines:
            table.add_row(ln.line, f"{ln.keys:,}", _amount(ln.gl_amount), _amount(ln.tv_amount), _amount(ln.variance_lcy),
                          _amount(ln.variance_usd), _amount(ln.unresolved_lcy), _amount(ln.unresolved_usd),
                          _amount(ln.thresholds.bucket.value) if ln.thresholds else "",
                          f"[{STYLE[ln.status]}]{ln.status.value}[/]",
                          ", ".join(ln.reasons) or (f"auto-certified: {ln.auto_certification}" if ln.auto_certification else ""),
                          style="bold")
            for b in ln.bridges:
                states = ", ".join(f"{n} {s}" for s in ("cleared", "pending", "uncleared")
                                   if (n := ln.count(bridge=b.id, state=s)))
                table.add_row(f"  {b.id}", f"{b.item_count:,}", "", "", _amount(b.amount_lcy), _amount(ln.usd(b.amount_lcy)),
                              "", "", "", "", b.nature + (f": {states}" if states else ""))
        console.print(table)
        render_analyses(console, ent)
    for ln in result.lines:
        for f in ln.findings:
            if f.code != "INPUT_TEST_WARNING":
                console.print(f"[{'red' if f.severity == 'error' else 'yellow'}]{ln.entity} {ln.line} {f.code}[/]: {f.message}")
    for r in result.control_reports:
        ln = r.line
        console.print(f"{r.id} {r.title}, {ln.entity}: GL {_amount(ln.gl_amount)} vs TV {_amount(ln.tv_amount)} "
                      f"{ln.currency}, unresolved {_amount(ln.unresolved_usd)} USD, {ln.status.value} ({ln.reason})", highlight=False)
    summary = ", ".join(f"{result.count(s)} {s.value}" for s in Status)
    console.print(summary + (f" in {seconds:.1f} s" if seconds is not None else ""))


def render_analyses(console: Console, ent: EntityResult) -> None:
    if ent.voucher_movements is not None:
        console.print(_movements(ent.voucher_movements))
    if ent.collections_tagging is not None:
        console.print(_tagging(ent.collections_tagging))
    if ent.review is not None:
        for shown in _review(ent.review):
            console.print(shown, highlight=False)


def _table(title: str, columns: tuple[str, ...], right: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left")
    return table


def _more(table: Table, total: int, cap: int) -> None:
    if total > cap:
        table.add_row(f"({total - cap:,} more)", style="dim")


def _movements(m: MovementResult) -> Table:
    t = m.movement
    table = _table(f"{t.company_id} voucher movements ({t.currency}, rules {m.rules_version})",
                   ("category", "voucher type", "count", "amount LCY"), ("count", "amount LCY"))
    table.add_row("Opening", "", "", _amount(t.opening.amount), style="bold")
    for r in t.rows[:TABLE_CAP]:
        table.add_row(r.category, r.voucher_type, f"{r.postings:,}", _amount(r.amount.amount),
                      style="red" if r.category == UNCLASSIFIED else None)
    _more(table, len(t.rows), TABLE_CAP)
    table.add_row("Closing", "", f"{sum(r.postings for r in t.rows):,}", _amount(t.closing.amount), style="bold")
    return table


def _tagging(t: TaggingResult) -> Table:
    table = _table(f"{t.company_id} collections open items by accounting rule ({t.currency}, rules {t.rules_version})",
                   ("rule", "accounting rule", "debit", "credit", "count", "amount LCY", "context"),
                   ("count", "amount LCY", "context"))
    for s in t.summary[:TABLE_CAP]:
        table.add_row(s.rule_id, s.accounting_rule, s.debit, s.credit, f"{s.count:,}", _amount(s.amount.amount),
                      f"{s.context_count:,}")
    _more(table, len(t.summary), TABLE_CAP)
    table.add_row("untagged", "", "", "", f"{t.untagged_count:,}", _amount(t.untagged_amount.amount), "",
                  style="red" if t.untagged_count else "dim")
    return table


def _review(r: ReviewResult) -> list[Table | str]:
    """Each list as a table, or one line when it is empty."""
    out: list[Table | str] = []
    customers = len(r.multi_group_customers)
    title = f"{r.company_id} customers with several posting groups: {customers:,}"
    rows = r.posting_groups.to_pylist()
    groups = _table(title, ("customer", "name", "posting group", "documents", "balance LCY"), ("documents", "balance LCY"))
    for g in rows[:LIST_CAP]:
        groups.add_row(g["customer_no"], g["customer_name"] or "", g["customer_posting_group"], f"{g['documents']:,}",
                       _amount(g["balance"]))
    _more(groups, len(rows), LIST_CAP)
    out.append(groups if rows else title)
    title = f"{r.company_id} proposed business-line reclasses: {len(r.reclasses):,}"
    reclass = _table(title, ("customer", "lines", "to line", "balance LCY", "moved LCY"), ("lines", "balance LCY", "moved LCY"))
    for rc in r.reclasses[:LIST_CAP]:
        # moves list the target first: what it receives from the customer's other lines
        reclass.add_row(rc.customer_no, f"{len(rc.moves)}", rc.target or "(none)", _amount(rc.balance.amount),
                        _amount(rc.moves[0].amount.amount))
    _more(reclass, len(r.reclasses), LIST_CAP)
    out.append(reclass if r.reclasses else title)
    return out


def _amount(value) -> str:
    return "n/a" if money(value) is None else f"{value:,.2f}"
