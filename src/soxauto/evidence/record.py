"""One extraction with its evidence: extract, write the extract, run the C&A tests, seal the package."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..catalog import Catalog
from ..engines.base import Engine
from ..catalog.model import TIME_BOUNDS
from ..extract import ExtractResult, extract
from ..period import Period
from ..validation import ValidationResult, validate
from ..validation.history import HistoryStore
from .facts import RunLog
from .keys import Signer
from .package import CSV_MAX_ROWS, Written, begin_package


@dataclass(frozen=True)
class Recorded:
    extract: ExtractResult
    tests: ValidationResult
    package: Written
    parquet: Path | None = None  # the copy of data.parquet asked for with ``out``


def record(engine: Engine, catalog: Catalog, item_id: str, period: Period, company_id: str, *, store: Path,
           overrides: Mapping[str, Any] | None = None, history: HistoryStore | None = None, sample_size: int = 20,
           csv_max_rows: int = CSV_MAX_ROWS, signer: Signer | None = None, out: Path | None = None) -> Recorded:
    """The extract is written once, as the package's ``data.parquet``; with ``out`` it is then
    copied to ``out/{NAME}.parquet``. The items a cross-source rule compares with are
    extracted too (not packaged: each has its own package when it is extracted for itself)."""
    spec = catalog.item(item_id)
    log = RunLog()
    log.step("extract.start", item=spec.id, entity=company_id, period=period)
    result = extract(engine, spec, period, company_id, overrides)
    log.step("extract.query", at=result.query.started_at, engine=result.query.engine,
             execution_id=result.query.execution_id, elapsed_ms=int(round(result.query.elapsed_seconds * 1000)))
    log.step("extract.done", rows=result.row_count)
    with begin_package(store, result, log=log, csv_max_rows=csv_max_rows) as draft:
        needed = spec.compared_with
        bounds = {k: v for k, v in (overrides or {}).items() if k in TIME_BOUNDS}  # the run's, not the item's own
        others = {}
        for other in needed:
            others[other] = extract(engine, catalog.item(other), period, company_id, bounds)
            log.step("extract.other", item=other, rows=others[other].row_count,
                     execution_id=others[other].query.execution_id)
        log.step("tests.start", rules=len(spec.tests))
        tests = validate(engine, result, others=others, history=history, sample_size=sample_size)
        log.step("tests.done", **{o: n for o, n in tests.to_dict()["summary"].items()})
        written = draft.seal(tests, signer=signer)
    parquet = publish(written.path / "data.parquet", Path(out), result.name) if out is not None else None
    return Recorded(result, tests, written, parquet)


def publish(source: Path, out_dir: Path, name: str) -> Path:
    """Copy the sealed extract to ``out_dir/{name}.parquet`` (atomically replacing an older one).

    A copy, not a hard link: a link would share the sealed file's inode, so a tool that
    rewrites the copy in place would alter the evidence. The kernel copies (sendfile)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.parquet"
    tmp = path.with_suffix(".parquet.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, path)
    return path
