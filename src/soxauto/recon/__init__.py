"""Reconciliation of GL to target values per entity, line and period (domain spec
"Reconciliation lines", "Bridges", "Thresholds and status"; concepts in ``docs/recon.md``).

    lines       lines and bridge families as data, loaded from the control pack
    keyjoin     the SQL of a line: balance level and the key-level full outer join
    bridges     ordered rules → SQL CASE; overlap detection (runtime and pack fixtures)
    fx          LCY → USD at the CR_05 closing rate; a missing rate is an error
    thresholds  threshold contracts (DEFAULT and per country), most specific rule wins
    status      RECONCILED | INVESTIGATE | ERROR with a reason code
    result      frozen results with ``to_dict``
    run         ``reconcile`` (one entity) and ``run_period`` (extract, test, reconcile)
"""

from .lines import LineSpec, ReconPack
from .pack import load_pack
from .result import BridgeResult, ControlReport, EntityResult, Finding, LineResult, ReconResult
from .run import EntityRef, control_report, cr01, entities, reconcile, run_period
from .status import Status

__all__ = [
    "BridgeResult", "ControlReport", "EntityRef", "EntityResult", "Finding", "LineResult", "LineSpec",
    "ReconPack", "ReconResult", "Status", "control_report", "cr01", "entities", "load_pack", "reconcile", "run_period",
]
