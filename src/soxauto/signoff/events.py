"""The sign-off history: one append-only table of events, and the state they fold to.

    signoff_events   seq, period, entity, line, line_seq, action, user, at, comment, run_id, basis

A line's state is never stored: it is what its events say, read in order, so the history an
auditor reads and the state the product acts on cannot disagree. Period-level events (lock,
unlock) have an empty entity and line. ``line_seq`` numbers the events of one (period, entity,
line) and is unique, so two people acting on the same line at the same moment cannot both
succeed from the same state: the second one's insert fails, it reads again and is refused.

``basis`` is what the event relied on (JSON): ``evidence`` {evidence_id: manifest_sha256} of the
packages the line was reconciled from, their data ``fingerprints`` and ``figures_sha256`` of the
line's figures (``basis`` in workflow.py says why both). Two more keys, when they apply:
``auto_certification`` (the code of an auto-certified line the system prepared) and
``exception`` on the approval of an INVESTIGATE line: the line's status, reasons, unresolved
amount and the open items the reviewer accepts (``gate.open_items``). Such an approval folds to
the state ``approved_with_exception``; the action stays ``approve``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, UniqueConstraint, select

from ..close.audit import append_only

signoff_metadata = MetaData()

signoff_events = Table(
    "signoff_events", signoff_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("period", String(7), nullable=False, index=True),
    Column("entity", String(64), nullable=False),  # '' for a period-level event
    Column("line", String(64), nullable=False),  # '' for a period-level event
    Column("line_seq", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("user", String(200), nullable=False),
    Column("at", String(32), nullable=False),
    Column("comment", Text, nullable=False),
    Column("run_id", String(64)),
    Column("basis", Text),  # JSON, see the module docstring
    UniqueConstraint("period", "entity", "line", "line_seq", name="signoff_events_line_seq"),
)

# Append-only in the database too, as the audit log is: the product only ever inserts.
append_only(signoff_events)

ACTIONS = ("prepare", "approve", "reject", "suspend", "redo", "lock", "unlock")
STATES = ("unsigned", "prepared", "approved", "approved_with_exception", "rejected", "suspended")
APPROVED = ("approved", "approved_with_exception")  # either way the line is signed off


def event_dict(row) -> dict:
    basis = json.loads(row["basis"]) if row["basis"] else {}
    return {"seq": row["seq"], "action": row["action"], "period": row["period"], "entity": row["entity"] or None,
            "line": row["line"] or None, "user": row["user"], "at": row["at"], "comment": row["comment"],
            "run_id": row["run_id"], "evidence": basis.get("evidence", {}), "fingerprints": basis.get("fingerprints", {}),
            "figures_sha256": basis.get("figures_sha256"), "auto_certification": basis.get("auto_certification"),
            "exception": basis.get("exception")}


def read(con, period: str, entity: str | None = None, line: str | None = None) -> list[dict]:
    q = select(signoff_events).where(signoff_events.c.period == period).order_by(signoff_events.c.seq)
    if entity is not None:
        q = q.where(signoff_events.c.entity == entity)
    if line is not None:
        q = q.where(signoff_events.c.line == line)
    return [event_dict(r) for r in con.execute(q).mappings()]


@dataclass
class LineState:
    """What a line's events fold to."""

    state: str = "unsigned"
    prepared_by: str | None = None
    prepared_at: str | None = None
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    comment: str = ""
    run_id: str | None = None
    basis: dict = field(default_factory=dict)  # of the preparation in force
    exception: dict | None = None  # of an approval with exception: what it accepted

    @property
    def approved(self) -> bool:
        return self.state in APPROVED

    def to_dict(self) -> dict:
        return {"state": self.state, "run_id": self.run_id, "prepared_by": self.prepared_by,
                "prepared_at": self.prepared_at, "reviewed_by": self.reviewed_by, "reviewed_at": self.reviewed_at,
                "comment": self.comment, "evidence": self.basis.get("evidence", {}),
                "fingerprints": self.basis.get("fingerprints", {}), "figures_sha256": self.basis.get("figures_sha256"),
                "auto_certification": self.basis.get("auto_certification"), "exception": self.exception}


def fold(events: list[dict]) -> LineState:
    s = LineState()
    for e in events:
        a = e["action"]
        if a in ("prepare", "redo"):
            s = LineState("prepared", e["user"], e["at"], None, None, e["comment"], e["run_id"], _basis(e))
        elif a == "approve":
            s.state = "approved_with_exception" if e.get("exception") else "approved"
            s.reviewed_by, s.reviewed_at, s.comment, s.exception = e["user"], e["at"], e["comment"], e.get("exception")
        elif a == "reject":
            s.state, s.reviewed_by, s.reviewed_at, s.comment = "rejected", e["user"], e["at"], e["comment"]
        elif a == "suspend":
            s.state, s.comment, s.exception = "suspended", e["comment"], None
    return s


def period_lock(events: list[dict]) -> dict | None:
    """The lock event in force, from the period-level events; None when unlocked or never locked."""
    last = None
    for e in events:
        if e["entity"] is None and e["action"] in ("lock", "unlock"):
            last = e
    return last if last is not None and last["action"] == "lock" else None


def _basis(e: dict) -> dict:
    out = {"evidence": e["evidence"], "fingerprints": e["fingerprints"], "figures_sha256": e["figures_sha256"]}
    return out | ({"auto_certification": e["auto_certification"]} if e.get("auto_certification") else {})
