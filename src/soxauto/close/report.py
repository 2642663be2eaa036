"""The outputs of a close, built from the run store (so a resumed run reports exactly like an
uninterrupted one) and written under ``<reports>/<run_id>/``:

    reconciliation.json   every line in the shape of ``soxauto recon --json`` (docs/recon.md)
    summary.txt           the summary table, plain text
    run.json              the run summary that ``soxauto close --json`` prints

The workbook and HTML reports read these results; they are not made here.
"""

from __future__ import annotations

import io
import json
import os
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..recon.result import FORMAT_VERSION
from ..recon.status import Status, exit_code as recon_exit_code
from .plan import EVIDENCE, RECONCILE, ClosePlan
from .store import RunStore, now

SUMMARY_FORMAT = 1
STEP_KEYS = ("entity", "stage", "item", "status", "attempts", "seconds", "rows", "outcome", "tests", "evidence_id",
             "manifest_sha256", "fingerprint", "ledger_seq", "error")


def reconciliation(runs: RunStore, run_id: str, plan: ClosePlan, pack) -> dict:
    """The reconciliation of the run, assembled from the stored entity results."""
    lines = runs.recon_lines(run_id)
    details = {s["entity"]: s["detail"] for s in runs.steps(run_id) if s["stage"] == RECONCILE and s["detail"]}
    all_lines = [ln for e in plan.entity_ids for ln in lines.get(e, [])]
    reports: dict[str, list] = {}
    for e in plan.entity_ids:
        for r in (details.get(e) or {}).get("control_reports", []):
            reports.setdefault(r["item"], []).append(r)
    return {
        "format_version": FORMAT_VERSION, "period": str(plan.period), "pack_version": pack.version,
        "summary": {s.value: sum(1 for ln in all_lines if ln["status"] == s.value) for s in Status},
        "entities": [details[e]["entity"] for e in plan.entity_ids if e in details],
        "lines": all_lines,
        "control_reports": reports,
    }


def exit_code(steps: list[dict], recon: dict) -> int:
    """A step that could not be done decides (5 integrity over 4 engine over 3 usage); else 1 if
    any line or C&A test has an error finding, 2 if only warnings, 0 if everything passed."""
    failed = [s["outcome"] or 4 for s in steps if s["status"] == "failed"]
    if failed:
        return max(failed)
    codes = {s["outcome"] for s in steps if s["stage"] == EVIDENCE}
    codes.add(recon_exit_code((Status(ln["status"]) for ln in recon["lines"]),
                              (f["severity"] for ln in recon["lines"] for f in ln["findings"])))
    return 1 if 1 in codes else 2 if 2 in codes else 0


def fingerprint_changes(steps: list[dict], previous_steps: list[dict]) -> dict:
    before = {s["evidence_id"]: s["fingerprint"] for s in previous_steps if s["stage"] == EVIDENCE and s["fingerprint"]}
    after = {s["evidence_id"]: s["fingerprint"] for s in steps if s["stage"] == EVIDENCE and s["fingerprint"]}
    changed = [{"evidence_id": k, "before": before[k], "after": v} for k, v in sorted(after.items())
               if k in before and before[k] != v]
    return {"changed": changed, "unchanged": sum(1 for k, v in after.items() if before.get(k) == v),
            "new": sorted(k for k in after if k not in before)}


def query_usage(steps: list[dict], store: Path) -> list:
    """The ``query.usage`` steps (``engines.cost``: Athena's bytes scanned and engine time per
    execution) of the logs of the run's evidence packages, and the executions the reconcile
    steps recorded (no package claimed them), each execution once. A resumed run
    counts the packages of every attempt, as they are stored."""
    from ..engines.cost import QueryUsage

    seen: dict[str, QueryUsage] = {}
    for s in steps:
        if s["status"] == "done" and s["stage"] != EVIDENCE:  # a reconcile step: what no package claimed
            for u in (s.get("detail") or {}).get("query_usage") or ():
                seen.setdefault(u["execution_id"], QueryUsage(u["execution_id"], int(u["data_scanned_bytes"]),
                                                              u.get("engine_execution_ms")))
            continue
        if s["stage"] != EVIDENCE or s["status"] != "done" or not s["evidence_id"]:
            continue
        path = Path(store) / s["evidence_id"] / "log.jsonl"
        if not path.is_file():
            continue
        for line in path.read_text("utf-8").splitlines():
            entry = json.loads(line) if line.strip() else {}
            if entry.get("step") == "query.usage":
                seen.setdefault(entry["execution_id"], QueryUsage(
                    entry["execution_id"], int(entry["data_scanned_bytes"]), entry.get("engine_execution_ms")))
    return list(seen.values())


