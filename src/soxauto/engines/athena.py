"""The production engine: AWS Athena (Trino SQL) over the Glue catalog, through plain boto3.

One ``run`` is one Athena query execution:

* the catalog query is bound to Glue tables and rendered in the Trino dialect with positional
  ``?`` placeholders; the values go to Athena as ``ExecutionParameters`` (``athena_values``).
  Athena binds ``?`` only in a WHERE clause, so a value anywhere else (a select list, a CTE's
  select list, ON, GROUP BY, HAVING) is written into the text as a typed literal built by
  sqlglot (``capability.Athena``); the result lists those values in ``details["literals"]``;
* result reuse is disabled on every request and a reused result is refused;
* the execution is polled with exponential backoff up to a timeout (clock and sleep are
  injectable); FAILED, CANCELLED or a timeout raise ``EngineError`` with Athena's reason;
* the rows come back through UNLOAD to Parquet when the query's row order can be restored
  from its output columns (``unload: auto``), else through paged ``GetQueryResults``;
* the QueryExecutionId, engine version, data scanned and timings are in the result, and every
  execution's bytes scanned and engine time are kept on the engine's ``meter`` until an
  evidence package claims them (``cost``).

Why boto3 and not PyAthena: see docs/engines.md.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError
from sqlglot import exp

from ..errors import EngineError, UsageError
from ..lake.binding import Binding, TableBinding
from . import athena_s3 as s3io
from .athena_order import output_names, restore, sort_keys
from .athena_settings import AthenaSettings, resolve
from .athena_values import decode, header_row, literals
from .base import QueryResult
from .capability import Athena
from .cost import Meter, QueryUsage
from .render import Renderer

PAGE_ROWS = 1000  # GetQueryResults' maximum page size
REUSE_OFF = {"ResultReuseByAgeConfiguration": {"Enabled": False}}
_NAME = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True)
class AthenaResult(QueryResult):
    """A QueryResult with Athena's execution facts (statistics, locations, result reuse)."""

    details: Mapping[str, Any] = field(default_factory=dict)
    # the engine's meter: the evidence package of this extract claims the executions from this
    # one on (this query and the C&A statements after it) for its log (``cost.Meter``)
    meter: Meter | None = field(default=None, repr=False, compare=False)


