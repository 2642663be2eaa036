"""Dispositions: a preparer's word on an open reconciling item (domain spec, "Reconciling items").

    explained   a reason (required)
    adjust      a proposed journal entry: debit and credit accounts and a description; its
                amount is the item's open amount (an amount given that differs is refused)

Either may carry attachments, each stored once at ``<home>/attachments/<sha256>``
(close.attachment) and listed with its SHA-256.

A disposition belongs to (period, entity, line, key, bridge) and to the open amount it was given
for. Rows are only ever added: a new disposition of the same item supersedes the one in force
(its ``superseded_by`` names the new one) and a withdrawal marks it ``withdrawn``; per item, the
latest row is in force unless withdrawn. ``sha256`` is the SHA-256 of the row's canonical content
(evidence.canonical, the attachments' hashes included): the sign-off's basis and the run's
evidence name a disposition by it.

``record`` refuses, with nothing changed and the refusal in the audit log
(``disposition.record.refused``, with why): a user who is not a preparer; a locked period (the
caller says, from the sign-off); a period a close is running on; a period without a completed
close, an entity, line or item it does not have; a line in ERROR; an item that is not open in
that close (open amount zero); ``explained`` without a reason; ``adjust`` without its journal or
with an amount other than the open amount; an attachment that is not a regular file, has no
name or is larger than the limit. A disposition takes effect at once: in the same transaction
the line's result is recomputed (recon.revise) and recorded as a new revision
(``RunStore.save_revision``); then ``disposition.record`` goes to the audit log.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from sqlalchemy import Column, Index, Integer, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ..auth.principal import Principal, require
from ..errors import ConflictError, SoxautoError, UsageError, did_you_mean
from ..evidence.canonical import canonical_bytes, sha256_hex
from ..period import Period
from ..recon.items import ADJUST, EXPLAINED, Disposition
from ..recon.revise import revise
from . import attachment as files
from . import audit
from .lock import LockedError, live_holder
from .store import RunStore, metadata, now, recon_results

KINDS = (EXPLAINED, ADJUST)
TEXT_MAX = 4000
ACCOUNT_MAX = 32

dispositions = Table(
    "dispositions", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # the order rows were recorded in
    Column("id", String(64), nullable=False, unique=True),
    Column("period", String(7), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("line", String(64), nullable=False),
    Column("key", Text, nullable=False),
    Column("bridge", String(64), nullable=False),  # UNEXPLAINED for a key row no rule claims
    Column("kind", String(16), nullable=False),  # explained | adjust
    Column("open_lcy", String(48), nullable=False),  # the open amount it was given for, a decimal string
    Column("reason", Text, nullable=False),
    Column("journal", Text),  # JSON {debit, credit, description, amount_lcy}: adjust only
    Column("attachments", Text, nullable=False),  # JSON [{name, sha256, size}]
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("run_id", String(64), nullable=False),  # the close whose open item it was given on
    Column("sha256", String(64), nullable=False),
    Column("superseded_by", String(64)),  # the id of the disposition that replaced it
    Column("withdrawn", Text),  # JSON {by, at, reason}
    Index("ix_dispositions_period_entity", "period", "entity"),
)

Key = tuple[str, str, str]  # (line, key, bridge)
Locked = Callable[[Period], bool] | bool


@dataclass(frozen=True)
class DispositionSpec:
    """What a preparer asks for. ``attachments``: paths (read here, safely) or (name, bytes)."""

    period: str
    entity: str
    line: str
    key: str
    bridge: str
    kind: str
    reason: str = ""
    journal: Mapping[str, str] | None = None  # debit, credit, description
    amount: str | None = None
    attachments: tuple = field(default=())

    @property
    def where(self) -> str:
        return f"{self.period} {self.entity} {self.line} item {self.key} ({self.bridge})"

    def audit_detail(self) -> dict:
        return {"period": str(self.period), "entity": self.entity, "line": self.line, "key": self.key,
                "bridge": self.bridge, "kind": self.kind}


# reading


def _rows(con, period: str, entity: str | None = None, line: str | None = None) -> list:
    q = select(dispositions).where(dispositions.c.period == period).order_by(dispositions.c.seq)
    if entity is not None:
        q = q.where(dispositions.c.entity == entity)
    if line is not None:
        q = q.where(dispositions.c.line == line)
    return con.execute(q).mappings().all()


def _latest(rows: Iterable) -> dict[Key, Mapping]:
    out: dict[Key, Mapping] = {}
    for r in rows:  # in recording order: the last one of an item wins
        out[(r["line"], r["key"], r["bridge"])] = r
    return out


def _disposition(r: Mapping) -> Disposition:
    return Disposition(r["id"], r["kind"], r["line"], r["key"], r["bridge"], Decimal(r["open_lcy"]), r["period"],
                       r["reason"], json.loads(r["journal"]) if r["journal"] else None, r["sha256"])


def _in_force(con, period: str, entity: str) -> dict[Key, Disposition]:
    return {k: _disposition(r) for k, r in _latest(_rows(con, period, entity)).items() if not r["withdrawn"]}


def in_force(runs: RunStore, period: str, entity: str) -> dict[Key, Disposition]:
    """The dispositions in force for one entity and period, by (line, key, bridge): one query."""
    with runs.engine.connect() as con:
        return _in_force(con, str(Period.parse(str(period))), entity)


def history(runs: RunStore, period: str, entity: str | None = None, line: str | None = None, *,
            reports: Path | None = None) -> list[dict]:
    """Every disposition of the period (or of one entity, or line), in recording order, with its
    ``state``: ``in force``, ``superseded`` or ``withdrawn``. With ``reports``, an in-force one also
    says whether it ``applies`` in the period's latest completed close: a re-run after which its
    item is no longer open, or open for another amount, leaves it in force but not applying."""
    period = str(Period.parse(str(period)))
    with runs.engine.connect() as con:
        rows = _rows(con, period, entity, line)
    out = [_row_dict(r) for r in rows]
    if reports is not None and out:
        run = latest_close(runs, period)
        opened: dict[str, dict] = {}
        for d in out:
            if d["state"] != "in force":
                continue
            if run is None or d["entity"] not in run["entities"]:
                d["applies"] = False
                continue
            if d["entity"] not in opened:
                opened[d["entity"]] = _open_amounts(reports, run["id"], d["entity"])
            d["applies"] = opened[d["entity"]].get((d["line"], d["key"], d["bridge"])) == Decimal(d["open_lcy"])
    return out


def _row_dict(r: Mapping) -> dict:
    d = {k: r[k] for k in ("id", "period", "entity", "line", "key", "bridge", "kind", "open_lcy", "reason", "recorded_by",
                           "recorded_at", "run_id", "sha256", "superseded_by")}
    d["journal"] = json.loads(r["journal"]) if r["journal"] else None
    d["attachments"] = json.loads(r["attachments"])
    d["withdrawn"] = json.loads(r["withdrawn"]) if r["withdrawn"] else None
    d["state"] = "withdrawn" if r["withdrawn"] else ("superseded" if r["superseded_by"] else "in force")
    return d


def recorders(runs: RunStore, period: str, entity: str, line: str) -> set[str]:
    """Who recorded or withdrew a disposition on the line in the period: none of them may approve
    it (the sign-off's separation of duties). Dispositions carried from an earlier period are
    the preparer's to cover, so their recorders are not counted."""
    with runs.engine.connect() as con:
        rows = _rows(con, str(Period.parse(str(period))), entity, line)
    names = {r["recorded_by"] for r in rows}
    return names | {json.loads(r["withdrawn"])["by"] for r in rows if r["withdrawn"]}


def latest_close(runs: RunStore, period: str) -> dict | None:
    done = [r for r in runs.runs(period) if r["status"] == "completed"]
    return done[-1] if done else None


def _line_items(reports: Path, run_id: str, entity: str, line: str) -> list[dict]:
    from .items import read_items

    table = read_items(reports, run_id, entity=entity, line=line)
    if "open_lcy" not in table.column_names:
        raise UsageError(f"run {run_id}'s proof items of {entity} have no open amounts (a close older than "
                         "dispositions); close the period again to record a disposition")
    return table.to_pylist()


def _open_amounts(reports: Path, run_id: str, entity: str) -> dict[Key, Decimal]:
    from .items import read_items

    try:
        table = read_items(reports, run_id, entity=entity)
    except UsageError:
        return {}
    return {(r["line"], r["key"], r["bridge"]): Decimal(r["open_lcy"] or 0)
            for r in table.select(["line", "key", "bridge", "open_lcy"]).to_pylist()}


# recording


def record(runs: RunStore, principal: Principal | None, spec: DispositionSpec, *, locked: Locked, reports: Path,
           attachment_dir: Path, max_bytes: int = files.DEFAULT_MAX_BYTES) -> dict:
    """Record a disposition and the line's new revision; returns {disposition, revision, line,
    run_id}. Refusals raise (UsageError, ConflictError, Forbidden, LockedError) after the audit log
    has them; nothing is stored then, attachments included."""
    with _refusal(runs, principal, "disposition.record", spec.audit_detail()):
        require(principal, "preparer")
        period = _open_period(spec.period, locked)
        if spec.kind not in KINDS:
            raise UsageError(f"{spec.where}: a disposition is explained or adjust, not {spec.kind!r}"
                             f"{did_you_mean(str(spec.kind), KINDS)}")
        reason = _text(spec.reason, "reason")
        if spec.kind == EXPLAINED and not reason:
            raise UsageError(f"{spec.where}: an explained disposition needs a reason saying what supports the item "
                             "(e.g. --reason \"seller credit note 118, received 2025-10-03\")")
        journal = _journal(spec) if spec.kind == ADJUST else None
        uploads = tuple(_read(a, max_bytes) for a in spec.attachments)
        run, line, items = _target(runs, reports, period, spec)
        item = _item(items, spec, run["id"])
        open_lcy = Decimal(item["open_lcy"] or 0)
        if open_lcy == 0:
            raise ConflictError(f"{spec.where} is not open in run {run['id']} (state {item.get('state') or '-'}, "
                                f"amount {item['amount_lcy']}, open amount 0.00): only an open item is given a disposition")
        if journal is not None:
            journal = journal | {"amount_lcy": str(abs(open_lcy))}
            _check_amount(spec, open_lcy)
        done = _write(runs, principal.name, period, spec, run, items, open_lcy, reason, journal, uploads, attachment_dir)
    d = done["disposition"]
    audit.append(runs.engine, principal.name, "disposition.record", run["id"], **spec.audit_detail(), id=d["id"],
                 sha256=d["sha256"], open_lcy=d["open_lcy"], reason=reason, journal=journal,
                 attachments=d["attachments"], superseded=done["superseded"], revision=done["revision"],
                 status=done["line"]["status"], unresolved_lcy=done["line"]["unresolved_lcy"])
    return done


def withdraw(runs: RunStore, principal: Principal | None, period: str, entity: str, line: str, key: str, bridge: str,
             reason: str, *, locked: Locked, reports: Path) -> dict:
    """Withdraw the disposition in force on an item (a reason is required); the line is revised
    at once, as for a new disposition."""
    spec = DispositionSpec(period, entity, line, key, bridge, "withdraw", reason)
    with _refusal(runs, principal, "disposition.withdraw", spec.audit_detail()):
        require(principal, "preparer")
        period = _open_period(period, locked)
        reason = _text(reason, "reason")
        if not reason:
            raise UsageError(f"{spec.where}: withdrawing a disposition needs a reason")
        run, _, items = _target(runs, reports, period, spec)
        done = _write(runs, principal.name, period, spec, run, items, None, reason, None, (), None, withdraw=True)
    audit.append(runs.engine, principal.name, "disposition.withdraw", run["id"], **spec.audit_detail(),
                 id=done["disposition"]["id"], sha256=done["disposition"]["sha256"], reason=reason,
                 revision=done["revision"], status=done["line"]["status"], unresolved_lcy=done["line"]["unresolved_lcy"])
    return done


def note_suspended(runs: RunStore, user: str, run_id: str, period: str, entity: str, line: str,
                   suspended: Iterable[Disposition]) -> int:
    """Write one ``disposition.suspend`` audit event per disposition a close found no longer
    applying (its item changed amount or bridge, or is no longer open); returns how many."""
    n = 0
    for d in suspended:
        audit.append(runs.engine, user, "disposition.suspend", run_id, period=str(period), entity=entity, line=line,
                     key=d.key, bridge=d.bridge, id=d.id, sha256=d.sha256, open_lcy=str(d.open_lcy), kind=d.kind,
                     why="its item is no longer open for the amount it was given for")
        n += 1
    return n


# internals


@contextmanager
def _refusal(runs: RunStore, principal, action: str, detail: dict) -> Iterator[None]:
    """Record a refused action in the audit log (who, what, why), then raise it on."""
    try:
        yield
    except SoxautoError as e:
        audit.refused(runs.engine, getattr(principal, "name", None) or "anonymous", action, str(e), **detail)
        raise


def _open_period(text: str, locked: Locked) -> str:
    period = Period.parse(str(text))
    if locked if isinstance(locked, bool) else locked(period):
        raise ConflictError(f"period {period} is locked: every line is approved, and nothing changes until an admin "
                            f"runs 'soxauto signoff unlock {period} --reason \"why\"'")
    return str(period)


def _text(value, what: str) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > TEXT_MAX:
        raise UsageError(f"the {what} is {len(text)} characters; at most {TEXT_MAX}")
    return text


def _journal(spec: DispositionSpec) -> dict:
    raw = dict(spec.journal or {})
    got = {k: " ".join(str(raw.get(k) or "").split()) for k in ("debit", "credit", "description")}
    missing = [k for k, v in got.items() if not v]
    if missing:
        raise UsageError(f"{spec.where}: an adjust disposition proposes a journal entry and needs its "
                         f"{', '.join(missing)} (--debit ACCOUNT --credit ACCOUNT --description TEXT)")
    for side in ("debit", "credit"):
        if len(got[side]) > ACCOUNT_MAX or not got[side].replace("-", "").replace(".", "").isalnum():
            raise UsageError(f"{spec.where}: {side} account {got[side]!r} is not an account number")
    if got["debit"] == got["credit"]:
        raise UsageError(f"{spec.where}: the journal debits and credits the same account {got['debit']}")
    if len(got["description"]) > TEXT_MAX:
        raise UsageError(f"the description is {len(got['description'])} characters; at most {TEXT_MAX}")
    return got


def _check_amount(spec: DispositionSpec, open_lcy: Decimal) -> None:
    if spec.amount is None or str(spec.amount).strip() == "":
        return
    try:
        amount = Decimal(str(spec.amount).strip())
    except InvalidOperation:
        raise UsageError(f"{spec.where}: amount {spec.amount!r} is not a decimal number") from None
    if not amount.is_finite() or amount not in (open_lcy, abs(open_lcy)):
        raise UsageError(f"{spec.where}: the adjustment's amount is the item's open amount, {abs(open_lcy)}; "
                         f"{spec.amount} differs (leave --amount out to take the open amount)")


def _read(source, limit: int) -> files.Attachment:
    if isinstance(source, (str, Path)):
        return files.from_file(Path(source), limit)
    name, data = source
    return files.from_bytes(name, data, limit)


def _target(runs: RunStore, reports: Path, period: str, spec: DispositionSpec) -> tuple[dict, dict, list[dict]]:
    """The period's latest completed close, the line as it stands (its latest revision) and its items."""
    run = latest_close(runs, period)
    if run is None:
        raise UsageError(f"period {period} has no completed close; run 'soxauto close --period {period}' first")
    if spec.entity not in run["entities"]:
        raise UsageError(f"entity '{spec.entity}' is not in run {run['id']} of {period}{did_you_mean(spec.entity, run['entities'])}")
    lines = runs.recon_lines(run["id"]).get(spec.entity, [])
    line = next((ln for ln in lines if ln["line"] == spec.line), None)
    if line is None:
        names = [ln["line"] for ln in lines]
        raise UsageError(f"no line '{spec.line}' for {spec.entity} in run {run['id']}{did_you_mean(spec.line, names)}")
    if line["status"] == "ERROR":
        raise ConflictError(f"{period} {spec.entity} {spec.line} is in ERROR ({', '.join(line.get('reasons') or [line.get('reason')])}): "
                            "its figures could not be computed, so no disposition is recorded; fix the input and close again")
    return run, line, _line_items(reports, run["id"], spec.entity, spec.line)


def _item(items: list[dict], spec: DispositionSpec, run_id: str) -> dict:
    found = next((r for r in items if r["key"] == spec.key and r["bridge"] == spec.bridge), None)
    if found is not None:
        return found
    other = sorted({r["bridge"] for r in items if r["key"] == spec.key})
    if other:
        raise UsageError(f"{spec.where} does not exist in run {run_id}: key {spec.key} is an item of "
                         f"{', '.join(other)}{did_you_mean(spec.bridge, other)}")
    raise UsageError(f"{spec.where} does not exist in run {run_id}: the line has no item with key {spec.key!r}"
                     f"{did_you_mean(spec.key, [r['key'] for r in items if r['open_lcy']])}")


def _content(values: dict) -> str:
    return sha256_hex(canonical_bytes({k: values[k] for k in (
        "id", "period", "entity", "line", "key", "bridge", "kind", "open_lcy", "reason", "journal", "attachments",
        "recorded_by", "recorded_at", "run_id")}))


def _write(runs: RunStore, user: str, period: str, spec: DispositionSpec, run: dict, items: list[dict],
           open_lcy: Decimal | None, reason: str, journal: dict | None, uploads: tuple, attachment_dir: Path | None, *,
           withdraw: bool = False) -> dict:
    """The disposition (or withdrawal) and the line's new revision in one transaction; a lost race
    (another revision of the line took the number) reads again and recomputes. The attachments are
    stored last, once nothing can refuse: a failure to store them rolls the transaction back."""
    k = (spec.line, spec.key, spec.bridge)
    for _ in range(50):
        try:
            with runs.engine.begin() as con:
                closing = live_holder(con, period, other_than=None)
                if closing is not None:
                    raise LockedError(f"{closing.describe(period)}; dispositions of {period} wait until it completes "
                                      "(its items may change)")
                detail = con.execute(select(recon_results.c.detail).where(
                    recon_results.c.run_id == run["id"], recon_results.c.entity == spec.entity,
                    recon_results.c.line == spec.line)).scalar_one()
                latest = _latest(_rows(con, period, spec.entity, spec.line))
                current = {kk: _disposition(r) for kk, r in latest.items() if not r["withdrawn"]}
                previous = latest.get(k)
                if withdraw:
                    if k not in current:
                        raise UsageError(f"{spec.where} has no disposition in force to withdraw")
                    row = dict(previous)
                    con.execute(update(dispositions).where(dispositions.c.id == row["id"]).values(
                        withdrawn=json.dumps({"by": user, "at": now(), "reason": reason})))
                    cause = current.pop(k)
                else:
                    row = {"id": f"disp-{uuid.uuid4().hex[:16]}", "period": period, "entity": spec.entity, "line": spec.line,
                           "key": spec.key, "bridge": spec.bridge, "kind": spec.kind, "open_lcy": str(open_lcy),
                           "reason": reason, "journal": journal, "attachments": [u.to_dict() for u in uploads],
                           "recorded_by": user, "recorded_at": now(), "run_id": run["id"]}
                    row["sha256"] = _content(row)
                    con.execute(insert(dispositions).values(**row | {"journal": json.dumps(journal) if journal else None,
                                                                     "attachments": json.dumps(row["attachments"])}))
                    if previous is not None:
                        con.execute(update(dispositions).where(dispositions.c.id == previous["id"]).values(superseded_by=row["id"]))
                    cause = current[k] = _disposition(row | {"journal": json.dumps(journal) if journal else None})
                revised = revise(json.loads(detail), items, current, cause=cause)
                if withdraw:
                    revised["revision_cause"] = revised["revision_cause"] | {"withdrawn": True}
                runs.save_revision(run["id"], spec.entity, revised, revised["revision_cause"], con=con)
                for u in uploads:
                    files.store(u, attachment_dir)
            break
        except (IntegrityError, OperationalError):
            time.sleep(0.02)
    else:
        raise RuntimeError(f"could not record the disposition of {spec.where} after 50 attempts")
    with runs.engine.connect() as con:
        shown = _row_dict(con.execute(select(dispositions).where(dispositions.c.id == row["id"])).mappings().one())
    return {"disposition": shown, "run_id": run["id"], "revision": revised["revision"], "line": revised,
            "superseded": None if withdraw or previous is None else previous["id"]}
