from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import boto3  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402

from soxauto.errors import IntegrityError, UsageError  # noqa: E402
from soxauto.evidence.s3 import copy_package  # noqa: E402

PKG = "CR_04_1000_202501"
FILES = {
    "manifest.json": b'{"evidence_id": "CR_04_1000_202501"}\n',
    "data/data.csv": b"doc_id,amount\nA1,10.00\nA2,-3.50\n",
    "sql/executed.sql": b"SELECT 1\n",
}
# a fixed, future retention date: 2099-12-31T23:59:59Z
UNTIL = datetime(2099, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


@pytest.fixture
def s3(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    folder = tmp_path / PKG
    for name, data in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def locked_bucket(s3, name: str = "audit-evidence") -> str:
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def test_every_file_is_copied_locked_until_the_retention_date(s3, package: Path):
    bucket = locked_bucket(s3)

    records = copy_package(package, bucket, "evidence/cpg1/", retain_until=UNTIL)

    assert [(r["key"], r["size"], r["mode"], r["retain_until"]) for r in records] == [
        (f"evidence/cpg1/{PKG}/data/data.csv", 32, "COMPLIANCE", "2099-12-31T23:59:59Z"),
        (f"evidence/cpg1/{PKG}/manifest.json", 37, "COMPLIANCE", "2099-12-31T23:59:59Z"),
        (f"evidence/cpg1/{PKG}/sql/executed.sql", 9, "COMPLIANCE", "2099-12-31T23:59:59Z"),
    ]
    for record, name in zip(records, ["data/data.csv", "manifest.json", "sql/executed.sql"]):
        local = FILES[name]
        head = s3.head_object(Bucket=bucket, Key=record["key"], ChecksumMode="ENABLED")
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"].astimezone(timezone.utc) == UNTIL
        assert head["VersionId"] == record["version_id"]
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(local).digest()).decode()
        stored = s3.get_object(Bucket=bucket, Key=record["key"])["Body"].read()
        assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(local).hexdigest() == record["sha256"]
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == [r["key"] for r in records]


def test_retention_is_rounded_up_to_whole_seconds(s3, package: Path):
    bucket = locked_bucket(s3)
    records = copy_package(package, bucket, "", retain_until=UNTIL - timedelta(microseconds=250_000), mode="GOVERNANCE")
    assert {(r["key"].split("/")[0], r["mode"], r["retain_until"]) for r in records} == {
        (PKG, "GOVERNANCE", "2099-12-31T23:59:59Z"),
    }
    head = s3.head_object(Bucket=bucket, Key=records[0]["key"])
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"].astimezone(timezone.utc)) == ("GOVERNANCE", UNTIL)


def test_a_bucket_without_object_lock_is_refused(s3, package: Path):
    s3.create_bucket(Bucket="plain-bucket")
    with pytest.raises(UsageError, match="S3 bucket 'plain-bucket' does not have Object Lock enabled"):
        copy_package(package, "plain-bucket", "evidence/", retain_until=UNTIL)
    assert s3.list_objects_v2(Bucket="plain-bucket")["KeyCount"] == 0


def test_a_missing_bucket_is_refused(s3, package: Path):
    with pytest.raises(UsageError, match="S3 bucket 'no-such-bucket' does not exist"):
        copy_package(package, "no-such-bucket", "evidence/", retain_until=UNTIL)


def test_deleting_a_compliance_locked_version_fails(s3, package: Path):
    bucket = locked_bucket(s3)
    record = copy_package(package, bucket, "evidence/", retain_until=UNTIL)[0]
    for bypass in (False, True):
        with pytest.raises(ClientError) as refused:
            s3.delete_object(Bucket=bucket, Key=record["key"], VersionId=record["version_id"], BypassGovernanceRetention=bypass)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    body = s3.get_object(Bucket=bucket, Key=record["key"], VersionId=record["version_id"])["Body"].read()
    assert body == FILES["data/data.csv"]


def test_governance_lock_yields_only_to_an_explicit_bypass(s3, package: Path):
    # the control case: shows moto's refusal above is the COMPLIANCE lock, not a blanket denial
    bucket = locked_bucket(s3)
    record = copy_package(package, bucket, "evidence/", retain_until=UNTIL, mode="GOVERNANCE")[0]
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=record["key"], VersionId=record["version_id"])
    s3.delete_object(Bucket=bucket, Key=record["key"], VersionId=record["version_id"], BypassGovernanceRetention=True)
    versions = s3.list_object_versions(Bucket=bucket, Prefix=record["key"]).get("Versions", [])
    assert versions == []


def test_bad_arguments_are_usage_errors(s3, package: Path):
    bucket = locked_bucket(s3)
    with pytest.raises(UsageError, match="unknown Object Lock mode 'COMPLIANT'; did you mean 'COMPLIANCE'"):
        copy_package(package, bucket, "", retain_until=UNTIL, mode="COMPLIANT")
    with pytest.raises(UsageError, match="has no time zone"):
        copy_package(package, bucket, "", retain_until=UNTIL.replace(tzinfo=None))
    with pytest.raises(UsageError, match="is not in the future"):
        copy_package(package, bucket, "", retain_until=datetime(2020, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(UsageError, match=r"S3 prefix 'a/\.\./b' has an empty"):
        copy_package(package, bucket, "a/../b", retain_until=UNTIL)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


class WeakerLockOnReadBack:
    """A client whose head_object reports GOVERNANCE: what a bucket policy rewriting the lock would look like."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def head_object(self, **kwargs):
        return {**self._client.head_object(**kwargs), "ObjectLockMode": "GOVERNANCE"}


def test_a_lock_that_does_not_read_back_as_requested_is_an_integrity_error(s3, package: Path):
    bucket = locked_bucket(s3)
    with pytest.raises(IntegrityError, match=f"s3://{bucket}/evidence/{PKG}/data/data.csv: stored object has lock GOVERNANCE"):
        copy_package(package, bucket, "evidence", retain_until=UNTIL, client=WeakerLockOnReadBack(s3))
