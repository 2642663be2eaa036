"""The product's home folder: run store, evidence store, history and reports live under it."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$SOXAUTO_HOME``, default ``.soxauto/`` in the working directory (created on use)."""
    path = Path(os.environ.get("SOXAUTO_HOME") or ".soxauto")
    path.mkdir(parents=True, exist_ok=True)
    return path
