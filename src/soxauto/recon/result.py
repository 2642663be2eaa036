"""Frozen reconciliation results, built once by ``run`` and rendered many ways.

Amounts are exact ``Decimal`` in the entity's currency (LCY); USD figures are derived at the
CR_05 closing rate and rounded half-even to the cent for presentation only. ``to_dict`` gives
the stable JSON shape documented in ``docs/recon.md`` (amounts as decimal strings). An entity
also carries its voucher movement table, collections tagging and review lists
(docs/classification.md), each with the version and SHA-256 of the rule file it applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa

from ..period import Period
from .classify import MovementResult
from .fx import FxRate
from .items import ITEM_SCHEMA, LineItems
from .review import ReviewResult
from .status import Status, exit_code
from .tagging import TaggingResult
from .thresholds import ThresholdSet, ThresholdValue

FORMAT_VERSION = 2
PROOF_SCHEMA = ITEM_SCHEMA  # a bridge's proof items: one row per key it claims (recon.items)


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.01")))


@dataclass(frozen=True)
class Finding:
    """Something raised for review on a line. ``severity`` is ``error`` or ``warn``."""

    code: str
    severity: str
    message: str
    amount_lcy: Decimal | None = None
    detail: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "amount_lcy": money(self.amount_lcy), "detail": list(self.detail)}


def item_dicts(items: pa.Table) -> list[dict]:
    """Proof items as JSON objects (amounts as decimal strings, dates ISO)."""
    out = []
    for r in items.to_pylist():
        out.append({"key": r["key"], "amount_lcy": money(r["amount_lcy"]), "material": r["material"], "nature": r["nature"],
                    "state": r["state"], "movement_lcy": money(r["movement_lcy"]), "cleared_lcy": money(r["cleared_lcy"]),
                    "open_lcy": money(r["open_lcy"]), "first_cutoff": _iso(r["first_cutoff"]), "window_end": _iso(r["window_end"]),
                    "age_days": r["age_days"], "disposition": r["disposition"], "disposition_id": r["disposition_id"],
                    "disposition_period": r["disposition_period"]})
    return out


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class BridgeResult:
    """One bridge of one line: Σ delta of the key rows it claims, and those rows (its proof)."""

    id: str
    version: str
    description: str
    amount_lcy: Decimal
    items: pa.Table = field(repr=False)  # ITEM_SCHEMA: one row per key it claims
    material_items: int = 0
    nature: str = "exception"

    @property
    def item_count(self) -> int:
        return self.items.num_rows

    def to_dict(self, fx: FxRate | None, *, items: bool = False) -> dict:
        out = {"nature": self.nature, "amount_lcy": money(self.amount_lcy),
               "amount_usd": None if fx is None else money(fx.usd(self.amount_lcy)),
               "item_count": self.item_count, "material_items": self.material_items, "version": self.version}
        if items:
            out["items"] = item_dicts(self.items)
        return out


@dataclass(frozen=True)
class LineResult:
    entity: str
    country: str
    period: Period
    line: str
    title: str
    currency: str
    account_class: str
    gl_accounts: tuple[str, ...]
    tv_item: str
    gl_amount: Decimal  # CR_04, presented (negated for a liability)
    tv_amount: Decimal  # Σ measure over in_tv rows
    key_gl_amount: Decimal  # Σ g over keys (CR_03)
    key_tv_amount: Decimal  # Σ t over keys
    fx: FxRate
    bridges: tuple[BridgeResult, ...]
    unexplained_lcy: Decimal  # Σ delta of unclaimed keys + tie-out differences, summed independently
    unexplained_items: pa.Table = field(repr=False)
    thresholds: ThresholdSet | None = None
    status: Status = Status.ERROR
    reasons: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    keys: int = 0
    gl_entries_in_period: int = 0
    control_report: str | None = None
    sql: tuple[str, ...] = field(default=(), repr=False)
    unresolved_lcy: Decimal = Decimal("0.00")  # tie-out difference + Σ open amounts without a disposition
    auto_certification: str | None = None  # ZERO_BALANCE | NO_ACTIVITY | NO_OPEN_ITEMS
    reconciling: LineItems | None = field(default=None, repr=False)
    journals: tuple[dict, ...] = ()  # proposed journal entries (bookings and adjust dispositions)
    horizon: str | None = None  # H, ISO date
    clearing_window_days: int | None = None
    tv_rows: int = 0

    @property
    def reason(self) -> str:
        """The first reason; for a line with none, its auto-certification code ('' for neither)."""
        return self.reasons[0] if self.reasons else (self.auto_certification or "")

    def usd(self, lcy: Decimal | None) -> Decimal | None:
        """A USD figure of the line: null for a line in ERROR (it could not be computed)."""
        return None if lcy is None or self.status is Status.ERROR else self.fx.usd(lcy)

    @property
    def variance_lcy(self) -> Decimal:
        return self.gl_amount - self.tv_amount

    @property
    def variance_usd(self) -> Decimal | None:
        return self.usd(self.variance_lcy)

    @property
    def unexplained_usd(self) -> Decimal | None:
        return self.usd(self.unexplained_lcy)

    @property
    def unresolved_usd(self) -> Decimal | None:
        return self.usd(self.unresolved_lcy)

    @property
    def resolved_lcy(self) -> Decimal:
        return self.variance_lcy - self.unresolved_lcy

    @property
    def resolved_usd(self) -> Decimal | None:
        return self.usd(self.resolved_lcy)

    def count(self, **where) -> int:
        items = self.reconciling.items if self.reconciling else ()
        return sum(1 for i in items if all(getattr(i, k) == v for k, v in where.items()))

    @property
    def bridged_lcy(self) -> Decimal:
        return sum((b.amount_lcy for b in self.bridges), Decimal("0.00"))

    @property
    def tie_out_difference(self) -> Decimal:
        """CR_04 balance minus Σ CR_03 entries (both presented like gl_amount)."""
        return self.gl_amount - self.key_gl_amount

    @property
    def auto_certified(self) -> bool:
        return self.status is Status.RECONCILED and self.auto_certification is not None

    def bridge(self, bridge_id: str) -> BridgeResult:
        return next(b for b in self.bridges if b.id == bridge_id)

    def items_summary(self) -> dict:
        items = self.reconciling.items if self.reconciling else ()
        states = {s: sum(1 for i in items if i.state == s) for s in ("cleared", "pending", "uncleared")}
        open_items = [i for i in items if i.open != 0]
        return {"items": len(items), "open": len(open_items), "resolved": sum(1 for i in open_items if i.disposition is not None),
                "unresolved": sum(1 for i in open_items if i.disposition is None), **states,
                "carried_dispositions": sum(1 for i in items if i.carried),
                "suspended_dispositions": [d.to_dict() for d in (self.reconciling.suspended if self.reconciling else ())]}

    def to_dict(self, *, items: bool = False) -> dict:
        th = self.thresholds
        fx = None if self.status is Status.ERROR else self.fx
        return {
            "entity": self.entity, "country": self.country, "period": str(self.period), "line": self.line,
            "title": self.title, "currency": self.currency, "class": self.account_class,
            "gl_accounts": list(self.gl_accounts), "tv_item": self.tv_item,
            "gl_amount": money(self.gl_amount), "tv_amount": money(self.tv_amount),
            "variance_lcy": money(self.variance_lcy), "variance_usd": money(self.variance_usd),
            "fx_rate": None if self.fx.rate is None else str(self.fx.rate),
            "bridges": {b.id: b.to_dict(fx, items=items) for b in self.bridges},
            "unexplained_lcy": money(self.unexplained_lcy), "unexplained_usd": money(self.unexplained_usd),
            "unexplained_items": self.unexplained_items.num_rows,
            **({"unexplained_item_list": item_dicts(self.unexplained_items)} if items else {}),
            "unresolved_lcy": money(self.unresolved_lcy), "unresolved_usd": money(self.unresolved_usd),
            "resolved_lcy": money(self.resolved_lcy), "resolved_usd": money(self.resolved_usd),
            "tie_out_difference_lcy": money(self.tie_out_difference),
            "horizon": self.horizon, "clearing_window_days": self.clearing_window_days,
            "reconciling_items": self.items_summary(),
            "proposed_journals": [dict(j, amount_lcy=money(j["amount_lcy"])) for j in self.journals],
            "gl_entries_in_period": self.gl_entries_in_period, "tv_rows": self.tv_rows,
            "key_level": {"keys": self.keys, "gl_amount": money(self.key_gl_amount), "tv_amount": money(self.key_tv_amount),
                          "tie_out_difference": money(self.tie_out_difference)},
            "threshold": None if th is None else {"bucket_usd": str(th.bucket.value), "line_item_usd": str(th.line_item.value),
                                                  "contracts": th.to_dict()},
            "status": self.status.value, "reasons": list(self.reasons), "reason": self.reason,
            "auto_certified": self.auto_certified, "auto_certification": self.auto_certification,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class EntityResult:
    company_id: str
    country: str
    currency: str
    fx: FxRate
    lines: tuple[LineResult, ...]
    country_materiality: ThresholdValue | None = None
    voucher_movements: MovementResult | None = None  # CR_03 postings by category x voucher type
    collections_tagging: TaggingResult | None = None  # IPE_31 rows with their accounting rule
    review: ReviewResult | None = None  # IPE_07 review lists

    @property
    def unexplained_usd_total(self) -> Decimal | None:
        """Σ |unexplained| over the entity's lines, in USD (reported against materiality)."""
        return self.fx.usd(sum((abs(ln.unexplained_lcy) for ln in self.lines), Decimal("0.00")))

    @property
    def unresolved_usd_total(self) -> Decimal | None:
        """Σ |unresolved| over the entity's lines, in USD."""
        return self.fx.usd(sum((abs(ln.unresolved_lcy) for ln in self.lines), Decimal("0.00")))

    def to_dict(self) -> dict:
        total = self.unexplained_usd_total
        cm = self.country_materiality
        return {
            "entity": self.company_id, "country": self.country, "currency": self.currency, "fx": self.fx.to_dict(),
            "unexplained_usd_abs_total": money(total), "unresolved_usd_abs_total": money(self.unresolved_usd_total),
            "country_materiality_usd": None if cm is None else str(cm.value),
            "country_materiality_contract": None if cm is None else cm.rule.source.contract,
            "above_country_materiality": None if total is None or cm is None else total >= cm.value,
            "voucher_movements": movements_dict(self.voucher_movements),
            "collections_tagging": tagging_dict(self.collections_tagging),
            "review": review_dict(self.review),
        }