def summary(run: dict, steps: list[dict], recon: dict, *, status: str, exit_code: int, previous: dict | None,
            previous_steps: list[dict], store: Path, reports: Path, run_store: str, attempt_seconds: float,
            sources_seconds: float = 0.0, price_per_tb: Decimal | None = None) -> dict:
    """``sources_seconds``: the tests' shared source batches, run before the workers in this
    attempt (``close.run.prepare_sources``), in worker-seconds (wall time × workers waiting);
    part of the test stage. ``price_per_tb``: Athena's price for the cost line (default: the
    ``athena_price_per_tb`` setting)."""
    from ..config import BY_KEY, mask

    stages = {"extract": 0.0, "test": sources_seconds, "evidence": 0.0, "reconcile": 0.0}
    tests = {"passed": 0, "failed": 0, "errored": 0}
    for s in steps:
        for k, v in (s["timings"] or {}).items():
            stages[k] = stages.get(k, 0.0) + v
        if s["stage"] == RECONCILE and s["seconds"]:
            stages["reconcile"] += s["seconds"]
        for k, v in (s["tests"] or {}).items():
            tests[k] = tests.get(k, 0) + v
    return {
        "format_version": SUMMARY_FORMAT, "run_id": run["id"], "period": run["period"], "status": status,
        "exit_code": exit_code, "user": run["user"], "host": run["host"], "pid": run["pid"], "attempts": run["attempts"],
        "started_at": run["started_at"], "finished_at": now(), "entities": run["entities"], "source": run["source"],
        "stages": {k: round(v, 3) for k, v in stages.items()} | {"wall_this_attempt": round(attempt_seconds, 3)},
        "tests": tests,
        "steps": [{k: s[k] for k in STEP_KEYS} for s in steps],
        **_cost(steps, store, price_per_tb),
        "reconciliation": recon,
        "fingerprints": {"previous_run": previous["id"] if previous else None, **fingerprint_changes(steps, previous_steps)},
        "evidence_store": str(store),
        "run_store": mask(BY_KEY["run_store"], run_store),
        "reports": {"folder": str(reports), "reconciliation": str(reports / "reconciliation.json"),
                    "summary": str(reports / "summary.txt"), "run": str(reports / "run.json")},
    }


