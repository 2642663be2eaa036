"""The lock: `make install` installs exactly requirements-dev.txt, never a fresh resolution.

The environment running these tests is the one `make install` built, so what is installed here
must be what the lock pins: the same versions, no package the locks do not name, and the lock
itself still satisfies pyproject.toml's ranges (a range edited without `make lock` fails here).
"""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
# Installed by `python -m venv` itself, before the lock is read.
VENV_SEED = {"pip"}


def parse_lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """``{package: (version, hashes)}`` of the pins that apply to this interpreter."""
    text = (ROOT / name).read_text("utf-8").replace("\\\n", " ")
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, *hashes = re.split(r"\s+--hash=", line)
        requirement, _, marker = spec.partition(";")
        pkg, _, version = requirement.strip().partition("==")
        assert version, f"{name}: not pinned with ==: {line[:80]}"
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        pkg = canonicalize_name(pkg.split("[")[0])
        assert pkg not in pins, f"{name}: {pkg} pinned twice for this interpreter"
        pins[pkg] = (version, [h.strip() for h in hashes])
    return pins


DEV = parse_lock("requirements-dev.txt")


def installed() -> dict[str, str]:
    assert sys.prefix != sys.base_prefix, "run the tests in the environment `make install` builds"
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def test_every_pin_of_every_lock_carries_a_sha256_hash():
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-bench.txt"):
        pins = parse_lock(name)
        assert len(pins) > 20, name
        for pkg, (_, hashes) in pins.items():
            assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), (name, pkg)


def test_the_installed_versions_are_the_locks():
    have = installed()
    missing = sorted(set(DEV) - set(have))
    assert not missing, f"locked but not installed: {missing}"
    differ = {pkg: (have[pkg], version) for pkg, (version, _) in DEV.items() if have[pkg] != version}
    assert not differ, f"installed ≠ locked (installed, locked): {differ}"


def test_nothing_is_installed_that_no_lock_names():
    # `make bench` adds requirements-bench.txt to the same environment; nothing else may.
    allowed = set(DEV) | set(parse_lock("requirements-bench.txt")) | VENV_SEED | {"soxauto"}
    extra = sorted(set(installed()) - allowed)
    assert not extra, f"installed but in no lock (a resolution happened): {extra}"


def test_the_three_locks_pin_the_same_versions():
    runtime, bench = parse_lock("requirements.txt"), parse_lock("requirements-bench.txt")
    assert set(runtime) <= set(DEV) <= set(bench)
    for pkg, (version, _) in DEV.items():
        assert bench[pkg][0] == version, pkg
        if pkg in runtime:
            assert runtime[pkg][0] == version, pkg


def test_the_lock_satisfies_the_ranges_in_pyproject():
    project = PYPROJECT["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    build = PYPROJECT["build-system"]["requires"]
    for text in [*wanted, *build]:
        req = Requirement(text)
        pkg = canonicalize_name(req.name)
        if req.marker and not req.marker.evaluate():
            continue
        assert pkg in DEV, f"{text}: not in requirements-dev.txt; run `make lock`"
        assert Version(DEV[pkg][0]) in req.specifier, f"{text}: lock has {DEV[pkg][0]}; run `make lock`"


def test_the_runtime_lock_covers_every_runtime_dependency_and_the_build_backend():
    runtime = parse_lock("requirements.txt")
    for text in [*PYPROJECT["project"]["dependencies"], *PYPROJECT["build-system"]["requires"]]:
        assert canonicalize_name(Requirement(text).name) in runtime, text


def test_make_install_cannot_resolve():
    makefile = (ROOT / "Makefile").read_text("utf-8")
    recipe = makefile.split("$(STAMP): pyproject.toml requirements-dev.txt\n", 1)[1].split("\n\n", 1)[0]
    installs = [shlex.split(ln.strip()) for ln in recipe.splitlines() if "pip install" in ln]
    assert installs, recipe
    for words in installs:
        # --no-deps: pip takes no dependency from anywhere but the lock; -r with --require-hashes
        # refuses any file whose hash the lock does not hold.
        assert "--no-deps" in words, words
        if "-r" in words:
            assert "--require-hashes" in words and words[words.index("-r") + 1] == "requirements-dev.txt"
        else:
            assert "--no-build-isolation" in words, words  # the build backend comes from the lock too
    assert "rm -rf $(VENV)" in recipe  # a re-install starts empty: nothing stale survives a lock change