def _rules(version: str, sha256: str) -> dict:
    return {"version": version, "sha256": sha256}


def movements_dict(m: MovementResult | None) -> dict | None:
    """The movement table: opening + Σ rows = closing, presented like the line (issuance positive)."""
    if m is None:
        return None
    t = m.movement
    return {"rules": _rules(m.rules_version, m.rules_sha256), "currency": t.currency,
            "opening_lcy": money(t.opening.amount), "closing_lcy": money(t.closing.amount),
            "rows": [{"category": r.category, "voucher_type": r.voucher_type, "count": r.postings,
                      "amount_lcy": money(r.amount.amount)} for r in t.rows],
            "unclassified_count": m.unclassified.num_rows}


def tagging_dict(t: TaggingResult | None) -> dict | None:
    """Open items (in_tv) per rule in file order; ``open_amount`` adds the untagged ones back."""
    if t is None:
        return None
    open_amount = sum((s.amount.amount for s in t.summary), t.untagged_amount.amount)
    return {"rules": _rules(t.rules_version, t.rules_sha256), "currency": t.currency,
            "rows": [{"rule": s.rule_id, "accounting_rule": s.accounting_rule, "debit_account": s.debit,
                      "credit_account": s.credit, "count": s.count, "amount_lcy": money(s.amount.amount),
                      "context_count": s.context_count} for s in t.summary],
            "untagged_count": t.untagged_count, "untagged_amount_lcy": money(t.untagged_amount.amount),
            "open_amount_lcy": money(open_amount)}


