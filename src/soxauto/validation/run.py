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
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Callable, Mapping

import pyarrow as pa
from sqlglot import exp

from ..catalog.model import ItemSpec
from ..catalog.rules import RuleSpec
from ..engines.base import Engine
from ..errors import SoxautoError
from ..extract import ExtractResult, control_totals
from ..lake.contract import ColumnSpec
from . import compile as c
from .history import HistoryStore, robust_z
from .result import Outcome, TestResult, ValidationResult

BENFORD = {d: Decimal(math.log10(1 + 1 / d)) for d in c.DIGITS}
# Below about a thousand values the sampling noise alone exceeds the 0.015 MAD threshold
# (Nigrini's conformity ranges assume large populations), so smaller sets are not assessed.
MIN_BENFORD_VALUES = 1000


def validate(engine: Engine, extract: ExtractResult, *, others: Mapping[str, ExtractResult] | None = None,
             history: HistoryStore | None = None, sample_size: int = 20) -> ValidationResult:
    item = extract.item
    run = _Run(engine, extract, dict(others or {}), history, sample_size)
    try:
        results = run.all(item.tests)
    finally:
        run.release()
    if history is not None:
        history.record(item.id, extract.company_id, extract.period, run.figures())
    return ValidationResult(item.id, extract.company_id, extract.period, tuple(results))


def _history_metrics(extract: ExtractResult) -> dict[str, Decimal]:
    return {"row_count": Decimal(extract.row_count), **extract.control_totals}


def dataset_name(item_id: str) -> str:
    """Extracts are registered under a name that depends on the item only, so an item's
    compiled queries are the same objects for every entity and period (and render once)."""
    return f"ds_{item_id}".lower()


class _Plan:
    """An item's compiled queries, built once per item and reused for every extract of it."""

    _cache: dict[int, "_Plan"] = {}

    def __init__(self, item: ItemSpec):
        self.item = item
        self.dataset = exp.to_table(dataset_name(item.id))
        rules = list(item.tests)
        self.metrics = [m for i, r in enumerate(rules) for m in c.metrics(i, r, item)]
        self.samples: dict[str, Any] = {}
        parts = [c.merged_part(self.dataset, self.metrics)]
        for i, r in enumerate(rules):
            built = self._part(i, r)
            if built is not None:
                parts.append(built)
        self.parts = parts
        self.statement = c.statement(parts)
        self.others = [r.get("other") for r in rules if r.kind == "cross_source"]

    def _part(self, i: int, r: RuleSpec) -> c.Part | None:
        """The single-row part answering rule ``r`` (None when the merged aggregate does)."""
        if r.kind in ("source_tie_out", "cross_source"):
            if r.kind == "source_tie_out":
                totals, self.samples[r.id] = c.tie_out(r, self.dataset)
            else:
                totals, self.samples[r.id] = c.cross_source(r, self.dataset, exp.to_table(dataset_name(r.get("other"))))
            names = list(r.get("measures"))
            return c.part(i, totals, ["failing"] + [f"{side}_{n}" for n in names for side in ("left", "right")])
        if r.kind == "witness":
            totals, self.samples[r.id] = c.witness_queries(r, self.item, self.dataset)
            return c.part(i, totals, ["witnesses", "failing"])
        if r.kind == "referential":
            totals, self.samples[r.id] = c.referential_queries(r, self.item, self.dataset)
            return c.part(i, totals, ["rows", "failing"])
        if r.kind == "unique" and len(c.unique_columns(r, self.item)) > 1:
            return c.part(i, c.unique_total_query(self.dataset, c.unique_columns(r, self.item)), ["failing"])
        if r.kind == "first_digit":
            return c.part(i, c.first_digit_query(r, self.dataset), [f"d{d}" for d in c.DIGITS])
        return None

    @classmethod
    def of(cls, item: ItemSpec) -> "_Plan":
        plan = cls._cache.get(id(item))
        if plan is None or plan.item is not item:
            plan = cls._cache[id(item)] = cls(item)
        return plan


