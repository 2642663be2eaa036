"""Sign-off of a period's reconciliation, line by line and entity by entity (docs/signoff.md).

    unsigned ──prepare──▶ prepared ──approve──▶ approved
                            │  ▲                   │
                      reject│  │redo          rerun changes its basis
                            ▼  │                   ▼
                         rejected             suspended ──redo──▶ prepared

A prepared line can also be suspended. When every line × entity of the period's latest
completed close is approved, the period is locked; a close of it is refused until an admin
unlocks it with a reason. A close that finishes with every line still approved locks it again.

What a sign-off relies on (``basis``): for a line of an entity, the evidence packages its
reconciliation read: CR_03 (GL entries), CR_04 (GL balances), CR_05 (FX) and the line's target
value item, as the run's ``evidence`` steps recorded them. Each package's manifest SHA-256 names
exactly what the signer relied on, but it differs on every rerun by construction (run id, times,
the link to the package it supersedes), so suspension compares what the data is instead: the
packages' data fingerprints (independent of row order and format) and a SHA-256 of the line's
own figures (which also move when the pack's rules change on the same data).
"""

from __future__ import annotations

import json
import time
from typing import Callable

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError, OperationalError

from ..auth.principal import Forbidden, Principal, require
from ..close import audit
from ..close.lock import LockedError, live_holder
from ..close.store import RunStore, now
from ..errors import UsageError, did_you_mean
from ..evidence.canonical import canonical_bytes, sha256_hex
from ..period import Period
from . import events as ev
from .events import signoff_events, signoff_metadata

# The items every line reads besides its target value item (recon.lines.ReconPack.items).
GL_ITEMS = ("CR_03", "CR_04", "CR_05")
FIGURES = ("gl_amount", "tv_amount", "variance_lcy", "unexplained_lcy", "unexplained_usd", "status", "reason")
SYSTEM = "soxauto"


def basis(line: dict, steps: list[dict]) -> dict:
    """What a sign-off of ``line`` (a run's line dict) relies on, from that run's steps."""
    items = (*GL_ITEMS, line["tv_item"])
    done = [s for s in steps if s["entity"] == line["entity"] and s["stage"] == "evidence" and s["item"] in items
            and s["status"] == "done" and s["evidence_id"]]
    figures = {k: line.get(k) for k in FIGURES}
    figures["bridges"] = {b: v.get("amount_lcy") for b, v in (line.get("bridges") or {}).items()}
    return {"evidence": {s["evidence_id"]: s["manifest_sha256"] for s in done},
            "fingerprints": {s["evidence_id"]: s["fingerprint"] for s in done},
            "figures_sha256": sha256_hex(canonical_bytes(figures))}


def changes(before: dict, after: dict) -> list[str]:
    """How ``after`` differs from ``before`` in what matters (data and figures), one phrase each."""
    out = []
    old, new = before.get("fingerprints", {}), after.get("fingerprints", {})
    for eid in sorted(set(old) | set(new)):
        if old.get(eid) != new.get(eid):
            out.append(f"{eid} fingerprint {(old.get(eid) or 'none')[:12]} -> {(new.get(eid) or 'none')[:12]}")
    if before.get("figures_sha256") != after.get("figures_sha256"):
        out.append("the line's figures changed")
    return out


