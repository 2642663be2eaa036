"""Sign-off of the reconciliation per line × entity × period: prepare, approve or reject, the
suspension of a sign-off whose evidence a rerun changed, and the lock of an approved period.

    events    the append-only event table and the state its events fold to
    workflow  SignOffs: the actions, ``after_run`` (called by every close), lock and unlock

Docs: docs/signoff.md.
"""

from __future__ import annotations

from ..errors import UsageError
from .workflow import SignOffs, basis


def check_open(runs, period: str) -> None:
    """Refuse a close of a locked period, naming who approved it and how to unlock it."""
    lock = SignOffs(runs).locked(period)
    if lock is None:
        return
    who = ", ".join(lock["approvers"]) or lock["locked_by"]
    raise UsageError(f"period {period} is locked since {lock['locked_at']}: every line was approved (by {who}); "
                     f"a close of it is refused until an admin runs "
                     f"'soxauto signoff unlock {period} --reason \"why it must be closed again\"'")


__all__ = ["SignOffs", "basis", "check_open"]
