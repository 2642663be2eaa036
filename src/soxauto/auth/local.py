"""Local users for a single team: names, roles, an optional password and API tokens.

Secrets are stored only as argon2id hashes (argon2-cffi): a copy of the database gives neither
the passwords nor the tokens. A token is ``sxa_<id>_<secret>``: the 12-hex ``id`` is not
secret (it names the token in listings, the audit log and ``users revoke``), and only the
whole string verifies against its hash. The tables live in the run store's database, beside
the runs they authorise, with their own metadata so the run store's schema stays untouched.

Argon2 is slow on purpose (tens of milliseconds). A service verifies the same token on every
request, so a token that verified once is remembered in memory by its SHA-256; the database
row is still read on every call, so a revocation takes effect at once, in every process.

A dashboard session is a row too (``auth_sessions``): the cookie carries a random key, the
table its SHA-256, the user and an expiry. Every request reads the row joined to the user, so
the roles are the user's roles now, not those at login, and a session ends for good when its
row goes: at logout, and for all of a user's sessions when their roles or password change or
the user is removed (a cookie copied before that opens nothing afterwards).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from datetime import datetime, timedelta
from typing import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Column, ForeignKey, MetaData, String, Table, Text, delete, insert, select, update

from ..close import audit
from ..close.store import RunStore
from ..errors import UsageError, did_you_mean
from ..evidence.canonical import utc_now, utc_text
from .principal import AuthError, Principal, check_roles

auth_metadata = MetaData()

auth_users = Table(
    "auth_users", auth_metadata,
    Column("name", String(200), primary_key=True),
    Column("roles", Text, nullable=False),  # JSON list, sorted
    Column("password_hash", Text),  # argon2id; NULL: this user signs in with tokens only
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
auth_tokens = Table(
    "auth_tokens", auth_metadata,
    Column("id", String(32), primary_key=True),
    Column("user", String(200), ForeignKey("auth_users.name"), nullable=False, index=True),
    Column("label", String(200), nullable=False),
    Column("token_hash", Text, nullable=False),  # argon2id of the whole token
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Column("revoked_by", String(200)),
)
auth_sessions = Table(
    "auth_sessions", auth_metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the key the cookie carries, never the key
    Column("user", String(200), nullable=False, index=True),  # no foreign key: removing a user deletes these rows
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
)

PREFIX = "sxa_"
_TOKEN = re.compile(r"^sxa_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$")


class LocalUsers:
    def __init__(self, runs: RunStore, actor: str = "soxauto", hasher: PasswordHasher | None = None, *,
                 session_hours: float = 8, clock: Callable[[], datetime] = utc_now):
        self.runs = runs
        self.actor = actor  # who is making changes, for the audit log (the CLI's configured user)
        self.hasher = hasher or PasswordHasher()
        self.session_length = timedelta(hours=session_hours)
        self._clock = clock
        self._verified: dict[str, str] = {}  # token id -> sha256 of the token that verified
        self._guard = threading.Lock()
        self._decoy: str | None = None
        auth_metadata.create_all(runs.engine)

    # users

    def add(self, name: str, roles, password: str | None = None) -> dict:
        name = _check_name(name)
        granted = check_roles(roles)
        stamp = self._now()
        with self.runs.engine.begin() as con:
            if con.execute(select(auth_users.c.name).where(auth_users.c.name == name)).first() is not None:
                raise UsageError(f"user '{name}' already exists; 'soxauto users list' shows the users")
            con.execute(insert(auth_users).values(name=name, roles=json.dumps(sorted(granted)), created_at=stamp,
                                                  updated_at=stamp,
                                                  password_hash=self._hash(password) if password is not None else None))
        audit.append(self.runs.engine, self.actor, "user.add", None, name=name, roles=sorted(granted),
                     password=password is not None)
        return self.user(name)

    def set_roles(self, name: str, roles) -> dict:
        """Replace the roles; the user's dashboard sessions end (they log in again under the new
        roles). Returns the user, with ``sessions_ended``: how many did."""
        granted = check_roles(roles)
        ended = self._update(name, roles=json.dumps(sorted(granted)))
        audit.append(self.runs.engine, self.actor, "user.roles", None, name=name, roles=sorted(granted),
                     sessions_ended=ended)
        return self.user(name) | {"sessions_ended": ended}

    def set_password(self, name: str, password: str) -> int:
        """Set the password; the user's dashboard sessions end. Returns how many did."""
        ended = self._update(name, password_hash=self._hash(password))
        audit.append(self.runs.engine, self.actor, "user.password", None, name=name, sessions_ended=ended)
        return ended

    def remove(self, name: str) -> dict:
        """Remove a user with their API tokens and dashboard sessions: all three stop working at
        once, in every process. The audit log keeps who the user was and which tokens went."""
        with self.runs.engine.begin() as con:
            tokens = sorted(con.execute(select(auth_tokens.c.id).where(auth_tokens.c.user == name)).scalars())
            con.execute(delete(auth_tokens).where(auth_tokens.c.user == name))
            ended = self._end_sessions(con, name)
            removed = con.execute(delete(auth_users).where(auth_users.c.name == name)).rowcount
        if not removed:
            self._unknown(name)  # after the transaction: it reads, and SQLite's write lock is held until commit
        for token_id in tokens:
            self._forget(token_id)
        audit.append(self.runs.engine, self.actor, "user.remove", None, name=name, tokens=tokens,
                     sessions_ended=ended)
        return {"name": name, "tokens": tokens, "sessions_ended": ended}

    def user(self, name: str) -> dict:
        return next((u for u in self.list() if u["name"] == name), None) or self._unknown(name)

    def list(self) -> list[dict]:
        with self.runs.engine.connect() as con:
            people = con.execute(select(auth_users).order_by(auth_users.c.name)).mappings().all()
            tokens = con.execute(select(auth_tokens).order_by(auth_tokens.c.created_at, auth_tokens.c.id)).mappings().all()
        out = []
        for u in people:
            mine = [{"id": t["id"], "label": t["label"], "created_at": t["created_at"], "revoked_at": t["revoked_at"]}
                    for t in tokens if t["user"] == u["name"]]
            out.append({"name": u["name"], "roles": json.loads(u["roles"]), "password": u["password_hash"] is not None,
                        "created_at": u["created_at"], "tokens": mine})
        return out

    def principal(self, name: str, source: str = "cli") -> Principal:
        """The principal of a named local user, for commands run by someone already on the machine."""
        with self.runs.engine.connect() as con:
            row = con.execute(select(auth_users.c.roles).where(auth_users.c.name == name)).first()
        if row is None:
            raise AuthError(f"'{name}' is not a local user{did_you_mean(name, [u['name'] for u in self.list()])}; "
                            f"an admin adds it with 'soxauto users add {name} --role preparer'")
        return Principal(name, frozenset(json.loads(row.roles)), source)

    # API tokens

    def issue_token(self, name: str, label: str = "") -> str:
        """A new token for ``name``; the plaintext is returned once and never stored."""
        self.user(name)
        token_id = secrets.token_hex(6)
        token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        label = (label or "").strip() or "token"
        with self.runs.engine.begin() as con:
            con.execute(insert(auth_tokens).values(id=token_id, user=name, label=label, token_hash=self._hash(token),
                                                   created_at=self._now()))
        audit.append(self.runs.engine, self.actor, "token.issue", None, name=name, token_id=token_id, label=label)
        return token

    def revoke_token(self, token_id: str) -> dict:
        """Revoke by the token's id (``users list``) or by the token itself."""
        match = _TOKEN.match(token_id.strip())
        key = match.group(1) if match else token_id.strip()
        with self.runs.engine.begin() as con:
            row = con.execute(select(auth_tokens).where(auth_tokens.c.id == key)).mappings().first()
            if row is None:
                raise UsageError(f"no API token '{key}'; 'soxauto users list' shows each token's id")
            if row["revoked_at"] is None:
                con.execute(update(auth_tokens).where(auth_tokens.c.id == key).values(revoked_at=self._now(),
                                                                                     revoked_by=self.actor))
        self._forget(key)
        audit.append(self.runs.engine, self.actor, "token.revoke", None, name=row["user"], token_id=key)
        return {"id": key, "user": row["user"], "label": row["label"]}

    def knows(self, token: str) -> bool:
        """Whether ``token`` verified before in this process, so that verifying it again costs
        one row read and no argon2 (a revoked token is still refused by ``verify_token``)."""
        match = _TOKEN.match((token or "").strip())
        if match is None:
            return False
        digest = _digest(token.strip())
        with self._guard:
            return self._verified.get(match.group(1)) == digest

    def verify_token(self, token: str) -> Principal:
        match = _TOKEN.match((token or "").strip())
        if match is None:
            raise AuthError("not a SOXauto API token (they start with 'sxa_'); 'soxauto users token NAME' issues one")
        token_id = match.group(1)
        with self.runs.engine.connect() as con:
            row = con.execute(select(auth_tokens.c.token_hash, auth_tokens.c.revoked_at, auth_users.c.name, auth_users.c.roles)
                              .join(auth_users, auth_users.c.name == auth_tokens.c.user)
                              .where(auth_tokens.c.id == token_id)).first()
        if row is None:
            self._forget(token_id)  # its user was removed: not cheap any more, so never checked on an event loop
            self._check(self._dummy, token)  # same cost as a real check: the answer does not time the lookup
            raise AuthError("unknown API token")
        if row.revoked_at is not None:
            self._forget(token_id)
            raise AuthError(f"API token {token_id} was revoked at {row.revoked_at}")
        digest = _digest(token.strip())
        with self._guard:
            known = self._verified.get(token_id) == digest
        if not known:
            if not self._check(row.token_hash, token.strip()):
                raise AuthError("unknown API token")
            with self._guard:
                self._verified[token_id] = digest
        return Principal(row.name, frozenset(json.loads(row.roles)), "token")

    def verify_password(self, name: str, password: str) -> Principal:
        with self.runs.engine.connect() as con:
            row = con.execute(select(auth_users.c.password_hash, auth_users.c.roles).where(auth_users.c.name == name)).first()
        stored = row.password_hash if row is not None and row.password_hash else None
        ok = self._check(stored or self._dummy, password or "")
        if stored is None or not ok:
            raise AuthError("unknown user or wrong password")
        return Principal(name, frozenset(json.loads(row.roles)), "password")

    # dashboard sessions

    def start_session(self, name: str) -> str:
        """A new session of ``name``, which has just proved its password; returns the key for the
        cookie. Only its SHA-256 is stored. Expired sessions of anyone are cleared out here."""
        key = secrets.token_urlsafe(32)
        start = self._clock()
        with self.runs.engine.begin() as con:
            con.execute(delete(auth_sessions).where(auth_sessions.c.expires_at <= utc_text(start)))
            con.execute(insert(auth_sessions).values(id=_digest(key), user=name, created_at=utc_text(start),
                                                     expires_at=utc_text(start + self.session_length)))
        return key

    def session(self, key: str) -> Principal:
        """The principal of a live session, with the user's roles as they are now; AuthError when
        the session has ended (logout, a change of roles or password, a removed user) or expired."""
        if not isinstance(key, str) or not key:
            raise AuthError("no session; log in")
        with self.runs.engine.connect() as con:
            row = con.execute(select(auth_sessions.c.expires_at, auth_users.c.name, auth_users.c.roles)
                              .join(auth_users, auth_users.c.name == auth_sessions.c.user)
                              .where(auth_sessions.c.id == _digest(key))).first()
        if row is None:
            raise AuthError("this session has ended (logged out, or the user's roles, password or account changed); "
                            "log in again")
        if row.expires_at <= self._now():
            raise AuthError(f"this session expired at {row.expires_at}; log in again")
        return Principal(row.name, frozenset(json.loads(row.roles)), "password")

    def end_session(self, key: str) -> None:
        """Log out: the session's row goes, so the cookie opens nothing, wherever it was copied to."""
        if isinstance(key, str) and key:
            with self.runs.engine.begin() as con:
                con.execute(delete(auth_sessions).where(auth_sessions.c.id == _digest(key)))

    # internals

    def _now(self) -> str:
        return utc_text(self._clock())

    @staticmethod
    def _end_sessions(con, name: str) -> int:
        return con.execute(delete(auth_sessions).where(auth_sessions.c.user == name)).rowcount

    def _forget(self, token_id: str) -> None:
        with self._guard:
            self._verified.pop(token_id, None)

    @property
    def _dummy(self) -> str:
        """A hash to verify against when there is nothing to verify: failures cost what successes do."""
        if self._decoy is None:
            self._decoy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._decoy

    def _hash(self, secret: str) -> str:
        if not secret:
            raise UsageError("an empty password is not accepted")
        return self.hasher.hash(secret)

    def _check(self, stored: str, given: str) -> bool:
        try:
            return self.hasher.verify(stored, given)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _update(self, name: str, **values) -> int:
        """Change the user's row and end their sessions in one transaction; returns how many ended."""
        with self.runs.engine.begin() as con:
            done = con.execute(update(auth_users).where(auth_users.c.name == name).values(updated_at=self._now(),
                                                                                          **values))
            ended = self._end_sessions(con, name)
        if done.rowcount == 0:
            self._unknown(name)
        return ended

    def _unknown(self, name: str):
        names = [u["name"] for u in self.list()]
        raise UsageError(f"no local user '{name}'{did_you_mean(name, names)}; 'soxauto users add {name} --role ROLE' adds it")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise UsageError(f"user name '{name}': use letters, digits and . _ @ + - (at most 200 characters, no spaces)")
    return name
