"""zip, push and the store's recovery meet a symbolic link to /dev/zero or a FIFO where a package
file (or the ledger) should be: each refuses at once, exit 5, instead of reading forever.

Every command runs in a child process that must end within 60 s: a reader that follows the link
or opens the FIFO for reading would never end.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from evkit import extract_args, make_lake, manifest, sha

NAME = "CR_04_EC_NG_202509"
OTHER = "CR_04_JM_EG_202509"
BUCKET = "audit-evidence"
KINDS = ["link to /dev/zero", "FIFO"]
WORDS = {"link to /dev/zero": "a symbolic link (to /dev/zero)", "FIFO": "a FIFO"}

CHILD = """
import json, os, sys
{prelude}
from soxauto.cli import run
code = run(sys.argv[1:])
{epilogue}
sys.exit(code)
"""
# Swaps data.csv for a link or FIFO just after the package was listed: what the listing saw is
# no longer what the reader opens.
SWAP_AFTER_LISTING = """
from soxauto.evidence import archive, s3
listed = archive.package_files

def listed_then_swapped(folder):
    files = listed(folder)
    target = os.path.join(folder, "data.csv")
    os.unlink(target)
    os.symlink("/dev/zero", target) if {kind!r} == "link to /dev/zero" else os.mkfifo(target)
    return files

archive.package_files = s3.package_files = listed_then_swapped
"""
MOTO = f"""
from moto import mock_aws
mock_aws().start()
import boto3
boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="{BUCKET}", ObjectLockEnabledForBucket=True)
"""
KEYS = f"""
listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket="{BUCKET}").get("Contents", [])
print("S3 KEYS " + json.dumps(sorted(o["Key"] for o in listed)))
"""


def soxauto_apart(*args: str, home: Path, prelude: str = "", epilogue: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOXAUTO_", "AWS_"))}
    env |= {"SOXAUTO_HOME": str(home), "SOXAUTO_EVIDENCE_S3_BUCKET": BUCKET, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run([sys.executable, "-c", CHILD.format(prelude=prelude, epilogue=epilogue), *args],
                          cwd=home.parent, env=env, capture_output=True, text=True, timeout=60)


def plant(path: Path, kind: str) -> None:
    path.unlink()
    path.symlink_to("/dev/zero") if kind == "link to /dev/zero" else os.mkfifo(path)


def refusal(path: Path, kind: str) -> str:
    return f"{path}: {WORDS[kind]}, not a regular file: refused without reading it"


def s3_keys(done: subprocess.CompletedProcess) -> list[str]:
    line = next(line for line in done.stdout.splitlines() if line.startswith("S3 KEYS "))
    return json.loads(line.removeprefix("S3 KEYS "))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A home whose store holds two committed packages, EC_NG and JM_EG, and the lake they came from."""
    from soxauto.cli import run

    root = tmp_path_factory.mktemp("pristine")
    lake = make_lake(root / "lake")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOXAUTO_HOME", str(root / "home"))
    mp.delenv("SOXAUTO_SIGNING_KEY", raising=False)
    mp.delenv("SOXAUTO_SIGNING_KEY_FILE", raising=False)
    try:
        for entity in ("EC_NG", "JM_EG"):
            assert run(extract_args(lake, root / "out", entity=entity)) == 0
    finally:
        mp.undo()
    return root


@pytest.fixture
def home(pristine, tmp_path) -> Path:
    shutil.copytree(pristine / "home", tmp_path / "home", symlinks=True)
    return tmp_path / "home"


@pytest.fixture
def lake(pristine) -> Path:
    return pristine / "lake"


# zip


@pytest.mark.parametrize("kind", KINDS)
def test_zip_refuses_a_data_csv_that_is_not_a_regular_file(home, kind):
    folder, out = home / "evidence" / NAME, home.parent / "p.zip"
    plant(folder / "data.csv", kind)

    done = soxauto_apart("evidence", "zip", str(folder), "--out", str(out), home=home)

    assert done.returncode == 5, done.stderr
    assert refusal(folder / "data.csv", kind) in done.stderr
    assert not out.exists() and not out.with_name("p.zip.tmp").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_zip_refuses_a_data_csv_swapped_after_the_listing(home, kind):
    folder, out = home / "evidence" / NAME, home.parent / "p.zip"

    done = soxauto_apart("evidence", "zip", str(folder), "--out", str(out), home=home,
                         prelude=SWAP_AFTER_LISTING.format(kind=kind))

    assert done.returncode == 5, done.stderr
    assert refusal(folder / "data.csv", kind) in done.stderr
    assert not out.exists() and not out.with_name("p.zip.tmp").exists()


