"""The ground truth's rules for reconciling items, read as ledgers: clearing after the cutoff,
window ends and the data horizon, age runs, open amounts, unresolved and the status, booking
findings and journals, auto-certification. Then its invariants, on random ledgers (hypothesis)
and on a generated lake, and its copy of the pack's settings against the pack's own files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lakekit import generated

from soxauto.lake.demo import truth as T
from soxauto.lake.demo.ledger import ACCOUNTS, LINES, LINE_NAMES, Posted, TVRows
from soxauto.lake.demo.truth import Item, LineTruth, Runs, line_truth
from soxauto.lake.demo.world import day_of, month_of
from soxauto.period import Period

PACK = Path(__file__).resolve().parents[2] / "src" / "soxauto" / "packs" / "cpg1" / "recon"
SEP, AUG, JUL = (month_of(Period(2025, m)) for m in (9, 8, 7))
H = day_of(date(2025, 10, 20))


def d(text: str) -> int:
    return day_of(date.fromisoformat(text))


def ledger(line: str, *rows: tuple[int, int, str]) -> Posted:
    """G/L entries (key, cents debit +, date) on the line's first account; key -1 is no key."""
    n = len(rows)
    account = next(i for i, a in enumerate(ACCOUNTS) if a[0] == LINES[line][0][0])
    return Posted(line=np.full(n, LINE_NAMES.index(line), np.int8), key=np.array([r[0] for r in rows], np.int64),
                  amount=np.array([r[1] for r in rows], np.int64), day=np.array([d(r[2]) for r in rows], np.int64),
                  integration=np.ones(n, bool), account=np.full(n, account, np.int64))


def context(*keys: int) -> TVRows:
    """TV rows of items that left the population in the period (in_tv false, measure 0)."""
    k = np.array(keys, np.int64)
    return TVRows(k, np.zeros(len(k), bool), np.zeros(len(k), np.int64))


def items(t: LineTruth) -> dict[str, tuple]:
    return {i.key: (i.bridge, i.amount, i.state, i.movement, i.cleared, i.open, i.age_days) for i in t.items}


# --- clearing -------------------------------------------------------------------------------------


def test_timing_items_of_a_15_day_line_clear_only_towards_the_target_within_the_window_and_h() -> None:
    # PACKAGES (asset, W = 15): each package delivered on 10 Sep (debit 100.00) was reconciled in
    # September (a context row), so each is a TIMING item of 100.00; E = 30 Sep + 15 = 15 Oct <= H.
    opened = [(k, 10000, "2025-09-10") for k in range(1, 7)]
    posted = ledger("PACKAGES", *opened,
                    (1, -10000, "2025-10-05"),  # posted within the window: cleared
                    (2, -10000, "2025-10-18"),  # after E: not read, uncleared
                    (3, -4000, "2025-10-03"),  # part of it: 40.00 cleared, 60.00 open
                    (4, 3000, "2025-10-02"),  # away from the target value: nothing cleared
                    (5, -15000, "2025-10-01"),  # overshoots: never more than the item
                    (6, -10000, "2025-11-25"),  # a mistyped future date, after H
                    (7, 5000, "2025-09-12"),  # unknown to IPE_12: NOT_IN_TV
                    (-1, 1234, "2025-09-05"))  # a manual journal
    t, runs = line_truth("PACKAGES", posted, context(1, 2, 3, 4, 5, 6), SEP, "EC_NG", "NGN", horizon=H)
    assert items(t) == {
        "manual": ("MANUAL_ADJUSTMENT", 1234, None, None, None, 1234, None),
        "1": ("TIMING", 10000, "cleared", -10000, 10000, 0, 0),
        "2": ("TIMING", 10000, "uncleared", 0, 0, 10000, 0),
        "3": ("TIMING", 10000, "uncleared", -4000, 4000, 6000, 0),
        "4": ("TIMING", 10000, "uncleared", 3000, 0, 10000, 0),
        "5": ("TIMING", 10000, "cleared", -15000, 10000, 0, 0),
        "6": ("TIMING", 10000, "uncleared", 0, 0, 10000, 0),
        "7": ("NOT_IN_TV", 5000, None, None, None, 5000, 0),
    }
    assert {i.window_end for i in t.items if i.state} == {d("2025-10-15")}
    assert (t.variance, t.unresolved, t.resolved) == (66234, 42234, 24000)
    assert t.variance == sum(b for _, b, _ in t.bridges) + t.unexplained == t.resolved + t.unresolved
    assert t.status == ("RECONCILED", ())  # 422.34 at 1 LCY per USD: below the bucket, no item of 500
    assert t.auto_certification is None  # it has open items
    assert dict(zip(runs.keys.tolist(), runs.start.tolist())) == {k: SEP.cutoff for k in range(1, 8)}


