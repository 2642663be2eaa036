"""``soxauto users``: local users, their roles, passwords and API tokens (docs/auth.md).

Passwords are read from standard input (``--password-stdin``), never from an argument that
would show in the process list and shell history. A token is printed once, when issued. A change
of roles or password, or a removal, ends the user's dashboard sessions at once (a running service
included): they log in again."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Iterator

import typer

from ..errors import UsageError

app = typer.Typer(no_args_is_help=True, help="Local users, roles and API tokens (stored argon2-hashed).")


@contextmanager
def local_users() -> Iterator:
    from ..auth import LocalUsers
    from ..close.store import RunStore
    from ..config import load_config

    cfg = load_config()
    runs = RunStore(cfg.run_store)
    try:
        yield LocalUsers(runs, actor=cfg.user)
    finally:
        runs.close()


def read_password() -> str:
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if not password:
        raise UsageError("--password-stdin: standard input held no password (give it on the first line)")
    return password


@app.command("add")
def add_cmd(name: str = typer.Argument(..., help="User name (as the sign-off history will show it)."),
            role: list[str] = typer.Option(..., "--role", help="preparer, reviewer, auditor or admin; repeat for more."),
            password_stdin: bool = typer.Option(False, "--password-stdin",
                                                help="Read a password for the dashboard from standard input.")) -> None:
    """Add a user with one or more roles."""
    password = read_password() if password_stdin else None
    with local_users() as users:
        user = users.add(name, role, password=password)
    typer.echo(f"added {user['name']} ({', '.join(user['roles'])}){'' if password is None else ' with a password'}")


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
    """Every user with roles and API tokens (ids and labels; tokens themselves are never shown)."""
    with local_users() as users:
        people = users.list()
    if as_json:
        typer.echo(json.dumps({"users": people}, indent=2))
        return
    if not people:
        typer.echo("no local users; add one with 'soxauto users add NAME --role admin'")
    for u in people:
        live = [t for t in u["tokens"] if t["revoked_at"] is None]
        typer.echo(f"{u['name']:<24} {','.join(u['roles']):<30} password {'yes' if u['password'] else 'no ':<4} "
                   f"tokens {len(live)} active, {len(u['tokens']) - len(live)} revoked")
        for t in u["tokens"]:
            state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "active"
            typer.echo(f"    token {t['id']}  {t['label']:<20} issued {t['created_at']}  {state}")


@app.command("token")
def token_cmd(name: str = typer.Argument(..., help="The user the token acts as."),
              label: str = typer.Option("", "--label", help="What the token is for (shown in listings).")) -> None:
    """Issue an API token and print it once: it is stored only as a hash."""
    with local_users() as users:
        token = users.issue_token(name, label)
    typer.echo(token)
    typer.echo("store this token now: it is not shown again ('soxauto users revoke ID' revokes it)", err=True)


@app.command("revoke")
def revoke_cmd(token_id: str = typer.Argument(..., help="The token's id from 'soxauto users list' (or the token).")) -> None:
    """Revoke an API token; requests with it are refused from now on."""
    with local_users() as users:
        done = users.revoke_token(token_id)
    typer.echo(f"revoked token {done['id']} ({done['label']}) of {done['user']}")


@app.command("password")
def password_cmd(name: str = typer.Argument(..., help="The user."),
                 password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin.")) -> None:
    """Set a user's dashboard password (read from standard input)."""
    if not password_stdin:
        raise UsageError("give --password-stdin and the password on standard input")
    password = read_password()
    with local_users() as users:
        ended = users.set_password(name, password)
    typer.echo(f"password of {name} set{_ended(ended)}")


@app.command("roles")
def roles_cmd(name: str = typer.Argument(..., help="The user."),
              role: list[str] = typer.Option(..., "--role", help="The user's roles from now on; repeat for more.")) -> None:
    """Replace a user's roles; their dashboard sessions end."""
    with local_users() as users:
        user = users.set_roles(name, role)
    typer.echo(f"{user['name']}: {', '.join(user['roles'])}{_ended(user['sessions_ended'])}")


@app.command("remove")
def remove_cmd(name: str = typer.Argument(..., help="The user.")) -> None:
    """Remove a user: their API tokens stop working and their dashboard sessions end, at once."""
    with local_users() as users:
        done = users.remove(name)
    tokens = len(done["tokens"])
    typer.echo(f"removed {name} and {tokens} API token{'' if tokens == 1 else 's'}{_ended(done['sessions_ended'])}")


def _ended(sessions: int) -> str:
    if not sessions:
        return ""
    return f"; {sessions} dashboard session{'' if sessions == 1 else 's'} ended"


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="users", help="Local users, roles and API tokens.")
