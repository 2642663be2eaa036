"""Reconcile one entity and period: every line of the pack, computed in the engine.

``reconcile`` takes extracts that are already made (and, optionally, their C&A results);
``run_period`` is the whole job for a list of entities: extract CR_03, CR_04, CR_05, CR_06
and the TV items, run their tests, reconcile, and issue the control reports (CR_01). The
reconciling items of each line (``recon.items``) are worked out from the key rows and CR_06's
entries after the cutoff, with the data horizon H that CR_06 was bound with.

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
from datetime import date
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
from .items import BOOKING, NO_HISTORY, TIMING, UNCLEARED, ItemHistory, LineItems, line_items, proposed_journals
from .lines import CLASSIFIED_COLUMNS, FamilySpec, LineSpec, ReconPack
from .pack import load_pack
from .result import BridgeResult, ControlReport, EntityResult, Finding, LineResult, ReconResult
from .review import ReviewResult, review_lists
from .status import Facts, Status, decide
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
              lines: Sequence[str] = (), history: ItemHistory | None = None, horizon: date | None = None) -> EntityResult:
    """Every line (or ``lines``) of ``pack`` for one entity. ``extracts`` maps an item id to its
    ExtractResult or Arrow table; ``validations`` an item id to its ValidationResult;
    ``history`` what the run store says of last month's items and this period's dispositions.
    The data horizon H is CR_06's bound parameter unless ``horizon`` is given."""
    pack = pack or load_pack()
    specs = [pack.line(i) for i in lines] if lines else list(pack.lines)
    needed = sorted({"CR_03", "CR_04", "CR_05", "CR_06", *(s.tv.item for s in specs)})
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
    horizon = horizon or _horizon(extracts["CR_06"], period)
    names: list[str] = []
    try:
        registered = {i: _register(engine, names, i, entity, period, t) for i, t in tables.items()}
        found = analyses(engine, pack, registered, period, entity, names,
                         classify=any(s.gl_classification for s in specs), everything=full)
        context = LineContext(period, entity, fx, validations or {}, found, horizon, history or NO_HISTORY)
        results = tuple(_line(engine, pack, s, registered, context) for s in specs)
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


@dataclass(frozen=True)
class LineContext:
    """What every line of one entity's reconciliation shares."""

    period: Period
    entity: EntityRef
    fx: FxRate
    validations: Mapping[str, Any]
    found: Analyses
    horizon: date
    history: ItemHistory


def _horizon(cr06, period: Period) -> date:
    """H as CR_06 was extracted with it (its bound parameter): never the clock, never guessed."""
    value = (getattr(cr06, "parameters", None) or {}).get("horizon")
    if value is None:
        raise UsageError(f"reconciling {period} needs the data horizon H: the CR_06 extract carries it as its 'horizon' "
                         "parameter (pass horizon= when giving CR_06 as a bare table)")
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _line(engine: Engine, pack: ReconPack, spec: LineSpec, tables, ctx: LineContext) -> LineResult:
    period, entity, fx, found = ctx.period, ctx.entity, ctx.fx, ctx.found
    family = pack.family(spec)
    th = pack.thresholds.for_line(entity.country, spec.id, spec.gl_accounts)
    material = fx.lcy(th.line_item.value)
    material_lcy = None if material is None else cents_at_least(material)
    clearing_bridges = [r.id for r in family.rules if r.nature in (TIMING, BOOKING)]
    params = {"gl_accounts": list(spec.gl_accounts), "cutoff": period.cutoff, "period_start": period.start,
              "material_lcy": material_lcy, "clearing_bridges": clearing_bridges}
    cr03, cr04, cr06, tv = tables["CR_03"], tables["CR_04"], tables["CR_06"], tables[spec.tv.item]
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
        claimed = [r for r in totals if r["bridge"] in clearing_bridges and r["nonzero_keys"]]
        clearing = run(kj.clearing_query(spec, cr06, keys_table)).to_pylist() if claimed else []
    finally:
        engine.unregister(name)
    gl_amount, tv_amount = _dec(bal["gl_amount"]), _dec(bal["tv_amount"])
    key_g = sum((_dec(r["g"]) for r in totals), ZERO)
    key_t = sum((_dec(r["t"]) for r in totals), ZERO)
    unclaimed = next((r for r in totals if r["bridge"] is None), None)
    # The tie-out differences are not hidden in a bridge: they stay in the unexplained rest.
    tie_outs = (gl_amount - key_g) - (tv_amount - key_t)
    unexplained = (_dec(unclaimed["delta"]) if unclaimed else ZERO) + tie_outs
    rows = keys.select(["item_key", "bridge", "is_manual", "delta", "material"])
    rows = rows.filter(pc.not_equal(rows.column("delta"), pa.scalar(0, rows.schema.field("delta").type))).to_pylist()
    items = line_items(spec.id, rows, {r.id: r.nature for r in family.rules}, clearing, cutoff=period.cutoff,
                       horizon=ctx.horizon, window_days=spec.clearing_window_days, history=ctx.history)
    findings = _findings(spec, family, bal, gl_amount, tv_amount, key_g, key_t, overlaps, overlap_rows, fx, ctx.validations,
                         lambda: run(kj.tie_out_query(spec, cr03, cr04)).to_pylist())
    if spec.gl_classification and found.movements is not None:
        findings.extend(_unclassified(spec, found.movements))
    findings.extend(_item_findings(items, pack.max_age_days, family))
    failed = tuple(d["test"] for f in findings if f.code == "INPUT_TEST_FAILED" for d in f.detail)
    unresolved = tie_outs + items.unresolved_lcy()
    open_unresolved = items.open_unresolved
    decision = decide(Facts(
        fx, failed, overlaps, gl_amount, tv_amount, unresolved,
        material_unresolved=0 if material_lcy is None else sum(1 for i in open_unresolved if abs(i.open) >= material_lcy),
        open_items=sum(1 for i in items.items if i.open != 0), pending_items=sum(1 for i in items.items if i.state == "pending"),
        findings=len(findings), gl_entries_in_period=int(bal["gl_entries_in_period"]), tv_rows=int(bal["tv_rows"]),
        bucket_usd=th.bucket.value))
    journals = proposed_journals(items, {r.id: r.journal.to_dict() for r in family.rules if r.journal is not None})
    return LineResult(
        entity.company_id, entity.country, period, spec.id, spec.title, entity.currency, spec.account_class,
        spec.gl_accounts, spec.tv.item, gl_amount, tv_amount, key_g, key_t, fx,
        _bridges(family, totals, items), unexplained, items.table("UNEXPLAINED"), th, decision.status, decision.reasons,
        tuple(findings), keys.num_rows, int(bal["gl_entries_in_period"]), spec.control_report, tuple(sqls),
        unresolved, decision.auto_certification, items, tuple(journals), ctx.horizon.isoformat(), spec.clearing_window_days,
        int(bal["tv_rows"]))


