"""Configuration: ``soxauto.toml`` plus ``SOXAUTO_*`` environment variables.

Precedence, highest first: a command-line option, the environment, the file, the default.
The file is ``$SOXAUTO_CONFIG`` when set, else ``./soxauto.toml`` when present; relative paths
in it are relative to the file's folder. Every setting has a default that runs the embedded
demo (``make demo``), so no file is needed to start.

``home`` is read from the environment only (``SOXAUTO_HOME``): every command, including the
ones that predate this module, must agree on where the evidence store and history live.
Secrets (the signing key, a password in the run-store URL) are masked by ``shown``; the
signing key itself is refused in the file, because a file gets copied and committed.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .errors import Problem, UsageError, did_you_mean

ENV_FILE = "SOXAUTO_CONFIG"
FILE_NAME = "soxauto.toml"
ENGINES = ("duckdb", "athena", "mssql")
MAX_PARALLELISM = 64
# Which sources win: an option given on the command line beats everything else.
RANK = {"default": 0, "file": 1, "env": 2, "option": 3}


@dataclass(frozen=True)
class Setting:
    key: str
    env: str
    kind: str  # text | path | int | decimal | choice | url | secret
    help: str
    in_file: bool = True


SETTINGS = (
    Setting("home", "SOXAUTO_HOME", "path", "folder of the run store, evidence store, history and reports", in_file=False),
    Setting("engine", "SOXAUTO_ENGINE", "choice", "query engine: duckdb (embedded), athena or mssql"),
    Setting("lake", "SOXAUTO_LAKE", "path", "lake folder for the embedded DuckDB engine"),
    Setting("binding", "SOXAUTO_BINDING", "path", "binding file (instead of a lake folder)"),
    Setting("pack", "SOXAUTO_PACK", "path", "control pack folder (default: the built-in C-PG-1 pack)"),
    Setting("evidence_store", "SOXAUTO_EVIDENCE_STORE", "path", "evidence store folder"),
    Setting("signing_key", "SOXAUTO_SIGNING_KEY", "secret", "Ed25519 private key (PEM or base64), environment only",
            in_file=False),
    Setting("signing_key_file", "SOXAUTO_SIGNING_KEY_FILE", "path", "file holding the Ed25519 private key"),
    Setting("run_store", "SOXAUTO_RUN_STORE", "url", "SQLAlchemy URL of the run store (SQLite or PostgreSQL)"),
    Setting("parallelism", "SOXAUTO_PARALLELISM", "int", "entities closed at once (one engine per worker)"),
    Setting("spool_rows", "SOXAUTO_SPOOL_ROWS", "int",
            "extracts of more rows stream to disk batch by batch instead of being held in memory"),
    Setting("engine_memory", "SOXAUTO_ENGINE_MEMORY", "text",
            "memory limit of each embedded DuckDB worker (e.g. 1GB); larger sorts and joins spill to disk"),
    Setting("reports", "SOXAUTO_REPORTS", "path", "folder of the run reports"),
    Setting("user", "SOXAUTO_USER", "text", "who runs the close (recorded in the run store and audit log)"),
    Setting("lock_stale_seconds", "SOXAUTO_LOCK_STALE_SECONDS", "int",
            "a lock held from another host without a heartbeat for this long is stale"),
    Setting("attachment_max_bytes", "SOXAUTO_ATTACHMENT_MAX_BYTES", "int",
            "largest file a disposition may attach, in bytes (stored under <home>/attachments by SHA-256)"),
    Setting("athena_workgroup", "SOXAUTO_ATHENA_WORKGROUP", "text", "Athena workgroup (overrides the binding file's)"),
    Setting("athena_output", "SOXAUTO_ATHENA_OUTPUT", "text", "Athena query result location, s3://bucket/prefix/"),
    Setting("athena_region", "SOXAUTO_ATHENA_REGION", "text", "AWS region of Athena, Glue and the result bucket"),
    Setting("athena_price_per_tb", "SOXAUTO_ATHENA_PRICE_PER_TB", "decimal",
            "Athena's price in USD per TB (10^12 bytes) scanned, for the cost in the close summary"),
    Setting("aws_profile", "SOXAUTO_AWS_PROFILE", "text", "AWS profile for boto3 (SSO, Okta or static); default chain when unset"),
    Setting("aws_region", "SOXAUTO_AWS_REGION", "text", "AWS region for Athena, Glue, S3 and STS"),
    Setting("mssql_connection", "SOXAUTO_MSSQL_CONNECTION", "secret",
            "ODBC connection string for SQL Server (may hold a password), environment only", in_file=False),
    Setting("oidc_issuer", "SOXAUTO_OIDC_ISSUER", "text", "OIDC issuer the service accepts bearer tokens from (iss)"),
    Setting("oidc_audience", "SOXAUTO_OIDC_AUDIENCE", "text", "OIDC audience the tokens must be for (aud)"),
    Setting("oidc_jwks_url", "SOXAUTO_OIDC_JWKS_URL", "text", "URL of the OIDC provider's signing keys (JWKS)"),
    Setting("oidc_role_claim", "SOXAUTO_OIDC_ROLE_CLAIM", "text", "token claim that lists the user's roles"),
    Setting("session_secret", "SOXAUTO_SESSION_SECRET", "secret", "key of the dashboard's session cookies, "
            "environment only", in_file=False),
)
BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    home: Path
    engine: str = "duckdb"
    lake: Path | None = None
    binding: Path | None = None
    pack: Path | None = None
    evidence_store: Path | None = None
    signing_key: str | None = field(default=None, repr=False)
    signing_key_file: Path | None = None
    run_store: str = ""
    parallelism: int = 2
    spool_rows: int = 1_000_000
    engine_memory: str = "1GB"
    reports: Path | None = None
    user: str = ""
    lock_stale_seconds: int = 900
    attachment_max_bytes: int = 10 * 1024 * 1024
    athena_workgroup: str = ""
    athena_output: str = ""
    athena_region: str = ""
    athena_price_per_tb: Decimal = Decimal("5")
    aws_profile: str | None = None
    aws_region: str | None = None
    mssql_connection: str | None = field(default=None, repr=False)
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    oidc_role_claim: str = "groups"
    session_secret: str | None = field(default=None, repr=False)
    file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def override(self, **values: Any) -> "Config":
        """Command-line options: ``None`` means not given. Giving ``lake`` drops a ``binding``
        from a weaker source and the other way round."""
        given = {k: v for k, v in values.items() if v is not None}
        if not given:
            return self
        sources = dict(self.sources)
        changes: dict[str, Any] = {}
        for key, value in given.items():
            changes[key] = parse(BY_KEY[key], value, "command line", Path.cwd())
            sources[key] = "option"
        for a, b in (("lake", "binding"), ("binding", "lake")):
            if a in given and b not in given:
                changes[b] = None
                sources[b] = "option"
        return _check(replace(self, **changes, sources=MappingProxyType(sources)))

    def source_of(self, key: str) -> str:
        return self.sources.get(key, "default")

    def shown(self) -> list[tuple[str, str, str]]:
        """(setting, value, source) with secrets masked, for ``soxauto config show``."""
        out = []
        for s in SETTINGS:
            value = getattr(self, s.key)
            source = self.source_of(s.key)
            where = {"env": s.env, "file": str(self.file), "option": "command line"}.get(source, "default")
            out.append((s.key, mask(s, value), where))
        return out

    def to_dict(self) -> dict:
        return {key: {"value": value, "source": source} for key, value, source in self.shown()}


def mask(setting: Setting, value: Any) -> str:
    if value is None:
        return ""
    if setting.kind == "secret":
        return "****"
    if setting.kind == "url":
        from sqlalchemy.engine import make_url

        return make_url(str(value)).render_as_string(hide_password=True)
    return str(value)


def parse(setting: Setting, raw: Any, where: str, base: Path) -> Any:
    """One value from a file, the environment or an option; the error names where it came from."""
    name = f"{where}: {setting.key}"
    if setting.kind == "int":
        text = str(raw).strip()
        if isinstance(raw, bool) or not text.lstrip("-").isdigit():
            raise UsageError(f"{name} = {raw!r} is not a whole number")
        value = int(text)
        if setting.key == "parallelism" and not 1 <= value <= MAX_PARALLELISM:
            raise UsageError(f"{name} = {value}: give a number of workers from 1 to {MAX_PARALLELISM}")
        if value < 1:
            raise UsageError(f"{name} = {value}: give a whole number >= 1")
        return value
    if setting.kind == "decimal":
        # a TOML number or a string; a float is read by its shortest text (5.5 is 5.5, exactly)
        try:
            value = Decimal(str(raw).strip()) if not isinstance(raw, bool) else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value < 0:
            raise UsageError(f"{name} = {raw!r} is not an amount >= 0 (for example 5 or 5.00)")
        return value
    if not isinstance(raw, (str, os.PathLike)) or not str(raw).strip():
        raise UsageError(f"{name} = {raw!r} is not a non-empty string")
    text = str(raw).strip()
    if setting.kind == "path":
        path = Path(text).expanduser()
        return path if path.is_absolute() else base / path
    if setting.kind == "choice" and text not in ENGINES:
        raise UsageError(f"{name} = {text!r} is not an engine{did_you_mean(text, ENGINES)}; choose one of {', '.join(ENGINES)}")
    if setting.kind == "url":
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(text)
        except ArgumentError:
            raise UsageError(f"{name} is not a database URL; e.g. sqlite:///runs.sqlite or "
                             "postgresql+psycopg://user:password@host/db") from None
    return text


def find_file(environ: Mapping[str, str]) -> Path | None:
    if environ.get(ENV_FILE):
        path = Path(environ[ENV_FILE])
        if not path.is_file():
            raise UsageError(f"${ENV_FILE}: {path} is not a file; unset it or point it at a soxauto.toml")
        return path
    path = Path.cwd() / FILE_NAME
    return path if path.is_file() else None


def read_file(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read the configuration: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: not valid TOML: {e}") from None
    problems = []
    allowed = [s.key for s in SETTINGS if s.in_file]
    for key in raw:
        if key in BY_KEY and not BY_KEY[key].in_file:
            problems.append(Problem(str(path), f"'{key}' belongs in the environment ({BY_KEY[key].env}), not in a file"
                                    + ("; put the key in a file and set signing_key_file" if key == "signing_key" else "")))
        elif key not in BY_KEY:
            problems.append(Problem(str(path), f"unknown setting '{key}'{did_you_mean(key, allowed)}"))
    if problems:
        raise UsageError(f"{path}: the configuration is not valid", problems)
    return raw


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """The effective configuration: defaults, then the file, then the environment."""
    env = os.environ if environ is None else environ
    path = find_file(env)
    file_values = read_file(path) if path else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for s in SETTINGS:
        if env.get(s.env):
            values[s.key] = parse(s, env[s.env], f"${s.env}", Path.cwd())
            sources[s.key] = "env"
        elif s.key in file_values:
            values[s.key] = parse(s, file_values[s.key], str(path), path.parent)
            sources[s.key] = "file"
    for a, b in (("lake", "binding"), ("binding", "lake")):
        if a in sources and b in sources and RANK[sources[a]] > RANK[sources[b]]:
            del values[b], sources[b]  # the stronger source's choice of lake or binding wins
    home = values.pop("home", None) or Path.cwd() / ".soxauto"
    return _check(_defaults(Config(home=home, file=path, sources=MappingProxyType(sources), **values)))


def _defaults(cfg: Config) -> Config:
    """Defaults that depend on other settings (home) fill whatever is still unset."""
    from sqlalchemy.engine import URL

    home = cfg.home
    fill: dict[str, Any] = {}
    if cfg.lake is None and cfg.binding is None:
        fill["lake"] = Path("demo-lake")
    if cfg.evidence_store is None:
        fill["evidence_store"] = home / "evidence"
    if cfg.reports is None:
        fill["reports"] = home / "reports"
    if not cfg.run_store:
        fill["run_store"] = URL.create("sqlite", database=str(home / "runs.sqlite")).render_as_string()
    if not cfg.user:
        fill["user"] = _login()
    return replace(cfg, **fill)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid-{os.getuid()}"


def _check(cfg: Config) -> Config:
    if cfg.lake is not None and cfg.binding is not None:
        raise UsageError(f"both a lake ({cfg.source_of('lake')}) and a binding ({cfg.source_of('binding')}) are "
                         "configured at the same level; keep one of them")
    if cfg.lake is not None and cfg.engine != "duckdb":
        raise UsageError(f"engine '{cfg.engine}' needs a binding file; a lake folder is read by the embedded duckdb engine")
    return cfg


def binding_of(cfg: Config):
    """The binding to connect with: the binding file, or the lake folder's embedded binding."""
    from .lake.binding import lake_binding, load_binding

    if cfg.binding is not None:
        binding = load_binding(cfg.binding)
        if cfg.source_of("engine") != "default" and binding.engine != cfg.engine:
            raise UsageError(f"{cfg.binding} is a binding for engine '{binding.engine}' but engine is set to "
                             f"'{cfg.engine}' ({cfg.source_of('engine')}); make them agree")
        return binding
    if not Path(cfg.lake).is_dir():
        hint = "run 'make demo' (or 'soxauto lake generate --out demo-lake')" if cfg.source_of("lake") == "default" \
            else "check the path"
        raise UsageError(f"lake folder {cfg.lake} does not exist ({cfg.source_of('lake')}); {hint}")
    return lake_binding(cfg.lake)


def signer_of(cfg: Config):
    """The signing key: environment, configured file, or the store's own key (generated)."""
    from .evidence.keys import Signer, load_signer, parse_private, remember_public

    store = Path(cfg.evidence_store)
    if cfg.signing_key and cfg.source_of("signing_key") == "env" or not cfg.signing_key_file:
        return load_signer(store)  # reads SOXAUTO_SIGNING_KEY(_FILE) itself, or the store's key
    path = Path(cfg.signing_key_file)
    if not path.is_file():
        raise UsageError(f"signing_key_file ({cfg.source_of('signing_key_file')}): {path} is not a file")
    signer = Signer(parse_private(path.read_bytes(), str(path)), f"file {path} (from {cfg.source_of('signing_key_file')})")
    remember_public(store, signer.public)
    return signer


__all__ = ["Config", "SETTINGS", "Setting", "binding_of", "load_config", "mask", "signer_of"]
