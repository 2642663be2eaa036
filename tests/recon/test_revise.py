"""recon.revise: a line revised from its stored dict and items with dispositions equals a fresh
reconciliation of the same data with the same dispositions, figure for figure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from reconkit import D, PERIOD, balance, gl, run_line

from soxauto.close.items import items_table
from soxauto.recon.items import Disposition, ItemHistory, PriorItem
from soxauto.recon.result import EntityResult
from soxauto.recon.revise import applied, applied_table, revise

C = PERIOD.cutoff
RATE = [{"company_id": "EC_NG", "year": 2025, "month": 9, "rate_type": "Closing", "currency": "NGN", "rate_lcy_per_usd": D("0.050000")}]
REVISION = ("revision", "revision_cause")


def ipe12(key: str, amount: str, in_tv: bool) -> dict:
    return {"company_id": "EC_NG", "package_id": key, "amount_expected": D(amount), "in_tv": in_tv, "delivered_at": datetime(2025, 9, 2)}


def stored(line) -> tuple[dict, list[dict]]:
    """The line as the close stores it: its dict and its rows of the items file."""
    return line.to_dict(), items_table(EntityResult("EC_NG", "NG", "NGN", line.fx, (line,))).to_pylist()


def same(revised: dict, fresh: dict) -> None:
    """Equal but for the revision's own fields; proposed journals compared in a stable order."""
    def order(doc):
        return {**{k: v for k, v in doc.items() if k not in REVISION},
                "proposed_journals": sorted(doc["proposed_journals"], key=lambda j: (j["source"], j["bridge"], j["items"]))}

    assert order(revised) == order(fresh)


def explained(key: str, bridge: str, open_lcy: str, period: str = "2025-09", kind: str = "explained", **kw) -> Disposition:
    return Disposition(f"d-{key}-{kind}", kind, "PACKAGES", key, bridge, D(open_lcy), period, "support on file", sha256="cd" * 32, **kw)


def packages(history=None, tmp=Path(".")):
    cr03 = [gl("13005", "100.00", "P1"), gl("13005", "30.00", "P3"), gl("13005", "10.00", "P4"), gl("13005", "55.00", "P5")]
    cr06 = [gl("13005", "-100.00", "P1", posted=C + timedelta(days=5), entry_no=9001, document_no="DOC9001")]
    return run_line(tmp, "PACKAGES", cr03=cr03, cr04=[balance("13005", "195.00")],
                    tv=[ipe12("P1", "100.00", False), ipe12("P5", "50.00", True)], cr06=cr06, cr05=RATE,
                    horizon=date(2025, 10, 20), history=history)


def test_an_explained_and_an_adjust_disposition_give_the_fresh_figures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = packages()
    assert (before.status.value, before.reasons, before.unresolved_lcy) == ("INVESTIGATE", ("MATERIAL_ITEM_UNRESOLVED",), D("45.00"))
    line, items = stored(before)
    ds = {("PACKAGES", "P3", "NOT_IN_TV"): explained("P3", "NOT_IN_TV", "30.00"),
          ("PACKAGES", "P4", "NOT_IN_TV"): explained("P4", "NOT_IN_TV", "10.00", kind="adjust",
                                                     journal={"debit": "60950", "credit": "13005", "description": "write off P4"})}
    revised = revise(line, items, ds, cause=ds[("PACKAGES", "P4", "NOT_IN_TV")])
    fresh = packages(ItemHistory(dispositions=ds)).to_dict()
    same(revised, fresh)
    # worked out by hand: only P5's 5.00 (AMOUNT_DIFFERENCE) is left; under the bucket (50.00), under the line item (25.00)
    assert (revised["status"], revised["reasons"], revised["unresolved_lcy"], revised["resolved_lcy"], revised["unresolved_usd"]) == \
        ("RECONCILED", [], "5.00", "140.00", "100.00")
    assert revised["revision"] == 1 and revised["revision_cause"] == {"disposition": "d-P4-adjust", "sha256": "cd" * 32}
    assert [j["source"] for j in revised["proposed_journals"]] == ["adjust"]
    again = revise(revised, items, ds)
    assert again["revision"] == 2 and again["unresolved_lcy"] == "5.00"


def test_a_disposition_for_another_amount_is_suspended_and_a_carried_one_gives_way(tmp_path, monkeypatch):
    """P3 carries August's explained disposition (30.00); this period someone records one for
    29.00: neither applies, as in a fresh reconciliation, and the new one is listed suspended."""
    monkeypatch.chdir(tmp_path)
    august = explained("P3", "NOT_IN_TV", "30.00", period="2025-08")
    prior = {("PACKAGES", "P3"): PriorItem(date(2025, 8, 31), "NOT_IN_TV", D("30.00"), august)}
    before = packages(ItemHistory(prior=prior))
    line, items = stored(before)
    assert before.reconciling.of("NOT_IN_TV")[0].carried
    unchanged = revise(line, items, {})
    same(unchanged, before.to_dict())  # nothing recorded this period: the carried one still applies
    ds = {("PACKAGES", "P3", "NOT_IN_TV"): explained("P3", "NOT_IN_TV", "29.00")}
    revised = revise(line, items, ds)
    same(revised, packages(ItemHistory(prior=prior, dispositions=ds)).to_dict())
    assert revised["reconciling_items"]["suspended_dispositions"][0]["open_lcy"] == "29.00"
    assert revised["reconciling_items"]["carried_dispositions"] == 0 and revised["status"] == "INVESTIGATE"


