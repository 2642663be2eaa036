from __future__ import annotations

import os

import pytest

from lakekit import GENERATED_CACHE


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files from the current output instead of comparing with them",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own product home: no evidence, keys or history leak between tests
    or into the working tree."""
    home = tmp_path_factory.mktemp("soxauto-home")
    monkeypatch.setenv("SOXAUTO_HOME", str(home))
    for name in ("SOXAUTO_SIGNING_KEY", "SOXAUTO_SIGNING_KEY_FILE", "SOXAUTO_TSA_URL", "SOXAUTO_EVIDENCE_S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="session", autouse=True)
def generated_lake_cache(tmp_path_factory: pytest.TempPathFactory):
    """One folder of generated demo lakes per test run, shared by the pytest-xdist workers (their
    base temporary folders are siblings): see lakekit.generated."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "generated-lakes"
    os.environ[GENERATED_CACHE] = str(folder)
    yield folder
    os.environ.pop(GENERATED_CACHE, None)
