"""``soxauto signoff``: prepare, approve (one line, or every prepared RECONCILED line of an entity),
reject, status, history and unlock (docs/signoff.md).

The acting user is ``--user`` or the configured ``user``; their roles are those of the local
user of that name (``soxauto users``). Refusals exit 3 and are written to the audit log: a role
that may not act, a preparer approving their own line, an action the line's state or status does
not allow (a line in ERROR; an INVESTIGATE line without a comment), a locked period."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Iterator, Optional

import typer

app = typer.Typer(no_args_is_help=True, help="Sign off reconciliation lines; lock and unlock periods.")

USER = typer.Option(None, "--user", help="Who acts (default: the configured user); must be a local user.")
ENTITY = typer.Argument(..., help="Company id, e.g. EC_NG.")
LINE = typer.Argument(..., help="Reconciliation line, e.g. VOUCHERS.")
PERIOD = typer.Argument(..., help="Period YYYY-MM.")


@contextmanager
def acting(user: Optional[str]) -> Iterator[tuple]:
    """(config, RunStore, SignOffs, Principal) for the acting user, the store closed after."""
    from ..auth import LocalUsers
    from ..close.store import RunStore
    from ..config import load_config
    from ..signoff import SignOffs

    cfg = load_config()
    runs = RunStore(cfg.run_store)
    try:
        principal = LocalUsers(runs, actor=user or cfg.user).principal(user or cfg.user)
        yield cfg, runs, SignOffs(runs), principal
    finally:
        runs.close()


@contextmanager
def session(user: Optional[str]) -> Iterator[tuple]:
    """(SignOffs, Principal) for the acting user."""
    with acting(user) as (_, _, signoffs, principal):
        yield signoffs, principal


def _said(event: dict) -> str:
    where = " ".join(x for x in (event["period"], event["entity"], event["line"]) if x)
    return f"{event['action']} {where} by {event['user']} at {event['at']}"


@app.command("prepare")
def prepare_cmd(period: str = PERIOD, entity: str = ENTITY, line: str = LINE,
                comment: str = typer.Option("", "--comment", help="What the preparer checked."), user: Optional[str] = USER) -> None:
    """Prepare a line (preparer role): records who, when and the evidence it relies on."""
    with session(user) as (signoffs, who):
        event = signoffs.prepare(who, period, entity, line, comment)
    typer.echo(_said(event) + f" on run {event['run_id']} ({len(event['evidence'])} evidence packages)")


@app.command("approve")
def approve_cmd(period: str = PERIOD, entity: str = ENTITY,
                line: Optional[str] = typer.Argument(None, help="Reconciliation line; omit it with --all-reconciled."),
                comment: str = typer.Option("", "--comment", help="The reviewer's comment (required for an INVESTIGATE line)."),
                all_reconciled: bool = typer.Option(False, "--all-reconciled",
                                                    help="Approve every prepared RECONCILED line of the entity, one event each."),
                user: Optional[str] = USER) -> None:
    """Approve a prepared line (reviewer role, never its preparer); an INVESTIGATE line needs a
    comment and is approved with exception. With --all-reconciled, every prepared RECONCILED line
    of ENTITY; the lines left out are listed with the reason."""
    from ..errors import UsageError

    if all_reconciled == (line is not None):
        raise UsageError("give either a LINE or --all-reconciled (every prepared RECONCILED line of the entity), not both"
                         if all_reconciled else "give the LINE to approve, or --all-reconciled")
    locked = "; every line is approved: the period is locked"
    with session(user) as (signoffs, who):
        if all_reconciled:
            done = signoffs.approve_reconciled(who, period, entity, comment)
        else:
            event = signoffs.approve(who, period, entity, line, comment)
    if not all_reconciled:
        exception = event.get("exception")
        typer.echo(_said(event) + (f" with exception, accepting {_accepted(exception)}" if exception else "")
                   + (locked if event.get("period_locked") else ""))
        return
    total = len(done["approved"]) + len(done["skipped"])
    typer.echo(f"approved {len(done['approved'])} of {total} lines of {done['period']} {done['entity']} by {done['user']}, "
               f"skipped {len(done['skipped'])}" + (locked if done["period_locked"] else ""))
    for name in done["approved"]:
        typer.echo(f"  approved {name}")
    for s in done["skipped"]:
        typer.echo(f"  skipped  {s['line']}: {s['why']}")


def _accepted(exception: dict) -> str:
    from ..signoff.gate import items_text

    items = exception["open_items"]
    return f"{len(items)} open item{'' if len(items) == 1 else 's'} ({items_text(items, exception.get('currency'))})"


@app.command("reject")
def reject_cmd(period: str = PERIOD, entity: str = ENTITY, line: str = LINE,
               comment: str = typer.Option(..., "--comment", help="What must be fixed (required)."),
               user: Optional[str] = USER) -> None:
    """Reject a prepared line with a comment (reviewer role, never its preparer)."""
    with session(user) as (signoffs, who):
        event = signoffs.reject(who, period, entity, line, comment)
    typer.echo(_said(event))


@app.command("unlock")
def unlock_cmd(period: str = PERIOD, reason: str = typer.Option(..., "--reason", help="Why the period is closed again."),
               user: Optional[str] = USER) -> None:
    """Unlock an approved period so it can be closed again (admin role; the reason is recorded)."""
    with session(user) as (signoffs, who):
        event = signoffs.unlock(who, period, reason)
    typer.echo(_said(event) + f": {event['comment']}")


@app.command("status")
def status_cmd(period: str = PERIOD, entity: Optional[str] = typer.Option(None, "--entity", help="Only this entity."),
               as_json: bool = typer.Option(False, "--json", help="Print one JSON document."), user: Optional[str] = USER) -> None:
    """The sign-off state of every line × entity of the period's latest completed close."""
    from ..auth import ROLES, require

    with session(user) as (signoffs, who):
        require(who, *ROLES)
        rows, lock = signoffs.current(period, entity), signoffs.locked(period)
    if as_json:
        typer.echo(json.dumps({"period": period, "locked": lock, "lines": rows}, indent=2))
        return
    if not rows:
        typer.echo(f"{period}: no completed close; nothing to sign off")
    for r in rows:
        typer.echo(f"{r['entity']:<7} {r['line']:<13} {r['state']:<10} prepared {r['prepared_by'] or '-':<12} "
                   f"reviewed {r['reviewed_by'] or '-':<12} {r['comment']}".rstrip())
        if r["cause"]:
            typer.echo(f"        ERROR: {r['cause']}: it can be neither prepared nor approved")
        if r["exception"]:
            typer.echo(f"        approved with exception: {r['exception']['line_status']} "
                       f"({', '.join(r['exception']['reasons'])}), accepting {_accepted(r['exception'])}")
    typer.echo(f"{period} locked since {lock['locked_at']} (approved by {', '.join(lock['approvers'])})" if lock
               else f"{period} not locked")


@app.command("history")
def history_cmd(period: str = PERIOD, entity: Optional[str] = typer.Option(None, "--entity", help="Only this entity."),
                line: Optional[str] = typer.Option(None, "--line", help="Only this line."),
                as_json: bool = typer.Option(False, "--json", help="Print one JSON document."), user: Optional[str] = USER) -> None:
    """Every sign-off event of the period in order, with the evidence each relied on."""
    from ..auth import ROLES, require

    with session(user) as (signoffs, who):
        require(who, *ROLES)
        events = signoffs.history(period, entity, line)
    if as_json:
        typer.echo(json.dumps({"period": period, "events": events}, indent=2))
        return
    for e in events:
        action = "approve_with_exception" if e["exception"] else e["action"]
        typer.echo(f"{e['seq']:>5} {e['at']}  {action:<8} {e['entity'] or '':<7} {e['line'] or '':<13} "
                   f"{e['user']:<12} {e['comment']}".rstrip())


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="signoff", help="Sign off reconciliation lines; lock and unlock periods.")
