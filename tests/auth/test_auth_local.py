"""Local users and API tokens: secrets hashed at rest (the database files do not contain them),
a revoked token is refused at once, also by a process that verified it before, passwords and
roles checked, and every change in the audit log without the secret. Dashboard sessions: the
user's roles read at each use, ended by logout, expiry, a change of roles or password and the
user's removal (which takes the API tokens with it); a principal without a role may do nothing."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from soxauto.auth import AuthError, Forbidden, LocalUsers, Principal, require
from soxauto.auth.local import auth_sessions, auth_users
from soxauto.cli import run
from soxauto.close import audit
from soxauto.close.store import RunStore
from soxauto.errors import UsageError

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # the real defaults are tested once, below


@pytest.fixture
def store(tmp_path):
    runs = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    yield runs
    runs.close()


def database_bytes(folder: Path) -> bytes:
    """Every byte SQLite keeps for the run store: the file, its WAL and shared memory."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob("runs.sqlite*")))


def test_tokens_and_passwords_are_stored_only_as_argon2_hashes(store, tmp_path):
    users = LocalUsers(store)  # default argon2 parameters
    users.add("erin", ["reviewer"], password="correct horse battery staple")
    token = users.issue_token("erin", "laptop")
    assert token.startswith("sxa_") and len(token) > 50
    assert users.verify_token(token) == Principal("erin", frozenset({"reviewer"}), "token")
    assert users.verify_password("erin", "correct horse battery staple") == Principal("erin", frozenset({"reviewer"}), "password")
    secret = token.split("_", 2)[2]
    raw = database_bytes(tmp_path)
    assert b"correct horse battery staple" not in raw and secret.encode() not in raw and token.encode() not in raw
    con = sqlite3.connect(tmp_path / "runs.sqlite")
    (token_hash,), = con.execute("SELECT token_hash FROM auth_tokens").fetchall()
    (password_hash,), = con.execute("SELECT password_hash FROM auth_users").fetchall()
    con.close()
    assert token_hash.startswith("$argon2id$") and password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(token_hash, token) and PasswordHasher().verify(password_hash, "correct horse battery staple")


def test_a_revoked_token_is_refused_even_by_a_process_that_verified_it(store):
    server = LocalUsers(store, hasher=FAST)
    server.add("finn", ["preparer", "auditor"])
    first, second = server.issue_token("finn", "ci"), server.issue_token("finn", "laptop")
    assert server.verify_token(first).roles == frozenset({"preparer", "auditor"})  # now remembered by this process
    token_id = first.split("_")[1]
    cli = LocalUsers(store, actor="admin-ann", hasher=FAST)  # another process: the CLI
    assert cli.revoke_token(token_id) == {"id": token_id, "user": "finn", "label": "ci"}
    with pytest.raises(AuthError, match=f"API token {token_id} was revoked at 20"):
        server.verify_token(first)
    assert server.verify_token(second).name == "finn"
    tokens = {t["label"]: t for t in cli.user("finn")["tokens"]}
    assert tokens["ci"]["revoked_at"] is not None and tokens["laptop"]["revoked_at"] is None


def test_a_forged_or_altered_token_is_refused(store):
    users = LocalUsers(store, hasher=FAST)
    users.add("gus", ["admin"])
    token = users.issue_token("gus")
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(AuthError, match="^unknown API token$"):
        users.verify_token(altered)
    with pytest.raises(AuthError, match="^unknown API token$"):
        users.verify_token("sxa_0123456789ab_" + "x" * 43)
    with pytest.raises(AuthError, match="not a SOXauto API token"):
        users.verify_token("Bearer nonsense")


def test_passwords(store):
    users = LocalUsers(store, hasher=FAST)
    users.add("hana", ["preparer"])
    with pytest.raises(AuthError, match="^unknown user or wrong password$"):
        users.verify_password("hana", "anything")  # no password set: tokens only
    users.set_password("hana", "s3cret-enough")
    assert users.verify_password("hana", "s3cret-enough").source == "password"
    for name, pw in (("hana", "s3cret-enougH"), ("nobody", "s3cret-enough")):
        with pytest.raises(AuthError, match="^unknown user or wrong password$"):
            users.verify_password(name, pw)