def test_a_45_day_line_waits_for_its_window_and_a_carried_item_is_uncleared_at_once() -> None:
    # PREPAYMENTS (liability, W = 45): E = 14 Nov > H = 20 Oct, so what has not cleared is pending.
    posted = ledger("PREPAYMENTS", (1, -10000, "2025-09-10"), (2, -10000, "2025-09-10"), (3, -10000, "2025-07-10"),
                    (4, -10000, "2025-09-10"),
                    (1, 10000, "2025-10-10"),  # released after the cutoff: presented -100.00, cleared
                    (3, 10000, "2025-10-02"),  # carried since July: its window ended 14 Sep, nothing is read
                    (4, 10000, "2025-10-25"))  # after H (a mistyped date): not read before the data get there
    runs = Runs(np.array([3]), np.array([JUL.cutoff]))
    t, nxt = line_truth("PREPAYMENTS", posted, context(1, 2, 3, 4), SEP, "EC_NG", "NGN", horizon=H, runs=runs)
    assert items(t) == {
        "1": ("TIMING", 10000, "cleared", -10000, 10000, 0, 0),
        "2": ("TIMING", 10000, "pending", 0, 0, 0, 0),
        "3": ("TIMING", 10000, "uncleared", None, 0, 10000, 61),
        "4": ("TIMING", 10000, "pending", 0, 0, 0, 0),
    }
    assert {i.key: i.window_end for i in t.items} == {"1": d("2025-11-14"), "2": d("2025-11-14"), "3": d("2025-09-14"),
                                                      "4": d("2025-11-14")}
    assert nxt.start.tolist() == [SEP.cutoff, SEP.cutoff, JUL.cutoff, SEP.cutoff]  # a run keeps its first cutoff
    # With no horizon the data end at C: nothing after the cutoff is known, the new items are pending.
    t0, _ = line_truth("PREPAYMENTS", posted, context(1, 2, 3, 4), SEP, "EC_NG", "NGN")
    assert [i.state for i in t0.items] == ["pending", "pending", "pending", "pending"]


def test_age_runs_follow_consecutive_months_and_a_gap_breaks_them() -> None:
    posted = ledger("PACKAGES",
                    (1, 10000, "2025-07-10"),  # unknown to IPE_12 from July on
                    (2, 10000, "2025-07-10"), (2, -10000, "2025-08-05"),  # an item in July only
                    (2, 5000, "2025-09-03"),  # and again in September: a new run
                    (3, 10000, "2025-08-20"))  # from August
    ages, runs = [], Runs.none()
    for m in (JUL, AUG, SEP):
        t, runs = line_truth("PACKAGES", posted, context(), m, "EC_NG", "NGN", horizon=H, runs=runs)
        ages.append({i.key: i.age_days for i in t.items})
    assert ages == [{"1": 0, "2": 0}, {"1": 31, "3": 0}, {"1": 61, "2": 0, "3": 30}]


# --- booking items ----------------------------------------------------------------------------------


def vouchers(*rows: tuple[int, bool, bool, int]) -> TVRows:
    """IPE_08 context rows: (voucher, is_expired, is_active, reason 1 VTC / 2 cancelled / 3 expired)."""
    k = np.array([r[0] for r in rows], np.int64)
    return TVRows(k, np.zeros(len(k), bool), np.zeros(len(k), np.int64),
                  dict(is_expired=np.array([r[1] for r in rows]), active=np.array([r[2] for r in rows]),
                       reason=np.array([r[3] for r in rows]), used=np.zeros(len(k), np.int64)))


