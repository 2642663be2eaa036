"""Tamper corpus: a valid store and mutated copies, each with its expected verdict."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evkit import ARTIFACTS, extract_args, make_lake, manifest, sha
from test_fingerprint import auditor_script

from soxauto.cli import run
from soxauto.evidence import trusted_keys, verify_store
from soxauto.evidence.canonical import canonical_bytes
from soxauto.evidence.package import sums_text

NAME = "CR_04_EC_NG_202509"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """Ledger: 1 EC_NG (now in history), 2 JM_EG, 3 EC_NG (current)."""
    root = tmp_path_factory.mktemp("pristine")
    lake = make_lake(root / "lake")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOXAUTO_HOME", str(root / "home"))
    mp.delenv("SOXAUTO_SIGNING_KEY", raising=False)
    mp.delenv("SOXAUTO_SIGNING_KEY_FILE", raising=False)
    try:
        for entity in ("EC_NG", "JM_EG", "EC_NG"):
            assert run(extract_args(lake, root / "out", entity=entity)) == 0
    finally:
        mp.undo()
    return root / "home" / "evidence"


@pytest.fixture
def store(pristine, tmp_path):
    copy = tmp_path / "evidence"
    shutil.copytree(pristine, copy)
    return copy


def check(store: Path):
    return verify_store(store, trusted_keys(store))


def statuses(report, name=NAME, where=None) -> dict[str, str]:
    pkg = next(p for p in report.packages if p.evidence_id == name and (where is None or p.path == where))
    return {a.path: a.status.value for a in pkg.artifacts if a.status.value != "ok"}


def package(report, path: Path):
    return next(p for p in report.packages if p.path == path)


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_the_pristine_store_verifies(store, capsys):
    report = check(store)
    assert report.ok and report.ledger_entries == 3 and len(report.packages) == 3
    assert all(p.signature == "ok" and dict(p.fingerprints) == {"data.parquet": "match", "data.csv": "match"} for p in report.packages)
    capsys.readouterr()
    assert run(["evidence", "verify", "--all", "--store", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_the_auditor_script_recomputes_a_real_package(store, tmp_path):
    folder = store / NAME
    got = subprocess.run([sys.executable, "-I", str(auditor_script(tmp_path)), str(folder / "data.parquet")],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert got == manifest(folder)["fingerprint"]["value"]


@pytest.mark.parametrize("name", ARTIFACTS)
def test_a_flipped_byte_in_an_artifact_is_named(store, name, capsys):
    flip(store / NAME / name)

    report = check(store)

    assert not report.ok
    assert statuses(report, where=store / NAME) == {name: "altered"}
    fps = dict(package(report, store / NAME).fingerprints)
    if name.startswith("data."):
        assert fps[name] in ("differ", "unreadable")
    else:
        assert fps == {"data.parquet": "match", "data.csv": "match"}
    assert package(report, store / "history" / NAME / "000001").ok  # the others stay valid
    capsys.readouterr()
    assert run(["evidence", "verify", str(store / NAME), "--json"]) == 5
    out = json.loads(capsys.readouterr().out)
    assert [a["status"] for a in out["artifacts"] if a["path"] == name] == ["altered"]


@pytest.mark.parametrize("name, expected", [
    ("manifest.json", {"manifest.json": "altered"}),
    ("manifest.sig", {"manifest.sig": "altered"}),
    ("SHA256SUMS", {"SHA256SUMS": "altered"}),
])
def test_a_flipped_byte_in_a_seal_is_named(store, name, expected):
    flip(store / NAME / name)

    report = check(store)

    assert not report.ok
    assert statuses(report, where=store / NAME) == expected


def test_a_removed_file_is_missing(store):
    (store / NAME / "data.csv").unlink()

    report = check(store)

    assert statuses(report, where=store / NAME) == {"data.csv": "missing"}
    assert dict(package(report, store / NAME).fingerprints) == {"data.parquet": "match", "data.csv": "unreadable"}
    assert not report.ok


def test_an_added_file_is_extra(store):
    (store / NAME / "notes.txt").write_text("looks fine to me\n")

    report = check(store)

    assert statuses(report, where=store / NAME) == {"notes.txt": "extra"}
    assert not report.ok


def reseal(folder: Path, edit) -> None:
    """Edit the manifest, re-hash it and regenerate SHA256SUMS, all without the key."""
    m = manifest(folder)
    edit(m)
    data = canonical_bytes(m)
    (folder / "manifest.json").write_bytes(data)
    sums = [(a["path"], a["sha256"]) for a in m["artifacts"]]
    sums += [("manifest.json", sha(folder / "manifest.json")), ("manifest.sig", sha(folder / "manifest.sig"))]
    (folder / "SHA256SUMS").write_bytes(sums_text(sums))


def test_a_manifest_edited_and_rehashed_without_the_key_fails_its_signature(store):
    reseal(store / NAME, lambda m: m.update(row_count=3))
    done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=store / NAME, capture_output=True)
    assert done.returncode == 0  # the checksums alone are fooled …

    report = check(store)

    pkg = package(report, store / NAME)
    assert pkg.signature == "invalid"  # … the signature is not
    assert statuses(report, where=store / NAME) == {"manifest.json": "altered"}
    assert pkg.ledger.endswith("(replaced or altered)")
    assert not report.ok


def test_a_data_swap_resealed_and_resigned_with_another_key_is_refused(store):
    folder = store / NAME
    shutil.copy(store / "CR_04_JM_EG_202509" / "data.parquet", folder / "data.parquet")
    intruder = Ed25519PrivateKey.generate()

    def edit(m):
        from soxauto.evidence.keys import key_id
        for a in m["artifacts"]:
            if a["path"] == "data.parquet":
                a["sha256"], a["size"] = sha(folder / "data.parquet"), (folder / "data.parquet").stat().st_size
        m["key_id"] = key_id(intruder.public_key())
    reseal(folder, edit)
    (folder / "manifest.sig").write_bytes(intruder.sign((folder / "manifest.json").read_bytes()))

    pkg = package(check(store), folder)

    assert pkg.signature == "unknown key"
    assert dict(pkg.fingerprints)["data.parquet"] == "differ"
    assert not pkg.ok


def drop_line(store: Path, index: int) -> None:
    lines = (store / "ledger.jsonl").read_bytes().splitlines(keepends=True)
    del lines[index]
    (store / "ledger.jsonl").write_bytes(b"".join(lines))


def test_a_removed_ledger_entry_breaks_the_chain(store):
    drop_line(store, 1)  # JM_EG's entry

    report = check(store)

    assert any("sequence 3 where 2 was expected" in p for p in report.problems)
    assert any("chain broken" in p for p in report.problems)
    jm = next(p for p in report.packages if p.evidence_id == "CR_04_JM_EG_202509")
    assert jm.ledger.startswith("not in the ledger")
    assert not report.ok


def test_reordered_ledger_entries_break_the_chain(store):
    lines = (store / "ledger.jsonl").read_bytes().splitlines(keepends=True)
    (store / "ledger.jsonl").write_bytes(lines[1] + lines[0] + lines[2])

    report = check(store)

    assert any("sequence 2 where 1 was expected" in p for p in report.problems)
    assert not report.ok


def test_an_older_valid_package_put_back_in_place_is_detected(store, capsys):
    shutil.rmtree(store / NAME)
    shutil.copytree(store / "history" / NAME / "000001", store / NAME)

    report = check(store)

    current = package(report, store / NAME)
    assert current.signature == "ok" and not statuses(report, where=store / NAME)  # valid on its own …
    assert "ledger entry 3 committed manifest" in current.ledger  # … but not the one the ledger committed
    assert not report.ok
    capsys.readouterr()
    assert run(["evidence", "verify", str(store / NAME)]) == 5


def test_a_pinned_key_that_did_not_sign_fails_every_package(store, tmp_path, capsys):
    from cryptography.hazmat.primitives import serialization
    other = Ed25519PrivateKey.generate().public_key()
    (tmp_path / "other.pem").write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo))

    assert run(["evidence", "verify", "--all", "--store", str(store), "--key", str(tmp_path / "other.pem")]) == 5
    assert run(["evidence", "verify", "--all", "--store", str(store),
                "--key", str(next((store / "keys").glob("*.pub.pem")))]) == 0