def test_roles_and_names_are_checked(store):
    users = LocalUsers(store, hasher=FAST)
    with pytest.raises(UsageError, match="unknown role 'reviwer'; did you mean 'reviewer'"):
        users.add("ivan", ["reviwer"])
    with pytest.raises(UsageError, match="user name 'ivan smith'"):
        users.add("ivan smith", ["reviewer"])
    users.add("ivan", ["Reviewer"])
    with pytest.raises(UsageError, match="user 'ivan' already exists"):
        users.add("ivan", ["admin"])
    with pytest.raises(UsageError, match="no local user 'ivna'; did you mean 'ivan'"):
        users.issue_token("ivna")
    assert users.set_roles("ivan", ["auditor", "preparer"])["roles"] == ["auditor", "preparer"]


def test_roles_admin_holds_every_role_and_require_refuses_the_others():
    admin = Principal("root", frozenset({"admin"}), "token")
    auditor = Principal("ada", frozenset({"auditor"}), "oidc")
    assert all(admin.has(r) for r in ("preparer", "reviewer", "auditor", "admin"))
    require(admin, "reviewer")
    require(auditor, "auditor", "reviewer")
    with pytest.raises(Forbidden, match=r"^ada \(auditor\) may not do this: it needs the role preparer or reviewer$"):
        require(auditor, "preparer", "reviewer")
    with pytest.raises(AuthError, match="not signed in"):
        require(None, "auditor")


def test_changes_are_audited_without_secrets(store):
    users = LocalUsers(store, actor="admin-ann", hasher=FAST)
    users.add("jo", ["preparer"], password="pw-of-jo")
    token = users.issue_token("jo", "ci")
    users.revoke_token(token)  # by the token itself
    entries = audit.entries(store.engine)
    assert [(e.user, e.action) for e in entries] == [("admin-ann", "user.add"), ("admin-ann", "token.issue"),
                                                     ("admin-ann", "token.revoke")]
    assert entries[0].detail == {"name": "jo", "roles": ["preparer"], "password": True}
    assert entries[1].detail == {"name": "jo", "token_id": token.split("_")[1], "label": "ci"}
    text = json.dumps([e.detail for e in entries])
    assert "pw-of-jo" not in text and token not in text
    assert audit.verify(store.engine) == []