class _Run:
    def __init__(self, engine, extract, others, history, sample_size):
        self.engine, self.extract, self.others = engine, extract, others
        self.history, self.n = history, sample_size
        self.item: ItemSpec = extract.item
        self.plan = _Plan.of(self.item)
        self.names: list[str] = []
        self._figures: dict[str, Decimal] | None = None
        self.dataset = self._register(self.item.id, extract)
        self.missing = [o for o in self.plan.others if o not in others]
        for other_id in dict.fromkeys(self.plan.others):
            if other_id in others:
                self._register(other_id, others[other_id])

    def _register(self, item_id: str, extract: ExtractResult) -> exp.Table:
        name = dataset_name(item_id)
        self.names.append(name)
        return self.engine.register(name, extract.table)

    def figures(self) -> dict[str, Decimal]:
        """Row count and control totals, summed once per run (the history rule and the store)."""
        if self._figures is None:
            self._figures = _history_metrics(self.extract)
        return self._figures

    def release(self) -> None:
        for name in self.names:
            self.engine.unregister(name)

    def sql(self, query: exp.Expression) -> tuple[pa.Table, str]:
        result = self.engine.run(query, self.extract.parameters)
        return result.table, result.sql

    def all(self, rules) -> list[TestResult]:
        answers = self._answers()
        out = []
        for i, rule in enumerate(rules):
            try:
                out.append(self.one(i, rule, answers))
            except SoxautoError as e:
                out.append(_errored(rule, str(e)))
        return out

    def _answers(self) -> dict[str, Any]:
        """Every part's columns -> (value or the exception that prevented it, SQL run)."""
        if not self.missing:
            try:
                table, sql = self.sql(self.plan.statement)
                return {k: (v, sql) for k, v in table.to_pylist()[0].items()}
            except SoxautoError:
                pass  # isolate the failing part(s) below
        out: dict[str, Any] = {}
        for p in self.plan.parts:
            try:
                table, sql = self.sql(p.query)
                out.update({k: (v, sql) for k, v in table.to_pylist()[0].items()})
            except SoxautoError as e:
                if not p.merged:
                    out.update({k: (e, "") for k in p.names})
                    continue
                for m in p.merged:  # isolate the failing metric(s)
                    try:
                        table, sql = self.sql(c.merged_query(self.dataset, [m]))
                        out[m.name] = (table.column(m.name)[0].as_py(), sql)
                    except SoxautoError as e2:
                        out[m.name] = (e2, "")
        return out

    def one(self, i: int, rule: RuleSpec, answers: dict[str, Any]) -> TestResult:
        kind = rule.kind
        if kind in ("not_null", "allowed_values", "range", "recompute"):
            return self._row_level(i, rule, answers)
        handler: Callable = {
            "unique": self._unique, "freshness": self._freshness, "first_digit": self._first_digit,
            "source_tie_out": self._compare, "cross_source": self._cross_source, "witness": self._witness,
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
        table, s = self.sql(query)
        sqls.append(s)
        return _rows(table)

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
        failing, sql = self._metric(answers, f"r{i}_failing")
        failing = int(failing or 0)
        observed = {n: _json(self._metric(answers, f"r{i}_left_{n}")[0]) for n in names}
        expected = {n: _json(self._metric(answers, f"r{i}_right_{n}")[0]) for n in names}
        sqls, sample = [sql], ()
        if failing:
            sample = self._sample(self.plan.samples[rule.id](self.n), sqls)
        return _result(rule, failing == 0, observed, expected, sqls, sample, failing,
                       f"{failing} group(s) disagree" if failing else "")

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


def _widened(ltype: str, arrow_type: pa.DataType) -> bool:
    """Engines widen sums: DECIMAL(38, 2) for DECIMAL(18, 2) is the same money, and INTEGER for
    BIGINT the same count. Scale must match exactly; floats never pass."""
    if ltype in ("money", "rate") and pa.types.is_decimal(arrow_type):
        return arrow_type.scale == (2 if ltype == "money" else 6)
    return False


def _result(rule, ok, observed, expected, sqls, sample, failing, message) -> TestResult:
    return TestResult(rule.id, rule.kind, rule.severity, Outcome.PASSED if ok else Outcome.FAILED,
                      _json(observed), _json(expected), tuple(s for s in sqls if s), tuple(sample), int(failing or 0), message)


def _errored(rule, reason: str) -> TestResult:
    return TestResult(rule.id, rule.kind, rule.severity, Outcome.ERRORED, message=reason)


def _rows(table: pa.Table) -> tuple[dict, ...]:
    return tuple({k: _json(v) for k, v in row.items()} for row in table.to_pylist())


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
