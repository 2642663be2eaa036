"""Re-run a package's recorded canonical query with its recorded parameters and compare the
fingerprint of the fresh result with the one the package sealed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import sqlglot

from ..catalog.loader import CANONICAL_DIALECT
from ..engines.base import Engine
from ..errors import IntegrityError
from .canonical import sha256_hex
from .fingerprint import fingerprint
from .folder import Refused, read_file
from .verify import MANIFEST_MAX, manifest_schema


@dataclass(frozen=True)
class Reproduction:
    recorded: str
    fresh: str
    rows: int

    @property
    def verdict(self) -> str:
        return "match" if self.recorded == self.fresh else "differ"


def _read(folder: Path, name: str, manifest: dict | None) -> bytes:
    """A package file, never through a link and never past its declared size (verify's rule)."""
    declared = {a.get("path"): a.get("size") for a in (manifest or {}).get("artifacts", []) if isinstance(a, dict)}
    limit = declared.get(name) if manifest is not None else MANIFEST_MAX
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise IntegrityError(f"{folder / name}: the manifest declares no size for it; verify the package before reproducing it")
    try:
        data = read_file(folder / name, limit)
    except Refused as e:
        raise IntegrityError(f"{e}; verify the package before reproducing it") from None
    if len(data) > limit:
        raise IntegrityError(f"{folder / name}: larger than the {limit} bytes declared; verify the package before reproducing it")
    return data


def recorded_parameters(folder: Path, manifest: dict | None = None) -> dict:
    """Parameters as the query saw them: dates back to dates, lists to lists."""
    manifest = manifest if manifest is not None else json.loads(_read(folder, "manifest.json", None))
    doc = json.loads(_read(folder, "parameters.json", manifest))
    values, types = doc["parameters"], doc["types"]
    return {k: date.fromisoformat(v) if types.get(k) == "date" and v is not None else v for k, v in values.items()}


def reproduce(folder: Path, engine: Engine) -> Reproduction:
    folder = Path(folder)
    manifest = json.loads(_read(folder, "manifest.json", None))
    sql = _read(folder, "query.canonical.sql", manifest).decode("utf-8")
    if sha256_hex(sql.encode("utf-8")) != manifest["item"]["query_sha256"]:
        raise IntegrityError(f"{folder / 'query.canonical.sql'}: its SHA-256 is not the manifest's query_sha256; "
                             "verify the package before reproducing it")
    query = sqlglot.parse_one(sql, read=CANONICAL_DIALECT)
    result = engine.run(query, recorded_parameters(folder, manifest))
    schema = manifest_schema(manifest)
    if result.table.column_names != schema.names:
        raise IntegrityError(f"{folder.name}: the query now returns columns {result.table.column_names}, "
                             f"the package recorded {schema.names}")
    try:
        table = result.table.cast(schema, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise IntegrityError(f"{folder.name}: the fresh result does not fit the recorded columns: {e}") from None
    return Reproduction(manifest["fingerprint"]["value"], fingerprint(table), table.num_rows)
