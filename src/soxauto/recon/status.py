"""A line's status and its reasons (domain spec "Thresholds and status"; docs/recon.md).

    ERROR        the line could not be computed (the first reason names why):
                 FX_RATE_MISSING | FX_RATE_AMBIGUOUS | FX_RATE_INVALID   (CR_05)
                 INPUT_TEST_FAILED      an error-severity C&A test of an extract the line reads
                 BRIDGE_RULES_OVERLAP   a key row is claimed by two bridge rules
    INVESTIGATE  every reason that applies, in this order:
                 UNRESOLVED_ABOVE_BUCKET    |unresolved| >= BUCKET_USD
                 MATERIAL_ITEM_UNRESOLVED   an open item without a disposition is material
    RECONCILED   no reason; auto-certified (prepared by the system) when the line has no
                 finding, no open item and no pending item, with the first code that applies:
                 ZERO_BALANCE   GL and TV both zero
                 NO_ACTIVITY    no CR_03 entry in the period on the line's accounts, no TV row
                 NO_OPEN_ITEMS  otherwise

The USD comparisons are made exactly in LCY: |x LCY| < threshold USD × rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from .fx import FxRate


class Status(str, Enum):
    RECONCILED = "RECONCILED"
    INVESTIGATE = "INVESTIGATE"
    ERROR = "ERROR"


INPUT_TEST_FAILED = "INPUT_TEST_FAILED"
BRIDGE_RULES_OVERLAP = "BRIDGE_RULES_OVERLAP"
UNRESOLVED_ABOVE_BUCKET = "UNRESOLVED_ABOVE_BUCKET"
MATERIAL_ITEM_UNRESOLVED = "MATERIAL_ITEM_UNRESOLVED"
ZERO_BALANCE = "ZERO_BALANCE"
NO_ACTIVITY = "NO_ACTIVITY"
NO_OPEN_ITEMS = "NO_OPEN_ITEMS"
AUTO_CERTIFICATION = (ZERO_BALANCE, NO_ACTIVITY, NO_OPEN_ITEMS)


@dataclass(frozen=True)
class Facts:
    """What the status depends on, gathered by the run (or by a revision after a disposition)."""

    fx: FxRate
    failed_input_tests: tuple[str, ...]
    overlapping_keys: int
    gl_amount: Decimal
    tv_amount: Decimal
    unresolved_lcy: Decimal
    material_unresolved: int  # open items without a disposition at or above the line-item threshold
    open_items: int  # items with a non-zero open amount (with or without a disposition)
    pending_items: int
    findings: int  # findings of the line (any severity)
    gl_entries_in_period: int
    tv_rows: int
    bucket_usd: Decimal


@dataclass(frozen=True)
class Decision:
    status: Status
    reasons: tuple[str, ...] = ()
    auto_certification: str | None = None

    @property
    def reason(self) -> str:
        """The first reason, or the auto-certification code ('' for neither)."""
        return self.reasons[0] if self.reasons else (self.auto_certification or "")


def decide(f: Facts) -> Decision:
    if not f.fx.ok:
        return Decision(Status.ERROR, (str(f.fx.problem),))
    if f.failed_input_tests:
        return Decision(Status.ERROR, (INPUT_TEST_FAILED,))
    if f.overlapping_keys:
        return Decision(Status.ERROR, (BRIDGE_RULES_OVERLAP,))
    bucket_lcy = f.fx.lcy(f.bucket_usd)
    reasons = []
    if bucket_lcy is None or not abs(f.unresolved_lcy) < bucket_lcy:
        reasons.append(UNRESOLVED_ABOVE_BUCKET)
    if f.material_unresolved:
        reasons.append(MATERIAL_ITEM_UNRESOLVED)
    if reasons:
        return Decision(Status.INVESTIGATE, tuple(reasons))
    if f.findings or f.open_items or f.pending_items:
        return Decision(Status.RECONCILED)
    if f.gl_amount == 0 and f.tv_amount == 0:
        return Decision(Status.RECONCILED, (), ZERO_BALANCE)
    if f.gl_entries_in_period == 0 and f.tv_rows == 0:
        return Decision(Status.RECONCILED, (), NO_ACTIVITY)
    return Decision(Status.RECONCILED, (), NO_OPEN_ITEMS)


def exit_code(statuses, severities) -> int:
    """0 all lines RECONCILED without findings; 1 any line ERROR or INVESTIGATE, or any
    error-severity finding (the control has an exception to act on); 2 all lines RECONCILED
    and only warning findings."""
    statuses, severities = list(statuses), set(severities)
    if any(s is not Status.RECONCILED for s in statuses) or "error" in severities:
        return 1
    return 2 if severities else 0
