"""Hand-built runs in a run store for the sign-off tests: a run of a period with its evidence
steps (given fingerprints) and reconciliation lines, without running a close; and line dicts as
a run stores them (in ERROR, INVESTIGATE, auto-certified; today's shape and the reworked one)."""

from __future__ import annotations

from soxauto.auth import Principal
from soxauto.close.store import RunStore

PREPARER = Principal("pat", frozenset({"preparer"}), "token")
REVIEWER = Principal("rita", frozenset({"reviewer"}), "token")
AUDITOR = Principal("aude", frozenset({"auditor"}), "token")
ADMIN = Principal("ada", frozenset({"admin"}), "token")
ITEMS = ("CR_03", "CR_04", "CR_05", "IPE_07", "IPE_08")
TV = {"CUSTOMER_AR": "IPE_07", "VOUCHERS": "IPE_08"}


def line(entity: str, name: str, unexplained: str = "0.00", tv: dict | None = None) -> dict:
    return {"entity": entity, "line": name, "tv_item": (tv or TV)[name], "currency": "XOF", "gl_amount": "100.00",
            "tv_amount": "100.00", "variance_lcy": "0.00", "unexplained_lcy": unexplained, "unexplained_usd": unexplained,
            "status": "RECONCILED", "reason": "", "bridges": {}}


def add_run(runs: RunStore, run_id: str, period: str = "2025-09", entities=("HF_SN",), fingerprints: dict | None = None,
            unexplained: dict | None = None, status: str = "completed", lines: dict | None = None,
            overrides: dict | None = None) -> str:
    """A finished run; ``fingerprints`` {(entity, item): fp} overrides the default 'fp-<item>-<entity>';
    ``lines`` {line: tv item} replaces CUSTOMER_AR and VOUCHERS; ``overrides`` {(entity, line): {...}}
    is merged into those line dicts (a status, reasons, findings, bridges)."""
    fingerprints, unexplained, overrides = fingerprints or {}, unexplained or {}, overrides or {}
    tv = lines or TV
    runs.ensure_user("closer")
    runs.create_run(run_id, period=period, entities=list(entities), user="closer", host="h", pid=1, source="lake:x",
                    pack_version="1")
    runs.add_steps(run_id, [(e, s, i) for e in entities for s, i in [*(("evidence", i) for i in ITEMS), ("reconcile", "")]])
    for e in entities:
        for n, item in enumerate(ITEMS):
            runs.finish_step(run_id, e, "evidence", item, status="done", evidence_id=f"{item}_{e}_{period.replace('-', '')}",
                             manifest_sha256=f"m-{run_id}-{item}-{e}", fingerprint=fingerprints.get((e, item), f"fp-{item}-{e}"),
                             ledger_seq=n)
        runs.save_recon(run_id, e, [line(e, name, unexplained.get((e, name), "0.00"), tv) | overrides.get((e, name), {})
                                    for name in tv], {}, 0.1)
    runs.update_run(run_id, status=status)
    return run_id


# Lines as a run stores them, merged into ``line`` through ``add_run(overrides=...)``.
TIE_OUT_FAILED = {
    "status": "ERROR", "reason": "INPUT_TEST_FAILED", "unexplained_usd": None,
    "findings": [{"code": "INPUT_TEST_FAILED", "severity": "error", "message": "CR_03.tie_out failed: 2 accounts differ",
                  "amount_lcy": None, "detail": [{"test": "CR_03.tie_out", "item": "CR_03", "outcome": "failed"}]},
                 {"code": "INPUT_TEST_WARNING", "severity": "warn", "message": "IPE_08.fresh failed", "amount_lcy": None,
                  "detail": [{"test": "IPE_08.fresh", "item": "IPE_08", "outcome": "failed"}]}]}
RATE_MISSING = {
    "status": "ERROR", "reasons": ["FX_RATE_MISSING"], "reason": "FX_RATE_MISSING", "unexplained_usd": None,
    "findings": [{"code": "FX_RATE_MISSING", "severity": "error", "amount_lcy": None, "detail": [],
                  "message": "CR_05 has no Closing rate for HF_SN: add it to ref.fx_rates (a USD company carries rate 1)"}]}
# Today's shape: bridges without a nature, the unexplained rest with its count of items.
ABOVE_BUCKET = {
    "status": "INVESTIGATE", "reason": "UNRESOLVED_ABOVE_BUCKET", "unexplained_lcy": "20899.11", "unexplained_usd": "37.32",
    "unexplained_items": 3, "bridges": {"TIMING": {"amount_lcy": "1500.00", "items": 4}}}
# The reworked shape, without item lists: exception bridges count, timing and booking do not.
REWORKED = {
    "status": "INVESTIGATE", "reasons": ["UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED"],
    "reason": "UNRESOLVED_ABOVE_BUCKET", "unexplained_lcy": "-250.00", "unexplained_items": 1, "unresolved_lcy": "900250.00",
    "tie_out_difference_lcy": "0.00",
    "bridges": {"NOT_IN_TV": {"nature": "exception", "amount_lcy": "900000.00", "item_count": 2},
                "TIMING": {"nature": "timing", "amount_lcy": "7000.00", "item_count": 9},
                "VTC": {"nature": "booking", "amount_lcy": "300.00", "item_count": 1},
                "MANUAL": {"nature": "exception", "amount_lcy": "0.00", "item_count": 0}}}
# The reworked shape with its items: open amounts without a disposition are what is accepted.
ITEMISED = REWORKED | {
    "tie_out_difference_lcy": "0.50",
    "bridges": {"NOT_IN_TV": {"nature": "exception", "amount_lcy": "900000.00", "item_count": 2, "items": [
                    {"key": "V-1", "amount_lcy": "600000.00", "open_lcy": "600000.00", "state": None, "disposition": None},
                    {"key": "V-2", "amount_lcy": "300000.00", "open_lcy": "300000.00", "state": None, "disposition": "explained"}]},
                "TIMING": {"nature": "timing", "amount_lcy": "7000.00", "item_count": 2, "items": [
                    {"key": "V-3", "amount_lcy": "6000.00", "open_lcy": "0.00", "state": "cleared", "disposition": None},
                    {"key": "V-4", "amount_lcy": "1000.00", "open_lcy": "400.00", "state": "uncleared", "disposition": None}]}},
    "unexplained_item_list": [{"key": "V-9", "amount_lcy": "-250.50", "open_lcy": "-250.50", "disposition": None}]}
AUTO_OLD = {"auto_certified": True, "reason": "WITHIN_TOLERANCE"}  # a run before the rework
AUTO_NEW = {"auto_certified": True, "reasons": [], "reason": "NO_OPEN_ITEMS", "auto_certification": "NO_OPEN_ITEMS"}
