"""Hand-built runs in a run store for the sign-off tests: a run of a period with its evidence
steps (given fingerprints) and reconciliation lines, without running a close."""

from __future__ import annotations

from soxauto.auth import Principal
from soxauto.close.store import RunStore

PREPARER = Principal("pat", frozenset({"preparer"}), "token")
REVIEWER = Principal("rita", frozenset({"reviewer"}), "token")
AUDITOR = Principal("aude", frozenset({"auditor"}), "token")
ADMIN = Principal("ada", frozenset({"admin"}), "token")
ITEMS = ("CR_03", "CR_04", "CR_05", "IPE_07", "IPE_08")
TV = {"CUSTOMER_AR": "IPE_07", "VOUCHERS": "IPE_08"}


def line(entity: str, name: str, unexplained: str = "0.00") -> dict:
    return {"entity": entity, "line": name, "tv_item": TV[name], "currency": "XOF", "gl_amount": "100.00",
            "tv_amount": "100.00", "variance_lcy": "0.00", "unexplained_lcy": unexplained, "unexplained_usd": unexplained,
            "status": "RECONCILED", "reason": "", "bridges": {}}


def add_run(runs: RunStore, run_id: str, period: str = "2025-09", entities=("HF_SN",), fingerprints: dict | None = None,
            unexplained: dict | None = None, status: str = "completed") -> str:
    """A finished run; ``fingerprints`` {(entity, item): fp} overrides the default 'fp-<item>-<entity>'."""
    fingerprints, unexplained = fingerprints or {}, unexplained or {}
    runs.ensure_user("closer")
    runs.create_run(run_id, period=period, entities=list(entities), user="closer", host="h", pid=1, source="lake:x",
                    pack_version="1")
    runs.add_steps(run_id, [(e, s, i) for e in entities for s, i in [*(("evidence", i) for i in ITEMS), ("reconcile", "")]])
    for e in entities:
        for n, item in enumerate(ITEMS):
            runs.finish_step(run_id, e, "evidence", item, status="done", evidence_id=f"{item}_{e}_{period.replace('-', '')}",
                             manifest_sha256=f"m-{run_id}-{item}-{e}", fingerprint=fingerprints.get((e, item), f"fp-{item}-{e}"),
                             ledger_seq=n)
        runs.save_recon(run_id, e, [line(e, name, unexplained.get((e, name), "0.00")) for name in TV], {}, 0.1)
    runs.update_run(run_id, status=status)
    return run_id
