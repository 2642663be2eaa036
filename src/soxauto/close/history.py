"""The workflow state an entity's reconciliation reads from the run store (recon.items.ItemHistory).

* Last month's items: the proof items file of the previous calendar month's latest completed
  close that reconciled the entity. An item found there keeps the start of its age run
  (``first_cutoff``) and, when it carried an ``explained`` disposition, offers it for roll-forward.
  A month without such a close breaks every run: its items start again at age 0.
* This period's dispositions in force (close.dispositions), one query per entity.

Both are read once per entity, never per item, and what was read is recorded in the
reconcile step (``ItemHistory.to_dict``), so a re-run's result is explained by its lake and
this state.
"""

from __future__ import annotations

from pathlib import Path

from ..period import Period
from ..recon.items import ItemHistory, PriorItem, prior_from_items
from .items import items_path, read_items
from .store import RunStore


def previous_close(runs: RunStore, reports: Path | None, period: Period, entity: str) -> str | None:
    """The latest completed close of the month before ``period`` whose items for ``entity`` exist."""
    if reports is None:
        return None
    done = [r for r in runs.runs(str(period.previous())) if r["status"] == "completed" and entity in r["entities"]]
    for run in reversed(done):
        if items_path(reports, run["id"], entity).is_file():
            return run["id"]
    return None


def prior_items(runs: RunStore, reports: Path, run_id: str, period: Period, entity: str) -> dict[tuple[str, str], PriorItem]:
    """Last month's items as its close wrote them, with the dispositions in force on that month
    now (one recorded after its close revised the line without rewriting the file)."""
    from ..recon.revise import applied_table
    from .dispositions import in_force

    previous = str(period.previous())
    return prior_from_items(applied_table(read_items(reports, run_id, entity=entity), in_force(runs, previous, entity), previous))


def item_history(runs: RunStore, reports: Path | None, period: Period, entity: str) -> ItemHistory:
    from .dispositions import in_force

    previous = previous_close(runs, reports, period, entity)
    prior = prior_items(runs, reports, previous, period, entity) if previous is not None and reports is not None else {}
    return ItemHistory(prior, in_force(runs, str(period), entity), previous)
