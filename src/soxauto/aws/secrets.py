"""Database logins from AWS Secrets Manager (the SQL Server engine's ``credentials`` block).

A binding names the secret, never its value::

    connection:
      driver: ODBC Driver 18 for SQL Server
      server: nav-dw.acme.internal,1433
      database: AIG_Nav_DW
      credentials:
        secrets_manager: {secret_id: prod/soxauto/nav-dw, region: eu-west-1, profile: sox, max_age_seconds: 3600}

The secret is a JSON object in the shape AWS's database secrets (and their rotation functions)
use: ``username`` and ``password``, and optionally ``host``, ``port`` and ``dbname`` which fill a
``server``/``database`` the binding leaves out. It is read with ``GetSecretValue`` through the
standard boto3 chain (or the named profile, an Okta profile included: ``aws.credentials``).

A read login is kept per process for ``max_age_seconds`` (default one hour, the refresh
interval of AWS's own caching client), so the workers of a close share one read; ``login(fresh=
True)`` reads again, which the engine does once when the server refuses the login (a rotation
since the last read). The password lives in the ``DatabaseLogin`` object and the ODBC string the
engine builds from it: never in a log (botocore, which logs response bodies at DEBUG, is held at
WARNING during the call), a repr, an error message or the evidence.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import EngineError, UsageError, did_you_mean

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 3600.0
KEYS = ("secret_id", "region", "profile", "version_stage", "max_age_seconds")


@dataclass(frozen=True)
class SecretSpec:
    """Which secret holds the login, and how long a read value is trusted."""

    secret_id: str
    region: str | None = None
    profile: str | None = None
    version_stage: str = "AWSCURRENT"
    max_age_seconds: float = MAX_AGE_SECONDS

    @classmethod
    def parse(cls, raw: Any, where: str) -> "SecretSpec":
        """From a binding's ``credentials`` block; an error names the key and the fix."""
        if not isinstance(raw, Mapping) or set(raw) != {"secrets_manager"}:
            raise UsageError(f"{where}: credentials must be {{secrets_manager: {{secret_id: ..., region: ...}}}}")
        body = raw["secrets_manager"]
        if not isinstance(body, Mapping):
            raise UsageError(f"{where}: credentials.secrets_manager must be a mapping with secret_id")
        for key in body:
            if key not in KEYS:
                raise UsageError(f"{where}: credentials.secrets_manager has no setting '{key}'{did_you_mean(str(key), KEYS)}; "
                                 f"known: {', '.join(KEYS)}")
        secret_id = body.get("secret_id")
        if not isinstance(secret_id, str) or not secret_id.strip():
            raise UsageError(f"{where}: credentials.secrets_manager.secret_id must name the secret (its name or ARN)")
        try:
            age = float(body.get("max_age_seconds", MAX_AGE_SECONDS))
        except (TypeError, ValueError):
            raise UsageError(f"{where}: credentials.secrets_manager.max_age_seconds is not a number of seconds") from None
        if age < 0:
            raise UsageError(f"{where}: credentials.secrets_manager.max_age_seconds must be >= 0")
        return cls(secret_id.strip(), _text(body.get("region")), _text(body.get("profile")),
                   str(body.get("version_stage") or "AWSCURRENT"), age)


def _text(value: Any) -> str | None:
    return str(value).strip() if value not in (None, "") else None


@dataclass(frozen=True)
class DatabaseLogin:
    """A login read from a secret. ``password`` is left out of the repr and of comparisons'
    output; ``version_id`` tells a rotated secret from the one read before."""

    username: str
    password: str = field(repr=False)
    host: str | None = None
    port: int | None = None
    dbname: str | None = None
    version_id: str | None = None


Reader = Callable[[SecretSpec], Mapping[str, Any]]