def _item_findings(items: LineItems, max_age_days: int, family: FamilySpec) -> list[Finding]:
    """BOOKING_OVERDUE: booking items whose booking has not come within the window;
    STALE_ITEM: items (but cleared ones) older than the pack's max_age_days."""
    out = []
    overdue = [i for i in items.items if i.nature == BOOKING and i.state == UNCLEARED]
    if overdue:
        total = sum((i.amount - i.cleared for i in overdue), ZERO)
        out.append(Finding("BOOKING_OVERDUE", "warn",
                           f"{len(overdue)} booking item(s) not booked within the clearing window, {total} not yet booked",
                           total, tuple({"key": i.key, "bridge": i.bridge, "amount_lcy": str(i.amount), "not_booked_lcy": str(i.amount - i.cleared),
                                         "window_end": i.window_end.isoformat()} for i in overdue[:FINDING_ROWS])))
    stale = [i for i in items.items if i.age_days is not None and i.age_days > max_age_days and i.state != "cleared"]
    if stale:
        total = sum((i.amount for i in stale), ZERO)
        out.append(Finding("STALE_ITEM", "warn", f"{len(stale)} item(s) older than {max_age_days} days and not cleared, {total} in all",
                           total, tuple({"key": i.key, "bridge": i.bridge, "amount_lcy": str(i.amount), "age_days": i.age_days,
                                         "first_cutoff": i.first_cutoff.isoformat()} for i in stale[:FINDING_ROWS])))
    return out


def _dec(value) -> Decimal:
    return ZERO if value is None else Decimal(value)


def _bridges(family: FamilySpec, totals: list[dict], items: LineItems) -> tuple[BridgeResult, ...]:
    by_id = {r["bridge"]: r for r in totals if r["bridge"] is not None}
    out = []
    for rule in family.rules:
        row = by_id.get(rule.id, {})
        out.append(BridgeResult(rule.id, rule.version, rule.description, _dec(row.get("delta")), items.table(rule.id),
                                int(row.get("material_items") or 0), rule.nature))
    return tuple(out)


def _findings(spec, family, bal, gl_amount, tv_amount, key_g, key_t, overlaps, overlap_rows, fx, validations, tie_out) -> list[Finding]:
    out: list[Finding] = []
    if not fx.ok:
        out.append(Finding(str(fx.problem), "error", fx.detail))
    for item in ("CR_03", "CR_04", "CR_05", "CR_06", spec.tv.item):
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
    from ..extract import extract, time_bounds
    from ..validation import validate

    pack = pack or load_pack(catalog.pack, catalog)
    out = []
    for ent in scope:
        t0 = time.perf_counter()
        bounds = time_bounds(engine, pack, period, ent.company_id, [catalog.item(i) for i in pack.items])  # once per entity
        extracts = {i: extract(engine, catalog.item(i), period, ent.company_id, bounds) for i in pack.items}
        others = sorted({o for i in pack.items for o in catalog.item(i).compared_with} - set(extracts))
        extra = {o: extract(engine, catalog.item(o), period, ent.company_id, bounds) for o in others}
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
