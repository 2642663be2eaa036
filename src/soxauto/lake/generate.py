"""``soxauto lake generate``: a deterministic demo lake of the source contract, with ground truth.

The lake has all 17 logical tables, one Parquet file per company
(``<out>/<schema>/<table>/<company_id>.parquet``; ``nav.gl_accounts`` is ``all.parquet``), and
``<out>/ground_truth.json``: for every requested period, entity and reconciliation line the
expected GL and TV amounts, the variance, the amount of each bridge and the unexplained rest,
every reconciling item with its clearing state, open amount and age, the unresolved and
resolved amounts, the status and its reasons.
The same arguments always give byte-identical files. The model is described in
``docs/demo-lake.md``; the simulation lives in ``soxauto.lake.demo``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from ..period import Period
from .contract import contract
from .demo import defects as demo_defects
from .demo import entity as demo_entity
from .demo import write as w
from .demo.truth import LineTruth
from .demo.world import ENTITIES, TAIL_DAYS, WARMUP_MONTHS, Plan, date_of

GROUND_TRUTH = "ground_truth.json"
FORMAT_VERSION = 2  # 2: items, their states, unresolved/resolved, status and reasons per line


@dataclass(frozen=True)
class LakeSummary:
    """What ``generate`` wrote: rows per logical table, the ground-truth rows, and how long it took."""

    out: Path
    row_counts: Mapping[str, int]
    truth_rows: int
    elapsed_seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())

    def render(self) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Demo lake written to {self.out}")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, n in self.row_counts.items():
            table.add_row(name, f"{n:,}")
        table.add_row("total", f"{self.total_rows:,}", style="bold")
        console = Console()
        console.print(table)
        console.print(f"{GROUND_TRUTH}: {self.truth_rows} line results; elapsed {self.elapsed_seconds:.1f} s")


def generate(out: Path, *, scale: float, seed: int, first_period: Period, periods: int,
             quiet: bool = False, defects: tuple[str, ...] = ()) -> LakeSummary:
    """Write the demo lake and its ground truth into ``out``; print a summary unless ``quiet``.

    ``defects`` (names from ``demo.defects.NAMES``) are injected into the first entity's last
    period and listed in the ground truth."""
    started = time.perf_counter()
    plan = Plan(scale, seed, first_period, periods)
    defects = demo_defects.parse(",".join(defects))
    injected: list = []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {name: 0 for name in contract().names}
    counts["nav.gl_accounts"] = w.write(out, "nav.gl_accounts", "all", demo_entity.gl_accounts())
    truth: list[LineTruth] = []
    for e in ENTITIES:
        tables, rows = demo_entity.build(plan, e)
        if defects and e is ENTITIES[0]:
            tables, rows, injected = demo_defects.inject(defects, tables, plan.requested[-1], e.company_id, rows)
        for name, tab in tables.items():
            counts[name] += w.write(out, name, e.company_id, tab.sort_by(_sort_keys(name)))
        truth.extend(rows)
        del tables
    _write_truth(out / GROUND_TRUTH, plan, counts, truth, injected)
    summary = LakeSummary(out, MappingProxyType(counts), len(truth), time.perf_counter() - started)
    if not quiet:
        summary.render()
    return summary


# Deterministic row order per table (the generator already produces it; sorting makes it a contract).
SORT_KEYS = {
    "ref.fx_rates": ["year", "month", "rate_type"],
    "nav.gl_entries": ["entry_no"],
    "nav.gl_balances": ["closing_date", "gl_account_no"],
    "nav.customers": ["customer_no"],
    "nav.customer_ledger_entries": ["entry_no"],
    "nav.detailed_customer_ledger_entries": ["entry_no"],
    "nav.bank_accounts": ["bank_account_no"],
    "bob.store_credit_vouchers": ["snapshot_date", "voucher_id"],
    "bob.sales_orders": ["order_nr"],
    "oms.sales_order_items": ["sales_order_item_id"],
    "oms.packages": ["package_id"],
    "oms.collection_transactions": ["transaction_id"],
    "seller_center.transactions": ["transaction_id"],
    "seller_center.account_statements": ["account_statement_id"],
    "jdash.voucher_usage": ["used_at", "voucher_id"],
    "ref.companies": ["company_id"],
}


def _sort_keys(name: str) -> list[tuple[str, str]]:
    return [(c, "ascending") for c in SORT_KEYS[name]]


def _write_truth(path: Path, plan: Plan, counts: Mapping[str, int], truth: list[LineTruth], defects=()) -> None:
    doc = {
        "format_version": FORMAT_VERSION,
        "generator": {
            "scale": repr(plan.scale),
            "seed": plan.seed,
            "first_period": str(plan.first_period),
            "periods": plan.periods,
            "warmup_months": WARMUP_MONTHS,
            "simulation_start": date_of(plan.start).isoformat(),
            "extracted_through": date_of(plan.horizon - 1).isoformat(),
            "tail_days": TAIL_DAYS,
            "data_horizon": date_of(plan.horizon - 1).isoformat(),
        },
        "assumptions": "every requested period closed in order, the first with no history; no dispositions",
        "row_counts": dict(counts),
        "bridges_listed": "every bridge of the line's family, zero amounts included",
        "defects": [d.to_json() for d in defects],
        "results": [t.to_json(item_text=True) for t in truth],
    }
    path.write_text(_dump(doc), encoding="utf-8")


def _dump(doc: dict) -> str:
    """``json.dumps(doc, indent=1)``, except that each line result's items (given as JSON text)
    are written one per text line: tens of thousands of them stay readable, the file small."""
    compact: list[str] = []

    def mark(item: str) -> str:
        compact.append(item)
        return f"\x00{len(compact) - 1}\x00"

    doc = dict(doc, results=[dict(r, items=[mark(i) for i in r["items"]]) for r in doc["results"]])
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    return re.sub(r'"\\u0000(\d+)\\u0000"', lambda m: compact[int(m.group(1))], text) + "\n"
