"""Tamper corpus: a valid store and mutated copies, each with its expected verdict."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evkit import ARTIFACTS, extract_args, make_lake, manifest, sha
from test_fingerprint import auditor_script

from soxauto.cli import run
from soxauto.evidence import trusted_keys, verify_path, verify_store
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


# --- Hardening (#23): the ledger is whole and signed, a package knows its place, and nothing
# but a regular file is read, never past its declared size.

LEDGER_CHECK = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"
VERIFY = "import sys; from soxauto.cli import run; sys.exit(run(sys.argv[1:]))"
BACKDATED = "2020-01-01T00:00:00.000000Z"


def edit_tail(store: Path, field: str, value) -> None:
    """Edit the last ledger entry, keeping it canonical JSON (no later entry chains to it)."""
    lines = (store / "ledger.jsonl").read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[-1])
    entry[field] = value
    lines[-1] = canonical_bytes(entry) + b"\n"
    (store / "ledger.jsonl").write_bytes(b"".join(lines))


def rechain(store: Path, edit, sign=None) -> None:
    """Edit every ledger entry and recompute the whole chain, all without the evidence key
    (``sign``: sign each entry again with another key)."""
    prev, out = "0" * 64, []
    for raw in (store / "ledger.jsonl").read_bytes().splitlines():
        entry = json.loads(raw)
        edit(entry)
        entry["prev_entry_sha256"] = prev
        if sign is not None:
            entry.pop("signature", None)
            entry["signature"] = base64.b64encode(sign(canonical_bytes(entry))).decode("ascii")
        line = canonical_bytes(entry)
        prev = hashlib.sha256(line).hexdigest()
        out.append(line + b"\n")
    (store / "ledger.jsonl").write_bytes(b"".join(out))


def swap(a: Path, b: Path) -> None:
    aside = a.with_name("aside")
    a.rename(aside)
    b.rename(a)
    aside.rename(b)


def verify_apart(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``soxauto evidence verify … --json`` in a child process that must end within 60 s (a
    verify that reads a device or blocks on a FIFO would never end)."""
    return subprocess.run([sys.executable, "-c", VERIFY, "evidence", "verify", *args, "--json"],
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def artifact(doc: dict, name: str) -> dict:
    return next(a for a in doc["artifacts"] if a["path"] == name)


@pytest.mark.parametrize("field, value", [("time", BACKDATED), ("run_id", "run-of-someone-else")])
def test_the_last_ledger_entry_edited_fails_its_signature(store, field, value):
    edit_tail(store, field, value)

    report = check(store)

    assert not report.ok
    assert [p for p in report.problems if "signature" in p] == [
        f"{store / 'ledger.jsonl'}:3: ledger entry 3 (CR_04_EC_NG_202509): the signature does not verify "
        "(the entry was edited, or signed without the evidence key)"]
    assert run(["evidence", "verify", "--all", "--store", str(store)]) == 5
    assert run(["evidence", "verify", str(store / NAME)]) == 5  # by PATH, the head's signature is checked too


def test_every_time_backdated_and_the_chain_recomputed_without_the_key_names_the_first_entry(store):
    from soxauto.evidence import ledger

    rechain(store, lambda e: e.update(time=BACKDATED))
    assert ledger.read(store).problems == ()  # the chain alone is consistent again …

    report = check(store)

    assert not report.ok  # … its signatures are not
    assert [p for p in report.problems if "signature" in p] == [
        f"{store / 'ledger.jsonl'}:1: ledger entry 1 (CR_04_EC_NG_202509): the signature does not verify "
        "(the entry was edited, or signed without the evidence key); 2 later entries fail too"]
    assert run(["evidence", "verify", "--all", "--store", str(store)]) == 5
    assert run(["evidence", "verify", str(store / "history" / NAME / "000001")]) == 5


def test_a_ledger_rewritten_and_resigned_with_another_key_is_refused(store):
    from soxauto.evidence.keys import key_id

    intruder = Ed25519PrivateKey.generate()
    rechain(store, lambda e: e.update(time=BACKDATED, key_id=key_id(intruder.public_key())), sign=intruder.sign)

    report = check(store)

    assert not report.ok
    assert [p for p in report.problems if "signed" in p] == [
        f"{store / 'ledger.jsonl'}:1: ledger entry 1 (CR_04_EC_NG_202509): signed with key "
        f"{key_id(intruder.public_key())[:12]}…, which is not trusted; 2 later entries fail too"]


def test_signatures_stripped_and_the_chain_recomputed_are_unsigned_entries(store):
    def strip(entry):
        del entry["key_id"], entry["signature"]  # the ledger format before entries were signed
    rechain(store, strip)

    report = check(store)

    assert not report.ok and report.ledger_entries == 0
    assert report.problems[0] == (f"{store / 'ledger.jsonl'}:1: not a ledger entry: it has no key_id, signature "
                                  "(an unsigned entry of an older SOXauto: regenerate the store)")


def test_a_package_folder_replaced_by_a_symlink_to_a_valid_copy_is_refused(store, tmp_path, capsys):
    shutil.move(store / NAME, tmp_path / "elsewhere")
    (store / NAME).symlink_to(tmp_path / "elsewhere")

    report = check(store)

    assert f"ledger entry 3 ({NAME}): package missing at {store / NAME} (a symbolic link stands there)" in report.problems
    assert not report.ok
    capsys.readouterr()
    assert run(["evidence", "verify", str(store / NAME), "--json"]) == 5
    assert json.loads(capsys.readouterr().out)["problems"][0] == \
        f"{store / NAME} is a symbolic link: a package is verified in its own folder, not through a link"


def test_two_package_folders_swapped_fail_verify_by_path(store, capsys):
    jm = store / "CR_04_JM_EG_202509"
    swap(store / NAME, jm)

    for folder, holds in ((store / NAME, jm.name), (jm, NAME)):
        capsys.readouterr()
        assert run(["evidence", "verify", str(folder), "--json"]) == 5
        out = json.loads(capsys.readouterr().out)
        assert out["signature"] == "ok" and all(a["status"] == "ok" for a in out["artifacts"])  # valid on its own …
        assert out["ledger"] == f"folder {folder.name} holds package {holds}; a package is valid only in its own folder"
    assert run(["evidence", "verify", "--all", "--store", str(store)]) == 5


def test_a_package_renamed_into_a_deleted_ones_place_fails_verify_by_path(store, capsys):
    shutil.rmtree(store / NAME)
    (store / "CR_04_JM_EG_202509").rename(store / NAME)

    capsys.readouterr()
    assert run(["evidence", "verify", str(store / NAME), "--json"]) == 5
    assert json.loads(capsys.readouterr().out)["ledger"] == \
        f"folder {NAME} holds package CR_04_JM_EG_202509; a package is valid only in its own folder"
    assert run(["evidence", "verify", "--all", "--store", str(store)]) == 5


def test_a_package_copied_under_a_new_id_fails_verify_by_path(store, capsys):
    copy = store / "CR_04_EC_GH_202509"
    shutil.copytree(store / "CR_04_JM_EG_202509", copy)

    capsys.readouterr()
    assert run(["evidence", "verify", str(copy), "--json"]) == 5
    assert json.loads(capsys.readouterr().out)["ledger"] == \
        "folder CR_04_EC_GH_202509 holds package CR_04_JM_EG_202509; a package is valid only in its own folder"
    assert run(["evidence", "verify", "--all", "--store", str(store)]) == 5


def test_a_history_package_copied_under_another_sequence_fails_verify_by_path(store, capsys):
    shutil.copytree(store / "history" / NAME / "000001", store / "history" / NAME / "000002")  # entry 2 is JM_EG's

    capsys.readouterr()
    assert run(["evidence", "verify", str(store / "history" / NAME / "000002"), "--json"]) == 5
    assert json.loads(capsys.readouterr().out)["ledger"] == \
        f"this manifest is ledger entry 1's ({NAME}), whose package belongs at history/{NAME}/000001"
    assert run(["evidence", "verify", "--all", "--store", str(store)]) == 5


def test_a_history_package_verified_by_path_is_said_to_be_an_earlier_one(store, capsys):
    capsys.readouterr()
    assert run(["evidence", "verify", str(store / "history" / NAME / "000001"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ledger"] == "ok" and out["note"] == f"an earlier package of {NAME}: ledger entry 1; the latest is entry 3"
    assert run(["evidence", "verify", str(store / NAME), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["note"] == ""


def test_a_package_missing_from_the_ledger_is_not_in_the_ledger(store, capsys):
    first = (store / "ledger.jsonl").read_bytes().splitlines(keepends=True)[0]
    (store / "ledger.jsonl").write_bytes(first)  # a sound, shorter chain: JM_EG was never committed

    capsys.readouterr()
    assert run(["evidence", "verify", str(store / "CR_04_JM_EG_202509"), "--json"]) == 5
    assert json.loads(capsys.readouterr().out)["ledger"] == "not in the ledger (never committed, or edited)"


def test_a_symlink_to_dev_zero_as_data_csv_is_refused_at_once(store):
    (store / NAME / "data.csv").unlink()
    (store / NAME / "data.csv").symlink_to("/dev/zero")

    done = verify_apart(str(store / NAME), cwd=store.parent)

    assert done.returncode == 5, done.stderr
    out = json.loads(done.stdout)
    assert artifact(out, "data.csv") == {
        "path": "data.csv", "role": "data_csv", "status": "refused",
        "detail": "a symbolic link (to /dev/zero), not a regular file: refused without reading it"}
    assert out["fingerprints"] == {"data.parquet": "match", "data.csv": "refused"}
    assert verify_apart("--all", "--store", str(store), cwd=store.parent).returncode == 5


def test_a_symlink_to_an_identical_copy_is_refused(store, tmp_path):
    folder = store / NAME
    shutil.copy(folder / "data.csv", tmp_path / "same.csv")
    (folder / "data.csv").unlink()
    (folder / "data.csv").symlink_to(tmp_path / "same.csv")

    report = check(store)

    assert statuses(report, where=folder) == {"data.csv": "refused"}
    assert not report.ok


@pytest.mark.parametrize("name", ["data.csv", "notes"])
def test_a_fifo_in_a_package_is_refused_without_blocking(store, name):
    (store / NAME / name).unlink(missing_ok=True)
    os.mkfifo(store / NAME / name)

    done = verify_apart(str(store / NAME), cwd=store.parent)

    assert done.returncode == 5, done.stderr
    got = artifact(json.loads(done.stdout), name)
    assert got["status"] == "refused" and got["detail"].startswith("a FIFO, not a regular file")
    assert verify_apart("--all", "--store", str(store), cwd=store.parent).returncode == 5


def test_a_file_longer_than_declared_is_read_no_further_than_one_byte_past(store, monkeypatch):
    from soxauto.evidence import folder as folder_mod

    path = store / NAME / "data.csv"
    declared = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b"x" * 5_000_000)
    reads = []  # (file, bound asked for, bytes read)
    real = folder_mod.Opened.chunks

    def chunks(self, limit):
        got = 0
        for chunk in real(self, limit):
            got += len(chunk)
            yield chunk
        reads.append((self.path, limit, got))
    monkeypatch.setattr(folder_mod.Opened, "chunks", chunks)

    report = check(store)

    assert [r for r in reads if r[0] == path] == [(path, declared, declared + 1)]
    pkg = package(report, store / NAME)
    assert statuses(report, where=store / NAME) == {"data.csv": "altered"}
    assert next(a.detail for a in pkg.artifacts if a.path == "data.csv") == \
        f"larger than the {declared} bytes the manifest declares; not read further"
    assert dict(pkg.fingerprints)["data.csv"] == "not read: larger than declared"


def ledger_check_script(tmp_path: Path) -> Path:
    block = re.search(r"<!-- ledger-check:start -->\n```sh\n(.*?)```\n<!-- ledger-check:end -->",
                      LEDGER_CHECK.read_text("utf-8"), re.S)
    assert block, "docs/evidence.md lost its ledger check"
    script = tmp_path / "ledger-check.sh"
    script.write_text(block.group(1))
    return script


def test_the_documented_ledger_check_runs_with_standard_tools(store, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    script = ledger_check_script(tmp_path)
    assert run(["keys", "export", "--out", str(tmp_path / "key.pem"), "--store", str(store)]) == 0
    ledger_file = store / "ledger.jsonl"

    def check_by_hand():
        return subprocess.run(["sh", str(script), str(ledger_file), str(tmp_path / "key.pem")], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    done = check_by_hand()
    pristine = ledger_file.read_bytes()
    head = hashlib.sha256(pristine.splitlines()[-1]).hexdigest()
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == f"ledger OK: 3 entries, head {head}"

    edit_tail(store, "time", BACKDATED)
    done = check_by_hand()
    assert done.returncode == 1 and done.stdout.splitlines()[-1] == "line 3: the signature does not verify"

    rechain(store, lambda e: e.update(time=BACKDATED))
    done = check_by_hand()
    assert done.returncode == 1 and done.stdout.splitlines()[-1] == "line 1: the signature does not verify"

    ledger_file.write_bytes(pristine)
    drop_line(store, 1)
    done = check_by_hand()
    assert done.returncode == 1 and done.stdout.splitlines()[-1] == "line 2: sequence 3, 2 expected"


def test_a_large_data_file_is_hashed_in_chunks_and_fingerprinted_from_the_descriptor_it_was_hashed_from(store, monkeypatch):
    import tracemalloc

    import pyarrow as pa
    import pyarrow.parquet as pq

    from soxauto.evidence import verify as verify_mod
    from soxauto.evidence.fingerprint import fingerprint

    folder = store / NAME
    copies = 400_000  # 800,000 rows: a data.csv of about 50 MB
    small_csv = (folder / "data.csv").read_bytes()
    head, _, rows = small_csv.partition(b"\n")
    (folder / "data.csv").write_bytes(head + b"\n" + rows * copies)
    table = pa.concat_tables([pq.read_table(folder / "data.parquet")] * copies)
    pq.write_table(table, folder / "data.parquet")
    doc = manifest(folder)
    for a in doc["artifacts"]:
        if a["path"] in ("data.csv", "data.parquet"):
            a["size"], a["sha256"] = (folder / a["path"]).stat().st_size, sha(folder / a["path"])
    doc["fingerprint"]["value"] = fingerprint(table)
    (folder / "manifest.json").write_bytes(canonical_bytes(doc))  # re-sealed without the key: signature fails
    (folder.parent / "small.csv").write_bytes(small_csv)
    real = verify_mod.csv_fingerprint
    hashed = []  # the most memory Python held up to here, data.csv hashed (pyarrow's own is not traced)

    def swapped_first(source, schema):
        hashed.append(tracemalloc.get_traced_memory()[1])
        # The path now names other bytes: a fingerprint that opened it again would differ.
        os.replace(folder.parent / "small.csv", folder / "data.csv")
        return real(source, schema)
    monkeypatch.setattr(verify_mod, "csv_fingerprint", swapped_first)

    tracemalloc.start()
    try:
        report = verify_mod.verify_package(folder, trusted_keys(store))
    finally:
        tracemalloc.stop()

    assert (folder / "data.csv").read_bytes() == small_csv  # the swap happened
    assert {a.path: a.status.value for a in report.artifacts if a.path.startswith("data.")} == \
        {"data.csv": "ok", "data.parquet": "ok"}
    assert dict(report.fingerprints) == {"data.parquet": "match", "data.csv": "match"}
    csv_size = next(a["size"] for a in doc["artifacts"] if a["path"] == "data.csv")
    assert csv_size > 40 * 2**20 and hashed[0] < 8 * 2**20, (csv_size, hashed)  # never held whole
