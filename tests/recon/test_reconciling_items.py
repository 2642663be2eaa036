"""Reconciling items (domain spec "Reconciling items"): clearing from CR_06, states, open
amounts, dispositions and their roll-forward, ages, findings, proposed journals; each case
worked out by hand on a hand-built ledger."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reconkit import D, PERIOD, balance, gl, run_line

from soxauto.recon import Status
from soxauto.recon.items import Disposition, ItemHistory, PriorItem, cleared_part

C = PERIOD.cutoff  # 2025-09-30; PACKAGES clears within 15 days: E = 2025-10-15
H = date(2025, 10, 20)


def ipe12(package_id: str, amount: str, in_tv: bool) -> dict:
    return {"company_id": "EC_NG", "package_id": package_id, "amount_expected": D(amount), "in_tv": in_tv,
            "delivered_at": datetime(2025, 9, 2)}


def after(account: str, amount: str, key: str | None, day: int, entry_no: int, **cols) -> dict:
    """A CR_06 entry posted ``day`` days after the cutoff."""
    return gl(account, amount, key, posted=C + timedelta(days=day), entry_no=entry_no, document_no=f"DOC{entry_no}", **cols)


def packages(cr06, *, horizon=H, history=None, keys=("P1",), g="100.00"):
    """Timing items on PACKAGES: each key posted ``g`` by C and closed (context) in IPE_12."""
    cr03 = [gl("13005", g, k) for k in keys]
    total = sum(D(g) for _ in keys)
    return run_line(Path("."), "PACKAGES", cr03=cr03, cr04=[balance("13005", str(total))],
                    tv=[ipe12(k, g, False) for k in keys], cr06=cr06, horizon=horizon, history=history)


def only(line, bridge="TIMING"):
    (item,) = line.reconciling.of(bridge)
    return item


def test_cleared_part_moves_only_towards_the_target_and_never_beyond_the_item():
    assert cleared_part(D("100.00"), D("-60.00")) == D("60.00")
    assert cleared_part(D("100.00"), D("-150.00")) == D("100.00")  # overshoot: the item, no more
    assert cleared_part(D("100.00"), D("50.00")) == D("0.00")  # away from the target value
    assert cleared_part(D("-80.00"), D("80.00")) == D("-80.00")  # the sign of delta
    assert cleared_part(D("-80.00"), D("-5.00")) == D("0.00")


def test_a_timing_item_cleared_after_the_cutoff_is_explained(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = packages([after("13005", "-100.00", "P1", 5, 9001)])
    item = only(line)
    assert (item.state, item.movement, item.cleared, item.open, item.window_end) == ("cleared", D("-100.00"), D("100.00"), D("0.00"),
                                                                                    date(2025, 10, 15))
    assert line.reconciling.clearing.to_pylist() == [{"key": "P1", "entry_no": 9001, "document_no": "DOC9001",
                                                      "posting_date": date(2025, 10, 5), "amount_lcy": D("-100.00"), "counted": True}]
    assert (line.unresolved_lcy, line.resolved_lcy) == (D("0.00"), D("100.00"))
    assert (line.status, line.auto_certification) == (Status.RECONCILED, "NO_OPEN_ITEMS")


def test_partly_cleared_item_is_uncleared_for_its_rest_once_the_window_has_passed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = packages([after("13005", "-60.00", "P1", 3, 1), after("13005", "-40.00", "P1", 18, 2)])  # the 2nd after E
    item = only(line)
    assert (item.state, item.movement, item.cleared, item.open) == ("uncleared", D("-60.00"), D("60.00"), D("40.00"))
    assert [r["counted"] for r in line.reconciling.clearing.to_pylist()] == [True, False]  # the late entry is shown
    assert line.unresolved_lcy == D("40.00") and line.auto_certification is None


def test_an_item_not_cleared_while_the_data_stops_before_its_window_end_is_pending(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = packages([after("13005", "-30.00", "P1", 3, 1)], horizon=date(2025, 10, 10))
    item = only(line)
    assert (item.state, item.cleared, item.open) == ("pending", D("30.00"), D("0.00"))
    # pending is explained, but a person prepares the line: it is not auto-certified
    assert (line.status, line.unresolved_lcy, line.auto_certification) == (Status.RECONCILED, D("0.00"), None)


def test_overshoot_and_movement_away_stay_visible(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = packages([after("13005", "-150.00", "P1", 2, 1), after("13005", "50.00", "P2", 2, 2)], keys=("P1", "P2"))
    p1, p2 = line.reconciling.of("TIMING")
    assert (p1.state, p1.movement, p1.cleared) == ("cleared", D("-150.00"), D("100.00"))
    assert (p2.state, p2.movement, p2.cleared, p2.open) == ("uncleared", D("50.00"), D("0.00"), D("100.00"))


def test_entries_after_the_horizon_are_not_clearing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = packages([after("13005", "-100.00", "P1", 8, 1)], horizon=date(2025, 10, 5))  # dated after H: not known yet
    item = only(line)
    assert (item.state, item.cleared) == ("pending", D("0.00"))


def test_a_carried_item_keeps_its_window_and_is_uncleared_at_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    history = ItemHistory(prior={("PACKAGES", "P1"): PriorItem(date(2025, 8, 31), "TIMING", D("0.00"))})
    line = packages([after("13005", "-100.00", "P1", 1, 1)], history=history)
    item = only(line)
    # E = 2025-08-31 + 15 days <= C: it should have cleared in September, and a later entry is too late
    assert (item.window_end, item.age_days, item.state, item.open) == (date(2025, 9, 15), 30, "uncleared", D("100.00"))


def test_old_items_make_a_stale_item_finding(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    history = ItemHistory(prior={("PACKAGES", "P1"): PriorItem(date(2025, 5, 31), "TIMING", D("100.00"))})
    line = packages([], history=history)
    (finding,) = [f for f in line.findings if f.code == "STALE_ITEM"]
    assert (finding.severity, finding.amount_lcy, finding.detail[0]["age_days"]) == ("warn", D("100.00"), 122)


def test_customer_ar_clears_at_customer_level_across_its_accounts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cust = {"source_type": "Customer", "source_no": "C1"}
    cr03 = [gl("13003", "70.00", None, **cust)]
    ipe07 = [{"company_id": "EC_NG", "customer_no": "C1", "remaining_amount_lcy": D("0.00"), "in_tv": False}]
    line = run_line(Path("."), "CUSTOMER_AR", cr03=cr03, cr04=[balance("13003", "70.00")], tv=ipe07, horizon=date(2025, 11, 30),
                    cr06=[after("13004", "-70.00", None, 10, 1, **cust), after("51100", "70.00", None, 10, 2, **cust)])
    item = only(line)
    assert (item.key, item.state, item.movement) == ("C1", "cleared", D("-70.00"))  # 51100 is not the line's


def test_booking_items_are_explained_in_every_state_and_overdue_ones_are_a_finding(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    voucher = lambda vid, reason: {"company_id": "EC_NG", "voucher_id": vid, "business_use": "refund", "is_active": False,  # noqa: E731
                                   "is_expired": False, "inactive_reason": reason, "discount_amount": D("40.00"),
                                   "used_discount_amount": D("0.00"), "remaining_amount": D("40.00"), "in_tv": False}
    cr03 = [gl("18412", "-40.00", None, voucher_no=v) for v in ("V1", "V2")]
    # V1's VTC was booked on 18412 after the cutoff; V2's never was. H is past E (C + 45 days).
    line = run_line(Path("."), "VOUCHERS", cr03=cr03, cr04=[balance("18412", "-80.00")], tv=[voucher("V1", "converted_to_cash"),
                    voucher("V2", "converted_to_cash")], horizon=date(2025, 11, 20),
                    cr06=[after("18412", "40.00", None, 12, 1, voucher_no="V1")])
    v1, v2 = line.reconciling.of("VTC_NOT_BOOKED")
    assert (v1.state, v1.open, v2.state, v2.open) == ("cleared", D("0.00"), "uncleared", D("0.00"))
    (finding,) = [f for f in line.findings if f.code == "BOOKING_OVERDUE"]
    assert (finding.severity, finding.amount_lcy, [d["key"] for d in finding.detail]) == ("warn", D("40.00"), ["V2"])
    # one proposed journal for the part not yet booked: debit 18412, credit the cash refunds clearing account
    assert [(j["debit"], j["credit"], j["amount_lcy"], j["items"]) for j in line.journals] == [("18412", "18415", D("40.00"), ["V2"])]
    assert (line.unresolved_lcy, line.status, line.auto_certification) == (D("0.00"), Status.RECONCILED, None)


def test_a_booking_journal_is_reversed_when_its_net_is_negative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expired = {"company_id": "EC_NG", "voucher_id": "V9", "business_use": "refund", "is_active": False, "is_expired": True,
               "inactive_reason": "expired", "discount_amount": D("10.00"), "used_discount_amount": D("0.00"),
               "remaining_amount": D("10.00"), "in_tv": False}
    line = run_line(Path("."), "VOUCHERS", cr03=[gl("18412", "10.00", None, voucher_no="V9")], cr04=[balance("18412", "10.00")],
                    tv=[expired])
    assert [(j["debit"], j["credit"], j["amount_lcy"]) for j in line.journals] == [("79100", "18412", D("10.00"))]


def disposition(kind="explained", open_lcy="30.00", key="P3", bridge="NOT_IN_TV", period="2025-09", **kw) -> Disposition:
    return Disposition(f"d-{key}-{period}", kind, "PACKAGES", key, bridge, D(open_lcy), period, reason="seller credit note 118",
                       sha256="ab" * 32, **kw)


def not_in_tv(history=None, amount="30.00", key="P3"):
    return run_line(Path("."), "PACKAGES", cr03=[gl("13005", amount, key)], cr04=[balance("13005", amount)], history=history,
                    cr05=[{"company_id": "EC_NG", "year": 2025, "month": 9, "rate_type": "Closing", "currency": "NGN",
                           "rate_lcy_per_usd": D("0.050000")}])  # 500 USD = 25.00 LCY: 30.00 is material


def test_an_exception_is_open_until_a_disposition_resolves_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = not_in_tv()
    # 30.00 LCY is under the bucket (1,000 USD = 50.00 LCY) but at or above the line item (25.00 LCY)
    assert (line.status, line.reasons, line.unresolved_lcy) == (Status.INVESTIGATE, ("MATERIAL_ITEM_UNRESOLVED",), D("30.00"))
    big = run_line(Path("."), "PACKAGES", cr03=[gl("13005", "60.00", "P3")], cr04=[balance("13005", "60.00")],
                   cr05=[{"company_id": "EC_NG", "year": 2025, "month": 9, "rate_type": "Closing", "currency": "NGN",
                          "rate_lcy_per_usd": D("0.050000")}])
    assert big.reasons == ("UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED")  # in the spec's order
    d = disposition()
    line = not_in_tv(ItemHistory(dispositions={("PACKAGES", "P3", "NOT_IN_TV"): d}))
    item = only(line, "NOT_IN_TV")
    assert (item.open, item.disposition, item.carried) == (D("30.00"), d, False)
    assert (line.status, line.reasons, line.unresolved_lcy, line.resolved_lcy) == (Status.RECONCILED, (), D("0.00"), D("30.00"))
    # an item with a disposition is still open: the line is RECONCILED, never auto-certified
    assert line.auto_certification is None


def test_a_disposition_for_another_amount_does_not_apply_and_is_reported_suspended(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = disposition(open_lcy="29.00")
    line = not_in_tv(ItemHistory(dispositions={("PACKAGES", "P3", "NOT_IN_TV"): d}))
    assert only(line, "NOT_IN_TV").disposition is None and line.reconciling.suspended == (d,)
    assert line.status is Status.INVESTIGATE


def test_explained_dispositions_roll_forward_on_the_same_item_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    august = disposition(period="2025-08")
    carried = lambda d, bridge="NOT_IN_TV", amount="30.00": ItemHistory(  # noqa: E731
        prior={("PACKAGES", "P3"): PriorItem(date(2025, 8, 31), bridge, D(amount), d)})
    item = only(not_in_tv(carried(august)), "NOT_IN_TV")
    assert (item.disposition, item.carried, item.age_days) == (august, True, 30)
    assert only(not_in_tv(carried(august), amount="31.00"), "NOT_IN_TV").disposition is None  # amount changed
    assert only(not_in_tv(carried(august, amount="31.00")), "NOT_IN_TV").disposition is None  # it was another amount
    assert only(not_in_tv(carried(august, bridge="TIMING")), "NOT_IN_TV").disposition is None  # bridge changed
    assert only(not_in_tv(carried(disposition(kind="adjust", period="2025-08"))), "NOT_IN_TV").disposition is None


def test_adjust_dispositions_propose_their_journal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = disposition(kind="adjust", journal={"debit": "60950", "credit": "13005", "description": "write off P3"})
    line = not_in_tv(ItemHistory(dispositions={("PACKAGES", "P3", "NOT_IN_TV"): d}))
    assert [(j["source"], j["debit"], j["credit"], j["amount_lcy"]) for j in line.journals] == [("adjust", "60950", "13005", D("30.00"))]


money = st.integers(min_value=-50_000, max_value=50_000).map(lambda c: Decimal(c).scaleb(-2))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(money, money, st.booleans(), st.one_of(st.none(), money), st.integers(1, 40)), min_size=1, max_size=6),
       money, st.integers(0, 30), st.integers(0, 3))
def test_variance_is_bridges_plus_unexplained_is_resolved_plus_unresolved(tmp_path_factory, rows, tie, h_days, resolve):
    """Random keys (GL, TV, in_tv, a post-cutoff movement and its day), a CR_03/CR_04 tie-out
    difference, a horizon, and dispositions on some open items: the identities hold exactly,
    and resolved is exactly what the items explain."""
    tmp = tmp_path_factory.mktemp("prop")
    cr03, tv, cr06 = [], [], []
    for n, (g, t, in_tv, move, day) in enumerate(rows):
        key = f"P{n}"
        if g:
            cr03.append(gl("13005", str(g), key))
        tv.append(ipe12(key, str(t), in_tv))
        if move is not None:
            cr06.append(after("13005", str(move), key, day, 1000 + n))
    book = sum((g for g, *_ in rows), Decimal("0.00")) + tie
    first = run_line(tmp, "PACKAGES", cr03=cr03, cr04=[balance("13005", str(book))], tv=tv, cr06=cr06, horizon=C + timedelta(days=h_days))
    chosen = [i for i in first.reconciling.items if i.open != 0][:resolve]
    history = ItemHistory(dispositions={("PACKAGES", i.key, i.bridge): Disposition(f"d{i.key}", "explained", "PACKAGES", i.key, i.bridge,
                                                                                   i.open, "2025-09", "checked") for i in chosen})
    line = run_line(tmp, "PACKAGES", cr03=cr03, cr04=[balance("13005", str(book))], tv=tv, cr06=cr06,
                    horizon=C + timedelta(days=h_days), history=history)
    assert line.variance_lcy == line.bridged_lcy + line.unexplained_lcy == line.resolved_lcy + line.unresolved_lcy
    explained = sum((i.amount - (Decimal(0) if i.disposition else i.open) for i in line.reconciling.items), Decimal("0.00"))
    assert line.resolved_lcy == explained
    assert line.unresolved_lcy == line.tie_out_difference + sum((i.open for i in line.reconciling.open_unresolved), Decimal("0.00"))
    assert {i.key for i in line.reconciling.items if i.disposition} == {i.key for i in chosen}
