"""One close on a tiny lake for the whole service test session (``world``); ``fresh`` is a private
copy of it for a test that changes state (sign-offs, locks, runs, tampering)."""

from __future__ import annotations

import pytest
from servicekit import build_world, client_for, copy_world

from soxauto.service import create_app


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("service-world"))


@pytest.fixture(scope="session")
def client(world):
    """Read-only tests share this client: nothing they do changes the world."""
    with client_for(create_app(world.config())) as c:
        yield c


@pytest.fixture
def fresh(world, tmp_path):
    return copy_world(world, tmp_path)


@pytest.fixture
def fresh_client(fresh):
    app = create_app(fresh.config())
    with client_for(app) as c:
        c.world = fresh
        yield c
