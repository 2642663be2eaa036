"""Frozen results of C&A tests, built once and rendered many ways."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..period import Period


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERRORED = "errored"


@dataclass(frozen=True)
class TestResult:
    """One rule on one extract. ``observed``/``expected`` are JSON-ready (decimals as strings);
    ``sql`` lists every statement the rule ran; ``sample`` holds at most the configured number
    of failing rows while ``failing_count`` is always their total. ``shared`` lists the source
    batches the rule read its entity's group from (each its SQL and bound parameters): run once
    for every entity of the close, so not repeated in ``sql``."""

    __test__ = False  # not a pytest test class

    rule_id: str
    kind: str
    severity: str
    outcome: Outcome
    observed: Any = None
    expected: Any = None
    sql: tuple[str, ...] = ()
    sample: tuple[dict, ...] = ()
    failing_count: int = 0
    message: str = ""
    shared: tuple[dict, ...] = ()

    @property
    def blocking(self) -> bool:
        """An error-severity test that did not pass blocks sign-off."""
        return self.severity == "error" and self.outcome is not Outcome.PASSED

    def to_dict(self) -> dict:
        out = {
            "rule_id": self.rule_id, "kind": self.kind, "severity": self.severity,
            "outcome": self.outcome.value, "observed": self.observed, "expected": self.expected,
            "failing_count": self.failing_count, "message": self.message,
            "sample": list(self.sample), "sql": list(self.sql),
        }
        if self.shared:
            out["shared"] = [dict(s) for s in self.shared]
        return out


@dataclass(frozen=True)
class ValidationResult:
    item_id: str
    company_id: str
    period: Period
    results: tuple[TestResult, ...] = field(default=())

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 an error-severity test failed or errored, 2 only warnings."""
        if any(r.blocking for r in self.results):
            return 1
        if any(r.outcome is not Outcome.PASSED for r in self.results):
            return 2
        return 0

    def to_dict(self) -> dict:
        return {
            "item": self.item_id, "entity": self.company_id, "period": str(self.period),
            "summary": {o.value: self.count(o) for o in Outcome},
            "results": [r.to_dict() for r in self.results],
        }
