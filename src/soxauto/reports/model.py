"""What every report of a run reads, gathered once from result objects (never from an engine):

    run store        the run, its steps (evidence index), its lines per entity, the entity details
    reports folder   ``<reports>/<run_id>/items/<ENTITY>.parquet`` (close.items: the proof items)
    evidence store   each package's ``tests.json`` (the C&A test results), found by the step's
                     manifest SHA-256: in place, or under history/ when a later run replaced it
    sign-off         ``soxauto.signoff.SignOffs``: the current state and the event history

``RunData`` is frozen; the workbook, the HTML report, the PDFs and the lake write-back render it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ..close.items import SCHEMA as ITEM_SCHEMA
from ..close.items import items_path, read_items
from ..close.plan import EVIDENCE, RECONCILE
from ..close.store import RunStore
from ..errors import UsageError
from ..evidence.store import history_path

VALIDATION_KEYS = ("rule_id", "kind", "severity", "outcome", "failing_count", "message")


@dataclass(frozen=True)
class RunData:
    run: dict
    lines: tuple[dict, ...]  # entity by entity (the run's order), each in the pack's order
    entities: dict[str, dict]  # entity -> EntityResult.to_dict (FX, materiality, ...)
    evidence: tuple[dict, ...]  # one per evidence step: the evidence index
    validation: tuple[dict, ...]  # one per C&A test result of every package
    signoffs: tuple[dict, ...] = ()  # SignOffs.current(period)
    signoff_history: tuple[dict, ...] = ()  # SignOffs.history(period)
    reports_dir: Path = Path(".")
    items_files: dict[str, dict] = field(default_factory=dict)  # entity -> {path, sha256, rows} from the step

    @property
    def run_id(self) -> str:
        return self.run["id"]

    @property
    def period(self) -> str:
        return self.run["period"]

    def line(self, entity: str, line: str) -> dict:
        for ln in self.lines:
            if ln["entity"] == entity and ln["line"] == line:
                return ln
        known = sorted({f"{ln['entity']}:{ln['line']}" for ln in self.lines})
        from ..errors import did_you_mean

        raise UsageError(f"run {self.run_id} has no line {entity}:{line}{did_you_mean(f'{entity}:{line}', known)}")

    def items(self, entity: str | None = None, line: str | None = None) -> pa.Table:
        """The proof items (close.items), or an empty table for an entity the run did not reconcile."""
        entities = [entity] if entity else [e for e in self.run["entities"] if e in self.items_files]
        parts = [read_items(self.reports_dir, self.run_id, entity=e, line=line) for e in entities
                 if items_path(self.reports_dir, self.run_id, e).is_file()]
        return pa.concat_tables(parts) if parts else ITEM_SCHEMA.empty_table()

    def signoff(self, entity: str, line: str) -> dict | None:
        return next((s for s in self.signoffs if s["entity"] == entity and s["line"] == line), None)


def load_run(runs: RunStore, run_id: str, reports_dir: Path, evidence_store: Path | None = None,
             *, signoffs: bool = True) -> RunData:
    run = runs.run(run_id)
    if run is None:
        raise UsageError(f"no run {run_id} in the run store {runs.engine.url.render_as_string(hide_password=True)}; "
                         "'soxauto close --json' prints run ids")
    steps = runs.steps(run_id)
    per_entity = runs.recon_lines(run_id)
    lines = tuple(ln for e in run["entities"] for ln in per_entity.get(e, []))
    details = {s["entity"]: s["detail"] for s in steps if s["stage"] == RECONCILE and s["detail"]}
    evidence = tuple(_evidence_row(s, evidence_store) for s in steps if s["stage"] == EVIDENCE)
    validation = tuple(v for row in evidence for v in _tests(row, evidence_store))
    current, history = _signoffs(runs, run["period"]) if signoffs else ((), ())
    return RunData(run=run, lines=lines, entities={e: d["entity"] for e, d in details.items()},
                   evidence=evidence, validation=validation, signoffs=current, signoff_history=history,
                   reports_dir=Path(reports_dir), items_files={e: d["items"] for e, d in details.items() if d.get("items")})


def _evidence_row(step: dict, store: Path | None) -> dict:
    tests = step["tests"] or {}
    folder = _package(store, step) if store is not None else None
    return {"evidence_id": step["evidence_id"], "entity": step["entity"], "item": step["item"],
            "status": step["status"], "manifest_sha256": step["manifest_sha256"], "fingerprint": step["fingerprint"],
            "rows": step["rows"], "ledger_seq": step["ledger_seq"], "outcome": step["outcome"],
            "tests_passed": tests.get("passed", 0), "tests_failed": tests.get("failed", 0),
            "tests_errored": tests.get("errored", 0), "package": str(folder) if folder else None}


def _package(store: Path, step: dict) -> Path | None:
    """The committed package of the step: the current one if its manifest is the step's, else
    the history copy a later commit moved aside."""
    if not step["evidence_id"] or not step["manifest_sha256"]:
        return None
    for folder in (store / step["evidence_id"],
                   history_path(store, step["evidence_id"], step["ledger_seq"]) if step["ledger_seq"] else None):
        manifest = folder / "manifest.json" if folder else None
        if manifest and manifest.is_file() and hashlib.sha256(manifest.read_bytes()).hexdigest() == step["manifest_sha256"]:
            return folder
    return None


def _tests(row: dict, store: Path | None) -> list[dict]:
    if not row["package"]:
        return []
    doc = json.loads((Path(row["package"]) / "tests.json").read_bytes())
    return [{"evidence_id": row["evidence_id"], "entity": row["entity"], "item": row["item"],
             **{k: r.get(k) for k in VALIDATION_KEYS},
             "observed": json.dumps(r.get("observed"), sort_keys=True), "expected": json.dumps(r.get("expected"), sort_keys=True)}
            for r in doc.get("results", [])]


def _signoffs(runs: RunStore, period: str) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """Sign-off state and history, when the sign-off module is present (it is optional to the reports)."""
    try:
        from ..signoff import SignOffs
    except ImportError:
        return (), ()
    book = SignOffs(runs)
    return tuple(book.current(period)), tuple(book.history(period))