def test_applied_marks_items_as_the_fresh_reconciliation_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, items = stored(packages())
    ds = {("PACKAGES", "P3", "NOT_IN_TV"): explained("P3", "NOT_IN_TV", "30.00"),
          ("PACKAGES", "P1", "TIMING"): explained("P1", "TIMING", "100.00")}  # P1 is cleared: nothing to resolve
    marked = [(r["key"], r["disposition"], r["disposition_id"]) for r in applied(items, ds, "2025-09")]
    _, fresh = stored(packages(ItemHistory(dispositions=ds)))
    assert marked == [(r["key"], r["disposition"], r["disposition_id"]) for r in fresh]
    assert ("P3", "explained", "d-P3-explained") in marked and ("P1", None, None) in marked


money = st.integers(min_value=-20_000, max_value=20_000).map(lambda c: Decimal(c).scaleb(-2))


# Not shrunk: each example reconciles twice, and shrinking a failure took minutes; the example is printed as found.
@settings(max_examples=12, deadline=None, derandomize=True, phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(money, money, st.booleans(), st.one_of(st.none(), money)), min_size=1, max_size=6),
       money, st.integers(0, 30), st.lists(st.tuples(st.booleans(), st.booleans()), min_size=6, max_size=6))
def test_revised_equals_fresh_for_any_ledger_and_choice_of_dispositions(tmp_path_factory, rows, tie, h_days, choice):
    """Random keys (GL, TV, in TV, a post-cutoff movement), a tie-out difference, a horizon; each
    open item given an explained or adjust disposition, or one for a wrong amount, or none."""
    tmp = tmp_path_factory.mktemp("revise")
    cr03, tv, cr06 = [], [], []
    for n, (g, t, in_tv, move) in enumerate(rows):
        if g:
            cr03.append(gl("13005", str(g), f"P{n}"))
        tv.append(ipe12(f"P{n}", str(t), in_tv))
        if move is not None:
            cr06.append(gl("13005", str(move), f"P{n}", posted=C + timedelta(days=1 + n), entry_no=1000 + n, document_no=f"D{n}"))
    book = str(sum((g for g, *_ in rows), Decimal("0.00")) + tie)

    def line(history=None):
        return run_line(tmp, "PACKAGES", cr03=cr03, cr04=[balance("13005", book)], tv=tv, cr06=cr06, cr05=RATE,
                        horizon=C + timedelta(days=h_days), history=history)

    before = line()
    ds = {}
    for item, (give, right) in zip([i for i in before.reconciling.items if i.open != 0], choice):
        if give:
            kind = "adjust" if len(ds) % 2 else "explained"
            amount = item.open if right else item.open + 1
            ds[("PACKAGES", item.key, item.bridge)] = Disposition(
                f"d{item.key}", kind, "PACKAGES", item.key, item.bridge, amount, "2025-09", "why",
                {"debit": "60950", "credit": "13005", "description": "fix"} if kind == "adjust" else None, "ab" * 32)
    stored_line, items = stored(before)
    revised = revise(stored_line, items, ds)
    fresh = line(ItemHistory(dispositions=ds)).to_dict()
    same(revised, fresh)
    assert Decimal(revised["variance_lcy"]) == Decimal(revised["resolved_lcy"]) + Decimal(revised["unresolved_lcy"])


def test_a_disposition_recorded_after_last_months_close_rolls_forward_through_applied_table(tmp_path, monkeypatch):
    """August closed with P3 open; P3 was explained afterwards (a revision, the items file unchanged).
    Reading August's items through ``applied_table`` with August's dispositions in force gives
    September the explained disposition to carry, as if August had closed with it."""
    import pyarrow as pa

    from soxauto.recon.items import prior_from_items

    monkeypatch.chdir(tmp_path)
    line = packages()
    table = items_table(EntityResult("EC_NG", "NG", "NGN", line.fx, (line,)))
    august_items = table.set_column(table.schema.get_field_index("period"), "period", pa.array(["2025-08"] * table.num_rows))
    late = {("PACKAGES", "P3", "NOT_IN_TV"): explained("P3", "NOT_IN_TV", "30.00", period="2025-08")}
    assert prior_from_items(august_items)[("PACKAGES", "P3")].disposition is None  # the file as the close wrote it
    prior = prior_from_items(applied_table(august_items, late, "2025-08"))
    carried = prior[("PACKAGES", "P3")].disposition
    assert (carried.id, carried.kind, carried.period, carried.open_lcy) == ("d-P3-explained", "explained", "2025-08", D("30.00"))
    september = packages(ItemHistory(prior=prior))
    item = next(i for i in september.reconciling.items if i.key == "P3")
    assert (item.disposition.id, item.carried) == ("d-P3-explained", True)
