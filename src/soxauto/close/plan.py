"""The plan of a close: which entities, which items, which steps, and what each step needs.

The unit of work given to a worker is one entity: an item's cross-source tests compare it
with other items of the same entity (IPE_08 with JDASH), and the entity's reconciliation
needs CR_03, CR_04, CR_05, CR_06 (the entries after the cutoff) and its target-value items;
the entity's time bounds (the horizon H and window_end) are computed once, by its worker.
Within an entity the steps are

    (entity, "evidence", item)   extract the item, run its C&A tests, write its evidence package
    (entity, "reconcile", "")    reconcile every line of the pack from those extracts
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from ..catalog.model import Catalog
from ..engines.base import Engine
from ..period import Period
from ..recon import EntityRef, ReconPack, entities

EVIDENCE = "evidence"
RECONCILE = "reconcile"
STAGES = (EVIDENCE, RECONCILE)


@dataclass(frozen=True)
class StepKey:
    entity: str
    stage: str
    item: str = ""

    def __str__(self) -> str:
        return f"{self.entity} {self.stage} {self.item}".rstrip()


@dataclass(frozen=True)
class ClosePlan:
    period: Period
    entities: tuple[EntityRef, ...]
    items: tuple[str, ...]  # every extractable catalog item, in catalog order
    recon_items: tuple[str, ...]  # the items reconciliation reads
    others: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # item → items its tests compare with

    @property
    def entity_ids(self) -> tuple[str, ...]:
        return tuple(e.company_id for e in self.entities)

    def entity(self, company_id: str) -> EntityRef:
        return next(e for e in self.entities if e.company_id == company_id)

    def steps(self) -> list[StepKey]:
        out: list[StepKey] = []
        for e in self.entities:
            out += [StepKey(e.company_id, EVIDENCE, i) for i in self.items]
            out.append(StepKey(e.company_id, RECONCILE))
        return out

    def needs(self, todo: Iterable[str]) -> tuple[str, ...]:
        """The items to extract so that ``todo`` can be tested: themselves and their others."""
        want = set(todo)
        for item in list(want):
            want.update(self.others.get(item, ()))
        return tuple(i for i in self.items if i in want)


def make_plan(engine: Engine, catalog: Catalog, pack: ReconPack, period: Period, only: Sequence[str] = ()) -> ClosePlan:
    """Entities in scope (``ref.companies.in_conso_scope``, or ``only``) and every extractable item."""
    scope = tuple(entities(engine, only))
    items = tuple(i.id for i in catalog.extractable())
    others = {i: catalog.item(i).compared_with for i in items}
    recon_items = tuple(i for i in items if i in set(pack.items))
    return ClosePlan(period, scope, items, recon_items, {k: v for k, v in others.items() if v})


def plan_from_run(run: dict, engine: Engine, catalog: Catalog, pack: ReconPack) -> ClosePlan:
    """The plan of a run being resumed: its period and entities, as recorded."""
    return make_plan(engine, catalog, pack, Period.parse(run["period"]), run["entities"])