def review_dict(r: ReviewResult | None) -> dict | None:
    if r is None:
        return None
    groups = [{"customer_no": g["customer_no"], "customer_name": g["customer_name"],
               "posting_group": g["customer_posting_group"], "documents": g["documents"], "balance_lcy": money(g["balance"])}
              for g in r.posting_groups.to_pylist()]
    reclass = [{"customer_no": rc.customer_no, "target": rc.target, "balance_lcy": money(rc.balance.amount),
                "moves": [{"busline_code": mv.busline_code, "balance_lcy": money(mv.balance.amount),
                           "move_lcy": money(mv.amount.amount)} for mv in rc.moves]} for rc in r.reclasses]
    return {"multiple_posting_groups": groups, "busline_reclass": reclass}


@dataclass(frozen=True)
class ControlReport:
    """A control report issued from one line (CR_01 from SC_ACCRUED): the line's figures as a report of its own."""

    id: str
    title: str
    version: str
    derived_from: tuple[str, ...]
    line: LineResult

    def to_dict(self) -> dict:
        return {"item": self.id, "title": self.title, "version": self.version, "derived_from": list(self.derived_from),
                **self.line.to_dict()}


@dataclass(frozen=True)
class ReconResult:
    period: Period
    entities: tuple[EntityResult, ...]
    control_reports: tuple[ControlReport, ...] = ()
    pack_version: str = ""

    @property
    def lines(self) -> tuple[LineResult, ...]:
        return tuple(ln for e in self.entities for ln in e.lines)

    @property
    def exit_code(self) -> int:
        return exit_code((ln.status for ln in self.lines), (f.severity for ln in self.lines for f in ln.findings))

    def count(self, status: Status) -> int:
        return sum(1 for ln in self.lines if ln.status is status)

    def to_dict(self, *, items: bool = False) -> dict:
        reports: dict[str, list] = {}
        for r in self.control_reports:
            reports.setdefault(r.id, []).append(r.to_dict())
        return {
            "format_version": FORMAT_VERSION, "period": str(self.period), "pack_version": self.pack_version,
            "summary": {s.value: self.count(s) for s in Status},
            "entities": [e.to_dict() for e in self.entities],
            "lines": [ln.to_dict(items=items) for ln in self.lines],
            "control_reports": reports,
        }