def test_booking_items_are_explained_in_every_state_and_an_overdue_one_is_a_finding() -> None:
    posted = ledger("VOUCHERS", (1, -4000, "2025-08-10"), (2, -2500, "2025-06-10"), (3, -1000, "2025-09-02"),
                    (1, 4000, "2025-10-10"))  # voucher 1's expiry written off after the cutoff
    runs = Runs(np.array([2]), np.array([JUL.cutoff]))  # voucher 2 expired in July, never written off
    t, _ = line_truth("VOUCHERS", posted, vouchers((1, True, False, 3), (2, True, False, 3), (3, False, False, 1)),
                      SEP, "EC_NG", "NGN", horizon=H, runs=runs)
    assert items(t) == {
        "1": ("EXPIRED_NOT_WRITTEN_OFF", 4000, "cleared", -4000, 4000, 0, 0),
        "2": ("EXPIRED_NOT_WRITTEN_OFF", 2500, "uncleared", None, 0, 0, 61),
        "3": ("VTC_NOT_BOOKED", 1000, "pending", 0, 0, 0, 0),
    }
    assert (t.unresolved, t.resolved, t.status) == (0, 7500, ("RECONCILED", ()))
    assert t.findings == ({"code": "BOOKING_OVERDUE", "severity": "warn", "items": 1, "amount": "25.00", "keys": ["2"]},)
    assert t.auto_certification is None
    assert t.proposed_journals() == [
        {"bridge": "EXPIRED_NOT_WRITTEN_OFF", "debit": "18412", "credit": "79100", "amount": "25.00",
         "description": "Write-off of expired store credit vouchers (breakage)", "items": 1},
        {"bridge": "VTC_NOT_BOOKED", "debit": "18412", "credit": "18415", "amount": "10.00",
         "description": "Refund vouchers converted to cash (VTC)", "items": 1}]


# --- status, thresholds, auto-certification -------------------------------------------------------------


def line(*opens: int, rate: str = "2", country: str = "NG", name: str = "PREPAYMENTS", **kw) -> LineTruth:
    """A line whose items are exceptions with these open amounts (cents)."""
    its = tuple(Item(str(j), "NOT_IN_TV", "exception", c, 0, open=c) for j, c in enumerate(opens))
    fields = dict(gl_amount=sum(opens), tv_amount=0, bridges=(("NOT_IN_TV", sum(opens), len(opens)),), unexplained=0)
    fields.update(kw)
    return LineTruth("2025-09", "X", "LCY", name, country=country, rate_micros=int(Decimal(rate) * 1_000_000),
                     items=its, **fields)


@pytest.mark.parametrize("opens, status", [
    ((99999,), ("RECONCILED", ())),  # 999.99 LCY at 2 per USD = 499.995 USD: below the line item threshold
    ((100000,), ("INVESTIGATE", ("MATERIAL_ITEM_UNRESOLVED",))),  # exactly 500 USD
    ((-100000,), ("INVESTIGATE", ("MATERIAL_ITEM_UNRESOLVED",))),  # by size, whatever its sign
    ((70000, 70000, 59999), ("RECONCILED", ())),  # 1,999.99 LCY: below the bucket of 2,000.00
    ((-70000, -70000, -60000), ("INVESTIGATE", ("UNRESOLVED_ABOVE_BUCKET",))),  # exactly the bucket
    ((100000, 100000), ("INVESTIGATE", ("UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED"))),
    ((150000, -150000), ("INVESTIGATE", ("MATERIAL_ITEM_UNRESOLVED",))),  # they net to zero, each is material
])
def test_status_compares_exactly_in_lcy(opens, status) -> None:
    assert line(*opens).status == status


def test_egypt_vouchers_items_are_material_from_5000_usd() -> None:
    assert T.line_item_usd("EG", "VOUCHERS") == 5000 and T.line_item_usd("EG", "PREPAYMENTS") == 500
    assert T.line_item_usd("NG", "VOUCHERS") == 500
    assert line(499999, rate="1", country="EG", name="VOUCHERS").status == ("INVESTIGATE", ("UNRESOLVED_ABOVE_BUCKET",))
    assert line(500000, rate="1", country="EG", name="VOUCHERS").status[1] == ("UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED")
    assert line(50000, rate="1", country="EG", name="VOUCHERS").status == ("RECONCILED", ())
    assert line(50000, rate="1", country="NG", name="VOUCHERS").status == ("INVESTIGATE", ("MATERIAL_ITEM_UNRESOLVED",))


def test_unresolved_counts_the_tie_out_difference_and_usd_is_rounded_half_even() -> None:
    t = line(12345, rate="2", tie_out=100, gl_amount=12445, unexplained=100)
    assert (t.unresolved, t.resolved) == (12445, 0)
    assert t.to_json()["unresolved_usd"] == "62.22"  # 124.45 / 2 = 62.225 -> 62.22
    assert T.usd_text(12475, 2_000_000) == "62.38" and T.usd_text(-12475, 2_000_000) == "-62.38"
    assert line(5, failed_tests=("CR_04.tie_out",)).to_json()["unresolved_usd"] is None  # ERROR: no USD figures


def timing(state: str, age: int = 0) -> Item:
    cleared = 100 if state == "cleared" else 0
    return Item("k", "TIMING", "timing", 100, age, 0, -cleared, cleared, state, 100 - cleared if state == "uncleared" else 0)


