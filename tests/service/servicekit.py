"""A real close on a tiny generated lake, served by the app: shared by the service and browser tests.

``build_world(root)`` generates the lake (scale 0.01, seed 11, 2025-09), closes HF_SN and JM_EG,
and adds one local user per role with a password and an API token. ``copy_world`` gives a test
its own copy of the product home (run store, evidence, reports), so tests that sign off, lock
or tamper never see each other's changes. ``oidc_token`` signs an access token for the identity
provider that the ``idp`` fixture serves on loopback; ``csrf_of`` and ``login`` drive the
dashboard's login form.
"""

from __future__ import annotations

import re
import shutil
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

PERIOD = "2025-09"
ISSUER, AUDIENCE = "https://idp.example.test/", "soxauto-api"
ENTITIES = ("HF_SN", "JM_EG")
USERS = {  # name: roles; every password is "pw-" + name
    "pat": ("preparer",),
    "rita": ("reviewer",),
    "audrey": ("auditor",),
    "adam": ("admin",),
    "duo": ("preparer", "reviewer"),
}


@dataclass(frozen=True)
class World:
    home: Path
    lake: Path
    run_id: str
    tokens: dict

    def config(self, **extra):
        from soxauto.config import load_config

        cfg = load_config({"SOXAUTO_HOME": str(self.home), "SOXAUTO_LAKE": str(self.lake), "SOXAUTO_USER": "closer"})
        return replace(cfg, session_secret="test-session-secret", **extra)

    def bearer(self, user: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def build_world(root: Path) -> World:
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "close"))
    from closekit import make_lake

    from soxauto.auth import LocalUsers
    from soxauto.close import CloseRequest, close
    from soxauto.close.store import RunStore

    lake = make_lake(root / "lake", first=(2025, 9), periods=1)
    home = root / "home"
    world = World(home, lake, "", {})
    summary = close(world.config(), CloseRequest(PERIOD, ENTITIES))
    runs = RunStore(world.config().run_store)
    users = LocalUsers(runs, actor="setup")
    tokens = {}
    for name, roles in USERS.items():
        users.add(name, roles, password=f"pw-{name}")
        tokens[name] = users.issue_token(name, "tests")
    runs.close()
    return replace(world, run_id=summary["run_id"], tokens=tokens)


def copy_world(world: World, root: Path) -> World:
    """A private copy in which nobody is signed in: the dashboard sessions that tests opened on
    the shared world are left behind, so a copy's session counts are its own."""
    from sqlalchemy import delete

    from soxauto.auth.local import auth_sessions
    from soxauto.close.store import RunStore

    shutil.copytree(world.home, root / "home")
    copy = replace(world, home=root / "home")
    runs = RunStore(copy.config().run_store)
    with runs.engine.begin() as con:
        con.execute(delete(auth_sessions))
    runs.close()
    return copy


def client_for(app):
    # starlette warns that it prefers httpx2 over httpx at import; this venv has httpx only.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app)


def oidc_token(key, **claims) -> str:
    """An access token of the test identity provider: a reviewer, valid for five minutes."""
    import jwt

    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "olga@example.test", "groups": ["reviewer"], "iat": now,
               "exp": now + 300} | claims
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "test-1"})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(c, user, next_page=f"/periods/{PERIOD}"):
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"username": user, "password": f"pw-{user}", "csrf": token, "next": next_page},
                  follow_redirects=False)
