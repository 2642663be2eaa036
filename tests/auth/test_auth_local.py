"""Local users and API tokens: secrets hashed at rest (the database files do not contain them),
a revoked token is refused at once, also by a process that verified it before, passwords and
roles checked, and every change in the audit log without the secret."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from soxauto.auth import AuthError, Forbidden, LocalUsers, Principal, require
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
