"""Athena under moto for tests: a bucket for results, canned result rows, and boto3 event hooks
that record what the engine sent and play what moto cannot (states, reasons, pages, manifests).

moto records calls but runs no SQL: every result a test sees is the canned one it queued."""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass, field
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from soxauto.engines.athena import AthenaEngine
from soxauto.lake.binding import Binding, TableBinding, lake_binding

REGION = "eu-west-1"
BUCKET = "acme-athena-results"
OUTPUT = f"s3://{BUCKET}/soxauto/"


def varchar(name: str) -> dict:
    return {"Name": name, "Label": name, "Type": "varchar", "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN"}


def column(name: str, kind: str, precision: int = 0, scale: int = 0) -> dict:
    return {"Name": name, "Label": name, "Type": kind, "Precision": precision, "Scale": scale, "Nullable": "UNKNOWN"}


def row(*values) -> dict:
    return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}


def queue_result(columns: list[dict], rows: list[tuple], *, header: bool = True) -> None:
    """Queue one canned result (Athena's header row first, as a real SELECT returns)."""
    data = ([row(*[c["Name"] for c in columns])] if header else []) + [row(*r) for r in rows]
    athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(QueryResults(data, columns))


def put_parquet(url: str, table: pa.Table) -> None:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    sink = io.BytesIO()
    pq.write_table(table, sink)
    boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=key, Body=sink.getvalue())


def put_text(url: str, text: str) -> None:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))


@dataclass
class Hooks:
    """``states``: the State each GetQueryExecution reports in turn (the last repeats);
    ``status``/``statistics``: merged into every GetQueryExecution answer;
    ``statistics_of(execution)``: statistics merged into the answer for that execution;
    ``page_rows``: GetQueryResults answers in pages of this many rows, with NextToken."""

    started: list[dict] = field(default_factory=list)
    result_requests: list[dict] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    status: dict = field(default_factory=dict)
    statistics: dict = field(default_factory=dict)
    statistics_of: Any = None
    engine_version: str | None = "Athena engine version 3"
    page_rows: int | None = None
    _polls: int = 0

    def install(self, session: boto3.Session) -> None:
        events = session.events
        events.register("before-parameter-build.athena.StartQueryExecution", self._start)
        events.register("before-parameter-build.athena.GetQueryResults", self._results_request)
        events.register("before-parameter-build.athena.StopQueryExecution", self._stop)
        events.register("after-call.athena.GetQueryExecution", self._execution)
        events.register("after-call.athena.GetQueryResults", self._results)

    def _start(self, params, **_):
        self.started.append(copy.deepcopy(params))

    def _stop(self, params, **_):
        self.stopped.append(params["QueryExecutionId"])

    def _results_request(self, params, **_):
        self.result_requests.append(dict(params))

    def _execution(self, parsed, **_):
        qe = parsed.get("QueryExecution")
        if not qe:
            return
        if self.states:
            qe["Status"]["State"] = self.states[min(self._polls, len(self.states) - 1)]
        self._polls += 1
        qe["Status"].update(self.status)
        qe["Statistics"].update(self.statistics)
        if self.statistics_of is not None:
            qe["Statistics"].update(self.statistics_of(qe))
        if self.engine_version:
            qe["EngineVersion"] = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": self.engine_version}

    def _results(self, parsed, **_):
        # moto answers every page with all rows: cut the page the request's NextToken asks for
        if not self.page_rows or "ResultSet" not in parsed:
            return
        token = self.result_requests[-1].get("NextToken")
        start = int(token.removeprefix("page-")) if token else 0
        rows = parsed["ResultSet"]["Rows"]
        parsed["ResultSet"]["Rows"] = rows[start:start + self.page_rows]
        if start + self.page_rows < len(rows):
            parsed["NextToken"] = f"page-{start + self.page_rows}"


class Clock:
    """A fake monotonic clock: ``sleep`` advances it and records each delay."""

    def __init__(self) -> None:
        self.now, self.sleeps = 100.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def glue_binding(**connection: Any) -> Binding:
    """Every logical table bound to a Glue table of the same name under process_* databases."""
    base = lake_binding("/nonexistent")
    tables = {name: TableBinding(name, f"process_{name.split('.')[0]}.{name.replace('.', '_')}")
              for name in base.tables}
    return Binding("athena", tables, name="test-binding",
                   connection={"output": OUTPUT, "region": REGION, **connection})


def make_engine(hooks: Hooks, clock: Clock | None = None, binding: Binding | None = None, ids=None,
                **options) -> AthenaEngine:
    session = boto3.Session(region_name=REGION)
    hooks.install(session)
    clock = clock or Clock()
    counter = iter(ids or (f"{n:032x}" for n in range(1, 10_000)))
    return AthenaEngine(binding or glue_binding(), session=session, config=None, clock=clock, sleep=clock.sleep,
                        new_id=lambda: next(counter), **options)


def execution_ids() -> list[str]:
    """The QueryExecutionIds moto handed out, in start order."""
    return list(athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions)