def test_zip_refuses_a_file_larger_than_its_manifest_declares(home, capsys):
    from soxauto.cli import run

    folder, out = home / "evidence" / NAME, home.parent / "p.zip"
    declared = next(a["size"] for a in manifest(folder)["artifacts"] if a["path"] == "data.csv")
    with open(folder / "data.csv", "ab") as f:
        f.write(b'"EC_NG","99999",\n')

    assert run(["evidence", "zip", str(folder), "--out", str(out)]) == 5
    assert f"{folder / 'data.csv'}: larger than the {declared} bytes the manifest declares; not read further" \
        in capsys.readouterr().err.replace("\n", "")
    assert not out.exists()


# push (S3 by moto, inside the child)


@pytest.mark.parametrize("kind", KINDS)
def test_push_refuses_a_data_csv_that_is_not_a_regular_file_and_uploads_nothing(home, kind):
    folder = home / "evidence" / NAME
    plant(folder / "data.csv", kind)

    done = soxauto_apart("evidence", "push", str(folder), home=home, prelude=MOTO, epilogue=KEYS)

    assert done.returncode == 5, done.stderr
    assert refusal(folder / "data.csv", kind) in done.stderr
    assert s3_keys(done) == []
    assert not (home / "evidence" / "s3-copies.jsonl").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_push_refuses_a_data_csv_swapped_after_the_listing_and_uploads_nothing(home, kind):
    folder = home / "evidence" / NAME

    done = soxauto_apart("evidence", "push", str(folder), home=home,
                         prelude=SWAP_AFTER_LISTING.format(kind=kind) + MOTO, epilogue=KEYS)

    assert done.returncode == 5, done.stderr
    assert refusal(folder / "data.csv", kind) in done.stderr
    assert s3_keys(done) == []


def test_push_copies_a_sound_package_and_refuses_one_grown_past_its_manifest(home):
    folder = home / "evidence" / NAME
    names = sorted(p.name for p in folder.iterdir())

    done = soxauto_apart("evidence", "push", str(folder), home=home, prelude=MOTO, epilogue=KEYS)
    assert done.returncode == 0, done.stderr
    assert s3_keys(done) == [f"evidence/{NAME}/{n}" for n in names]

    declared = next(a["size"] for a in manifest(folder)["artifacts"] if a["path"] == "data.csv")
    with open(folder / "data.csv", "ab") as f:
        f.write(b'"EC_NG","99999",\n')
    done = soxauto_apart("evidence", "push", str(folder), home=home, prelude=MOTO, epilogue=KEYS)

    assert done.returncode == 5, done.stderr
    assert f"{folder / 'data.csv'}: larger than the {declared} bytes the manifest declares; not read further" in done.stderr
    assert s3_keys(done) == []


# the store's recovery, which runs before every commit


@pytest.mark.parametrize("kind", KINDS)
def test_a_commit_refuses_a_ledger_that_is_not_a_regular_file(home, lake, kind):
    store = home / "evidence"
    before = sha(store / NAME / "manifest.json")
    plant(store / "ledger.jsonl", kind)

    done = soxauto_apart(*extract_args(lake, home.parent / "out"), home=home)

    assert done.returncode == 5, done.stderr
    assert (refusal(store / "ledger.jsonl", kind) + "; the ledger must be a regular file, so nothing was committed")\
        in done.stderr
    assert sha(store / NAME / "manifest.json") == before  # the package in place is untouched
    assert not [p for p in store.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("kind", KINDS)
def test_a_commit_leaves_a_package_whose_manifest_is_not_a_regular_file_unread(home, lake, kind):
    store = home / "evidence"
    plant(store / OTHER / "manifest.json", kind)

    done = soxauto_apart(*extract_args(lake, home.parent / "out"), home=home)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["evidence"]["ledger_seq"] == 3
    mode = os.lstat(store / OTHER / "manifest.json").st_mode
    assert stat.S_ISLNK(mode) if kind == "link to /dev/zero" else stat.S_ISFIFO(mode)  # left alone
    checked = soxauto_apart("evidence", "verify", "--all", "--json", home=home)
    assert checked.returncode == 5, checked.stderr
    other = next(p for p in json.loads(checked.stdout)["packages"] if p["path"] == str(store / OTHER))
    assert next(a["status"] for a in other["artifacts"] if a["path"] == "manifest.json") == "refused"


def test_a_package_superseded_while_its_manifest_is_a_fifo_is_kept_aside_unread(home, lake):
    store = home / "evidence"
    plant(store / NAME / "manifest.json", "FIFO")

    done = soxauto_apart(*extract_args(lake, home.parent / "out"), home=home)

    assert done.returncode == 0, done.stderr
    aside = [p for p in (store / "history" / NAME).iterdir() if p.name.startswith("unledgered-")]
    assert len(aside) == 1 and stat.S_ISFIFO(os.lstat(aside[0] / "manifest.json").st_mode)
    assert sha(store / NAME / "manifest.json") == json.loads(done.stdout)["evidence"]["manifest_sha256"]