class SecretSource:
    """The login of one secret, read through ``read`` (GetSecretValue by default) and kept in a
    per-process cache for the secret's ``max_age_seconds``."""

    _cache: dict[tuple, tuple[float, DatabaseLogin]] = {}
    _lock = threading.Lock()

    def __init__(self, spec: SecretSpec, *, read: Reader | None = None, clock: Callable[[], float] = time.monotonic,
                 config: Any = "load"):
        """``config``: the product configuration whose ``aws_profile`` and ``aws_region`` apply
        when the spec names none ("load": read it when the secret is first read; None: none)."""
        self.spec, self._clock, self._config = spec, clock, config
        self._read = read or self._get_secret_value
        self.reads = 0  # how many times this source called Secrets Manager

    def __repr__(self) -> str:
        return f"SecretSource(secret_id={self.spec.secret_id!r}, region={self.spec.region!r})"

    @property
    def _key(self) -> tuple:
        s = self.spec
        return s.secret_id, s.region, s.profile, s.version_stage

    def login(self, *, fresh: bool = False) -> DatabaseLogin:
        """The login, from the cache unless it is older than ``max_age_seconds`` or ``fresh``."""
        with self._lock:
            cached = self._cache.get(self._key)
            now = self._clock()
            if cached is not None and not fresh and now - cached[0] < self.spec.max_age_seconds:
                return cached[1]
            login = parse_login(self._read(self.spec), self.spec.secret_id)
            self.reads += 1
            self._cache[self._key] = (now, login)
            log.info("read the login of secret %s (version %s)", self.spec.secret_id, login.version_id or "unknown")
            return login

    @classmethod
    def forget(cls) -> None:
        """Drop every cached login (tests; a long-lived service after a known rotation)."""
        with cls._lock:
            cls._cache.clear()

    def _get_secret_value(self, spec: SecretSpec) -> Mapping[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        from .credentials import aws_session
        from .okta import quiet_aws_logs

        where = f"secret {spec.secret_id}" + (f" in {spec.region}" if spec.region else "")
        if self._config == "load":
            from ..config import load_config

            self._config = load_config()
        with quiet_aws_logs():  # botocore logs response bodies, the secret among them, at DEBUG
            session = aws_session(self._config, profile=spec.profile, region=spec.region)
            try:
                client = session.client("secretsmanager", region_name=spec.region or session.region_name)
                return client.get_secret_value(SecretId=spec.secret_id, VersionStage=spec.version_stage)
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "error")
                raise _client_error(code, where, spec) from None
            except BotoCoreError as e:
                raise UsageError(f"cannot read {where}: {type(e).__name__}; sign in with 'soxauto auth okta', "
                                 "'aws sso login' or set AWS_PROFILE") from None


def _client_error(code: str, where: str, spec: SecretSpec) -> Exception:
    if code == "ResourceNotFoundException":
        return UsageError(f"AWS Secrets Manager has no {where} (stage {spec.version_stage}); check "
                          "connection.credentials.secrets_manager.secret_id and region in the binding")
    if code in ("AccessDeniedException", "AccessDenied"):
        return UsageError(f"not allowed to read {where}: the role needs secretsmanager:GetSecretValue on it "
                          "(and kms:Decrypt on its key when it is a customer managed key)")
    if code in ("DecryptionFailure", "InvalidRequestException", "InvalidParameterException"):
        return UsageError(f"AWS Secrets Manager cannot return {where}: {code}")
    return EngineError(f"AWS Secrets Manager failed to return {where}: {code}")


def parse_login(answer: Mapping[str, Any], secret_id: str) -> DatabaseLogin:
    """The login in a GetSecretValue answer. An error names the secret and what is missing,
    never the secret's text."""
    text = answer.get("SecretString")
    if not isinstance(text, str):
        raise UsageError(f"secret {secret_id} holds no text (SecretString); store the login as JSON with "
                         "username and password")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise UsageError(f"secret {secret_id} is not a JSON object; store the login as JSON with username and password")
    missing = [k for k in ("username", "password") if not isinstance(doc.get(k), str) or not doc.get(k)]
    if missing:
        raise UsageError(f"secret {secret_id} has no {' or '.join(missing)}; store the login as JSON with username "
                         "and password (and optionally host, port, dbname)")
    port = doc.get("port")
    try:
        port = int(port) if port not in (None, "") else None
    except (TypeError, ValueError):
        raise UsageError(f"secret {secret_id}: port is not a number") from None
    return DatabaseLogin(doc["username"], doc["password"], _text(doc.get("host")), port, _text(doc.get("dbname")),
                         answer.get("VersionId"))
