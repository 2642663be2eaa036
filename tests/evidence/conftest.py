from __future__ import annotations

import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The product home of a test that writes evidence, without a signing key from the
    environment (the store makes its own)."""
    monkeypatch.setenv("SOXAUTO_HOME", str(tmp_path / "home"))
    for var in ("SOXAUTO_SIGNING_KEY", "SOXAUTO_SIGNING_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "home"
