"""An item's compiled tests: the merged aggregate, one part per other rule, the statement
that cross-joins them, and the sample queries; built once per item (and set of shared source
batches) and reused for every extract of it."""

from __future__ import annotations

from typing import Any, Mapping

from sqlglot import exp

from ..catalog.model import ItemSpec
from ..catalog.rules import RuleSpec
from . import compile as c
from .shared import Member


def dataset_name(item_id: str) -> str:
    """Extracts are registered under a name that depends on the item only, so an item's
    compiled queries are the same objects for every entity and period (and render once)."""
    return f"ds_{item_id}".lower()


class Plan:
    """An item's compiled queries, built once per item and reused for every extract of it."""

    _cache: dict[tuple, "Plan"] = {}

    def __init__(self, item: ItemSpec, members: Mapping[str, Member], dense: frozenset[int] = frozenset()):
        """``dense``: indices of one-column integer key rules counted by bitmap
        (``compile.dense_unique_query``) instead of a distinct count in the merged aggregate."""
        self.item, self.members, self.dense = item, members, dense
        self.dataset = exp.to_table(dataset_name(item.id))
        rules = list(item.tests)
        self.metrics = [m for i, r in enumerate(rules) if i not in dense for m in c.metrics(i, r, item)]
        self.samples: dict[str, Any] = {}
        self.folded: set[int] = set()  # tie-outs whose extract side is in the merged aggregate
        parts = []
        for i, r in enumerate(rules):
            built = self._part(i, r)
            if built is not None:
                parts.append(built)
        self.parts = [c.merged_part(self.dataset, self.metrics), *parts]
        self.statement = c.statement(self.parts)
        self.others = [r.get("other") for r in rules if r.kind == "cross_source"]

    def _part(self, i: int, r: RuleSpec) -> c.Part | None:
        """The single-row part answering rule ``r`` (None when the merged aggregate does)."""
        if r.kind in ("source_tie_out", "cross_source"):
            if r.kind == "source_tie_out":
                totals, self.samples[r.id] = c.tie_out(r, self.dataset, self._source(r, "src"))
                if r.id in self.members and not r.get("by"):
                    # The source side is one row of a shared batch, already computed: the extract
                    # side joins the merged aggregate (no scan of its own) and the two rows are
                    # compared after the statement, as the comparison query would.
                    self.metrics += c.left_metrics(i, r)
                    self.folded.add(i)
                    return None
            else:
                totals, self.samples[r.id] = c.cross_source(r, self.dataset, exp.to_table(dataset_name(r.get("other"))))
            names = list(r.get("measures"))
            return c.part(i, totals, ["failing"] + [f"{side}_{n}" for n in names for side in ("left", "right")])
        if r.kind == "running_tie_out":
            totals, self.samples[r.id] = c.running_tie_out(r, self.dataset)
            names = list(r.get("measures"))
            return c.part(i, totals, ["failing"] + [f"{side}_{n}" for n in names for side in ("left", "right")])
        if r.kind == "witness":
            totals, self.samples[r.id] = c.witness_queries(r, self.item, self.dataset, self._source(r, "w"))
            return c.part(i, totals, ["witnesses", "failing"])
        if r.kind == "referential":
            totals, self.samples[r.id] = c.referential_queries(r, self.item, self.dataset, self._source(r, "s"))
            return c.part(i, totals, ["rows", "failing"])
        if r.kind == "unique" and i in self.dense:
            return c.part(i, c.dense_unique_query(self.dataset, c.unique_columns(r, self.item)[0]), ["failing"])
        if r.kind == "unique" and len(c.unique_columns(r, self.item)) > 1:
            return c.part(i, c.unique_total_query(self.dataset, c.unique_columns(r, self.item)), ["failing"])
        if r.kind == "first_digit":
            return c.part(i, c.first_digit_query(r, self.dataset), [f"d{d}" for d in c.DIGITS])
        return None

    def _source(self, r: RuleSpec, alias: str) -> exp.Subquery | None:
        member = self.members.get(r.id)
        return member.subquery(alias) if member is not None else None

    @classmethod
    def of(cls, item: ItemSpec, members: Mapping[str, Member], dense: frozenset[int] = frozenset()) -> "Plan":
        key = (id(item), tuple(sorted(members.items())), dense)
        plan = cls._cache.get(key)
        if plan is None or plan.item is not item:
            plan = cls._cache[key] = cls(item, dict(members), dense)
        return plan
