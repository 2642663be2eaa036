"""A completed close of one entity, built from lines reconciled by hand (tests/recon/reconkit),
stored as a close stores them: the line dicts in ``recon_results`` and the proof items file
under the reports folder. No lake, no engine run per test beyond the two reconciled lines.

EC_NG 2025-09 at 0.05 NGN per USD (bucket 1,000 USD = 50.00 NGN, line item 500 USD = 25.00 NGN):

    PACKAGES   P1 100.00 TIMING, cleared after the cutoff: open 0.00
               P3  30.00 NOT_IN_TV (exception), open 30.00: material
               P4  10.00 NOT_IN_TV (exception), open 10.00
               unresolved 40.00 < bucket, but P3 is material: INVESTIGATE (MATERIAL_ITEM_UNRESOLVED)
    VOUCHERS   no closing rate: ERROR (FX_RATE_MISSING)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "recon"))

from reconkit import D, PERIOD, balance, gl, run_line  # noqa: E402

from soxauto.auth import LocalUsers, Principal  # noqa: E402
from soxauto.close.items import write_items  # noqa: E402
from soxauto.close.store import RunStore  # noqa: E402
from soxauto.recon.result import EntityResult  # noqa: E402

RUN = "r1"
ENTITY = "EC_NG"
C = PERIOD.cutoff
H = date(2025, 10, 20)
RATE = [{"company_id": ENTITY, "year": 2025, "month": 9, "rate_type": "Closing", "currency": "NGN", "rate_lcy_per_usd": D("0.050000")}]
PREPARER = Principal("pat", frozenset({"preparer"}), "cli")
OTHER_PREPARER = Principal("paula", frozenset({"preparer"}), "cli")
REVIEWER = Principal("rita", frozenset({"reviewer"}), "cli")


def ipe12(package_id: str, amount: str, in_tv: bool) -> dict:
    return {"company_id": ENTITY, "package_id": package_id, "amount_expected": D(amount), "in_tv": in_tv,
            "delivered_at": datetime(2025, 9, 2)}


def packages(tmp: Path, history=None):
    """The PACKAGES line above (``history``: dispositions to reconcile with, for a fresh result)."""
    cr03 = [gl("13005", "100.00", "P1"), gl("13005", "30.00", "P3"), gl("13005", "10.00", "P4")]
    cr06 = [gl("13005", "-100.00", "P1", posted=C + timedelta(days=5), entry_no=9001, document_no="DOC9001")]
    return run_line(tmp, "PACKAGES", cr03=cr03, cr04=[balance("13005", "140.00")], tv=[ipe12("P1", "100.00", False)],
                    cr06=cr06, cr05=RATE, horizon=H, history=history)


def vouchers_in_error(tmp: Path):
    return run_line(tmp, "VOUCHERS", cr05=[], horizon=H)


@dataclass(frozen=True)
class Closed:
    runs: RunStore
    home: Path
    reports: Path
    attachments: Path

    def line(self, name: str = "PACKAGES") -> dict:
        return next(ln for ln in self.runs.recon_lines(RUN)[ENTITY] if ln["line"] == name)


def close_by_hand(home: Path, tmp: Path, run_id: str = RUN) -> Closed:
    """Store the lines as run ``run_id`` (completed) of 2025-09 in ``home``'s default run store and
    reports folder, and add the local users pat and paula (preparers) and rita (reviewer)."""
    runs = RunStore(f"sqlite:///{home / 'runs.sqlite'}")
    lines = (packages(tmp), vouchers_in_error(tmp))
    runs.ensure_user("closer")
    runs.create_run(run_id, period=str(PERIOD), entities=[ENTITY], user="closer", host="h", pid=1, source="lake:x",
                    pack_version="1")
    runs.add_steps(run_id, [(ENTITY, "reconcile", "")])
    runs.save_recon(run_id, ENTITY, [ln.to_dict() for ln in lines], {}, 0.1)
    write_items(home / "reports", run_id, EntityResult(ENTITY, "NG", "NGN", lines[0].fx, lines))
    runs.update_run(run_id, status="completed")
    users = LocalUsers(runs, actor="setup")
    for who in (PREPARER, OTHER_PREPARER, REVIEWER):
        if who.name not in {u["name"] for u in users.list()}:
            users.add(who.name, sorted(who.roles))
    return Closed(runs, home, home / "reports", home / "attachments")


def reopen(home: Path) -> Closed:
    """The close stored in ``home`` (a copy of one ``close_by_hand`` made)."""
    return Closed(RunStore(f"sqlite:///{home / 'runs.sqlite'}"), home, home / "reports", home / "attachments")
