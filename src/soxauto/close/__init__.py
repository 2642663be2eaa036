"""The month-end close: one command runs the whole control for a period.

    plan    entities in scope × catalog items → steps (the unit of work is one entity)
    entity  one entity's steps on a worker: extract, C&A tests, evidence package; reconcile
    run     ``close``: lock, execute on a bounded worker pool, resume, finish
    report  the run's outputs under ``<reports>/<run_id>/`` and the summary table
    store   the run store (SQLAlchemy: SQLite by default, PostgreSQL by URL)
    lock    (period, entity) locks with stale-lock detection
    audit   the append-only, hash-chained audit log

Concepts and commands: ``docs/close.md``.
"""

from .lock import LockedError
from .plan import ClosePlan, StepKey, make_plan
from .run import CloseRequest, Observer, close
from .store import RunStore

__all__ = ["ClosePlan", "CloseRequest", "LockedError", "Observer", "RunStore", "StepKey", "close", "make_plan"]