@pytest.mark.parametrize("kw, code", [
    (dict(gl_amount=0, tv_amount=0), "ZERO_BALANCE"),
    (dict(gl_amount=500, tv_amount=500, activity=False), "NO_ACTIVITY"),
    (dict(gl_amount=500, tv_amount=400, items=(timing("cleared"),)), "NO_OPEN_ITEMS"),
    (dict(gl_amount=500, tv_amount=400, items=(timing("pending"),)), None),  # a pending item
    (dict(gl_amount=500, tv_amount=400, items=(timing("uncleared"),)), None),  # an open item
    (dict(gl_amount=500, tv_amount=400, items=(Item("v", "VTC_NOT_BOOKED", "booking", 100, 0, 0, 0, 0, "uncleared"),)),
     None),  # BOOKING_OVERDUE
    (dict(gl_amount=500, tv_amount=500, failed_tests=("IPE_10.key",)), None),  # ERROR
])
def test_auto_certification(kw, code) -> None:
    t = LineTruth("2025-09", "X", "LCY", "PREPAYMENTS", bridges=(), unexplained=0, **kw)
    assert t.auto_certification == code


def test_an_item_older_than_the_max_age_is_stale_unless_cleared() -> None:
    t = LineTruth("2025-09", "X", "LCY", "PREPAYMENTS", 100, 0, (), 0, items=(timing("cleared", 92),))
    assert t.findings == ()
    old = Item("k", "NOT_IN_TV", "exception", 100, 91, open=100)
    t = LineTruth("2025-09", "X", "LCY", "PREPAYMENTS", 100, 0, (), 0, items=(old, Item("j", "NOT_IN_TV", "exception", 5, 90, open=5)))
    assert t.findings == ({"code": "STALE_ITEM", "severity": "warn", "items": 1, "amount": "1.00", "keys": ["k"]},)


# --- invariants -----------------------------------------------------------------------------------


def check(t: LineTruth) -> None:
    """What holds for every line, exactly in cents."""
    assert t.variance == sum(b for _, b, _ in t.bridges) + t.unexplained == t.resolved + t.unresolved
    assert t.unresolved == t.tie_out + sum(i.open for i in t.items)
    for name, amount, keys in t.bridges:
        mine = [i for i in t.items if i.bridge == name]
        assert (sum(i.amount for i in mine), len(mine)) == (amount, keys)
    assert sum(i.amount for i in t.items if i.bridge is None) == t.unexplained - t.tie_out
    for i in t.items:
        assert i.amount != 0
        if i.nature in ("timing", "booking"):
            assert abs(i.cleared) <= abs(i.amount) and i.cleared * i.amount >= 0
            assert (i.state == "cleared") == (i.cleared == i.amount)
            assert i.open == (i.amount - i.cleared if i.nature == "timing" and i.state == "uncleared" else 0)
        else:
            assert (i.state, i.cleared, i.open) == (None, None, i.amount)


entries = st.lists(st.tuples(st.integers(-1, 6), st.integers(-5000, 5000), st.integers(-60, 40)), max_size=25)
tv_rows = st.lists(st.tuples(st.integers(0, 6), st.booleans(), st.integers(-5000, 5000)), max_size=10)


@settings(max_examples=200, deadline=None)
@given(entries, tv_rows, st.sampled_from(["PACKAGES", "PREPAYMENTS", "CUSTOMER_AR"]), st.integers(0, 30),
       st.lists(st.integers(0, 6), unique=True, max_size=4))
def test_invariants_hold_on_any_ledger(rows, tv, name, tail, carried) -> None:
    c = SEP.cutoff
    posted = Posted(line=np.zeros(len(rows), np.int8), key=np.array([r[0] for r in rows], np.int64),
                    amount=np.array([r[1] for r in rows], np.int64), day=np.array([c + r[2] for r in rows], np.int64),
                    integration=np.ones(len(rows), bool), account=np.zeros(len(rows), np.int64))
    tvr = TVRows(np.array([r[0] for r in tv], np.int64), np.array([r[1] for r in tv], bool),
                 np.array([r[2] for r in tv], np.int64))
    runs = Runs(np.array(sorted(carried), np.int64), np.full(len(carried), AUG.cutoff, np.int64))
    t, nxt = line_truth(name, posted, tvr, SEP, "EC_NG", "NGN", horizon=c + tail, runs=runs)
    check(t)
    assert set(nxt.keys.tolist()) == {int(i.key) for i in t.items if i.key != "manual"}


ARGS = dict(scale=0.01, seed=7, first_period=Period(2025, 8), periods=2)  # tests/lake/test_generate.py's lake