class AthenaEngine:
    name = "athena"
    dialect = "trino"

    def __init__(self, binding: Binding, *, session=None, config: Any = "load", clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, new_id: Callable[[], str] | None = None,
                 **options: Any):
        if config == "load":  # None means: no product configuration (tests, embedding)
            from ..config import load_config

            config = load_config()
        self.binding = binding
        self.settings: AthenaSettings = resolve(getattr(binding, "connection", {}) or {}, config, options, binding.name)
        if session is None:
            from ..aws.credentials import aws_session

            # The product's AWS session: a clear error for an unknown or expired (Okta) profile
            # instead of an opaque failure on the first call.
            session = aws_session(profile=self.settings.profile, region=self.settings.region)
        self._athena = session.client("athena", region_name=self.settings.region)
        self._s3 = session.client("s3", region_name=self.settings.region)
        self._glue = session.client("glue", region_name=self.settings.region)
        self._clock, self._sleep = clock, sleep
        self._new_id = new_id or (lambda: uuid.uuid4().hex)
        self._renderer = Renderer(Athena, binding, self.source, positional=True)
        self._version: str | None = None
        self._registered: dict[str, tuple[str, str]] = {}
        self.meter = Meter()

    # -- the Engine protocol -------------------------------------------------------------
    def version(self) -> str:
        if self._version is None:
            try:
                group = self._athena.get_work_group(WorkGroup=self.settings.workgroup)["WorkGroup"]
                engine = group.get("Configuration", {}).get("EngineVersion", {})
                self._version = engine.get("EffectiveEngineVersion") or engine.get("SelectedEngineVersion") or "unknown"
            except (ClientError, BotoCoreError) as e:
                raise self._api_error("GetWorkGroup", e) from None
        return self._version

    def source(self, tb: TableBinding) -> exp.Expression:
        database, _, table = tb.location.partition(".")
        if not database or not table:
            raise UsageError(f"{tb.logical}: Athena location '{tb.location}' is not a Glue 'database.table'")
        return exp.Table(this=exp.to_identifier(table), db=exp.to_identifier(database))

    def render(self, query: exp.Expression, params: Mapping[str, Any]) -> tuple[str, list[str]]:
        rendered = self._renderer.rendered(query, params)
        return rendered.sql, literals(rendered.parameters)

    def run(self, query: exp.Expression, params: Mapping[str, Any]) -> AthenaResult:
        rendered = self._renderer.rendered(query, params)
        sql, parameters = rendered.sql, literals(rendered.parameters)
        # The values written into the text, as the literal each became (the evidence's
        # parameters.json keeps every value by name; this says which ones Athena did not bind).
        inlined = [{"parameter": name, "literal": Athena.generate(Athena.literal(value))}
                   for name, value in rendered.literals]
        t0 = self._clock()
        keys = sort_keys(query) if self.settings.unload == "auto" else None
        names = output_names(query)
        if keys is not None and names is not None:
            location = self.settings.staging_prefix + "unload/" + self._new_id() + "/"
            text = unload_statement(sql, location)
            execution = self.execute(text, parameters)
            table, read = self._read_unload(execution, names)
            table = restore(table, keys)
            read["unload_location"] = location
        else:
            text = sql
            execution = self.execute(text, parameters)
            table, read = self._read_pages(execution)
        read["literals"] = inlined
        return self._result(execution, text, parameters, table, read, self._clock() - t0)

    def register(self, name: str, table: pa.Table) -> exp.Table:
        """Write ``table`` as Parquet under the staging prefix and declare it as a Glue table of
        the scratch database, so later statements (and only this engine's) can join it."""
        if name in self._registered:
            self.unregister(name)
        physical = (_NAME.sub("_", name.lower()).strip("_") or "t")[:80] + "_" + self._new_id()[-12:]
        folder = self.settings.staging_prefix + "registered/" + physical + "/"
        s3io.put_parquet(self._s3, folder + "data.parquet", table)
        from .athena_glue import create_table

        try:
            create_table(self._glue, self.settings.scratch_database, physical, folder, table.schema)
        except (ClientError, BotoCoreError) as e:
            s3io.delete_prefix(self._s3, folder)
            raise self._api_error("Glue CreateTable", e) from None
        self._registered[name] = (physical, folder)
        return exp.Table(this=exp.to_identifier(physical), db=exp.to_identifier(self.settings.scratch_database))

    def unregister(self, name: str) -> None:
        entry = self._registered.pop(name, None)
        if entry is None:
            return
        physical, folder = entry
        try:
            self._glue.delete_table(DatabaseName=self.settings.scratch_database, Name=physical)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "EntityNotFoundException":
                raise self._api_error("Glue DeleteTable", e) from None
        s3io.delete_prefix(self._s3, folder)

    def close(self) -> None:
        for name in list(self._registered):
            self.unregister(name)

    def __enter__(self) -> "AthenaEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one execution -------------------------------------------------------------------
    def execute(self, sql: str, parameters: list[str]) -> dict:
        """Start ``sql`` and wait for it; the final QueryExecution (SUCCEEDED) is returned."""
        request: dict[str, Any] = {
            "QueryString": sql,
            "WorkGroup": self.settings.workgroup,
            "ResultConfiguration": {"OutputLocation": self.settings.output},
            "QueryExecutionContext": {"Catalog": self.settings.catalog},
            "ResultReuseConfiguration": REUSE_OFF,
        }
        if parameters:
            request["ExecutionParameters"] = list(parameters)
        try:
            qid = self._athena.start_query_execution(**request)["QueryExecutionId"]
        except (ClientError, BotoCoreError) as e:
            raise self._api_error("StartQueryExecution", e, sql) from None
        execution = self._wait(qid, sql)
        self.meter.record(QueryUsage.of(execution))  # billed even when its result is refused below
        reuse = execution.get("Statistics", {}).get("ResultReuseInformation", {})
        if reuse.get("ReusedPreviousResult"):
            raise EngineError(f"Athena query {qid} reused an earlier result although result reuse was disabled; "
                              f"evidence needs a fresh execution: check workgroup {self.settings.workgroup}")
        return execution

    def _wait(self, qid: str, sql: str) -> dict:
        start, delay = self._clock(), self.settings.poll_initial_seconds
        timeout = self.settings.timeout_seconds
        while True:
            try:
                execution = self._athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
            except (ClientError, BotoCoreError) as e:
                raise self._api_error("GetQueryExecution", e, sql) from None
            status = execution.get("Status", {})
            state = status.get("State")
            if state == "SUCCEEDED":
                return execution
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage") \
                    or "no reason given"
                raise EngineError(f"Athena query {qid} {state}: {reason}\n--- SQL ---\n{sql}")
            waited = self._clock() - start
            if waited >= timeout:
                self._stop(qid)
                raise EngineError(f"Athena query {qid} still {state} after {waited:.0f}s (timeout {timeout:.0f}s); "
                                  "it was cancelled. Raise timeout_seconds or check the workgroup's queue"
                                  f"\n--- SQL ---\n{sql}")
            self._sleep(min(delay, timeout - waited))
            delay = min(delay * 2, self.settings.poll_max_seconds)

    def _stop(self, qid: str) -> None:
        try:
            self._athena.stop_query_execution(QueryExecutionId=qid)
        except (ClientError, BotoCoreError):
            pass  # the timeout is the error worth reporting

    def _read_pages(self, execution: dict) -> tuple[pa.Table, dict]:
        qid = execution["QueryExecutionId"]
        location = execution.get("ResultConfiguration", {}).get("OutputLocation") or ""
        s3io.exists(self._s3, location, f"the result of Athena query {qid}")
        token, columns, rows, pages = None, None, [], 0
        while True:
            request = {"QueryExecutionId": qid, "MaxResults": PAGE_ROWS}
            if token:
                request["NextToken"] = token
            try:
                page = self._athena.get_query_results(**request)
            except (ClientError, BotoCoreError) as e:
                raise self._api_error("GetQueryResults", e) from None
            pages += 1
            result = page.get("ResultSet", {})
            if columns is None:
                columns = result.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                rows.extend(header_row(result.get("Rows", []), columns))
            else:
                rows.extend(result.get("Rows", []))
            token = page.get("NextToken")
            if not token:
                return decode(columns, rows), {"read": "GetQueryResults", "result_pages": pages}

    def _read_unload(self, execution: dict, names: list[str]) -> tuple[pa.Table, dict]:
        qid = execution["QueryExecutionId"]
        manifest = execution.get("Statistics", {}).get("DataManifestLocation")
        if not manifest:
            raise EngineError(f"Athena query {qid} (UNLOAD) reported no data manifest; its result cannot be located")
        files = s3io.manifest(self._s3, manifest)
        table = s3io.read_parquet(self._s3, files)
        if table is None:  # zero rows: Athena wrote no file, only an empty manifest
            table = pa.table({n: pa.nulls(0) for n in names})
        elif table.column_names != names:
            raise EngineError(f"Athena query {qid} unloaded columns {table.column_names}, expected {names}")
        return table, {"read": "UNLOAD", "manifest": manifest, "files": files}

    def _result(self, execution: dict, sql: str, parameters: list[str], table: pa.Table, read: dict,
                elapsed: float) -> AthenaResult:
        status, stats = execution.get("Status", {}), execution.get("Statistics", {})
        engine = execution.get("EngineVersion", {}).get("EffectiveEngineVersion") or self.version()
        submitted = status.get("SubmissionDateTime")
        started = submitted if isinstance(submitted, datetime) else datetime.now(timezone.utc)
        details = {
            "query_execution_id": execution["QueryExecutionId"],
            "workgroup": execution.get("WorkGroup") or self.settings.workgroup,
            "region": self._athena.meta.region_name,
            "output_location": execution.get("ResultConfiguration", {}).get("OutputLocation"),
            "result_reuse": {"enabled": False, "reused": bool(stats.get("ResultReuseInformation", {})
                                                              .get("ReusedPreviousResult", False))},
            "data_scanned_bytes": stats.get("DataScannedInBytes"),
            "engine_execution_ms": stats.get("EngineExecutionTimeInMillis"),
            "total_execution_ms": stats.get("TotalExecutionTimeInMillis"),
            "queue_ms": stats.get("QueryQueueTimeInMillis"),
            "planning_ms": stats.get("QueryPlanningTimeInMillis"),
            "service_processing_ms": stats.get("ServiceProcessingTimeInMillis"),
            "submitted_at": _iso(submitted),
            "completed_at": _iso(status.get("CompletionDateTime")),
            **read,
        }
        return AthenaResult(table, sql, parameters, self.name, engine, execution["QueryExecutionId"], started, elapsed,
                            details=details, meter=self.meter)

    def _api_error(self, call: str, e: Exception, sql: str | None = None) -> EngineError:
        if isinstance(e, ClientError):
            err = e.response.get("Error", {})
            text = f"{err.get('Code', 'error')}: {err.get('Message', '')}"
        else:
            text = str(e)
        hint = "; sign in with 'soxauto auth okta' or set AWS_PROFILE" if "credential" in text.lower() else ""
        return EngineError(f"Athena {call} failed: {text}{hint}" + (f"\n--- SQL ---\n{sql}" if sql else ""))


def unload_statement(select_sql: str, location: str) -> str:
    """``UNLOAD (<select>) TO '<location>' WITH (format = 'PARQUET')``. sqlglot cannot build an
    UNLOAD, so the statement is assembled here from the rendered SELECT (its values placeholders
    or literals sqlglot built) and a location this engine generated and ``athena_s3.split`` checked."""
    s3io.split(location, "UNLOAD location")
    target = Athena.generate(exp.Literal.string(location))
    return "UNLOAD (\n" + select_sql + "\n) TO " + target + " WITH (format = 'PARQUET', compression = 'SNAPPY')"


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None