def test_cli_users_add_token_list_revoke(isolated_home, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("kim-password\n"))
    assert run(["users", "add", "kim", "--role", "reviewer", "--role", "auditor", "--password-stdin"]) == 0
    assert capsys.readouterr().out == "added kim (auditor, reviewer) with a password\n"
    assert run(["users", "token", "kim", "--label", "dashboard"]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("sxa_") and "not shown again" in out.err
    assert run(["users", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["users"]
    assert [(u["name"], u["roles"], u["password"], [t["label"] for t in u["tokens"]]) for u in listed] == \
        [("kim", ["auditor", "reviewer"], True, ["dashboard"])]
    token_id = listed[0]["tokens"][0]["id"]
    assert token not in json.dumps(listed)
    assert run(["users", "revoke", token_id]) == 0
    assert capsys.readouterr().out == f"revoked token {token_id} (dashboard) of kim\n"
    runs = RunStore(f"sqlite:///{isolated_home / 'runs.sqlite'}")
    with pytest.raises(AuthError, match="was revoked"):
        LocalUsers(runs, hasher=FAST).verify_token(token)
    assert LocalUsers(runs, hasher=FAST).verify_password("kim", "kim-password").name == "kim"
    runs.close()
    assert run(["users", "add", "lee", "--role", "boss"]) == 3
    assert "unknown role 'boss'" in capsys.readouterr().err


def test_a_principal_without_a_role_is_refused_everything():
    olga = Principal("olga@example.test", frozenset(), "oidc")
    with pytest.raises(Forbidden, match=r"^olga@example.test holds no SOXauto role and may not do anything here; "
                                        r"the token's role claim names none of preparer, reviewer, auditor, admin"):
        require(olga)
    with pytest.raises(Forbidden, match=r"^nora holds no SOXauto role .*'soxauto users roles nora --role auditor'$"):
        require(Principal("nora", frozenset(), "token"), "auditor")
    require(Principal("ada", frozenset({"auditor"}), "oidc"))  # any role will do


class Clock:
    def __init__(self, start: datetime):
        self.at = start

    def __call__(self) -> datetime:
        return self.at


def test_a_session_reads_the_users_roles_now_and_ends_at_logout_or_expiry(store):
    clock = Clock(datetime(2025, 10, 6, 9, 0, tzinfo=timezone.utc))
    users = LocalUsers(store, hasher=FAST, session_hours=8, clock=clock)
    users.add("mia", ["reviewer"], password="pw-mia")
    key = users.start_session("mia")
    assert users.session(key) == Principal("mia", frozenset({"reviewer"}), "password")
    with store.engine.begin() as con:  # a change written beside LocalUsers: nothing ends the session
        con.execute(update(auth_users).where(auth_users.c.name == "mia").values(roles='["preparer"]'))
    assert users.session(key).roles == frozenset({"preparer"})
    with store.engine.connect() as con:
        (stored,), = con.execute(select(auth_sessions.c.id)).all()
    assert key not in stored and stored == hashlib.sha256(key.encode()).hexdigest()
    users.end_session(key)
    with pytest.raises(AuthError, match="^this session has ended"):
        users.session(key)
    later = users.start_session("mia")
    clock.at += timedelta(hours=8)
    with pytest.raises(AuthError, match="^this session expired at 2025-10-06T17:00:00.000000Z; log in again$"):
        users.session(later)
    users.start_session("mia")  # clears out the expired one
    with store.engine.connect() as con:
        assert con.execute(select(auth_sessions.c.expires_at)).scalars().all() == ["2025-10-07T01:00:00.000000Z"]
    for nothing in ("", None, "made-up"):
        with pytest.raises(AuthError):
            users.session(nothing)


def test_a_change_of_roles_or_password_or_a_removal_ends_that_users_sessions_and_says_so(store):
    users = LocalUsers(store, actor="admin-ann", hasher=FAST)
    users.add("noa", ["admin"], password="pw-noa")
    users.add("ola", ["auditor"], password="pw-ola")
    token = users.issue_token("noa", "ci")
    assert users.verify_token(token).name == "noa"
    noa, ola = users.start_session("noa"), users.start_session("ola")
    assert users.set_roles("noa", ["auditor"])["sessions_ended"] == 1
    with pytest.raises(AuthError, match="has ended"):
        users.session(noa)
    assert users.session(ola).name == "ola"
    noa = [users.start_session("noa"), users.start_session("noa")]
    assert users.set_password("noa", "new-pw") == 2
    assert users.set_password("noa", "newer-pw") == 0
    noa = users.start_session("noa")
    token_id = token.split("_")[1]
    assert users.remove("noa") == {"name": "noa", "tokens": [token_id], "sessions_ended": 1}
    with pytest.raises(AuthError, match="^unknown API token$"):
        users.verify_token(token)
    with pytest.raises(AuthError, match="has ended"):
        users.session(noa)
    with pytest.raises(AuthError, match="not a local user"):
        users.principal("noa")
    users.add("noa", ["admin"])  # the same name again is a new user: nothing of the old one comes back
    with pytest.raises(AuthError, match="^unknown API token$"):
        users.verify_token(token)
    with pytest.raises(UsageError, match="no local user 'nao'; did you mean 'noa'"):
        users.remove("nao")
    assert users.session(ola).name == "ola"
    details = [(e.action, e.detail) for e in audit.entries(store.engine) if e.action.startswith("user.")][2:]
    assert details == [
        ("user.roles", {"name": "noa", "roles": ["auditor"], "sessions_ended": 1}),
        ("user.password", {"name": "noa", "sessions_ended": 2}),
        ("user.password", {"name": "noa", "sessions_ended": 0}),
        ("user.remove", {"name": "noa", "tokens": [token_id], "sessions_ended": 1}),
        ("user.add", {"name": "noa", "roles": ["admin"], "password": False}),
    ]
    assert audit.verify(store.engine) == []


def test_cli_users_roles_password_and_remove_end_sessions(isolated_home, capsys, monkeypatch):
    assert run(["users", "add", "kai", "--role", "admin"]) == 0
    assert run(["users", "token", "kai"]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    runs = RunStore(f"sqlite:///{isolated_home / 'runs.sqlite'}")
    service = LocalUsers(runs, hasher=FAST)  # a running service: it has verified the token
    assert service.verify_token(token).name == "kai"
    service.start_session("kai")
    assert run(["users", "roles", "kai", "--role", "auditor"]) == 0
    assert capsys.readouterr().out == "kai: auditor; 1 dashboard session ended\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("kai-password\n"))
    assert run(["users", "password", "kai", "--password-stdin"]) == 0
    assert capsys.readouterr().out == "password of kai set\n"
    service.start_session("kai"), service.start_session("kai")
    assert run(["users", "remove", "kai"]) == 0
    assert capsys.readouterr().out == "removed kai and 1 API token; 2 dashboard sessions ended\n"
    with pytest.raises(AuthError, match="^unknown API token$"):
        service.verify_token(token)
    runs.close()
    assert run(["users", "remove", "kai"]) == 3
    assert "no local user 'kai'" in capsys.readouterr().err
