"""Run an item's C&A rules on its extract, in the engine that ran the extract.

Order of work: register the extract (and any other item's extract a cross-source rule needs);
run the item's ONE statement, which answers every rule at once (the merged aggregate over the
extract cross-joined with each comparison, witness and referential part); then capped sample
queries for the rules that failed. A rule whose SQL fails is ``errored`` with the reason and
the other rules still run: if the statement fails, its parts are run one by one, and the
merged aggregate metric by metric, so a single bad rule cannot take the others down.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Callable, Mapping

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from ..catalog.model import ItemSpec
from ..catalog.rules import RuleSpec
from ..engines.base import Engine, rows as fetch_rows
from ..errors import SoxautoError
from ..extract import ExtractResult, control_totals
from ..lake.contract import ColumnSpec
from . import compile as c
from .history import HistoryStore, robust_z
from .plan import Plan, dataset_name
from .result import Outcome, TestResult, ValidationResult
from .shared import Batch, Member, SharedScans

BENFORD = {d: Decimal(math.log10(1 + 1 / d)) for d in c.DIGITS}
# A one-column integer key of an extract this large, in a range at most DENSE_SPAN times its
# row count, is counted by bitmap (compile.dense_unique_query): 4x faster on consecutive keys.
DENSE_MIN_ROWS, DENSE_SPAN = 100_000, 8
# Below about a thousand values the sampling noise alone exceeds the 0.015 MAD threshold
# (Nigrini's conformity ranges assume large populations), so smaller sets are not assessed.
MIN_BENFORD_VALUES = 1000


def validate(engine: Engine, extract: ExtractResult, *, others: Mapping[str, ExtractResult] | None = None,
             history: HistoryStore | None = None, sample_size: int = 20, shared: SharedScans | None = None) -> ValidationResult:
    """``shared``: the close's source batches (see ``shared.py``); the rules whose source query
    it batches read their entity's group instead of scanning the source again."""
    item = extract.item
    run = _Run(engine, extract, dict(others or {}), history, sample_size, shared)
    try:
        results = run.all(item.tests)
    finally:
        run.release()
    if history is not None:
        history.record(item.id, extract.company_id, extract.period, run.figures())
    return ValidationResult(item.id, extract.company_id, extract.period, tuple(results))


def _history_metrics(extract: ExtractResult) -> dict[str, Decimal]:
    return {"row_count": Decimal(extract.row_count), **extract.control_totals}


