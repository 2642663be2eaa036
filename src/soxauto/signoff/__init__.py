"""Sign-off of the reconciliation per line × entity × period: prepare, approve or reject, the
suspension of a sign-off whose evidence a rerun changed, and the lock of an approved period.

    events    the append-only event table and the state its events fold to
    gate      what a line's status allows: ERROR refused, INVESTIGATE with a comment and approved
              with exception, auto-certified lines prepared by the system; the open items
    workflow  SignOffs: the actions, bulk approval, ``after_run`` (called by every close), lock
              and unlock; every refusal is audit-logged

Docs: docs/signoff.md.
"""

from __future__ import annotations

from ..close import audit
from ..errors import ConflictError
from .gate import SYSTEM, error_cause, open_items
from .workflow import SignOffs, basis


def check_open(runs, period: str, user: str | None = None) -> None:
    """Refuse a close of a locked period, naming who approved it and how to unlock it; the
    refusal is written to the audit log (``close.refused``)."""
    lock = SignOffs(runs).locked(period)
    if lock is None:
        return
    who = ", ".join(lock["approvers"]) or lock["locked_by"]
    message = (f"period {period} is locked since {lock['locked_at']}: every line was approved (by {who}); "
               f"a close of it is refused until an admin runs "
               f"'soxauto signoff unlock {period} --reason \"why it must be closed again\"'")
    audit.refused(runs.engine, user or "unknown", "close", message, period=period)
    raise ConflictError(message)


__all__ = ["SYSTEM", "SignOffs", "basis", "check_open", "error_cause", "open_items"]