class SignOffs:
    def __init__(self, runs: RunStore):
        self.runs = runs
        signoff_metadata.create_all(runs.engine)

    # the workflow

    def prepare(self, principal: Principal, period: str, entity: str, line: str, comment: str = "") -> dict:
        require(principal, "preparer")
        period = str(Period.parse(period))
        run, found = self._line(period, entity, line)
        relied = basis(found, self.runs.steps(run["id"]))

        def decide(state: ev.LineState) -> tuple[str, dict]:
            if state.state == "approved":
                raise UsageError(f"{period} {entity} {line} was approved by {state.reviewed_by} at {state.reviewed_at}; "
                                 "it is prepared again only after a rerun that changes its evidence suspends it")
            return ("redo" if state.state in ("suspended", "rejected") else "prepare"), relied

        return self._act(principal.name, period, entity, line, comment, run["id"], decide)

    def approve(self, principal: Principal, period: str, entity: str, line: str, comment: str = "") -> dict:
        return self._review("approve", principal, period, entity, line, comment)

    def reject(self, principal: Principal, period: str, entity: str, line: str, comment: str) -> dict:
        if not (comment or "").strip():
            raise UsageError(f"{period} {entity} {line}: a rejection needs a comment saying what to fix")
        return self._review("reject", principal, period, entity, line, comment)

    def unlock(self, principal: Principal, period: str, reason: str) -> dict:
        require(principal, "admin")
        period = str(Period.parse(period))
        if not (reason or "").strip():
            raise UsageError(f"unlocking {period} needs a reason (it is kept in the sign-off history and audit log)")

        def decide(period_events: list[dict]) -> tuple[str, dict] | None:
            if ev.period_lock(period_events) is None:
                raise UsageError(f"period {period} is not locked")
            return "unlock", {}

        return self._act_period(principal.name, period, reason, None, decide, guard=False)

    # reading

    def current(self, period: str, entity: str | None = None) -> list[dict]:
        period = str(Period.parse(period))
        run = self.latest_run(period)
        if run is None:
            return []
        steps = self.runs.steps(run["id"])
        with self.runs.engine.connect() as con:
            events = ev.read(con, period)
        out = []
        for ent, lines in self.runs.recon_lines(run["id"]).items():
            if entity is not None and ent != entity:
                continue
            for ln in lines:
                state = ev.fold([e for e in events if e["entity"] == ent and e["line"] == ln["line"]])
                row = {"period": period, "entity": ent, "line": ln["line"], **state.to_dict(),
                       "line_status": ln["status"], "unexplained_usd": ln.get("unexplained_usd")}
                if state.state == "unsigned":  # what a preparer would rely on now
                    now_basis = basis(ln, steps)
                    row.update(run_id=run["id"], evidence=now_basis["evidence"], fingerprints=now_basis["fingerprints"],
                               figures_sha256=now_basis["figures_sha256"])
                out.append(row)
        return out

    def history(self, period: str, entity: str | None = None, line: str | None = None) -> list[dict]:
        """Every event of the period in order; with ``entity``/``line``, that line's events and
        the period's lock and unlock events."""
        period = str(Period.parse(period))
        with self.runs.engine.connect() as con:
            events = ev.read(con, period)
        return [e for e in events if e["entity"] is None
                or ((entity is None or e["entity"] == entity) and (line is None or e["line"] == line))]

    def locked(self, period: str) -> dict | None:
        period = str(Period.parse(period))
        with self.runs.engine.connect() as con:
            lock = ev.period_lock(ev.read(con, period, "", ""))
        if lock is None:
            return None
        approvers = sorted({r["reviewed_by"] for r in self.current(period) if r["reviewed_by"]})
        return {**lock, "locked_by": lock["user"], "locked_at": lock["at"], "approvers": approvers}

    def latest_run(self, period: str) -> dict | None:
        done = [r for r in self.runs.runs(period) if r["status"] == "completed"]
        return done[-1] if done else None

    # after a close

    def after_run(self, run_id: str) -> list[dict]:
        """Suspend every prepared or approved sign-off whose basis this run changed; lock the
        period again when every line is still approved. Returns the events written."""
        run = self.runs.run(run_id)
        if run is None:
            raise UsageError(f"no run {run_id} in the run store")
        period, written = run["period"], []
        steps = self.runs.steps(run_id)
        with self.runs.engine.connect() as con:
            signed = {(e["entity"], e["line"]) for e in ev.read(con, period) if e["entity"] is not None}
        for entity, lines in self.runs.recon_lines(run_id).items():
            for ln in lines:
                if (entity, ln["line"]) not in signed:
                    continue
                now_basis = basis(ln, steps)

                def decide(state: ev.LineState, now_basis=now_basis) -> tuple[str, dict] | None:
                    if state.state not in ("prepared", "approved"):
                        return None
                    what = changes(state.basis, now_basis)
                    return ("suspend", now_basis, f"run {run_id} changed what the sign-off relied on: "
                            + "; ".join(what)) if what else None

                event = self._act(run["user"], period, entity, ln["line"], "", run_id, decide)
                if event is not None:
                    written.append(event)
        if written:
            # A period is locked only while every line is approved: a suspension ends its lock.
            # (Approvals are refused while a close holds the period, but one that committed just
            # before this close took its lock may have locked the period under it.)
            lines = ", ".join(f"{e['entity']} {e['line']}" for e in written)

            def end_lock(period_events: list[dict]) -> tuple[str, dict] | None:
                return ("unlock", {}) if ev.period_lock(period_events) is not None else None

            ended = self._act_period(run["user"], period, f"run {run_id} suspended {lines}", run_id, end_lock)
            written += [ended] if ended else []
        elif run["status"] == "completed":
            lock = self._lock_if_complete(period, run["user"], run_id, f"every line is still approved after run {run_id}")
            written += [lock] if lock else []
        return written

    # internals

    def _review(self, action: str, principal: Principal, period: str, entity: str, line: str, comment: str) -> dict:
        require(principal, "reviewer")
        period = str(Period.parse(period))
        run, found = self._line(period, entity, line)
        relied = basis(found, self.runs.steps(run["id"]))

        def decide(state: ev.LineState) -> tuple[str, dict]:
            if state.state != "prepared":
                raise UsageError(f"{period} {entity} {line} is {state.state}; only a prepared line can be "
                                 f"{'approved' if action == 'approve' else 'rejected'}")
            if state.prepared_by == principal.name:
                raise Forbidden(f"{principal.name} prepared {period} {entity} {line} and cannot review it; "
                                "another reviewer must")
            what = changes(state.basis, relied)
            if what:
                raise UsageError(f"{period} {entity} {line} was prepared on run {state.run_id}, but run {run['id']} "
                                 f"differs ({'; '.join(what)}); it must be prepared again")
            return action, relied

        event = self._act(principal.name, period, entity, line, comment, run["id"], decide)
        if action == "approve":
            lock = self._lock_if_complete(period, principal.name, run["id"], "every line of the period is approved")
            event["period_locked"] = lock is not None or self.locked(period) is not None
        return event

    def _line(self, period: str, entity: str, line: str) -> tuple[dict, dict]:
        run = self.latest_run(period)
        if run is None:
            raise UsageError(f"period {period} has no completed close; run 'soxauto close --period {period}' first")
        lines = self.runs.recon_lines(run["id"])
        if entity not in lines:
            raise UsageError(f"entity '{entity}' is not in run {run['id']} of {period}{did_you_mean(entity, lines)}")
        found = next((ln for ln in lines[entity] if ln["line"] == line), None)
        if found is None:
            names = [ln["line"] for ln in lines[entity]]
            raise UsageError(f"no line '{line}' for {entity} in run {run['id']}{did_you_mean(line, names)}; "
                             f"lines: {', '.join(names)}")
        return run, found

    def _lock_if_complete(self, period: str, user: str, run_id: str, why: str) -> dict | None:
        rows = self.current(period)

        def decide(period_events: list[dict]) -> tuple[str, dict] | None:
            if not rows or ev.period_lock(period_events) is not None or any(r["state"] != "approved" for r in rows):
                return None
            return "lock", {}

        return self._act_period(user, period, why, run_id, decide)

    def _act(self, user: str, period: str, entity: str, line: str, comment: str, run_id: str | None,
             decide: Callable[[ev.LineState], tuple] | Callable) -> dict | None:
        return self._write(user, period, entity, line, comment, run_id, lambda events: decide(ev.fold(events)))

    def _act_period(self, user: str, period: str, comment: str, run_id: str | None, decide, *,
                    guard: bool = True) -> dict | None:
        return self._write(user, period, "", "", comment, run_id, decide, guard=guard)

    def _write(self, user: str, period: str, entity: str, line: str, comment: str, run_id: str | None, decide,
               *, guard: bool = True) -> dict | None:
        """Decide from the key's events and append the outcome in one transaction; on a lost race
        (another writer took the next line_seq) read again and decide again. With ``guard``,
        nothing is signed while a close holds the period: its figures are about to change."""
        for _ in range(50):
            try:
                with self.runs.engine.begin() as con:
                    closing = live_holder(con, period, other_than=run_id) if guard else None
                    if closing is not None:
                        raise LockedError(f"{closing.describe(period)}; sign-off of {period} waits until it "
                                          "completes (its figures may change what is signed)")
                    events = ev.read(con, period, entity, line)
                    decided = decide(events)
                    if decided is None:
                        return None
                    action, relied, *why = decided
                    text = why[0] if why else (comment or "").strip()
                    values = {"period": period, "entity": entity, "line": line, "line_seq": len(events) + 1,
                              "action": action, "user": user, "at": now(), "comment": text, "run_id": run_id,
                              "basis": json.dumps(relied, sort_keys=True) if relied else None}
                    seq = con.execute(insert(signoff_events).values(**values)).inserted_primary_key[0]
                break
            except (IntegrityError, OperationalError):
                time.sleep(0.02)
        else:
            raise RuntimeError(f"could not record the sign-off of {period} {entity} {line} after 50 attempts")
        event = ev.event_dict({**values, "seq": seq})
        audit.append(self.runs.engine, user, f"signoff.{action}", run_id, period=period, entity=entity or None,
                     line=line or None, comment=text, evidence=event["evidence"], fingerprints=event["fingerprints"])
        return event