class _Run:
    def __init__(self, engine, extract, others, history, sample_size, shared):
        self.engine, self.extract, self.others = engine, extract, others
        self.history, self.n = history, sample_size
        self.item: ItemSpec = extract.item
        self.batches: dict[str, Batch] = {}
        self.plan = Plan.of(self.item, self._shared(shared), dense_rules(engine, extract))
        self.names: list[str] = []
        self._figures: dict[str, Decimal] | None = None
        self.dataset = self._register(self.item.id, extract)
        self.missing = [o for o in self.plan.others if o not in others]
        for other_id in dict.fromkeys(self.plan.others):
            if other_id in others:
                self._register(other_id, others[other_id])

    def _shared(self, shared: SharedScans | None) -> dict[str, Member]:
        """The rules reading a shared batch; none (the per-entity statement) when the engine
        does not batch, the entity is not in the batch's list, or a batch failed."""
        if shared is None or self.engine.name != "duckdb" or self.extract.company_id not in shared.entities:
            return {}
        members = {}
        try:
            for rule_id, entry in shared.layout(self.item).items():
                members[rule_id], self.batches[rule_id] = shared.resolve(self.engine, entry, self.extract.parameters)
        except (SoxautoError, KeyError):
            self.batches = {}
            return {}
        return members

    def _register(self, item_id: str, extract: ExtractResult) -> exp.Table:
        name = dataset_name(item_id)
        self.names.append(name)
        return self.engine.register(name, extract.scan())  # in memory, or the spooled file

    def figures(self) -> dict[str, Decimal]:
        """Row count and control totals, summed once per run (the history rule and the store)."""
        if self._figures is None:
            self._figures = _history_metrics(self.extract)
        return self._figures

    def release(self) -> None:
        for name in self.names:
            self.engine.unregister(name)

    def sql(self, query: exp.Expression) -> tuple[list[dict], str]:
        return fetch_rows(self.engine, query, self.extract.parameters)

    def all(self, rules) -> list[TestResult]:
        answers = self._answers()
        out = []
        for i, rule in enumerate(rules):
            try:
                result = self.one(i, rule, answers)
            except SoxautoError as e:
                result = _errored(rule, str(e))
            batch = self.batches.get(rule.id)
            if batch is not None:
                result = replace(result, shared=({"sql": batch.sql, "parameters": _json(dict(batch.parameters))},))
            out.append(result)
        return out

    def _answers(self) -> dict[str, Any]:
        """Every part's columns -> (value or the exception that prevented it, SQL run)."""
        if not self.missing:
            try:
                answer, sql = self.sql(self.plan.statement)
                return {k: (v, sql) for k, v in answer[0].items()}
            except SoxautoError:
                pass  # isolate the failing part(s) below
        out: dict[str, Any] = {}
        for p in self.plan.parts:
            try:
                answer, sql = self.sql(p.query)
                out.update({k: (v, sql) for k, v in answer[0].items()})
            except SoxautoError as e:
                if not p.merged:
                    out.update({k: (e, "") for k in p.names})
                    continue
                for m in p.merged:  # isolate the failing metric(s)
                    try:
                        answer, sql = self.sql(c.merged_query(self.dataset, [m]))
                        out[m.name] = (answer[0][m.name], sql)
                    except SoxautoError as e2:
                        out[m.name] = (e2, "")
        return out

    def one(self, i: int, rule: RuleSpec, answers: dict[str, Any]) -> TestResult:
        kind = rule.kind
        if kind in ("not_null", "allowed_values", "range", "recompute"):
            return self._row_level(i, rule, answers)
        handler: Callable = {
            "unique": self._unique, "freshness": self._freshness, "first_digit": self._first_digit,
            "source_tie_out": self._compare, "running_tie_out": self._compare, "cross_source": self._cross_source, "witness": self._witness,
            "referential": self._referential,
            "output_contract": self._output_contract, "history": self._history,
        }[kind]
        return handler(i, rule, answers)

    def _metric(self, answers, name):
        value, sql = answers[name]
        if isinstance(value, Exception):
            raise value
        return value, sql

    def _sample(self, query: exp.Expression, sqls: list[str]) -> tuple[dict, ...]:
        answer, s = self.sql(query)
        sqls.append(s)
        return tuple({k: _json(v) for k, v in row.items()} for row in answer)

    def _row_level(self, i, rule, answers) -> TestResult:
        failing, sql = self._metric(answers, f"r{i}_failing")
        failing = int(failing or 0)
        sample, sqls = (), [sql]
        if failing:
            sample = self._sample(c.sample_query(self.dataset, c.violation(rule, self.item), list(self.item.key), self.n), sqls)
        return _result(rule, failing == 0, failing, 0, sqls, sample, failing,
                       f"{failing} row(s) violate {rule.kind}" if failing else "")

    def _unique(self, i, rule, answers) -> TestResult:
        cols = c.unique_columns(rule, self.item)
        failing, sql = self._metric(answers, f"r{i}_failing")
        failing, sample, sqls = int(failing or 0), (), [sql]
        if failing:
            sample = self._sample(c.duplicates_query(self.dataset, cols).order_by(*cols).limit(self.n), sqls)
        return _result(rule, failing == 0, failing, 0, sqls, sample, failing,
                       f"{failing} surplus row(s) on key ({', '.join(cols)})" if failing else "")

    def _freshness(self, i, rule, answers) -> TestResult:
        oldest, sql = self._metric(answers, f"r{i}_min")
        failing = int(self._metric(answers, f"r{i}_failing")[0] or 0)
        cutoff = datetime.combine(self.extract.period.cutoff, time())
        if oldest is None and not failing:
            return _result(rule, False, None, f">= {cutoff.isoformat()}", [sql], (), 0, "no rows: freshness cannot be shown")
        sample, sqls = (), [sql]
        if failing:
            sample = self._sample(c.sample_query(self.dataset, c.violation(rule, self.item), list(self.item.key), self.n), sqls)
        return _result(rule, failing == 0, _json(oldest), f">= {cutoff.isoformat()}", sqls, sample, failing,
                       f"{failing} row(s) with {rule.get('column')} before the cutoff (oldest {oldest})" if failing else "")

    def _first_digit(self, i, rule, answers) -> TestResult:
        counts, sql = {}, ""
        for d in c.DIGITS:
            value, sql = self._metric(answers, f"r{i}_d{d}")
            counts[d] = int(value or 0)
        n = sum(counts.values())
        threshold = Decimal(str(rule.get("threshold", "0.015")))
        if n < MIN_BENFORD_VALUES:
            return _result(rule, True, {"values": n}, f"MAD <= {threshold}", [sql], (), 0,
                           f"only {n} amounts >= 1: at least {MIN_BENFORD_VALUES} are needed to assess the first-digit distribution")
        mad = sum(abs(Decimal(counts[d]) / n - BENFORD[d]) for d in c.DIGITS) / 9
        mad = mad.quantize(Decimal("0.00001"))
        observed = {"mad": str(mad), "values": n, "proportions": {str(d): str((Decimal(counts[d]) / n).quantize(Decimal("0.0001"))) for d in c.DIGITS}}
        ok = mad <= threshold
        return _result(rule, ok, observed, f"MAD <= {threshold}", [sql], (), 0 if ok else n,
                       "" if ok else f"first-digit MAD {mad} above {threshold}: nonconformity")

    def _compare(self, i, rule, answers) -> TestResult:
        names = list(rule.get("measures"))
        if i in self.plan.folded:
            left = {n: self._metric(answers, f"r{i}_left_{n}")[0] for n in names}
            sql = self._metric(answers, f"r{i}_left_{names[0]}")[1]
            right = self._batch_row(rule)
            failing = int(any(left[n] != right[n] for n in names))
            # as the comparison query reports them: SUM of an integer count is a (decimal) HUGEINT
            left, right = ({n: _summed(v) for n, v in side.items()} for side in (left, right))
        else:
            failing, sql = self._metric(answers, f"r{i}_failing")
            left = {n: self._metric(answers, f"r{i}_left_{n}")[0] for n in names}
            right = {n: self._metric(answers, f"r{i}_right_{n}")[0] for n in names}
        failing = int(failing or 0)
        observed = {n: _json(left[n]) for n in names}
        expected = {n: _json(right[n]) for n in names}
        sqls, sample = [sql], ()
        if failing:
            sample = self._sample(self.plan.samples[rule.id](self.n), sqls)
        return _result(rule, failing == 0, observed, expected, sqls, sample, failing,
                       f"{failing} group(s) disagree" if failing else "")

    def _batch_row(self, rule) -> dict[str, Any]:
        """This entity's row of the rule's shared batch (a scalar source query: exactly one)."""
        member, batch = self.plan.members[rule.id], self.batches[rule.id]
        rows = batch.rows(self.extract.company_id)
        if len(rows) != 1:
            raise SoxautoError(f"{rule.id}: the shared source batch has {len(rows)} rows for {self.extract.company_id}, not 1")
        out = {}
        for name, col in member.columns:
            value, kind = rows[0][col], batch.table.schema.field(col).type
            if value is None:  # a missing sum counts as zero, as COALESCE(x, 0) in the comparison query
                value = Decimal(0).scaleb(-kind.scale) if pa.types.is_decimal(kind) else 0
            out[name] = value
        return out

    def _cross_source(self, i, rule, answers) -> TestResult:
        other_id = rule.get("other")
        if other_id not in self.others:
            raise SoxautoError(f"{rule.id}: needs the extract of {other_id} for the same entity and period")
        return self._compare(i, rule, answers)

    def _witness(self, i, rule, answers) -> TestResult:
        witnesses, sql = self._metric(answers, f"r{i}_witnesses")
        witnesses, failing = int(witnesses or 0), int(self._metric(answers, f"r{i}_failing")[0] or 0)
        present = rule.get("expect") == "present"
        sqls, sample = [sql], ()
        if failing:
            sample = self._sample(self.plan.samples[rule.id](self.n), sqls)
        if present and witnesses == 0:
            return _result(rule, False, 0, "at least 1 witness", sqls, (), 0, "the witness query found no record to look for")
        return _result(rule, failing == 0, {"witnesses": witnesses, "failing": failing}, {"failing": 0}, sqls, sample, failing,
                       f"{failing} witness record(s) {'missing from' if present else 'present in'} the extract" if failing else "")

    def _referential(self, i, rule, answers) -> TestResult:
        rows, sql = self._metric(answers, f"r{i}_rows")
        failing = int(self._metric(answers, f"r{i}_failing")[0] or 0)
        sqls, sample = [sql], ()
        if failing:
            sample = self._sample(self.plan.samples[rule.id](self.n), sqls)
        return _result(rule, failing == 0, {"rows": int(rows or 0), "orphans": failing}, {"orphans": 0}, sqls, sample, failing,
                       f"{failing} extract row(s) have no match in the source" if failing else "")

    def _output_contract(self, i, rule, metrics) -> TestResult:
        raw = self.extract.query.table.schema
        declared = [(col.name, col.type) for col in self.item.output]
        problems = []
        if raw.names != [n for n, _ in declared]:
            problems.append(f"columns {raw.names} != declared {[n for n, _ in declared]}")
        else:
            for name, ltype in declared:
                if not ColumnSpec(name, ltype, True).accepts(raw.field(name).type) and not _widened(ltype, raw.field(name).type):
                    problems.append(f"{name}: engine type {raw.field(name).type} is not {ltype}")
        observed = {f.name: str(f.type) for f in raw}
        return _result(rule, not problems, observed, dict(declared), [], (), len(problems), "; ".join(problems))

    def _history(self, i, rule, metrics) -> TestResult:
        if self.history is None:
            raise SoxautoError(f"{rule.id}: no history store is configured")
        current = self.figures()
        names = list(rule.get("measures") or current)
        earlier = self.history.earlier(self.item.id, self.extract.company_id, self.extract.period, int(rule.get("periods", 12)))
        threshold = Decimal(str(rule.get("threshold", "3.5")))
        scores, outliers = {}, []
        for name in names:
            z = robust_z(current[name], [m[name] for _, m in earlier if name in m])
            scores[name] = None if z is None else str(z)
            if z is not None and abs(z) > threshold:
                outliers.append(name)
        if all(v is None for v in scores.values()):
            return _result(rule, True, {"periods": len(earlier)}, f"|z| <= {threshold}", [], (), 0,
                           f"{len(earlier)} earlier period(s): at least 3 are needed to assess")
        return _result(rule, not outliers, {"z": scores, "values": {k: str(current[k]) for k in names}}, f"|z| <= {threshold}",
                       [], (), len(outliers), f"out of line with {len(earlier)} earlier periods: {', '.join(outliers)}" if outliers else "")


