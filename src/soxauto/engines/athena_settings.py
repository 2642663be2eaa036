"""Where the Athena engine's settings come from, strongest first: ``connect(...)`` keyword
options, the product configuration (``SOXAUTO_ATHENA_*`` / ``soxauto.toml``), the binding
file's ``connection`` block, the defaults below."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from ..errors import UsageError, did_you_mean
from .athena_s3 import prefix

UNLOAD_MODES = ("auto", "never")


@dataclass(frozen=True)
class AthenaSettings:
    output: str                       # query result location, s3://bucket/prefix/
    region: str | None = None         # None: the boto3 chain's region
    profile: str | None = None        # None: the boto3 chain's credentials
    workgroup: str = "primary"
    catalog: str = "AwsDataCatalog"
    staging: str = ""                 # registered extracts and UNLOAD output; default output + soxauto-staging/
    scratch_database: str = "soxauto_scratch"  # Glue database of registered extracts
    unload: str = "auto"              # auto: UNLOAD to Parquet when row order can be restored; never
    timeout_seconds: float = 1800.0
    poll_initial_seconds: float = 0.25
    poll_max_seconds: float = 5.0

    @property
    def staging_prefix(self) -> str:
        return self.staging or self.output + "soxauto-staging/"


KEYS = tuple(f.name for f in fields(AthenaSettings))
# product configuration setting -> engine setting
FROM_CONFIG = {"athena_output": "output", "athena_workgroup": "workgroup", "athena_region": "region",
               "aws_region": "region", "aws_profile": "profile"}


def resolve(connection: Mapping[str, Any], config: Any, options: Mapping[str, Any], where: str) -> AthenaSettings:
    values: dict[str, Any] = {}
    for key, value in connection.items():
        _known(key, f"{where}: connection")
        values[key] = value
    if config is not None:
        # athena_region wins over the general aws_region: it is listed first among equals
        for setting, key in reversed(list(FROM_CONFIG.items())):
            value = getattr(config, setting, None)
            if value and config.source_of(setting) != "default":
                values[key] = value
    for key, value in options.items():
        _known(key, "Athena engine option")
        if value is not None:
            values[key] = value
    if not values.get("output"):
        raise UsageError("the Athena engine needs a query result location: set athena_output (SOXAUTO_ATHENA_OUTPUT) "
                         f"or 'output: s3://bucket/prefix/' in the connection block of {where}")
    values["output"] = prefix(str(values["output"]), "Athena output location")
    if values.get("staging"):
        values["staging"] = prefix(str(values["staging"]), "Athena staging location")
    if values.get("unload", "auto") not in UNLOAD_MODES:
        raise UsageError(f"{where}: unload '{values['unload']}' is not one of {', '.join(UNLOAD_MODES)}"
                         f"{did_you_mean(str(values['unload']), UNLOAD_MODES)}")
    for key in ("timeout_seconds", "poll_initial_seconds", "poll_max_seconds"):
        if key in values:
            try:
                values[key] = float(values[key])
            except (TypeError, ValueError):
                raise UsageError(f"{where}: {key} = {values[key]!r} is not a number of seconds") from None
            if values[key] <= 0:
                raise UsageError(f"{where}: {key} must be > 0")
    return AthenaSettings(**values)


def _known(key: str, where: str) -> None:
    if key not in KEYS:
        raise UsageError(f"{where}: unknown Athena setting '{key}'{did_you_mean(key, KEYS)}; "
                         f"known: {', '.join(KEYS)}")
