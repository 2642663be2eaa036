"""A line's status and its reason code (the definitions are in ``docs/recon.md``).

    ERROR        the line could not be determined:
                 FX_RATE_MISSING | FX_RATE_AMBIGUOUS | FX_RATE_INVALID   (CR_05)
                 INPUT_TEST_FAILED      an error-severity C&A test of an input item did not pass
                 BRIDGE_RULES_OVERLAP   a key row is claimed by two bridge rules
    INVESTIGATE  UNEXPLAINED_ABOVE_BUCKET   |unexplained USD| >= BUCKET_USD
    RECONCILED   auto-certified, the first that applies:
                 ZERO_BALANCE       gl_amount = tv_amount = 0 and no key has a delta
                 NO_ACTIVITY        no CR_03 entry on the line's accounts in the period
                 WITHIN_TOLERANCE   |unexplained USD| < BUCKET_USD

The USD comparison is made exactly in LCY: |unexplained LCY| < BUCKET_USD × rate.
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
UNEXPLAINED_ABOVE_BUCKET = "UNEXPLAINED_ABOVE_BUCKET"
ZERO_BALANCE = "ZERO_BALANCE"
NO_ACTIVITY = "NO_ACTIVITY"
WITHIN_TOLERANCE = "WITHIN_TOLERANCE"
AUTO_CERTIFICATION = (ZERO_BALANCE, NO_ACTIVITY, WITHIN_TOLERANCE)


@dataclass(frozen=True)
class Facts:
    """What the status depends on, gathered by the run."""

    fx: FxRate
    failed_input_tests: tuple[str, ...]
    overlapping_keys: int
    gl_amount: Decimal
    tv_amount: Decimal
    unexplained_lcy: Decimal
    nonzero_keys: int
    gl_entries_in_period: int
    bucket_usd: Decimal


def decide(f: Facts) -> tuple[Status, str]:
    if not f.fx.ok:
        return Status.ERROR, str(f.fx.problem)
    if f.failed_input_tests:
        return Status.ERROR, INPUT_TEST_FAILED
    if f.overlapping_keys:
        return Status.ERROR, BRIDGE_RULES_OVERLAP
    bucket_lcy = f.fx.lcy(f.bucket_usd)
    if bucket_lcy is None or not abs(f.unexplained_lcy) < bucket_lcy:
        return Status.INVESTIGATE, UNEXPLAINED_ABOVE_BUCKET
    if f.gl_amount == 0 and f.tv_amount == 0 and f.nonzero_keys == 0:
        return Status.RECONCILED, ZERO_BALANCE
    if f.gl_entries_in_period == 0:
        return Status.RECONCILED, NO_ACTIVITY
    return Status.RECONCILED, WITHIN_TOLERANCE


def exit_code(statuses, severities) -> int:
    """0 all lines RECONCILED without findings; 1 any line ERROR or INVESTIGATE, or any
    error-severity finding (the control has an exception to act on); 2 all lines RECONCILED
    and only warning findings."""
    statuses, severities = list(statuses), set(severities)
    if any(s is not Status.RECONCILED for s in statuses) or "error" in severities:
        return 1
    return 2 if severities else 0