def dense_rules(engine: Engine, extract: ExtractResult) -> frozenset[int]:
    """Indices of the item's one-column integer key rules to count by bitmap: on DuckDB, for an
    extract of at least ``DENSE_MIN_ROWS`` rows whose keys lie in a range at most ``DENSE_SPAN``
    times its row count. Both counts are exact: the key's range, read from the extract (Arrow's
    min and max, or the spooled extract's profile), only picks the faster one."""
    rows = extract.row_count
    if engine.name != "duckdb" or rows < DENSE_MIN_ROWS:
        return frozenset()
    item = extract.item
    types = {col.name: col.type for col in item.output}
    out = set()
    for i, rule in enumerate(item.tests):
        cols = c.unique_columns(rule, item) if rule.kind == "unique" else []
        if len(cols) == 1 and types.get(cols[0]) == "int":
            low, high = _key_range(extract, cols[0])
            if low is not None and high - low < DENSE_SPAN * rows:
                out.add(i)
    return frozenset(out)


def _key_range(extract: ExtractResult, col: str) -> tuple[Any, Any]:
    """(min, max) of an extract's column: Arrow's kernel on the table, or the profile computed
    while a spooled extract streamed; (None, None) when unknown or all NULL."""
    if extract.table is not None:
        mm = pc.min_max(extract.table.column(col))
        return mm["min"].as_py(), mm["max"].as_py()
    for stats in extract.spooled.profile.get("columns", ()):
        if stats.get("name") == col:
            return stats.get("min"), stats.get("max")
    return None, None


def _widened(ltype: str, arrow_type: pa.DataType) -> bool:
    """Engines widen sums: DECIMAL(38, 2) for DECIMAL(18, 2) is the same money, and INTEGER for
    BIGINT the same count. Scale must match exactly; floats never pass."""
    if ltype in ("money", "rate") and pa.types.is_decimal(arrow_type):
        return arrow_type.scale == (2 if ltype == "money" else 6)
    return False


def _result(rule, ok, observed, expected, sqls, sample, failing, message) -> TestResult:
    return TestResult(rule.id, rule.kind, rule.severity, Outcome.PASSED if ok else Outcome.FAILED,
                      _json(observed), _json(expected), tuple(s for s in sqls if s), tuple(sample), int(failing or 0), message)


def _summed(value):
    return Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _errored(rule, reason: str) -> TestResult:
    return TestResult(rule.id, rule.kind, rule.severity, Outcome.ERRORED, message=reason)


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value
