"""The one exception tree of SOXauto.

    SoxautoError                 anything the product reports as "could not be determined"
    ├── UsageError               bad arguments or configuration            exit 3
    │   ├── ConflictError        a valid request the current state refuses (HTTP 409): a line in
    │   │                        ERROR, a line not prepared, a locked period
    │   ├── CatalogError         a catalog item that does not load or validate
    │   ├── LakeContractError    a lake that breaks the source contract
    │   └── BindingError         a binding that does not map the logical lake
    ├── EngineError              the query engine failed                   exit 4
    └── IntegrityError           evidence that does not verify             exit 5

A failing control is never an exception: it is a result. Exceptions mean the answer could not
be determined. The CLI maps each class to its exit code in exactly one place (``cli``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem: ``where`` is ``file:line``, ``table.column`` or similar."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class SoxautoError(Exception):
    exit_code = 4

    def __init__(self, message: str, problems: tuple[Problem, ...] | list[Problem] = ()):
        self.problems = tuple(problems)
        if self.problems:
            message = message + "\n" + "\n".join(f"  {p}" for p in self.problems)
        super().__init__(message)


class UsageError(SoxautoError):
    exit_code = 3


class ConflictError(UsageError):
    """The request is valid, but the current state refuses it (the service answers 409)."""


class CatalogError(UsageError):
    pass


class LakeContractError(UsageError):
    pass


class BindingError(UsageError):
    pass


class EngineError(SoxautoError):
    exit_code = 4


class IntegrityError(SoxautoError):
    exit_code = 5


def did_you_mean(name: str, choices) -> str:
    """A suffix like ``; did you mean 'remaining_amount'?`` or an empty string."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