@pytest.fixture(scope="module")
def truth(tmp_path_factory) -> dict:
    import json

    lake = generated(tmp_path_factory.mktemp("truth") / "lake", **ARGS)
    return json.loads((lake / "ground_truth.json").read_text("utf-8"))


def test_the_generated_truth_keeps_every_invariant_in_its_json(truth: dict) -> None:
    assert len(truth["results"]) == 9 * 7 * 2
    money = Decimal
    for r in truth["results"]:
        variance, resolved, unresolved = (money(r[k]) for k in ("variance", "resolved", "unresolved"))
        assert variance == sum(money(v) for v in r["bridges"].values()) + money(r["unexplained"]) == resolved + unresolved, r["line"]
        assert unresolved == money(r["tie_out_difference"]) + sum(money(i["open"]) for i in r["items"])
        rate = money(r["closing_rate"])
        usd = lambda x: (x / rate).quantize(Decimal("0.01"))  # noqa: E731 (half-even is Decimal's default)
        assert (money(r["unresolved_usd"]), money(r["resolved_usd"])) == (usd(unresolved), usd(resolved))
        item_usd = 5000 if (r["company_id"], r["line"]) == ("JM_EG", "VOUCHERS") else 500
        material = [i for i in r["items"] if abs(money(i["open"])) >= item_usd * rate]
        reasons = (["UNRESOLVED_ABOVE_BUCKET"] if abs(unresolved) >= 1000 * rate else []) + \
                  (["MATERIAL_ITEM_UNRESOLVED"] if material else [])
        assert (r["status"], r["reasons"], r["material_open_items"]) == \
               ("INVESTIGATE" if reasons else "RECONCILED", reasons, len(material))
        by_state = {s: sum(1 for i in r["items"] if i["state"] == s) for s in ("cleared", "pending", "uncleared")}
        assert r["item_states"] == by_state
        for i in r["items"]:
            if i["state"]:  # the window end is the cutoff of the run's first period + W
                w = 15 if r["line"] in ("COLLECTIONS", "PACKAGES") else 45
                first = date.fromisoformat(r["period"] + "-01")
                cutoff = date(first.year + first.month // 12, first.month % 12 + 1, 1).toordinal() - 1
                assert date.fromisoformat(i["window_end"]).toordinal() == cutoff - i["age_days"] + w
        quiet = r["status"] == "RECONCILED" and not r["findings"] and not r["open_items"] and not by_state["pending"]
        assert (r["auto_certification"] is not None) == quiet


# --- the truth's copy of the pack -----------------------------------------------------------------


def test_the_truths_settings_are_the_packs() -> None:
    lines = yaml.safe_load((PACK / "lines.yaml").read_text("utf-8"))
    assert lines["max_age_days"] == T.MAX_AGE_DAYS
    assert {ln["id"]: ln.get("clearing_window_days", T.DEFAULT_WINDOW_DAYS) for ln in lines["lines"]} == \
           {name: T.window_days(name) for name in LINE_NAMES}
    assert {ln["id"]: (tuple(ln["gl_accounts"]), ln["class"] == "liability") for ln in lines["lines"]} == \
           {name: (accounts, liability) for name, (accounts, liability, _) in LINES.items()}
    families = yaml.safe_load((PACK / "bridges.yaml").read_text("utf-8"))["families"]
    assert {f: [(r["id"], r["nature"]) for r in rules] for f, rules in families.items()} == \
           {"GENERIC": list(T.NATURES["generic"].items()), "VOUCHERS": list(T.NATURES["vouchers"].items())}
    journals = {r["id"]: (r["journal"]["debit"], r["journal"]["credit"], r["journal"]["description"])
                for rules in families.values() for r in rules if "journal" in r}
    assert journals == T.JOURNALS
    default = yaml.safe_load((PACK / "thresholds" / "DEFAULT.yaml").read_text("utf-8"))["rules"]
    assert {r["measure"]: Decimal(r["value"]) for r in default}["BUCKET_USD"] == T.BUCKET_USD
    assert {r["measure"]: Decimal(r["value"]) for r in default}["LINE_ITEM_USD"] == T.LINE_ITEM_USD
    eg = yaml.safe_load((PACK / "thresholds" / "EG.yaml").read_text("utf-8"))["rules"]
    scoped = {("EG", r["gl_account"]): Decimal(r["value"]) for r in eg if r["measure"] == "LINE_ITEM_USD"}
    assert scoped == T.LINE_ITEM_USD_BY_ACCOUNT
    assert not [r for r in eg if r["measure"] == "BUCKET_USD"]  # one bucket everywhere
