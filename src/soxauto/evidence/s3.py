"""Copy an evidence package to S3 under Object Lock, so nobody (not even the bucket owner in
COMPLIANCE mode) can change or delete it before the retention date.

Each object is uploaded with its SHA-256 as ``ChecksumSHA256``: S3 recomputes it and refuses a
body that arrived damaged, and Object Lock uploads need an integrity header (S3 accepts either
Content-MD5 or an x-amz-checksum; MD5 is not used in SOXauto). After the upload every object is
read back with ``head_object`` to confirm its lock mode, retention date, size and checksum.

Every file is opened through ``folder`` (a symbolic link, FIFO or device is refused, exit 5,
without being read) and hashed, no further than the size the manifest declares for it, before
the first upload: a package that is refused leaves nothing locked in the bucket. Each file is
then uploaded from the descriptor it was hashed from, so the bytes hashed are the bytes sent.
"""

from __future__ import annotations

import base64
import hashlib
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..errors import EngineError, IntegrityError, UsageError, did_you_mean
from . import folder as folder_mod
from .archive import package_files

MODES = ("COMPLIANCE", "GOVERNANCE")


def copy_package(
    folder: Path,
    bucket: str,
    prefix: str,
    *,
    retain_until: datetime,
    mode: str = "COMPLIANCE",
    client=None,
) -> list[dict]:
    """Upload every file of ``folder`` to ``s3://bucket/prefix/<folder name>/...``, locked.

    Returns one record per object (key, version id, size, sha256, lock mode, retain-until) in
    file-name order, ready to be written next to the package.
    """
    if mode not in MODES:
        raise UsageError(f"unknown Object Lock mode {mode!r}{did_you_mean(mode, MODES)}; use COMPLIANCE or GOVERNANCE")
    until = _whole_second(retain_until)
    if until <= datetime.now(timezone.utc):
        raise UsageError(f"retain_until {until.isoformat()} is not in the future; Object Lock needs a future date")
    base = _key_prefix(prefix) + Path(folder).name + "/"
    files = package_files(folder)
    if client is None:
        import boto3

        client = boto3.client("s3")
    require_object_lock(client, bucket)
    bounds = folder_mod.limits(folder)
    with ExitStack() as stack:
        hashed = []
        for name, path in files:
            f = stack.enter_context(folder_mod.opened(path))
            hashed.append((base + name, f, _sha256(f, bounds.get(name), name not in folder_mod.SEAL_LIMITS)))
        return [_upload(client, bucket, key, f, digest, mode, until) for key, f, digest in hashed]


def require_object_lock(client, bucket: str) -> None:
    """Refuse a bucket without Object Lock: retention could not be applied to what we upload."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        config = client.get_object_lock_configuration(Bucket=bucket)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code == "ObjectLockConfigurationNotFoundError":
            raise UsageError(
                f"S3 bucket {bucket!r} does not have Object Lock enabled, so evidence copied there could be "
                "deleted; use a bucket created with Object Lock (aws s3api create-bucket "
                "--object-lock-enabled-for-bucket) or unset SOXAUTO_EVIDENCE_S3_BUCKET"
            ) from None
        if code == "NoSuchBucket":
            raise UsageError(f"S3 bucket {bucket!r} does not exist; check SOXAUTO_EVIDENCE_S3_BUCKET") from None
        raise EngineError(f"S3 bucket {bucket!r}: cannot read its Object Lock configuration ({code}: {e})") from None
    except BotoCoreError as e:
        raise EngineError(f"S3 bucket {bucket!r}: cannot reach S3 ({e}); check credentials, region and network") from None
    enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
    if enabled != "Enabled":
        raise UsageError(f"S3 bucket {bucket!r} has Object Lock {enabled or 'off'}; it must be Enabled")


def _sha256(f: folder_mod.Opened, limit: int | None, declared: bool) -> bytes:
    h = hashlib.sha256()
    for chunk in f.whole(limit, declared):
        h.update(chunk)
    return h.digest()


def _upload(client, bucket: str, key: str, f: folder_mod.Opened, digest: bytes, mode: str, until: datetime) -> dict:
    from botocore.exceptions import BotoCoreError, ClientError

    size = f.size
    checksum = base64.b64encode(digest).decode("ascii")
    try:
        # The body is the bytes hashed, read again by offset from the same descriptor and never
        # past them: a file changed in between fails S3's own check of the checksum.
        put = client.put_object(
            Bucket=bucket, Key=key, Body=f.view(size), ContentLength=size,
            ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum, ObjectLockMode=mode, ObjectLockRetainUntilDate=until,
        )
        head = client.head_object(Bucket=bucket, Key=key, VersionId=put["VersionId"], ChecksumMode="ENABLED")
    except (ClientError, BotoCoreError) as e:
        raise EngineError(f"s3://{bucket}/{key}: upload of {f.path} failed ({e})") from None
    stored_until = head.get("ObjectLockRetainUntilDate")
    stored = (head.get("ObjectLockMode"), stored_until and _whole_second(stored_until), head.get("ContentLength"))
    if stored != (mode, until, size) or head.get("ChecksumSHA256", checksum) != checksum:
        raise IntegrityError(
            f"s3://{bucket}/{key}: stored object has lock {stored[0]} until {stored[1]}, size {stored[2]}, "
            f"checksum {head.get('ChecksumSHA256')}; expected {mode} until {until}, size {size}, checksum {checksum}"
        )
    return {
        "key": key,
        "version_id": put["VersionId"],
        "size": size,
        "sha256": digest.hex(),
        "mode": mode,
        "retain_until": until.isoformat().replace("+00:00", "Z"),
    }


def _key_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise UsageError(f"S3 prefix {prefix!r} has an empty, '.' or '..' segment; use e.g. 'evidence/cpg1'")
    return prefix + "/" if prefix else ""


def _whole_second(moment: datetime) -> datetime:
    """UTC, rounded up to the second: S3 keeps whole seconds and retention must never shrink."""
    if moment.tzinfo is None:
        raise UsageError(f"retain_until {moment.isoformat()} has no time zone; pass an aware UTC datetime")
    moment = moment.astimezone(timezone.utc)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment
