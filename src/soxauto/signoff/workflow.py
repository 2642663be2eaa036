"""Sign-off of a period's reconciliation, line by line and entity by entity (docs/signoff.md).

    unsigned ──prepare──▶ prepared ──approve──▶ approved
                            │  ▲                   │
                      reject│  │redo          rerun changes its basis
                            ▼  │                   ▼
                         rejected             suspended ──redo──▶ prepared

A prepared line can also be suspended. When every line × entity of the period's latest
completed close is approved (with or without exception), the period is locked; a close of it is
refused until an admin unlocks it with a reason. A close that finishes with every line still
approved locks it again.

The line's status gates the actions (``gate``): a line in ERROR is neither prepared nor approved;
an INVESTIGATE line is prepared and approved only with a comment, its approval recorded as
``approved_with_exception`` with the open items it accepts; an auto-certified line is prepared by
the system at the end of the close (``after_run``); ``approve_reconciled`` approves every prepared
RECONCILED line of an entity in one action, one event per line. Every refusal, whatever its cause
(role, four-eyes, state, status, a missing comment, a locked period), is written to the audit log
as ``signoff.<action>.refused`` with who and why, and raised.

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
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError, OperationalError

from ..auth.principal import Forbidden, Principal, require
from ..close import audit
from ..close.lock import LockedError, live_holder
from ..close.store import RunStore, now
from ..errors import ConflictError, SoxautoError, UsageError, did_you_mean
from ..evidence.canonical import canonical_bytes, sha256_hex
from ..period import Period
from . import events as ev
from .events import APPROVED, signoff_events, signoff_metadata
from ..close.dispositions import in_force, recorders
from .gate import SYSTEM, auto_certification, bulk_skip, error_cause, exception_record, items_text, open_items, reasons

# The items every line reads besides its target value item (recon.lines.ReconPack.items).
GL_ITEMS = ("CR_03", "CR_04", "CR_05", "CR_06")
FIGURES = ("gl_amount", "tv_amount", "variance_lcy", "unexplained_lcy", "unexplained_usd", "status", "reason")
# Figures of the reworked reconciliation, hashed when a line has them (a disposition moves them
# and nothing else); a line without them keeps the hash it had.
NEW_FIGURES = ("unresolved_lcy", "reasons")


class _Skip(Exception):
    """A line a bulk approval leaves out (not a refusal of the action: it is reported)."""


def basis(line: dict, steps: list[dict], dispositions: dict[str, str] | None = None) -> dict:
    """What a sign-off of ``line`` (a run's line dict) relies on, from that run's steps, and
    the dispositions in force on the line (id → SHA-256 of their content, attachments included)."""
    items = (*GL_ITEMS, line["tv_item"])
    done = [s for s in steps if s["entity"] == line["entity"] and s["stage"] == "evidence" and s["item"] in items
            and s["status"] == "done" and s["evidence_id"]]
    figures = {k: line.get(k) for k in FIGURES} | {k: line[k] for k in NEW_FIGURES if k in line}
    figures["bridges"] = {b: v.get("amount_lcy") for b, v in (line.get("bridges") or {}).items()}
    out = {"evidence": {s["evidence_id"]: s["manifest_sha256"] for s in done},
           "fingerprints": {s["evidence_id"]: s["fingerprint"] for s in done},
           "figures_sha256": sha256_hex(canonical_bytes(figures))}
    if dispositions:
        out["dispositions"] = dict(sorted(dispositions.items()))
    return out


def changes(before: dict, after: dict) -> list[str]:
    """How ``after`` differs from ``before`` in what matters (data and figures), one phrase each."""
    out = []
    old, new = before.get("fingerprints", {}), after.get("fingerprints", {})
    for eid in sorted(set(old) | set(new)):
        if old.get(eid) != new.get(eid):
            out.append(f"{eid} fingerprint {(old.get(eid) or 'none')[:12]} -> {(new.get(eid) or 'none')[:12]}")
    if before.get("figures_sha256") != after.get("figures_sha256"):
        out.append("the line's figures changed")
    old, new = before.get("dispositions", {}), after.get("dispositions", {})
    for did in sorted(set(old) | set(new)):
        if old.get(did) != new.get(did):
            out.append(f"disposition {did} {'recorded' if did not in old else 'withdrawn' if did not in new else 'changed'}")
    return out


class SignOffs:
    def __init__(self, runs: RunStore):
        self.runs = runs
        signoff_metadata.create_all(runs.engine)

    # the workflow

    def prepare(self, principal: Principal, period: str, entity: str, line: str, comment: str = "") -> dict:
        with self._refusal(principal, "prepare", period, entity, line):
            require(principal, "preparer")
            period = str(Period.parse(period))
            run, found = self._line(period, entity, line)
            self._open(period)
            where = f"{period} {entity} {line}"
            if found["status"] == "ERROR":
                raise ConflictError(f"{where} is in ERROR ({error_cause(found)}) and cannot be prepared; fix the input "
                                    f"and run 'soxauto close --period {period}' again")
            if found["status"] == "INVESTIGATE" and not (comment or "").strip():
                raise UsageError(f"{where} is INVESTIGATE ({', '.join(reasons(found))}): preparing it needs a comment "
                                 "saying what was checked and why the open items stand")
            relied = self._basis(found, self.runs.steps(run["id"]), period)

            def decide(state: ev.LineState) -> tuple[str, dict]:
                if state.approved:
                    raise ConflictError(f"{where} was approved by {state.reviewed_by} at {state.reviewed_at}; "
                                        "it is prepared again only after a rerun that changes its evidence suspends it")
                return ("redo" if state.state in ("suspended", "rejected") else "prepare"), relied

            return self._act(principal.name, period, entity, line, comment, run["id"], decide)

    def approve(self, principal: Principal, period: str, entity: str, line: str, comment: str = "") -> dict:
        """Approve a prepared line; an INVESTIGATE line only with a comment, recorded as approved
        with exception (the event's ``exception`` names the open items it accepts)."""
        return self._review("approve", principal, period, entity, line, comment)

    def reject(self, principal: Principal, period: str, entity: str, line: str, comment: str) -> dict:
        """Send a prepared line back with a comment saying what to fix."""
        return self._review("reject", principal, period, entity, line, comment)

    def approve_reconciled(self, principal: Principal, period: str, entity: str, comment: str = "") -> dict:
        """Approve, in one action, every prepared RECONCILED line of ``entity`` (the ones the system
        prepared included), each recorded as its own event. A line the reviewer prepared, or one
        not prepared, not RECONCILED or prepared on other data, is left out and reported."""
        with self._refusal(principal, "approve_reconciled", period, entity):
            require(principal, "reviewer")
            _not_system(principal)
            period = str(Period.parse(period))
            run, lines = self._entity(period, entity)
            self._open(period)
            steps = self.runs.steps(run["id"])
            text = (comment or "").strip() or f"approved in one action with every prepared RECONCILED line of {entity}"
            events, skipped = [], []
            for found in lines:
                try:
                    events.append(self._review_line("approve", principal, period, run, entity, found, steps, text, bulk=True))
                except _Skip as why:
                    skipped.append({"line": found["line"], "why": str(why)})
            audit.append(self.runs.engine, principal.name, "signoff.approve_reconciled", run["id"], period=period,
                         entity=entity, approved=[e["line"] for e in events], skipped={s["line"]: s["why"] for s in skipped})
            locked = self._lock_if_complete(period, principal.name, run["id"], "every line of the period is approved") \
                if events else None
        return {"period": period, "entity": entity, "run_id": run["id"], "user": principal.name,
                "approved": [e["line"] for e in events], "skipped": skipped, "events": events,
                "period_locked": locked is not None or self.locked(period) is not None}

    def unlock(self, principal: Principal, period: str, reason: str) -> dict:
        with self._refusal(principal, "unlock", period):
            require(principal, "admin")
            period = str(Period.parse(period))
            if not (reason or "").strip():
                raise UsageError(f"unlocking {period} needs a reason (it is kept in the sign-off history and audit log)")

            def decide(period_events: list[dict]) -> tuple[str, dict] | None:
                if ev.period_lock(period_events) is None:
                    raise ConflictError(f"period {period} is not locked")
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
            forced = in_force(self.runs, period, ent)  # once per entity, not per line
            for ln in lines:
                state = ev.fold([e for e in events if e["entity"] == ent and e["line"] == ln["line"]])
                row = {"period": period, "entity": ent, "line": ln["line"], **state.to_dict(),
                       "line_status": ln["status"], "reasons": reasons(ln), "unexplained_usd": ln.get("unexplained_usd"),
                       "auto_certified": auto_certification(ln) is not None,
                       "cause": error_cause(ln) if ln["status"] == "ERROR" else None,
                       "open_items": len(open_items(ln))}
                if state.state == "unsigned":  # what a preparer would rely on now
                    now_basis = self._basis(ln, steps, period, forced)
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
        """Suspend every prepared or approved sign-off whose basis this run changed; prepare, as
        the system, every auto-certified line of a completed run that is unsigned or suspended;
        lock the period again when every line is still approved. Returns the events written."""
        run = self.runs.run(run_id)
        if run is None:
            raise UsageError(f"no run {run_id} in the run store")
        period, suspended, prepared = run["period"], [], []
        steps = self.runs.steps(run_id)
        with self.runs.engine.connect() as con:
            signed = {(e["entity"], e["line"]) for e in ev.read(con, period) if e["entity"] is not None}
        for entity, lines in self.runs.recon_lines(run_id).items():
            forced = in_force(self.runs, period, entity)  # once per entity, not per line
            for ln in lines:
                now_basis = self._basis(ln, steps, period, forced)
                if (entity, ln["line"]) in signed:
                    event = self._act(run["user"], period, entity, ln["line"], "", run_id, _suspension(run_id, now_basis))
                    suspended += [event] if event else []
                code = auto_certification(ln) if run["status"] == "completed" else None
                if code is not None:
                    event = self._act(SYSTEM, period, entity, ln["line"], f"auto-certified: {code}", run_id,
                                      _system_preparation(now_basis | {"auto_certification": code}))
                    prepared += [event] if event else []
        written = suspended + prepared
        if suspended:
            # A period is locked only while every line is approved: a suspension ends its lock.
            # (Approvals are refused while a close holds the period, but one that committed just
            # before this close took its lock may have locked the period under it.)
            lines = ", ".join(f"{e['entity']} {e['line']}" for e in suspended)

            def end_lock(period_events: list[dict]) -> tuple[str, dict] | None:
                return ("unlock", {}) if ev.period_lock(period_events) is not None else None

            ended = self._act_period(run["user"], period, f"run {run_id} suspended {lines}", run_id, end_lock)
            written += [ended] if ended else []
        elif run["status"] == "completed":
            lock = self._lock_if_complete(period, run["user"], run_id, f"every line is still approved after run {run_id}")
            written += [lock] if lock else []
        return written

    # internals

    @contextmanager
    def _refusal(self, principal: Principal | None, action: str, period: str, entity: str | None = None,
                 line: str | None = None) -> Iterator[None]:
        """Record a refused action in the audit log (who, what, why), then raise it on."""
        try:
            yield
        except SoxautoError as e:
            audit.refused(self.runs.engine, getattr(principal, "name", None) or "anonymous", f"signoff.{action}", str(e),
                          period=str(period), entity=entity, line=line)
            raise

    def _open(self, period: str) -> None:
        """Refuse a sign-off of a locked period (every line of it is approved)."""
        with self.runs.engine.connect() as con:
            lock = ev.period_lock(ev.read(con, period, "", ""))
        if lock is not None:
            raise ConflictError(f"period {period} is locked since {lock['at']}: every line is approved; nothing is signed "
                                f"until an admin runs 'soxauto signoff unlock {period} --reason \"why\"'")

    def _review(self, action: str, principal: Principal, period: str, entity: str, line: str, comment: str) -> dict:
        with self._refusal(principal, action, period, entity, line):
            require(principal, "reviewer")
            _not_system(principal)
            period = str(Period.parse(period))
            if action == "reject" and not (comment or "").strip():
                raise UsageError(f"{period} {entity} {line}: a rejection needs a comment saying what to fix")
            run, found = self._line(period, entity, line)
            self._open(period)
            event = self._review_line(action, principal, period, run, entity, found, self.runs.steps(run["id"]), comment)
            if action == "approve":
                lock = self._lock_if_complete(period, principal.name, run["id"], "every line of the period is approved")
                event["period_locked"] = lock is not None or self.locked(period) is not None
        return event

    def _review_line(self, action: str, principal: Principal, period: str, run: dict, entity: str, found: dict,
                     steps: list[dict], comment: str, *, bulk: bool = False) -> dict:
        """Approve or reject one line of ``run``. With ``bulk``, a line the bulk approval leaves
        out raises ``_Skip`` (its status and state are read in the same transaction as the write)."""
        line, where, status = found["line"], f"{period} {entity} {found['line']}", found["status"]
        relied = self._basis(found, steps, period)
        recorded = recorders(self.runs, period, entity, line) if action == "approve" else set()
        if action == "approve" and not bulk:
            if status == "ERROR":
                raise ConflictError(f"{where} is in ERROR ({error_cause(found)}) and cannot be approved; fix the input "
                                    f"and run 'soxauto close --period {period}' again")
            if status == "INVESTIGATE":
                exception = exception_record(found)
                if not (comment or "").strip():
                    items = exception["open_items"]
                    raise UsageError(f"{where} is INVESTIGATE ({', '.join(exception['reasons'])}): its approval is recorded "
                                     f"as approved with exception and needs the reviewer's comment; it accepts "
                                     f"{len(items)} open item{'' if len(items) == 1 else 's'}: "
                                     f"{items_text(items, found.get('currency'))}")
                relied = relied | {"exception": exception}

        def decide(state: ev.LineState) -> tuple[str, dict]:
            if bulk:
                why = bulk_skip(principal.name, found, state.state, state.prepared_by)
                if why:
                    raise _Skip(why)
            if state.state != "prepared":
                raise ConflictError(f"{where} is {state.state}; only a prepared line can be "
                                    f"{'approved' if action == 'approve' else 'rejected'}")
            if state.prepared_by == principal.name:
                raise Forbidden(f"{principal.name} prepared {where} and cannot review it; another reviewer must")
            if principal.name in recorded:
                if bulk:
                    raise _Skip(f"{principal.name} recorded a disposition on it: another reviewer must approve it")
                raise Forbidden(f"{principal.name} recorded a disposition on {where} and cannot approve it; another reviewer must")
            what = changes(state.basis, relied)
            if what and bulk:
                raise _Skip(f"prepared on run {state.run_id}, but run {run['id']} differs: it must be prepared again")
            if what:
                raise ConflictError(f"{where} was prepared on run {state.run_id}, but run {run['id']} "
                                    f"differs ({'; '.join(what)}); it must be prepared again")
            return action, relied

        return self._act(principal.name, period, entity, line, comment, run["id"], decide)

    def _basis(self, line: dict, steps: list[dict], period: str, forced: dict | None = None) -> dict:
        """``basis`` with the line's dispositions in force; ``forced``: the entity's, when the
        caller read them once for all its lines."""
        forced = in_force(self.runs, str(period), line["entity"]) if forced is None else forced
        return basis(line, steps, {d.id: d.sha256 for k, d in forced.items() if k[0] == line["line"]})

    def after_revision(self, user: str, done: dict) -> dict | None:
        """A disposition revised a line (close.dispositions): suspend its sign-off when what it
        relied on changed."""
        ln = done["line"]
        now_basis = self._basis(ln, self.runs.steps(done["run_id"]), str(ln["period"]))
        cause = (ln.get("revision_cause") or {}).get("disposition", "")

        def decide(state: ev.LineState):
            if state.state not in ("prepared", *APPROVED):
                return None
            what = changes(state.basis, now_basis)
            return ("suspend", now_basis, f"disposition {cause} revised the line: " + "; ".join(what)) if what else None

        return self._act(user, ln["period"], ln["entity"], ln["line"], "", done["run_id"], decide)

    def _entity(self, period: str, entity: str) -> tuple[dict, list[dict]]:
        run = self.latest_run(period)
        if run is None:
            raise UsageError(f"period {period} has no completed close; run 'soxauto close --period {period}' first")
        lines = self.runs.recon_lines(run["id"])
        if entity not in lines:
            raise UsageError(f"entity '{entity}' is not in run {run['id']} of {period}{did_you_mean(entity, lines)}")
        return run, lines[entity]

    def _line(self, period: str, entity: str, line: str) -> tuple[dict, dict]:
        run, lines = self._entity(period, entity)
        found = next((ln for ln in lines if ln["line"] == line), None)
        if found is None:
            names = [ln["line"] for ln in lines]
            raise UsageError(f"no line '{line}' for {entity} in run {run['id']}{did_you_mean(line, names)}; "
                             f"lines: {', '.join(names)}")
        return run, found

    def _lock_if_complete(self, period: str, user: str, run_id: str, why: str) -> dict | None:
        rows = self.current(period)

        def decide(period_events: list[dict]) -> tuple[str, dict] | None:
            if not rows or ev.period_lock(period_events) is not None or any(r["state"] not in APPROVED for r in rows):
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
        extra = {k: event[k] for k in ("auto_certification", "exception") if event.get(k)}
        audit.append(self.runs.engine, user, f"signoff.{action}", run_id, period=period, entity=entity or None,
                     line=line or None, comment=text, evidence=event["evidence"], fingerprints=event["fingerprints"], **extra)
        return event


def _not_system(principal: Principal) -> None:
    if principal.name == SYSTEM:
        raise Forbidden(f"'{SYSTEM}' is the system: it prepares auto-certified lines and never reviews one")


def _suspension(run_id: str, now_basis: dict):
    def decide(state: ev.LineState) -> tuple[str, dict, str] | None:
        if state.state not in ("prepared", *APPROVED):
            return None
        what = changes(state.basis, now_basis)
        return ("suspend", now_basis, f"run {run_id} changed what the sign-off relied on: " + "; ".join(what)) if what else None

    return decide


def _system_preparation(relied: dict):
    """An auto-certified line nobody has signed, or whose sign-off a run suspended, is prepared by
    the system; one a reviewer rejected waits for a person."""
    def decide(state: ev.LineState) -> tuple[str, dict] | None:
        if state.state == "unsigned":
            return "prepare", relied
        return ("redo", relied) if state.state == "suspended" else None

    return decide
