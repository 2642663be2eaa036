"""After commit: the ledger head anchored by a TSA, packages copied to S3 with Object Lock,
zips for download, all through the CLI an operator uses."""

from __future__ import annotations

import json
from dataclasses import replace
import zipfile
from pathlib import Path

import boto3
import pytest
from evkit import extract_args, make_lake
from moto import mock_aws
from tsa_stub import TsaStub

from soxauto.cli import run
from soxauto.evidence import ledger
from soxauto.evidence.publish import ANCHORS, S3_COPIES, verify_anchors


@pytest.fixture
def store_with_two_packages(tmp_path, isolated_home) -> Path:
    lake = make_lake(tmp_path / "lake")
    for entity in ("EC_NG", "JM_EG"):
        assert run(extract_args(lake, tmp_path / "out", entity=entity)) == 0
    return isolated_home / "evidence"


def test_anchor_timestamps_the_ledger_head_and_verify_checks_it(store_with_two_packages, capsys):
    store = store_with_two_packages
    with TsaStub() as tsa:
        assert run(["evidence", "anchor", "--tsa-url", tsa.url]) == 0
    head = ledger.read(store).head
    record = json.loads((store / ANCHORS).read_text())
    assert record["ledger_seq"] == head.seq == 2 and record["entry_sha256"] == head.sha256
    capsys.readouterr()
    assert run(["evidence", "verify", "--all", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [a["ok"] for a in doc["anchors"]] == [True]


def test_an_anchor_no_longer_verifies_when_the_anchored_ledger_entry_is_rewritten(store_with_two_packages, capsys):
    store = store_with_two_packages
    with TsaStub() as tsa:
        assert run(["evidence", "anchor", "--tsa-url", tsa.url]) == 0
    # A forger with file access rewrites entry 1 and re-chains entry 2: the chain itself is
    # consistent again; the anchor, fixed in time by the TSA, tells (and so do the entries'
    # signatures, which the forger cannot make without the key).
    first, second = ledger.read(store).entries
    forged_first = replace(first, manifest_sha256="0" * 64)
    forged_second = replace(second, prev_entry_sha256=forged_first.sha256)
    (store / ledger.LEDGER).write_bytes(forged_first.line + b"\n" + forged_second.line + b"\n")
    assert ledger.read(store).problems == ()
    checks = verify_anchors(store)
    assert [c.ok for c in checks] == [False] and "missing or changed" in checks[0].detail
    assert run(["evidence", "verify", "--all"]) == 5


def test_a_forged_token_in_the_anchor_record_fails(store_with_two_packages):
    store = store_with_two_packages
    with TsaStub() as tsa:
        assert run(["evidence", "anchor", "--tsa-url", tsa.url]) == 0
    record = json.loads((store / ANCHORS).read_text())
    record["gen_time"] = "2020-01-01T00:00:00Z"  # backdated
    (store / ANCHORS).write_text(json.dumps(record) + "\n")
    checks = verify_anchors(store)
    assert [c.ok for c in checks] == [False] and "genTime" in checks[0].detail


def test_anchor_without_a_tsa_is_a_usage_error(store_with_two_packages, capsys):
    assert run(["evidence", "anchor"]) == 3
    assert "SOXAUTO_TSA_URL" in capsys.readouterr().err


def test_push_copies_every_package_locked_and_records_it(store_with_two_packages, monkeypatch):
    store = store_with_two_packages
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "SOXAUTO_EVIDENCE_S3_BUCKET": "audit",
                        "SOXAUTO_EVIDENCE_S3_PREFIX": "cpg1/", "SOXAUTO_EVIDENCE_RETENTION_DAYS": "2562"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="audit", ObjectLockEnabledForBucket=True)
        assert run(["evidence", "push", "--all"]) == 0
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="audit")["Contents"])
        head = s3.head_object(Bucket="audit", Key="cpg1/CR_04_EC_NG_202509/manifest.json")
    packages = sorted(p.name for p in store.iterdir() if p.name.startswith("CR_04_"))
    assert packages == ["CR_04_EC_NG_202509", "CR_04_JM_EG_202509"]
    for name in packages:
        local = sorted(f.relative_to(store).as_posix() for f in (store / name).rglob("*") if f.is_file())
        assert [k for k in keys if k.startswith(f"cpg1/{name}/")] == ["cpg1/" + x for x in local]
    assert head["ObjectLockMode"] == "COMPLIANCE"
    copies = [json.loads(line) for line in (store / S3_COPIES).read_text().splitlines()]
    assert [c["package"] for c in copies] == packages


def test_zip_of_a_package_is_deterministic_and_complete(store_with_two_packages, tmp_path):
    folder = store_with_two_packages / "CR_04_EC_NG_202509"
    assert run(["evidence", "zip", str(folder), "--out", str(tmp_path / "a.zip")]) == 0
    assert run(["evidence", "zip", str(folder), "--out", str(tmp_path / "b.zip")]) == 0
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    names = zipfile.ZipFile(tmp_path / "a.zip").namelist()
    files = sorted("CR_04_EC_NG_202509/" + f.relative_to(folder).as_posix() for f in folder.rglob("*") if f.is_file())
    assert sorted(n for n in names if not n.endswith("/")) == files


def test_extract_and_verify_agree_on_a_configured_evidence_store(tmp_path, monkeypatch, capsys):
    store = tmp_path / "elsewhere"
    monkeypatch.setenv("SOXAUTO_EVIDENCE_STORE", str(store))
    lake = make_lake(tmp_path / "lake")
    assert run(extract_args(lake, tmp_path / "out")) == 0
    assert (store / "CR_04_EC_NG_202509" / "manifest.json").is_file()
    capsys.readouterr()
    assert run(["evidence", "verify", "--all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["store"] == str(store)
