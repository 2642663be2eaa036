"""The demo lake's story, as the product tells it: a scale-0.1 lake's three periods reconciled
in order (each month reading the previous one's items, as a close reads its predecessor's
items file), compared with ground_truth.json for every line and every reconciling item:
states, cleared and open amounts, window ends, ages, unresolved and resolved figures,
statuses, reasons, auto-certification and the ageing findings. The generator works all of
it out from its own event model (lake/demo/truth.py), never from the product's SQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from lakekit import generated
from reconkit import CATALOG, PACK

from soxauto.close.items import items_table
from soxauto.engines import connect
from soxauto.extract import extract, time_bounds
from soxauto.lake.binding import lake_binding
from soxauto.period import Period
from soxauto.recon import entities, reconcile
from soxauto.recon.items import ItemHistory, prior_from_items

PERIODS = ("2025-07", "2025-08", "2025-09")


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    lake = generated(tmp_path_factory.mktemp("story-lake"), scale=0.1, seed=7, first_period=Period(2025, 7), periods=3)
    truth = {(r["period"], r["company_id"], r["line"]): r for r in json.loads((lake / "ground_truth.json").read_text())["results"]}
    got, prior = {}, {}
    with connect(lake_binding(lake)) as engine:
        scope = entities(engine)
        for text in PERIODS:
            period = Period.parse(text)
            for ent in scope:
                bounds = time_bounds(engine, PACK, period, ent.company_id)
                extracts = {i: extract(engine, CATALOG.item(i), period, ent.company_id, bounds) for i in PACK.items}
                result = reconcile(engine, extracts, period, ent, pack=PACK,
                                   history=ItemHistory(prior.get(ent.company_id, {})))
                prior[ent.company_id] = prior_from_items(items_table(result))
                for line in result.lines:
                    got[(text, line.entity, line.line)] = line
    return got, truth


def line_figures(line) -> dict:
    return {"unresolved": str(line.unresolved_lcy), "resolved": str(line.resolved_lcy), "status": line.status.value,
            "reasons": list(line.reasons), "auto_certification": line.auto_certification,
            "item_states": {s: line.count(state=s) for s in ("cleared", "pending", "uncleared")},
            "open_items": line.count() - line.count(open=Decimal("0.00")),
            "findings": sorted(f.code for f in line.findings if f.code in ("BOOKING_OVERDUE", "STALE_ITEM"))}


def truth_figures(row: dict) -> dict:
    codes = sorted(f["code"] if isinstance(f, dict) else f for f in row["findings"])
    return {"unresolved": row["unresolved"], "resolved": row["resolved"], "status": row["status"], "reasons": row["reasons"],
            "auto_certification": row["auto_certification"], "item_states": row["item_states"], "open_items": row["open_items"],
            "findings": [c for c in codes if c in ("BOOKING_OVERDUE", "STALE_ITEM")]}


def item_figures(i) -> tuple:
    return (i.state, str(i.cleared), str(i.open), None if i.window_end is None else i.window_end.isoformat(), i.age_days)


def truth_item(t: dict) -> tuple:
    return (t.get("state"), t.get("cleared") or "0.00", t["open"], t.get("window_end"), t.get("age_days"))


@pytest.mark.parametrize("period", PERIODS)
def test_every_line_tells_the_story_of_the_ground_truth(story, period):
    got, truth = story
    keys = [k for k in truth if k[0] == period]
    assert len(keys) == 63
    mismatches = {k: (line_figures(got[k]), truth_figures(truth[k])) for k in keys if line_figures(got[k]) != truth_figures(truth[k])}
    assert mismatches == {}


@pytest.mark.parametrize("period", PERIODS)
def test_every_reconciling_item_has_the_state_open_amount_and_age_of_the_ground_truth(story, period):
    got, truth = story
    wrong = []
    for k in (k for k in truth if k[0] == period):
        mine = {(i.key, i.bridge): item_figures(i) for i in got[k].reconciling.items}
        theirs = {(t["key"], t["bridge"] or "UNEXPLAINED"): truth_item(t) for t in truth[k]["items"]}
        if mine != theirs:
            wrong.append((k, sorted(set(mine.items()) ^ set(theirs.items()), key=repr)[:4]))
    assert wrong == []


def test_the_story_is_not_vacuous(story):
    """The latest period shows each state, aged items carried from earlier months, a few
    INVESTIGATE lines and auto-certified ones: the comparisons above cover all of them."""
    got, _ = story
    latest = [ln for (p, _, _), ln in got.items() if p == "2025-09"]
    states = {i.state for ln in latest for i in ln.reconciling.items}
    assert {"cleared", "pending", "uncleared"} <= states
    assert any(i.age_days and i.age_days >= 61 for ln in latest for i in ln.reconciling.items)
    investigate = sum(1 for ln in latest if ln.status.value == "INVESTIGATE")
    assert 1 <= investigate <= 10 and sum(1 for ln in latest if ln.auto_certified) >= 1