def _cost(steps: list[dict], store: Path, price_per_tb: Decimal | None) -> dict:
    """``{"athena": ...}``: the bytes the run's Athena queries scanned and their cost; nothing
    for a run on another engine."""
    from ..engines.cost import total

    usages = query_usage(steps, store)
    if not usages:
        return {}
    if price_per_tb is None:
        from ..config import load_config

        price_per_tb = load_config().athena_price_per_tb
    return {"athena": total(usages, price_per_tb).to_dict()}


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write(folder: Path, summary: dict, recon: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _atomic(folder / "reconciliation.json", (json.dumps(recon, indent=2) + "\n").encode("utf-8"))
    _atomic(folder / "summary.txt", text(summary).encode("utf-8"))
    _atomic(folder / "run.json", (json.dumps(summary, indent=2) + "\n").encode("utf-8"))


def text(summary: dict, width: int = 110) -> str:
    buf = io.StringIO()
    render(Console(file=buf, width=width, color_system=None, force_terminal=False, highlight=False), summary)
    return buf.getvalue()


def entity_rows(summary: dict) -> list[tuple]:
    """(entity, items done, rows, tests p/f/e, lines R/I/E, unresolved USD, verdict) per entity."""
    recon = summary["reconciliation"]
    totals = {e["entity"]: e.get("unresolved_usd_abs_total", e["unexplained_usd_abs_total"]) for e in recon["entities"]}
    out = []
    for entity in summary["entities"]:
        mine = [s for s in summary["steps"] if s["entity"] == entity]
        ev = [s for s in mine if s["stage"] == EVIDENCE]
        t = {k: sum((s["tests"] or {}).get(k, 0) for s in ev) for k in ("passed", "failed", "errored")}
        lines = [ln for ln in recon["lines"] if ln["entity"] == entity]
        n = {st.value: sum(1 for ln in lines if ln["status"] == st.value) for st in Status}
        broken = any(s["status"] in ("failed", "blocked") for s in mine)
        verdict = "FAILED" if broken else "ERROR" if n["ERROR"] else "INVESTIGATE" if n["INVESTIGATE"] else \
            "RECONCILED" if lines else "not reconciled"
        out.append((entity, f"{sum(1 for s in ev if s['status'] == 'done')}/{len(ev)}",
                    f"{sum(s['rows'] or 0 for s in ev):,}", f"{t['passed']}/{t['failed']}/{t['errored']}",
                    f"{n['RECONCILED']}/{n['INVESTIGATE']}/{n['ERROR']}", totals.get(entity) or "", verdict))
    return out


STYLE = {"RECONCILED": "green", "INVESTIGATE": "yellow", "ERROR": "red", "FAILED": "red"}


def render(console: Console, summary: dict) -> None:
    table = Table(title=f"Close {summary['period']}  run {summary['run_id']}: {summary['status']} "
                        f"(exit {summary['exit_code']})", title_justify="left")
    for name in ("entity", "items", "rows", "tests p/f/e", "lines R/I/E", "unresolved USD", "status"):
        table.add_column(name, justify="left" if name in ("entity", "status") else "right")
    for row in entity_rows(summary):
        table.add_row(*row[:-1], f"[{STYLE.get(row[-1], 'white')}]{row[-1]}[/]")
    console.print(table)
    for ln in summary["reconciliation"]["lines"]:
        if ln["status"] != "RECONCILED":
            console.print(f"  {ln['entity']} {ln['line']}: {ln['status']} {', '.join(ln.get('reasons') or [ln['reason']])}, "
                          f"unresolved {ln.get('unresolved_usd') or 'n/a'} USD")
    for s in summary["steps"]:
        if s["status"] in ("failed", "blocked"):
            console.print(f"  {s['entity']} {s['stage']} {s['item']}: {s['status']}: {s['error']}".replace("  :", ":"))
    st = summary["stages"]
    console.print("seconds per stage (summed over workers): " + ", ".join(f"{k} {v:.1f}" for k, v in st.items() if k != "wall_this_attempt")
                  + f"; wall {st['wall_this_attempt']:.1f}", soft_wrap=True)
    athena = summary.get("athena")
    if athena:
        console.print(f"Athena: {athena['queries']:,} queries scanned {athena['data_scanned_bytes']:,} bytes "
                      f"(billed {athena['billed_bytes']:,}: 1 MB rounding, 10 MB minimum per query); cost "
                      f"{athena['cost_usd']} USD at {athena['price_per_tb_usd']} USD per TB (10^12 bytes)", soft_wrap=True)
    fp = summary["fingerprints"]
    if fp["previous_run"]:
        console.print(f"fingerprints vs run {fp['previous_run']}: {len(fp['changed'])} changed, {fp['unchanged']} unchanged, "
                      f"{len(fp['new'])} new" + "".join(f"\n  changed: {c['evidence_id']}" for c in fp["changed"]))
    console.print(f"reports:   {summary['reports']['folder']}")
    for key in ("workbook", "html", "error"):
        if key in summary["reports"]:
            console.print(f"{key + ':':<11}{summary['reports'][key]}", soft_wrap=True)
    console.print(f"evidence:  {summary['evidence_store']}  (soxauto evidence verify --all)")
    console.print(f"run store: {summary['run_store']}")
