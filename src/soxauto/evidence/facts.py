"""The descriptive artifacts of a package: the data profile, the system context, the run log."""

from __future__ import annotations

import functools
import getpass
import platform
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .canonical import json_lines, utc_now, utc_text


def column_profile(col, arrow_type: pa.DataType, rows: int, null_count: int, *, true_count=None,
                   bounds: tuple | None = None, read=None) -> dict:
    """One column of ``profile.json``: logical and physical type, nulls, and min and max (None
    when all NULL) or, for a boolean, its true count. ``bounds`` are (min, max) already known
    (Parquet statistics); otherwise ``read()`` gives the column to compute them from."""
    stats: dict[str, Any] = {"name": col.name, "type": col.type, "arrow_type": str(arrow_type),
                             "nullable": col.nullable, "null_count": null_count, "min": None, "max": None}
    if pa.types.is_boolean(arrow_type):
        stats["true_count"] = true_count if true_count is not None else pc.sum(pc.cast(read(), pa.int64())).as_py() or 0
    elif bounds is not None:
        stats["min"], stats["max"] = bounds
    elif null_count < rows:
        mm = pc.min_max(read())
        stats["min"], stats["max"] = mm["min"].as_py(), mm["max"].as_py()
    return stats


def profile(table: pa.Table, columns, control_totals: dict, bounds: Mapping[str, tuple] | None = None) -> dict:
    """Every column's ``column_profile``, the row count and the control totals.

    ``bounds`` gives (min, max) of columns already known, from the Parquet statistics of the
    extract (``parquet_bounds``); the others are computed with Arrow kernels."""
    bounds = bounds or {}
    out = [column_profile(col, table.column(col.name).type, table.num_rows, table.column(col.name).null_count,
                          bounds=bounds.get(col.name), read=lambda name=col.name: table.column(name))
           for col in columns]
    return {"row_count": table.num_rows, "columns": out, "control_totals": control_totals}


def parquet_bounds(metadata: pq.FileMetaData) -> dict[str, tuple]:
    """(min, max) per top-level column from the statistics the Parquet writer computed while
    writing the extract: exact values (Arrow's writer drops a statistic rather than truncate
    it). A column is left out, to be computed from the data, when any row group that holds a
    value lacks its statistic; columns with only NULLs are left out too."""
    found: dict[str, list] = {}
    missing: set[str] = set()
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            name, stats = chunk.path_in_schema, chunk.statistics
            if stats is None or not stats.has_null_count:
                missing.add(name)
            elif stats.null_count == group.num_rows:
                continue  # only NULLs here: nothing to bound
            elif not stats.has_min_max:
                missing.add(name)
            else:
                found.setdefault(name, []).append((stats.min, stats.max))
    return {name: (min(lo for lo, _ in pairs), max(hi for _, hi in pairs))
            for name, pairs in found.items() if name not in missing}


@functools.cache
def git_commit() -> str | None:
    """The commit of the source tree the product runs from, when it runs from a checkout."""
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    if done.returncode != 0 or len(text) != 40:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                           capture_output=True, text=True, timeout=5)
    return text + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def context(query) -> dict:
    from .. import __version__

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = None
    return {
        "tool": {"name": "soxauto", "version": __version__, "git_commit": git_commit()},
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "platform": platform.platform(),
        "engine": {"name": query.engine, "version": query.engine_version},
        "query": {"execution_id": query.execution_id, "started_at": query.started_at,
                  "elapsed_ms": int(round(query.elapsed_seconds * 1000)),
                  # what the engine reports beyond that (Athena: data scanned, timings, reuse)
                  **({"engine_details": query.details} if getattr(query, "details", None) else {})},
        "user": user,
        "host": socket.gethostname(),
    }


@dataclass
class RunLog:
    """Steps of one run with UTC timestamps; written as ``log.jsonl``. Steps after the
    package is sealed (signature, rename, ledger) are in the ledger, not in the log."""

    steps: list[dict] = field(default_factory=list)

    def step(self, name: str, at: datetime | None = None, **fields: Any) -> None:
        self.steps.append({"time": utc_text(at or utc_now()), "step": name, **fields})

    def bytes(self) -> bytes:
        return json_lines(self.steps)
