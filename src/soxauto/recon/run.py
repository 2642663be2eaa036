"""Reconcile one entity and period: every line of the pack, computed in the engine.

``reconcile`` takes extracts that are already made (and, optionally, their C&A results);
``run_period`` is the whole job for a list of entities: extract CR_03, CR_04, CR_05 and the
TV items, run their tests, reconcile, and issue the control reports (CR_01).

Per entity, ``reconcile`` also computes what sits on the accounts (docs/classification.md):
the voucher movement table (CR_03), the collections tagging (IPE_31) and the review lists
(IPE_07), each when its extract is given. The classification is computed first because a
line with ``gl_classification`` (VOUCHERS) reads it: its key rows' ``nav_usage`` is the Σ of
the postings the classification calls Usage, so the bridge and the movement table can never
disagree on what a usage posting is.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from ..catalog.model import Catalog
from ..engines.base import Engine
from ..errors import UsageError
from ..extract import check_in_scope
from ..period import Period
from . import keyjoin as kj
from .bridges import overlap_problems, overlap_query
from .classify import EntityPeriod, MovementResult, classify_vouchers
from .fx import FxRate, cents_at_least, closing_rate
from .lines import CLASSIFIED_COLUMNS, FamilySpec, LineSpec, ReconPack, load_pack
from .result import PROOF_SCHEMA, BridgeResult, ControlReport, EntityResult, Finding, LineResult, ReconResult
from .review import ReviewResult, review_lists
from .status import Facts, decide
from .tagging import TaggingResult, tag_collections

ZERO = Decimal("0.00")
# The extracts the per-entity analyses read besides CR_03: collections tagging, review lists.
ANALYSIS_ITEMS = ("IPE_31", "IPE_07")
FINDING_ROWS = 20


@dataclass(frozen=True)
class EntityRef:
    company_id: str
    country: str
    currency: str


@dataclass(frozen=True)
class Analyses:
    """What one entity's accounts hold, computed before its lines. ``classified`` is the
    registered table (entry_no, category, voucher_type) the classified lines join."""

    movements: MovementResult | None = None
    classified: exp.Table | None = None
    tagging: TaggingResult | None = None
    review: ReviewResult | None = None


def entities(engine: Engine, only: Sequence[str] = ()) -> list[EntityRef]:
    """Entities in scope (``ref.companies.in_conso_scope``), optionally limited to ``only``."""
    query = (exp.select("company_id", "country_code", "currency").from_(exp.to_table("ref.companies"))
             .where(exp.column("in_conso_scope")).order_by("company_id"))
    rows = engine.run(query, {}).table.to_pylist()
    scope = [EntityRef(r["company_id"], r["country_code"], r["currency"]) for r in rows]
    check_in_scope(only, [s.company_id for s in scope])
    return [s for s in scope if not only or s.company_id in only]


def reconcile(engine: Engine, extracts: Mapping[str, Any], period: Period, entity: EntityRef, *,
              pack: ReconPack | None = None, validations: Mapping[str, Any] | None = None,
              lines: Sequence[str] = ()) -> EntityResult:
    """Every line (or ``lines``) of ``pack`` for one entity. ``extracts`` maps an item id to its
    ExtractResult or Arrow table; ``validations`` an item id to its ValidationResult."""
    pack = pack or load_pack()
    specs = [pack.line(i) for i in lines] if lines else list(pack.lines)
    needed = sorted({"CR_03", "CR_04", "CR_05", *(s.tv.item for s in specs)})
    missing = [i for i in needed if i not in extracts]
    if missing:
        raise UsageError(f"reconciling {entity.company_id} {period} needs the extract of {', '.join(missing)}")
    full = not lines  # a subset of lines computes only what those lines read (tests, one-line reruns)
    inputs = [*needed, *(i for i in ANALYSIS_ITEMS if full and i in extracts and i not in needed)]
    # An extract (in memory or spooled to disk), an Arrow table, or a lazy Arrow dataset: the
    # engine scans each where it lies.
    tables = {i: extracts[i].scan() if hasattr(extracts[i], "scan") else extracts[i] for i in inputs}
    rates = tables["CR_05"]
    fx = closing_rate(rates if isinstance(rates, pa.Table) else rates.to_table(), entity.company_id)
    names: list[str] = []
    try:
        registered = {i: _register(engine, names, i, entity, period, t) for i, t in tables.items()}
        found = analyses(engine, pack, registered, period, entity, names,
                         classify=any(s.gl_classification for s in specs), everything=full)
        results = tuple(_line(engine, pack, s, registered, period, entity, fx, validations or {}, found) for s in specs)
    finally:
        for name in names:
            engine.unregister(name)
    country = pack.thresholds.value("COUNTRY_MATERIALITY_USD", entity.country)
    return EntityResult(entity.company_id, entity.country, entity.currency, fx, results, country,
                        found.movements, found.tagging, found.review)


def analyses(engine: Engine, pack: ReconPack, registered: Mapping[str, exp.Table], period: Period, entity: EntityRef,
             names: list[str], *, classify: bool = False, everything: bool = True) -> Analyses:
    """With ``everything``: the voucher movement table (from CR_03, when the pack has a
    classification), the collections tagging (IPE_31) and review lists (IPE_07) of one entity,
    each when its extract is registered. With ``classify`` the classification is computed and its
    postings registered for the lines that join them."""
    scope = EntityPeriod(entity.company_id, entity.currency, period, entity.country)
    movements = classified = tagging = review = None
    if pack.vouchers is not None and (everything or classify):
        movements = classify_vouchers(engine, registered["CR_03"], scope, pack.vouchers)
        if classify:
            narrow = movements.postings.select(["entry_no", *CLASSIFIED_COLUMNS])
            classified = _register(engine, names, "classified", entity, period, narrow)
    if everything and pack.collections is not None and "IPE_31" in registered:
        tagging = tag_collections(engine, registered["IPE_31"], scope, pack.collections)
    if everything and "IPE_07" in registered:
        review = review_lists(engine, registered["IPE_07"], scope)
    return Analyses(movements, classified, tagging, review)


def _register(engine: Engine, names: list[str], item: str, entity: EntityRef, period: Period, table: pa.Table) -> exp.Table:
    name = re.sub(r"\W", "_", f"rc_{item}_{entity.company_id}_{period.compact}").lower()
    names.append(name)
    return engine.register(name, table)


def _line(engine: Engine, pack: ReconPack, spec: LineSpec, tables, period: Period, entity: EntityRef,
          fx: FxRate, validations, found: Analyses) -> LineResult:
    family = pack.family(spec)
    th = pack.thresholds.for_line(entity.country, spec.id, spec.gl_accounts)
    material = fx.lcy(th.line_item.value)
    params = {"gl_accounts": list(spec.gl_accounts), "cutoff": period.cutoff, "period_start": period.start,
              "material_lcy": None if material is None else cents_at_least(material)}
    cr03, cr04, tv = tables["CR_03"], tables["CR_04"], tables[spec.tv.item]
    sqls: list[str] = []

    def run(query: exp.Expression) -> pa.Table:
        result = engine.run(query, params)
        sqls.append(result.sql)
        return result.table

    bal = run(kj.balance_query(spec, cr03, cr04, tv)).to_pylist()[0]
    keys = run(kj.key_query(spec, family, cr03, tv, found.classified))
    name = re.sub(r"\W", "_", f"rk_{spec.id}_{entity.company_id}_{period.compact}").lower()
    keys_table = engine.register(name, keys)
    try:
        totals = run(kj.totals_query(keys_table)).to_pylist()
        overlaps = sum(int(r["overlaps"] or 0) for r in totals)
        overlap_rows = run(overlap_query(keys_table, family.rules)).to_pylist() if overlaps else []
    finally:
        engine.unregister(name)
    gl_amount, tv_amount = _dec(bal["gl_amount"]), _dec(bal["tv_amount"])
    key_g = sum((_dec(r["g"]) for r in totals), ZERO)
    key_t = sum((_dec(r["t"]) for r in totals), ZERO)
    unclaimed = next((r for r in totals if r["bridge"] is None), None)
    # The tie-out differences are not hidden in a bridge: they stay in the unexplained rest.
    unexplained = (_dec(unclaimed["delta"]) if unclaimed else ZERO) + (gl_amount - key_g) - (tv_amount - key_t)
    findings = _findings(spec, family, bal, gl_amount, tv_amount, key_g, key_t, overlaps, overlap_rows, fx, validations,
                         lambda: run(kj.tie_out_query(spec, cr03, cr04)).to_pylist())
    if spec.gl_classification and found.movements is not None:
        findings.extend(_unclassified(spec, found.movements))
    failed = tuple(d["test"] for f in findings if f.code == "INPUT_TEST_FAILED" for d in f.detail)
    status, reason = decide(Facts(fx, failed, overlaps, gl_amount, tv_amount, unexplained,
                                  sum(int(r["nonzero_keys"] or 0) for r in totals), int(bal["gl_entries_in_period"]), th.bucket.value))
    return LineResult(
        entity.company_id, entity.country, period, spec.id, spec.title, entity.currency, spec.account_class,
        spec.gl_accounts, spec.tv.item, gl_amount, tv_amount, key_g, key_t, fx,
        _bridges(family, keys, totals), unexplained, _proof(keys, None), th, status, reason, tuple(findings),
        keys.num_rows, int(bal["gl_entries_in_period"]), spec.control_report, tuple(sqls))


def _dec(value) -> Decimal:
    return ZERO if value is None else Decimal(value)


def _proof(keys: pa.Table, bridge: str | None) -> pa.Table:
    """The key rows a bridge claims (``None``: the unclaimed rows with a delta), as proof items."""
    if bridge is None:
        mask = pc.and_(pc.is_null(keys.column("bridge")), pc.not_equal(keys.column("delta"), pa.scalar(0, keys.schema.field("delta").type)))
    else:
        mask = pc.fill_null(pc.equal(keys.column("bridge"), bridge), False)
    rows = keys.filter(mask)
    return pa.table([rows.column("item_key").cast(pa.string()), rows.column("delta").cast(PROOF_SCHEMA.field("amount_lcy").type),
                     rows.column("material")], schema=PROOF_SCHEMA)


def _bridges(family: FamilySpec, keys: pa.Table, totals: list[dict]) -> tuple[BridgeResult, ...]:
    by_id = {r["bridge"]: r for r in totals if r["bridge"] is not None}
    out = []
    for rule in family.rules:
        row = by_id.get(rule.id, {})
        out.append(BridgeResult(rule.id, rule.version, rule.description, _dec(row.get("delta")), _proof(keys, rule.id),
                                int(row.get("material_items") or 0)))
    return tuple(out)


def _findings(spec, family, bal, gl_amount, tv_amount, key_g, key_t, overlaps, overlap_rows, fx, validations, tie_out) -> list[Finding]:
    out: list[Finding] = []
    if not fx.ok:
        out.append(Finding(str(fx.problem), "error", fx.detail))
    for item in ("CR_03", "CR_04", "CR_05", spec.tv.item):
        v = validations.get(item)
        for r in v.results if v is not None else ():
            if r.outcome.value == "passed":
                continue
            code = "INPUT_TEST_FAILED" if r.blocking else "INPUT_TEST_WARNING"
            out.append(Finding(code, "error" if r.blocking else "warn", f"{r.rule_id} {r.outcome.value}: {r.message}".rstrip(": "),
                               detail=({"test": r.rule_id, "item": item, "outcome": r.outcome.value},)))
    if int(bal["gl_balance_accounts"]) < len(spec.gl_accounts):
        out.append(Finding("GL_BALANCE_MISSING", "warn",
                           f"CR_04 has balances for {bal['gl_balance_accounts']} of the accounts {', '.join(spec.gl_accounts)}"))
    if gl_amount != key_g:
        detail = tuple({k: str(v) for k, v in r.items()} for r in tie_out())
        out.append(Finding("CR03_CR04_TIE_OUT", "error",
                           f"CR_03 entries <= cutoff sum to {key_g} but the CR_04 balance is {gl_amount} (as presented); "
                           "the difference stays in unexplained", gl_amount - key_g, detail))
    if tv_amount != key_t:
        out.append(Finding("TV_KEY_LEVEL_DIFFERENCE", "error",
                           f"{spec.tv.item}: key-level sums {key_t} differ from the target value {tv_amount}", tv_amount - key_t))
    if overlaps:
        problems = overlap_problems(overlap_rows, overlaps, spec.id, family)
        out.append(Finding("BRIDGE_RULES_OVERLAP", "error", f"{overlaps} key row(s) claimed by more than one bridge rule; fix bridges.yaml",
                           detail=tuple({"where": p.where, "message": p.message} for p in problems)))
    return out


def _unclassified(spec: LineSpec, movements: MovementResult) -> list[Finding]:
    """A classified line whose postings the rules leave Unclassified: attributes that read the
    category (the VOUCHERS bridge's nav_usage) do not count them, so the reviewer must know."""
    rows = movements.unclassified
    if not rows.num_rows:
        return []
    nav = sum((Decimal(a) for a in rows.column("amount").to_pylist()), ZERO)
    shown = rows.select(["entry_no", "posting_date", "voucher_no", "description", "amount"]).slice(0, FINDING_ROWS).to_pylist()
    return [Finding("POSTINGS_UNCLASSIFIED", "warn",
                    f"{rows.num_rows} posting(s) by cutoff match no category rule of {spec.gl_classification} "
                    f"{movements.rules_version}; attributes reading the category leave them out: add a rule",
                    -nav if spec.liability else nav, tuple({k: str(v) for k, v in r.items()} for r in shown))]


def control_report(line: LineResult, catalog: Catalog | None = None) -> ControlReport:
    """The control report a line issues (CR_01 from SC_ACCRUED), titled from the catalog item."""
    if not line.control_report:
        raise UsageError(f"line {line.line} issues no control report")
    item = catalog.items.get(line.control_report) if catalog is not None else None
    return ControlReport(line.control_report, item.title if item else line.title, item.version if item else "",
                         item.derived_from if item else (), line)


def cr01(result: ReconResult, entity: str) -> ControlReport:
    """CR_01 (reconciliation SC–NAV) of one entity."""
    for r in result.control_reports:
        if r.id == "CR_01" and r.line.entity == entity:
            return r
    raise UsageError(f"no CR_01 for {entity} in this result")


Step = Callable[[str, str, float], None]


def run_period(engine: Engine, catalog: Catalog, period: Period, scope: Sequence[EntityRef], *,
               pack: ReconPack | None = None, history=None, on_step: Step | None = None) -> ReconResult:
    """Extract, test and reconcile every entity of ``scope``. ``on_step(stage, entity, seconds)``
    is called after each stage (``extract``, ``validate``, ``reconcile``) of each entity."""
    from ..extract import extract
    from ..validation import validate

    pack = pack or load_pack(catalog.pack, catalog)
    out = []
    for ent in scope:
        t0 = time.perf_counter()
        extracts = {i: extract(engine, catalog.item(i), period, ent.company_id) for i in pack.items}
        others = sorted({o for i in pack.items for o in catalog.item(i).compared_with} - set(extracts))
        extra = {o: extract(engine, catalog.item(o), period, ent.company_id) for o in others}
        t1 = time.perf_counter()
        _step(on_step, "extract", ent.company_id, t1 - t0)
        validations = {i: validate(engine, x, others={**extracts, **extra}, history=history) for i, x in extracts.items()}
        t2 = time.perf_counter()
        _step(on_step, "validate", ent.company_id, t2 - t1)
        out.append(reconcile(engine, extracts, period, ent, pack=pack, validations=validations))
        _step(on_step, "reconcile", ent.company_id, time.perf_counter() - t2)
    reports = tuple(control_report(ln, catalog) for e in out for ln in e.lines if ln.control_report)
    return ReconResult(period, tuple(out), reports, pack.version)


def _step(on_step: Step | None, stage: str, entity: str, seconds: float) -> None:
    if on_step is not None:
        on_step(stage, entity, seconds)
