"""Named profiles in the AWS shared credentials file, written with their expiry.

The file is ``AWS_SHARED_CREDENTIALS_FILE`` when set, else ``~/.aws/credentials`` (what boto3
and the AWS CLI read). A profile written here carries ``x_security_token_expires`` (ISO 8601,
UTC), the key the AWS CLI's own SAML tools use, so ``soxauto auth okta`` can tell a valid
profile from an expired one without calling AWS. The file is rewritten atomically with mode
0600; other profiles are kept (comments in the file are not).
"""

from __future__ import annotations

import configparser
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..errors import UsageError

EXPIRES = "x_security_token_expires"
# Refresh a little before the end, so a close started now does not lose its credentials midway.
MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires: datetime

    def __repr__(self) -> str:  # a repr in a traceback or a log must not carry the keys
        return f"Credentials(access_key_id={self.access_key_id!r}, expires={self.expires.isoformat()})"


def credentials_file(path: str | Path | None = None) -> Path:
    if path:
        return Path(path).expanduser()
    env = os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
    return Path(env).expanduser() if env else Path.home() / ".aws" / "credentials"


def _read(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    if path.exists():
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError) as e:
            raise UsageError(f"{path}: cannot read the AWS credentials file: {type(e).__name__}") from None
    return parser


def expiry(profile: str, path: Path) -> datetime | None:
    """When the profile's credentials expire; ``None`` when it has no recorded expiry."""
    parser = _read(path)
    if not parser.has_option(profile, EXPIRES):
        return None
    try:
        when = datetime.fromisoformat(parser.get(profile, EXPIRES).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def still_valid(profile: str, path: Path, now: datetime | None = None) -> datetime | None:
    """The expiry when the profile is valid for at least ``MARGIN`` more, else ``None``."""
    when = expiry(profile, path)
    now = now or datetime.now(timezone.utc)
    return when if when is not None and when - MARGIN > now else None


def foreign(profile: str, path: Path) -> bool:
    """A profile with keys but no expiry was not written by us (static keys, say): never overwrite it."""
    parser = _read(path)
    return parser.has_section(profile) and not parser.has_option(profile, EXPIRES) and \
        parser.has_option(profile, "aws_access_key_id")


def write(profile: str, creds: Credentials, path: Path) -> None:
    parser = _read(path)
    if not parser.has_section(profile):
        parser.add_section(profile)
    for key, value in (("aws_access_key_id", creds.access_key_id), ("aws_secret_access_key", creds.secret_access_key),
                       ("aws_session_token", creds.session_token),
                       (EXPIRES, creds.expires.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))):
        parser.set(profile, key, value)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".credentials-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            parser.write(out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
