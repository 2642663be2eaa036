"""``soxauto disposition``: explain, adjust or withdraw on an open reconciling item; list them.

The acting user is ``--user`` or the configured ``user``, with the roles of the local user of
that name (``soxauto users``), as for ``soxauto signoff``. A disposition is recorded on an item
of the period's latest completed close and takes effect at once: the line's result is revised
(its new figures and status are printed). Refusals exit 3 and are in the audit log: a user who
is not a preparer, a locked period, a line in ERROR, an item that does not exist or is not
open, a missing reason or journal, an adjustment amount other than the open amount, an
attachment that is not a regular file or is larger than ``attachment_max_bytes``.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer

app = typer.Typer(no_args_is_help=True, help="Record dispositions on open reconciling items (docs/recon.md).")

USER = typer.Option(None, "--user", help="Who acts (default: the configured user); must be a local user.")
PERIOD = typer.Argument(..., help="Period YYYY-MM.")
ENTITY = typer.Argument(..., help="Company id, e.g. EC_NG.")
LINE = typer.Argument(..., help="Reconciliation line, e.g. PACKAGES.")
KEY = typer.Argument(..., help="The item's key, as the proof items list it.")
BRIDGE = typer.Option(..., "--bridge", help="The item's bridge (UNEXPLAINED for a key no rule claims).")


@contextmanager
def session(user: Optional[str]) -> Iterator[tuple]:
    """(config, RunStore, Principal, locked) for the acting user; ``locked(period)`` reads the sign-off."""
    from .signoff import acting

    with acting(user) as (cfg, runs, signoffs, principal):
        yield cfg, runs, principal, _Locked(signoffs)


class _Locked:
    """``locked(period)`` as the sign-off reads it; also suspends the sign-off a revision moved."""

    def __init__(self, signoffs):
        self.signoffs = signoffs

    def __call__(self, period) -> bool:
        return self.signoffs.locked(str(period)) is not None

    def revised(self, user: str, done: dict) -> None:
        event = self.signoffs.after_revision(user, done)
        if event:
            typer.echo(f"sign-off of {done['line']['entity']} {done['line']['line']} suspended: {event.get('comment', '')}")


def _record(user: Optional[str], spec) -> None:
    from ..close.dispositions import record

    with session(user) as (cfg, runs, who, locked):
        done = record(runs, who, spec, locked=locked, reports=Path(cfg.reports), attachment_dir=cfg.home / "attachments",
                      max_bytes=cfg.attachment_max_bytes)
        locked.revised(who.name, done)
    _said(done, "recorded")


def _said(done: dict, verb: str) -> None:
    d, ln = done["disposition"], done["line"]
    typer.echo(f"{verb} {d['kind']} {d['id']} on {d['period']} {d['entity']} {d['line']} {d['key']} ({d['bridge']}) "
               f"for {d['open_lcy']} by {d['recorded_by']}; sha256 {d['sha256']}")
    for a in d["attachments"]:
        typer.echo(f"  attached {a['name']} ({a['size']} bytes, sha256 {a['sha256']})")
    reasons = ", ".join(ln.get("reasons") or []) or ln.get("auto_certification") or ""
    typer.echo(f"{d['line']} revision {done['revision']} of run {done['run_id']}: {ln['status']}"
               f"{' (' + reasons + ')' if reasons else ''}, unresolved {ln['unresolved_lcy']} {ln.get('currency', '')}".rstrip()
               + f", resolved {ln['resolved_lcy']}")


@app.command("explain")
def explain_cmd(period: str = PERIOD, entity: str = ENTITY, line: str = LINE, key: str = KEY, bridge: str = BRIDGE,
                reason: str = typer.Option(..., "--reason", help="What supports the item (required)."),
                attach: list[Path] = typer.Option([], "--attach", help="A supporting file (repeatable): stored by its "
                                                  "SHA-256; its name is kept for display only."),
                user: Optional[str] = USER) -> None:
    """Explain an open item (preparer): a reason and optional attachments."""
    from ..close.dispositions import DispositionSpec

    _record(user, DispositionSpec(period, entity, line, key, bridge, "explained", reason, attachments=tuple(attach)))


@app.command("adjust")
def adjust_cmd(period: str = PERIOD, entity: str = ENTITY, line: str = LINE, key: str = KEY, bridge: str = BRIDGE,
               debit: str = typer.Option(..., "--debit", help="Account debited."),
               credit: str = typer.Option(..., "--credit", help="Account credited."),
               description: str = typer.Option(..., "--description", help="The journal entry's description."),
               amount: Optional[str] = typer.Option(None, "--amount", help="The entry's amount; it must be the item's "
                                                    "open amount (the default)."),
               reason: str = typer.Option("", "--reason", help="Why (optional)."),
               attach: list[Path] = typer.Option([], "--attach", help="A supporting file (repeatable), as for explain."),
               user: Optional[str] = USER) -> None:
    """Propose a journal entry that books an open item (preparer); its amount is the open amount."""
    from ..close.dispositions import DispositionSpec

    journal = {"debit": debit, "credit": credit, "description": description}
    _record(user, DispositionSpec(period, entity, line, key, bridge, "adjust", reason, journal, amount, tuple(attach)))


@app.command("withdraw")
def withdraw_cmd(period: str = PERIOD, entity: str = ENTITY, line: str = LINE, key: str = KEY, bridge: str = BRIDGE,
                 reason: str = typer.Option(..., "--reason", help="Why it no longer stands (required)."),
                 user: Optional[str] = USER) -> None:
    """Withdraw the disposition in force on an item (preparer); the line is revised at once."""
    from ..close.dispositions import withdraw

    with session(user) as (cfg, runs, who, locked):
        done = withdraw(runs, who, period, entity, line, key, bridge, reason, locked=locked, reports=Path(cfg.reports))
        locked.revised(who.name, done)
    _said(done, "withdrew")


@app.command("list")
def list_cmd(period: str = PERIOD, entity: Optional[str] = typer.Argument(None, help="Only this company id."),
             line: Optional[str] = typer.Argument(None, help="Only this line (with ENTITY)."),
             as_json: bool = typer.Option(False, "--json", help="Print one JSON document."), user: Optional[str] = USER) -> None:
    """Every disposition of the period in the order recorded: in force, superseded or withdrawn, and
    whether one in force applies in the period's latest completed close."""
    from ..auth import ROLES, require
    from ..close.dispositions import history
    from ..period import Period

    with session(user) as (cfg, runs, who, _):
        require(who, *ROLES)
        rows = history(runs, period, entity, line, reports=Path(cfg.reports))
    if as_json:
        typer.echo(json.dumps({"period": str(Period.parse(period)), "dispositions": rows}, indent=2))
        return
    if not rows:
        typer.echo(f"{period}: no dispositions" + (f" for {entity}" if entity else "") + (f" {line}" if line else ""))
    for r in rows:
        state = r["state"] + ("" if r["state"] != "in force" or r.get("applies", True) else ", not applying")
        what = r["reason"] if r["kind"] == "explained" else (
            f"Dr {r['journal']['debit']} Cr {r['journal']['credit']} {r['journal']['amount_lcy']}: {r['journal']['description']}")
        typer.echo(f"{r['id']}  {r['entity']:<7} {r['line']:<13} {r['key']:<16} {r['bridge']:<18} {r['kind']:<9} "
                   f"{r['open_lcy']:>14}  {r['recorded_by']:<10} {r['recorded_at']}  [{state}]  {what}".rstrip())
        for a in r["attachments"]:
            typer.echo(f"        attached {a['name']} ({a['size']} bytes, sha256 {a['sha256']})")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="disposition", help="Record dispositions on open reconciling items (docs/recon.md).")
