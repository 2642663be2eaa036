"""Completeness-and-accuracy tests: declared rules → metrics → one query per dataset → results."""

from .result import Outcome, TestResult, ValidationResult
from .run import validate

__all__ = ["Outcome", "TestResult", "ValidationResult", "validate"]
