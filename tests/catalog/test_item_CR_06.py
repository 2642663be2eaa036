"""CR_06 NAV GL entries after cutoff: the reconciled accounts' postings with
C < posting_date <= min(window_end, horizon), the proof of subsequent clearing."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from lakekit import D, generated, write_lake

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.errors import UsageError
from soxauto.evidence.package import write_package
from soxauto.extract import extract, horizon, time_bounds
from soxauto.lake.binding import lake_binding
from soxauto.lake.contract import contract
from soxauto.period import Period
from soxauto.recon import load_pack
from soxauto.validation import Outcome, validate

SEP = Period.parse("2025-09")
C = SEP.cutoff  # 2025-09-30
BATCH = "JUMIA\\NAV31AFR.BATCH.SRVC"
PERSON = "JUMIA\\ADA.OBI"
CATALOG = load_catalog()
CR_06 = CATALOG.item("CR_06")


def entry(no, day, amount, account="18412", company="EC_NG", user=BATCH, **more):
    return {"company_id": company, "entry_no": no, "posting_date": day, "gl_account_no": account,
            "amount": D(amount), "user_id": user, **more}


def balance(day, amount, refreshed, account="18412", company="EC_NG"):
    return {"company_id": company, "closing_date": day, "gl_account_no": account, "currency": "NGN",
            "balance_lcy": D(amount), "refreshed_at": refreshed}


# H = 2025-10-20 (the latest refresh of EC_NG's balances, time of day dropped); window_end is
# given per test. Each entry says why it is in or out.
ENTRIES = [
    entry(1, date(2025, 9, 30), "-100.00", voucher_no="V1"),     # on the cutoff: CR_03's, not CR_06's
    entry(2, date(2025, 10, 1), "40.00", voucher_no="V1"),       # the day after the cutoff: in
    entry(3, date(2025, 10, 20), "25.00", user=PERSON),           # on the horizon: in
    entry(4, date(2025, 10, 21), "7.00"),                         # after the horizon: out
    entry(5, date(2025, 10, 5), "1.50", account="60000"),         # not a reconciled account: out
    entry(6, date(2025, 10, 5), "-9.00", company="JM_EG"),        # another company: out
    entry(7, date(2025, 10, 10), "-33.25", account="13003", source_type="Customer", source_no="C1"),  # in
]
BALANCES = [
    balance(date(2025, 9, 30), "-100.00", datetime(2025, 10, 2, 3, 0)),
    balance(date(2025, 8, 31), "-60.00", datetime(2025, 9, 1, 3, 0)),
    # a later refresh of the same month-end snapshot: the horizon is read over every row
    balance(date(2025, 9, 30), "0.00", datetime(2025, 10, 20, 23, 59, 59), account="13003"),
    balance(date(2025, 9, 30), "-9.00", datetime(2025, 12, 31, 3, 0), company="JM_EG"),  # not EC_NG's
]
WINDOW_END = date(2025, 11, 14)


def run(lake, bounds=None, item=CR_06, company="EC_NG"):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, item, SEP, company, bounds if bounds is not None else {"window_end": WINDOW_END})


def entry_nos(result):
    return [row["entry_no"] for row in result.table.to_pylist()]


def test_entries_after_the_cutoff_up_to_the_horizon_on_reconciled_accounts(tmp_path):
    result = run(write_lake(tmp_path, {"nav.gl_entries": ENTRIES, "nav.gl_balances": BALANCES}))

    assert entry_nos(result) == [2, 3, 7]
    assert [r["integration_type"] for r in result.table.to_pylist()] == ["Integration", "Manual", "Integration"]
    assert result.control_totals == {"amount": D("31.75")}
    assert result.parameters["horizon"] == date(2025, 10, 20)
    assert result.parameters["window_end"] == WINDOW_END


def test_the_window_end_bounds_when_it_comes_before_the_horizon(tmp_path):
    entries = [entry(1, date(2025, 10, 31), "1.00"), entry(2, date(2025, 11, 1), "2.00")]
    balances = [balance(C, "0.00", datetime(2025, 12, 1, 3, 0))]
    lake = write_lake(tmp_path, {"nav.gl_entries": entries, "nav.gl_balances": balances})

    result = run(lake, {"window_end": date(2025, 10, 31)})

    assert entry_nos(result) == [1]  # = window_end in, the day after out, though H is later
    assert result.parameters["horizon"] == date(2025, 12, 1)


def test_same_columns_as_cr_03_integration_type_included(tmp_path):
    result = run(write_lake(tmp_path, {"nav.gl_entries": ENTRIES, "nav.gl_balances": BALANCES}))

    assert result.table.column_names == list(contract().table("nav.gl_entries").column_names) + ["integration_type"]
    assert [(c.name, c.type, c.nullable) for c in CR_06.output] == [(c.name, c.type, c.nullable) for c in CATALOG.item("CR_03").output]
    assert [(p.name, p.default) for p in CR_06.parameters] == [(p.name, p.default) for p in CATALOG.item("CR_03").parameters]
    assert (CR_06.kind, CR_06.version, CR_06.owner) == ("CR", "1.0.0", CATALOG.item("CR_03").owner)
    assert CR_06.key == ("entry_no",)
    assert "subsequent clearing" in CR_06.notes


def test_the_horizon_is_the_date_of_the_latest_refresh_of_the_companys_balances(tmp_path):
    lake = write_lake(tmp_path, {"nav.gl_balances": BALANCES})
    with DuckDBEngine(lake_binding(lake)) as engine:
        assert horizon(engine, "EC_NG", SEP) == date(2025, 10, 20)  # 23:59:59 is still that day
        assert horizon(engine, "JM_EG", SEP) == date(2025, 12, 31)  # each company its own
        assert horizon(engine, "JM_EG", Period(2026, 1)) == date(2026, 1, 31)  # before that cutoff: C


def test_a_horizon_before_the_cutoff_is_the_cutoff_and_nothing_after_it_is_read(tmp_path):
    stale = [balance(C, "-100.00", datetime(2025, 9, 15, 8, 0))]  # refreshed before the cutoff
    lake = write_lake(tmp_path, {"nav.gl_entries": ENTRIES, "nav.gl_balances": stale})

    result = run(lake)

    assert result.parameters["horizon"] == C
    assert entry_nos(result) == []


def test_a_company_without_balances_has_the_cutoff_as_horizon(tmp_path):
    lake = write_lake(tmp_path, {"nav.gl_entries": ENTRIES, "nav.gl_balances": BALANCES})
    with DuckDBEngine(lake_binding(lake)) as engine:
        assert horizon(engine, "EC_KE", SEP) == C

    result = run(lake, company="EC_KE")

    assert result.parameters["horizon"] == C and result.row_count == 0


def test_a_future_dated_entry_after_the_horizon_is_not_read(tmp_path):
    # A mistyped year: within a (very long) window, but after what the ledger is known to.
    entries = [entry(1, date(2025, 10, 3), "5.00"), entry(2, date(2026, 10, 3), "5000.00")]
    balances = [balance(C, "0.00", datetime(2025, 10, 6, 3, 0))]
    lake = write_lake(tmp_path, {"nav.gl_entries": entries, "nav.gl_balances": balances})

    result = run(lake, {"window_end": C + timedelta(days=3650)})

    assert entry_nos(result) == [1]


def test_without_window_end_the_extraction_is_refused_with_how_to_bind_it(tmp_path):
    lake = write_lake(tmp_path, {"nav.gl_entries": ENTRIES, "nav.gl_balances": BALANCES})

    with pytest.raises(UsageError) as refused:
        run(lake, {})

    message = str(refused.value)
    assert message.startswith("CR_06 reads :window_end")
    assert "largest clearing window of the recon pack's lines" in message and "time_bounds" in message
    assert refused.value.exit_code == 3


def test_a_given_horizon_is_used_as_is_and_no_query_computes_it(tmp_path):
    lake = write_lake(tmp_path, {"nav.gl_entries": ENTRIES, "nav.gl_balances": BALANCES})
    with DuckDBEngine(lake_binding(lake)) as engine:
        ran = []
        original = engine.run
        engine.run = lambda query, params: ran.append(query) or original(query, params)
        result = extract(engine, CR_06, SEP, "EC_NG", {"window_end": WINDOW_END, "horizon": "2025-10-01"})

    assert len(ran) == 1  # the extract itself
    assert result.parameters["horizon"] == date(2025, 10, 1)
    assert entry_nos(result) == [2]


def test_time_bounds_come_from_the_pack_and_the_lake_and_other_items_ignore_them(tmp_path):
    lake = write_lake(tmp_path, {"nav.gl_entries": ENTRIES, "nav.gl_balances": BALANCES})
    pack = load_pack(catalog=CATALOG)
    with DuckDBEngine(lake_binding(lake)) as engine:
        bounds = time_bounds(engine, pack, SEP, "EC_NG")
        assert bounds == {"window_end": C + timedelta(days=pack.max_clearing_window_days), "horizon": date(2025, 10, 20)}
        assert time_bounds(engine, 10, SEP, "EC_NG", [CR_06])["window_end"] == date(2025, 10, 10)
        assert time_bounds(engine, pack, SEP, "EC_NG", [CATALOG.item("CR_03")]) == {}  # no query when none reads them
        cr03 = extract(engine, CATALOG.item("CR_03"), SEP, "EC_NG", bounds)

    assert "horizon" not in cr03.parameters and "window_end" not in cr03.parameters
    assert cr03.parameters == CATALOG.item("CR_03").bind(SEP, "EC_NG")


def test_the_evidence_records_both_bounds_as_bound_dates(tmp_path):
    lake = write_lake(tmp_path / "lake", {"nav.gl_entries": ENTRIES, "nav.gl_balances": BALANCES})
    with DuckDBEngine(lake_binding(lake)) as engine:
        result = extract(engine, CR_06, SEP, "EC_NG", {"window_end": WINDOW_END})
        written = write_package(tmp_path / "store", result, validate(engine, result))

    doc = json.loads((written.path / "parameters.json").read_text("utf-8"))
    assert doc["parameters"]["horizon"] == "2025-10-20" and doc["parameters"]["window_end"] == "2025-11-14"
    assert doc["types"]["horizon"] == doc["types"]["window_end"] == "date"
    assert written.path.name == "CR_06_EC_NG_202509"


# --- C&A tests -----------------------------------------------------------------------------
# A sound ledger over two month-ends after the cutoff: balance(M) - balance(C) is the sum of
# the entries dated on or before M, on each account.
SOUND_ENTRIES = [
    entry(1, date(2025, 9, 12), "-100.00"),
    entry(2, date(2025, 10, 3), "60.00", voucher_no="V1"),
    entry(3, date(2025, 10, 31), "15.00", user=PERSON),
    entry(4, date(2025, 11, 2), "-20.00"),
    entry(5, date(2025, 11, 30), "5.00"),
    entry(6, date(2025, 12, 2), "99.00"),                      # after the horizon (2025-12-01)
    entry(7, date(2025, 10, 9), "12.00", account="13003"),    # an account without a balance at C
]
REFRESH = datetime(2025, 12, 1, 3, 0)
SOUND_BALANCES = [
    balance(C, "-100.00", REFRESH),
    balance(date(2025, 10, 31), "-25.00", REFRESH),
    balance(date(2025, 11, 30), "-40.00", REFRESH),
    balance(date(2025, 10, 31), "12.00", REFRESH, account="13003"),
    balance(date(2025, 11, 30), "12.00", REFRESH, account="13003"),
]
LONG_WINDOW = {"window_end": date(2025, 12, 31)}  # H (Dec 1) bounds


def check(tmp_path, entries=SOUND_ENTRIES, balances=SOUND_BALANCES, bounds=LONG_WINDOW):
    lake = write_lake(tmp_path, {"nav.gl_entries": entries, "nav.gl_balances": balances})
    with DuckDBEngine(lake_binding(lake)) as engine:
        result = extract(engine, CR_06, SEP, "EC_NG", bounds)
        return result, {r.rule_id: r for r in validate(engine, result).results}


def test_every_declared_kind_is_there():
    assert {t.id: (t.kind, t.severity) for t in CR_06.tests} == {
        "CR_06.tie_out": ("running_tie_out", "error"),
        "CR_06.entries": ("source_tie_out", "error"),
        "CR_06.not_null": ("not_null", "error"),
        "CR_06.key": ("unique", "error"),
        "CR_06.integration_type": ("recompute", "error"),
        "CR_06.outside_window_absent": ("witness", "error"),
        "CR_06.contract": ("output_contract", "error"),
        "CR_06.history": ("history", "warn"),
    }


def test_a_sound_ledger_passes_every_test_and_ties_out_at_each_month_end(tmp_path):
    result, tests = check(tmp_path)

    assert entry_nos(result) == [2, 3, 4, 5, 7]
    bad = {k: (r.outcome.value, r.message) for k, r in tests.items() if r.outcome is not Outcome.PASSED and k != "CR_06.history"}
    assert bad == {}
    # Σ over (account, month-end) of the movement since C: 18412 75 (Oct) + 60 (Nov), 13003 12 + 12
    assert tests["CR_06.tie_out"].observed == tests["CR_06.tie_out"].expected == {"amount": "159.00"}
    assert tests["CR_06.entries"].observed == {"entries": "5", "amount": "72.00"}
    assert tests["CR_06.outside_window_absent"].observed == {"witnesses": 2, "failing": 0}  # entries 1 and 6


@pytest.mark.parametrize("edit, month_ends", [
    ("remove", ["2025-10-31", "2025-11-30"]),   # entry 3 gone: October and November are short
    ("alter", ["2025-10-31", "2025-11-30"]),    # entry 3 booked for another amount
    ("move", ["2025-10-31"]),                   # entry 3 dated November: only October is short
])
def test_the_month_end_tie_out_fails_when_a_post_cutoff_entry_is_removed_or_altered(tmp_path, edit, month_ends):
    entries = [e for e in SOUND_ENTRIES if e["entry_no"] != 3]
    if edit == "alter":
        entries.append(entry(3, date(2025, 10, 31), "51.00", user=PERSON))
    if edit == "move":
        entries.append(entry(3, date(2025, 11, 1), "15.00", user=PERSON))

    _, tests = check(tmp_path, entries=entries)

    tie = tests["CR_06.tie_out"]
    assert tie.outcome is Outcome.FAILED and tie.severity == "error"
    assert tie.failing_count == len(month_ends)
    assert [(r["gl_account_no"], r["posting_date"]) for r in tie.sample] == [("18412", m) for m in month_ends]
    # the entry table agrees with itself: only the balances show that something is missing
    assert tests["CR_06.entries"].outcome is Outcome.PASSED


def test_the_tie_out_reads_only_month_ends_up_to_the_bound(tmp_path):
    # With the window ending on 2025-11-14, November's balance is not compared (its entries
    # after the window are not in the extract); October's still is.
    _, tests = check(tmp_path, bounds={"window_end": date(2025, 11, 14)})
    assert tests["CR_06.tie_out"].outcome is Outcome.PASSED
    assert tests["CR_06.tie_out"].expected == {"amount": "87.00"}  # 75.00 + 12.00 at 2025-10-31

    entries = [e if e["entry_no"] != 5 else entry(5, date(2025, 11, 30), "6.00") for e in SOUND_ENTRIES]
    _, tests = check(tmp_path / "b", entries=entries, bounds={"window_end": date(2025, 11, 14)})
    assert tests["CR_06.tie_out"].outcome is Outcome.PASSED  # November's difference is outside the bound


def test_a_month_end_balance_that_does_not_move_with_the_entries_fails(tmp_path):
    balances = [b if (b["closing_date"], b["gl_account_no"]) != (date(2025, 11, 30), "13003") else
                balance(date(2025, 11, 30), "13.00", REFRESH, account="13003") for b in SOUND_BALANCES]

    _, tests = check(tmp_path, balances=balances)

    tie = tests["CR_06.tie_out"]
    assert tie.outcome is Outcome.FAILED
    assert tie.sample == ({"gl_account_no": "13003", "posting_date": "2025-11-30", "extract_amount": "12.00",
                           "other_amount": "13.00"},)


def test_the_witness_would_catch_an_entry_outside_the_window(tmp_path):
    # The witness lists the source's entries outside (C, min(window_end, H)]; an extract that
    # held one (here: the cutoff's own entry, as a query with >= instead of > would) fails it.
    lake = write_lake(tmp_path, {"nav.gl_entries": SOUND_ENTRIES, "nav.gl_balances": SOUND_BALANCES})
    with DuckDBEngine(lake_binding(lake)) as engine:
        result = extract(engine, CR_06, SEP, "EC_NG", LONG_WINDOW)
        cr03 = extract(engine, CATALOG.item("CR_03"), SEP, "EC_NG")
        leaked = pa.concat_tables([result.table, cr03.table.cast(result.table.schema)])
        tests = {r.rule_id: r for r in validate(engine, replace(result, table=leaked)).results}

    witness = tests["CR_06.outside_window_absent"]
    assert witness.outcome is Outcome.FAILED
    assert witness.sample == ({"entry_no": 1},)


# --- on a generated lake: the tie-out against the demo ledger, then with one entry taken out ---
AUG = Period(2025, 8)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generated(tmp_path_factory.mktemp("demo") / "lake", scale=0.01, seed=7, first_period=AUG, periods=2)


def demo_tests(lake, company="EC_NG"):
    pack = load_pack(catalog=CATALOG)
    with DuckDBEngine(lake_binding(lake)) as engine:
        bounds = time_bounds(engine, pack, AUG, company)
        result = extract(engine, CR_06, AUG, company, bounds)
        return result, {r.rule_id: r for r in validate(engine, result).results}


def test_the_demo_ledger_ties_out_and_one_removed_or_altered_clearing_entry_breaks_it(demo, tmp_path):
    result, tests = demo_tests(demo)
    assert result.row_count > 0 and result.parameters["horizon"] > AUG.cutoff
    assert tests["CR_06.tie_out"].outcome is Outcome.PASSED
    assert tests["CR_06.tie_out"].expected != {"amount": "0.00"}  # a month-end was compared

    table = pq.read_table(demo / "nav" / "gl_entries" / "EC_NG.parquet")
    # a clearing entry dated on or before the next month-end, which the balances hold
    row = next(r for r in result.table.to_pylist() if r["posting_date"] <= Period(2025, 9).cutoff)
    first = row["entry_no"]
    for edit in ("remove", "alter"):
        lake = tmp_path / edit
        shutil.copytree(demo, lake)
        mask = pc.equal(table.column("entry_no"), first)
        if edit == "remove":
            changed = table.filter(pc.invert(mask))
        else:
            amounts = pc.if_else(mask, pc.add(table.column("amount"), D("0.01")), table.column("amount"))
            changed = table.set_column(table.schema.get_field_index("amount"), "amount", amounts.cast(table.schema.field("amount").type))
        pq.write_table(changed, lake / "nav" / "gl_entries" / "EC_NG.parquet")

        _, tests = demo_tests(lake)

        tie = tests["CR_06.tie_out"]
        assert tie.outcome is Outcome.FAILED, edit
        assert {(r["gl_account_no"], r["posting_date"]) for r in tie.sample} == {(row["gl_account_no"], "2025-09-30")}
        assert tests["CR_06.entries"].outcome is Outcome.PASSED
