"""AWS credentials: the standard boto3 chain, chosen by the ``aws_profile`` and ``aws_region``
settings (``SOXAUTO_AWS_PROFILE``, ``SOXAUTO_AWS_REGION`` or ``soxauto.toml``).

soxauto never handles keys itself: it names a profile (or none) and boto3 resolves it in its
usual order: environment keys, the shared credentials and config files (static keys, a profile
written by ``soxauto auth okta``, ``credential_process``, ``role_arn`` + ``source_profile``, and
IAM Identity Center ``sso_session`` profiles set up by ``aws configure sso`` and refreshed by
``aws sso login``), then container and instance roles (ECS task role, EC2 instance profile).

The one thing added: a profile that ``soxauto auth okta`` wrote and that has expired is an
error before any AWS call, naming the command that refreshes it, instead of an ExpiredToken
from the middle of a close.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..errors import UsageError, did_you_mean
from . import profile as profiles


def aws_session(cfg: Any = None, *, profile: str | None = None, region: str | None = None,
                now: datetime | None = None):
    """A ``boto3.Session`` for the configured profile and region (either may be unset)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    profile = profile or getattr(cfg, "aws_profile", None)
    region = region or getattr(cfg, "aws_region", None)
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        known = boto3.Session().available_profiles
        raise UsageError(f"AWS profile '{profile}' is not configured{did_you_mean(str(profile), known)}; "
                         f"known profiles: {', '.join(sorted(known)) or 'none'}. Set one up with 'aws configure sso' "
                         f"or 'soxauto auth okta --profile {profile} ...'") from None
    if profile:
        path = profiles.credentials_file()
        when = profiles.expiry(profile, path)
        if when is not None and when <= (now or datetime.now(timezone.utc)):
            raise UsageError(f"AWS profile '{profile}' in {path} expired at {when.isoformat()}; refresh it with "
                             f"'soxauto auth okta --profile {profile} ...'")
    return session


def describe(session) -> dict[str, Any]:
    """Where the session's credentials come from, without the keys (for ``config show`` or logs)."""
    creds = session.get_credentials()
    return {
        "profile": session.profile_name,
        "region": session.region_name,
        "method": getattr(creds, "method", None) if creds is not None else None,
        "access_key_id": creds.access_key if creds is not None else None,
    }
