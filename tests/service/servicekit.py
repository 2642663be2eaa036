"""A real close on a tiny generated lake, served by the app: shared by the service and browser tests.

``build_world(root)`` generates the lake (scale 0.01, seed 11, 2025-09), closes HF_SN and JM_EG,
and adds one local user per role with a password and an API token. ``copy_world`` gives a test
its own copy of the product home (run store, evidence, reports), so tests that sign off, lock
or tamper never see each other's changes.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

PERIOD = "2025-09"
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
    shutil.copytree(world.home, root / "home")
    return replace(world, home=root / "home")


def client_for(app):
    # starlette warns that it prefers httpx2 over httpx at import; this venv has httpx only.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app)
