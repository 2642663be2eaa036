"""The auditor workbook, read back with openpyxl: every total re-foots from the listed items to
the reconciliation's figures; long item lists split across sheets; LibreOffice opens it."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal

import openpyxl
import pytest
import handmade
from xlsxeval import cell, cents, dec, evaluate, recalculated

from soxauto.reports.sheets import signoff_text
from soxauto.reports.workbook import write_workbook


WALK = ("GL (CR_04, as presented)", "Variance = GL - TV", "Σ bridges (classified, not by itself explained)",
        "Unexplained = keys + tie-out - TV difference", "Check: variance - Σ bridges - unexplained",
        "Unresolved = open without disposition + tie-out - TV difference",
        "Resolved = Σ (amount - unresolved) of the items (re-footed above)", "Check: variance - resolved - unresolved",
        "Open amount of the items (re-footed above)")


@pytest.fixture(scope="module")
def split_book(data, tmp_path_factory):
    path = write_workbook(data, tmp_path_factory.mktemp("wb") / "run.xlsx", max_rows=30)
    return path, openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """The hand-made run (handmade.py), its 11 items split three to a sheet, so that blocks cross sheets."""
    data = handmade.run_data(tmp_path_factory.mktemp("handmade"))
    path = write_workbook(data, tmp_path_factory.mktemp("hwb") / "hand.xlsx", max_rows=4)
    return data, path, openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)


def line_sheets(wb):
    # never looks at an item sheet's cells: openpyxl adds every cell looked up, and so its row
    return [ws for ws in wb.worksheets if not ws.title.startswith("Items ") and ws["A4"].value == "Bridge"]


def walk_of(ws, first: int) -> dict[str, object]:
    """The walk below the bridges: label -> the formula (or value) in column G."""
    out = {}
    for r in range(first, ws.max_row + 1):
        if ws[f"A{r}"].value is None:
            break
        out[ws[f"A{r}"].value] = ws[f"G{r}"].value
    return out


def check_line_sheets(data, wb) -> dict[str, dict]:
    """Every line sheet re-foots to the line's figures: each bridge from its items, then
    variance = Σ bridges + unexplained = resolved + unresolved. Returns the walks by sheet."""
    sheets = line_sheets(wb)
    assert len(sheets) == len(data.lines)
    walks = {}
    for ws in sheets:
        entity, line = ws.title.split(" ", 1)
        ln = data.line(entity, line)
        rows = {ws[f"A{r}"].value: r for r in range(5, 5 + len(ln["bridges"]) + 1)}
        assert list(rows) == [*ln["bridges"], "UNEXPLAINED"]
        for b_id, b in ln["bridges"].items():
            r = rows[b_id]
            assert ws[f"C{r}"].value == b["nature"] and b["nature"] in ("timing", "booking", "exception")
            assert evaluate(wb, ws.title, ws[f"G{r}"].value) == Decimal(b["amount_lcy"]), (ws.title, b_id)
            assert evaluate(wb, ws.title, ws[f"E{r}"].value) == b["item_count"]
            assert dec(ws[f"H{r}"].value) == Decimal(b["amount_lcy"])
            assert evaluate(wb, ws.title, ws[f"I{r}"].value) == 0
            assert evaluate(wb, ws.title, ws[f"N{r}"].value) == \
                Decimal(b["amount_lcy"]) - evaluate(wb, ws.title, ws[f"M{r}"].value)
        r = rows["UNEXPLAINED"]
        assert ws[f"C{r}"].value == "unclaimed"
        assert evaluate(wb, ws.title, ws[f"E{r}"].value) == ln["unexplained_items"]
        walk = walk_of(ws, r + 2)
        assert set(WALK) <= set(walk)
        variance = Decimal(ln["gl_amount"]) - Decimal(ln["tv_amount"])
        bridged = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
        assert evaluate(wb, ws.title, walk["Variance = GL - TV"]) == variance == Decimal(ln["variance_lcy"])
        assert evaluate(wb, ws.title, walk["Σ bridges (classified, not by itself explained)"]) == bridged
        assert evaluate(wb, ws.title, walk["Unexplained = keys + tie-out - TV difference"]) == Decimal(ln["unexplained_lcy"])
        assert evaluate(wb, ws.title, walk["Check: variance - Σ bridges - unexplained"]) == 0
        unresolved = walk["Unresolved = open without disposition + tie-out - TV difference"]
        resolved = walk["Resolved = Σ (amount - unresolved) of the items (re-footed above)"]
        assert evaluate(wb, ws.title, unresolved) == Decimal(ln["unresolved_lcy"])
        assert evaluate(wb, ws.title, resolved) == Decimal(ln["resolved_lcy"])
        assert Decimal(ln["resolved_lcy"]) + Decimal(ln["unresolved_lcy"]) == variance
        assert evaluate(wb, ws.title, walk["Check: variance - resolved - unresolved"]) == 0
        walks[ws.title] = walk
    return walks


def test_every_bridge_refoots_from_its_items_to_the_result(data, split_book):
    _, wb, _ = split_book
    assert len(line_sheets(wb)) == 14  # 2 entities x 7 lines
    check_line_sheets(data, wb)


def test_hand_made_lines_refoot_to_resolved_and_unresolved(hand):
    data, _, wb, cached = hand
    walks = check_line_sheets(data, wb)
    ws, wc = wb["EC_NG VOUCHERS"], cached["EC_NG VOUCHERS"]
    rows = {ws[f"A{r}"].value: r for r in range(5, 11)}
    per_bridge = {b: (ws[f"C{r}"].value, evaluate(wb, ws.title, ws[f"L{r}"].value), evaluate(wb, ws.title, ws[f"M{r}"].value),
                      evaluate(wb, ws.title, ws[f"N{r}"].value)) for b, r in rows.items()}
    assert per_bridge == {  # nature, open, unresolved (open without a disposition), resolved
        "MANUAL_ADJUSTMENT": ("exception", Decimal("120000.00"), 0, Decimal("120000.00")),
        "TIMING_USAGE": ("timing", Decimal("25000.00"), Decimal("25000.00"), Decimal("95000.00")),
        "EXPIRED_NOT_WRITTEN_OFF": ("booking", 0, 0, Decimal("1000000.00")),
        "VTC_NOT_BOOKED": ("booking", 0, 0, 0), "CANCELLED_NOT_BOOKED": ("booking", 0, 0, 0),
        "UNEXPLAINED": ("unclaimed", Decimal("1995000.00"), Decimal("2000000.00"), Decimal("-5000.00"))}
    assert any(ws[f"G{r}"].value.count("!") == 2 for r in rows.values())  # a block split over two item sheets
    walk = walks["EC_NG VOUCHERS"]
    assert evaluate(wb, ws.title, walk["Unresolved = open without disposition + tie-out - TV difference"]) == Decimal("2026000.00")
    assert evaluate(wb, ws.title, walk["Resolved = Σ (amount - unresolved) of the items (re-footed above)"]) == \
        Decimal("1210000.00")
    assert evaluate(wb, ws.title, walk["Open amount of the items (re-footed above)"]) == Decimal("2140000.00")
    # the cached results a reader that does not recalculate shows are the same figures
    cached_walk = walk_of(wc, rows["UNEXPLAINED"] + 2)
    assert dec(cached_walk["Unresolved = open without disposition + tie-out - TV difference"]) == Decimal("2026000.00")
    assert dec(cached_walk["Check: variance - resolved - unresolved"]) == 0
    assert dec(wc[f"M{rows['UNEXPLAINED']}"].value) == Decimal("2000000.00")
    assert ws["A3"].value == ("Status INVESTIGATE: UNRESOLVED_ABOVE_BUCKET, MATERIAL_ITEM_UNRESOLVED; not auto-certified; "
                              "data horizon 2025-10-31, clearing window 45 days; 8 items: 4 open (2 resolved, 2 unresolved), "
                              "2 cleared, 1 pending, 2 uncleared, 0 dispositions carried forward")
    assert wb["EC_NG CUSTOMER_AR"]["A3"].value.startswith("Status RECONCILED; auto-certified NO_OPEN_ITEMS;")


def test_proposed_journals_are_listed_on_the_line_sheet(hand):
    data, _, wb, _ = hand
    ws = wb["EC_NG VOUCHERS"]
    top = next(r for r in range(1, ws.max_row + 1) if str(ws[f"A{r}"].value).startswith("Proposed journal entries"))
    assert ws[f"A{top}"].value == "Proposed journal entries (2)"
    assert [c.value for c in ws[top + 1]][:9] == ["Proposed journal entry", "Description", "Source", "Debit", "Credit",
                                                   "Items", "Amount LCY", "Item keys", "Disposition id"]
    got = [tuple(c.value for c in ws[r])[:9] for r in (top + 2, top + 3)]
    assert [(g[0], g[2], g[3], g[4], g[5], dec(g[6]), g[7], g[8] or None) for g in got] == [
        ("EXPIRED_NOT_WRITTEN_OFF", "booking", "18412", "71050", 1, Decimal("900000.00"), "V-010", None),
        ("UNEXPLAINED", "adjust", "18412", "13011", 1, Decimal("5000.00"), "V-021", "d-21")]
    assert got[0][1] == "Write off expired vouchers to breakage income"
    ar = wb["EC_NG CUSTOMER_AR"]
    assert any(str(ar[f"A{r}"].value).startswith("No proposed journal entry") for r in range(1, ar.max_row + 1))


def test_item_sheets_carry_what_explains_each_item(hand):
    data, _, wb, _ = hand
    sheets = [ws for ws in wb.worksheets if ws.title.startswith("Items ")]
    assert [ws.title for ws in sheets] == ["Items 1", "Items 2", "Items 3", "Items 4"]  # 11 items, 3 a sheet
    assert [c.value for c in sheets[0][1]] == ["Entity", "Period", "Line", "Bridge", "Key", "Amount LCY", "Currency",
                                               "Material", "Nature", "State", "Movement LCY", "Cleared LCY", "Open LCY",
                                               "Window end", "Age (days)", "Disposition", "Disposition id",
                                               "Disposition period"]
    rows = {r[4]: r for ws in sheets for r in ws.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 11
    v3 = rows["V-003"]
    assert (v3[3], v3[8], v3[9], dec(v3[11]), dec(v3[12]), v3[13].date().isoformat(), v3[14], v3[15]) == (
        "TIMING_USAGE", "timing", "uncleared", Decimal("15000.00"), Decimal("25000.00"), "2025-10-15", 30, None)
    assert (rows["V-021"][15], rows["V-021"][16], rows["V-021"][17]) == ("adjust", "d-21", "2025-09")
    assert (rows["V-002"][9], dec(rows["V-002"][12])) == ("pending", 0)
    manual = rows["manual"]
    assert (manual[9], manual[13], manual[14], manual[15]) == (None, None, None, "explained")  # no state, no window, no age
    assert (rows["V-010"][7], rows["V-010"][8]) == (True, "booking")


def test_hand_made_summary_shows_resolution_reasons_and_ageing(hand):
    data, _, wb, cached = hand
    ws, wc = wb["Summary"], cached["Summary"]
    assert [c.value for c in ws[4]][:20] == ["Entity", "Line", "Title", "Currency", "GL", "TV", "Variance", "Σ bridges",
                                              "Unexplained", "Unexplained USD", "Resolved", "Unresolved", "Unresolved USD",
                                              "Status", "Reasons", "Auto-certification", "Unresolved items", "Sign-off",
                                              "Narrative", "Sheet"]
    got = {ws[f"B{r}"].value: (evaluate(wb, "Summary", ws[f"K{r}"].value), evaluate(wb, "Summary", ws[f"L{r}"].value),
                               ws[f"M{r}"].value, ws[f"N{r}"].value, ws[f"O{r}"].value, ws[f"P{r}"].value, ws[f"Q{r}"].value)
           for r in range(5, 8)}
    assert got == {
        "CUSTOMER_AR": (Decimal("7500.00"), 0, 0, "RECONCILED", None, "NO_OPEN_ITEMS", 0),
        "VOUCHERS": (Decimal("1210000.00"), Decimal("2026000.00"), 1227.88, "INVESTIGATE",
                     "UNRESOLVED_ABOVE_BUCKET, MATERIAL_ITEM_UNRESOLVED", None, 2),
        "PACKAGES": (0, Decimal("300.00"), None, "ERROR", "INPUT_TEST_FAILED", None, 1)}  # no USD figure in ERROR
    for r in range(5, 8):
        assert dec(wc[f"L{r}"].value) == Decimal(data.line("EC_NG", ws[f"B{r}"].value)["unresolved_lcy"])
    top = next(r for r in range(8, ws.max_row + 1) if str(ws[f"A{r}"].value).startswith("Ageing of open items"))
    head = [c.value for c in ws[top + 1]]
    assert head[:5] == ["Entity", "Line", "Currency", "0–30 items", "0–30 open LCY"]
    assert head[3:13:2] == ["0–30 items", "31–60 items", "61–90 items", "over 90 items", "no age items"]
    row = {ws[f"B{r}"].value: [c.value for c in ws[r]] for r in range(top + 2, top + 5)}
    vouchers = row["VOUCHERS"]
    assert [(vouchers[i], dec(vouchers[i + 1])) for i in range(3, 13, 2)] == [
        (1, Decimal("25000.00")), (0, 0), (1, Decimal("-5000.00")), (1, Decimal("2000000.00")), (1, Decimal("120000.00"))]
    r = top + 2 + list(row).index("VOUCHERS")
    assert evaluate(wb, "Summary", ws[f"N{r}"].value) == evaluate(wb, "Summary", ws[f"O{r}"].value) == Decimal("2140000.00")
    assert evaluate(wb, "Summary", ws[f"P{r}"].value) == 0
    assert [row["CUSTOMER_AR"][i] for i in range(3, 13, 2)] == [0, 0, 0, 0, 0]
    assert (row["PACKAGES"][3], dec(row["PACKAGES"][4])) == (1, Decimal("300.00"))


def test_libreoffice_recalculates_every_figure_from_the_items(hand, tmp_path):
    """LibreOffice, told to recalculate on load, gets every total the reconciliation computed
    from the listed items (SUM, ROWS, SUMIFS across split item sheets, references between
    sheets). The copy it reads has no cached results (openpyxl drops them), so every figure
    below was computed by LibreOffice; and one item was changed by a cent, which the re-footing
    shows as a difference on that line only."""
    data, path, _, _ = hand
    copy = openpyxl.load_workbook(path)
    items = copy["Items 3"]
    assert (items["E4"].value, items["F4"].value) == ("C-1", 10000)
    items["F4"] = 10000.01
    copy.save(tmp_path / "stripped.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "stripped.xlsx")
    assert wb["Summary"]["G5"].value == "=E5-F5"
    sheets = recalculated(tmp_path / "stripped.xlsx", tmp_path)
    for ws in line_sheets(wb):
        ln = data.line(*ws.title.split(" ", 1))
        tampered = ln["line"] == "CUSTOMER_AR"
        rows = {ws[f"A{r}"].value: r for r in range(5, 5 + len(ln["bridges"]) + 1)}
        for b_id, b in ln["bridges"].items():
            moved = Decimal("0.01") if tampered and b_id == "TIMING" else 0
            assert cents(cell(sheets, ws.title, f"G{rows[b_id]}")) == Decimal(b["amount_lcy"]) + moved
            assert int(cell(sheets, ws.title, f"E{rows[b_id]}")) == b["item_count"]
            assert cents(cell(sheets, ws.title, f"I{rows[b_id]}")) == moved
        first = rows["UNEXPLAINED"] + 2
        at = {ws[f"A{r}"].value: r for r in range(first, first + 17)}
        figure = lambda label: cents(cell(sheets, ws.title, f"G{at[label]}"))  # noqa: E731
        assert figure("Variance = GL - TV") == Decimal(ln["variance_lcy"])
        assert figure("Unexplained = keys + tie-out - TV difference") == Decimal(ln["unexplained_lcy"])
        assert figure("Unresolved = open without disposition + tie-out - TV difference") == Decimal(ln["unresolved_lcy"])
        want = Decimal("-0.01") if tampered else 0
        assert figure("Resolved = Σ (amount - unresolved) of the items (re-footed above)") == \
            Decimal(ln["resolved_lcy"]) - want
        assert figure("Check: variance - Σ bridges - unexplained") == figure("Check: variance - resolved - unresolved") == want
    summary = wb["Summary"]
    for r in range(5, 5 + len(data.lines)):
        ln = data.line("EC_NG", summary[f"B{r}"].value)
        moved = Decimal("0.01") if ln["line"] == "CUSTOMER_AR" else 0
        assert [cents(cell(sheets, "Summary", f"{c}{r}")) for c in "GHIKL"] == [
            Decimal(ln["variance_lcy"]), sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0)) + moved,
            Decimal(ln["unexplained_lcy"]), Decimal(ln["resolved_lcy"]) + moved, Decimal(ln["unresolved_lcy"])]
    ageing_rows = [r for r in range(9, summary.max_row + 1) if summary[f"A{r}"].value == "EC_NG"]
    assert len(ageing_rows) == 3
    assert [cents(cell(sheets, "Summary", f"O{r}")) for r in ageing_rows] == [0, Decimal("2140000.00"), Decimal("300.00")]
    assert [cents(cell(sheets, "Summary", f"P{r}")) for r in ageing_rows] == [0, 0, 0]


def test_items_are_split_at_the_row_limit_and_a_bridge_spans_two_sheets(data, split_book):
    _, wb, _ = split_book
    items = [ws for ws in wb.worksheets if ws.title.startswith("Items ")]
    total = data.items().num_rows
    assert total > 60  # the fixture run must be big enough to split
    assert [ws.title for ws in items] == [f"Items {n}" for n in range(1, -(-total // 29) + 1)]
    assert all(ws.max_row <= 30 for ws in items)
    assert sum(ws.max_row - 1 for ws in items) == total
    formulas = [c.value for ws in line_sheets(wb) for c in ws["G"] if isinstance(c.value, str) and c.value.startswith("=SUM('")]
    assert any(f.count("!") == 2 for f in formulas)  # a block cut by the split is summed over both sheets
    # the listed items add up to the sum of every bridge and unexplained key of every line
    listed = sum((dec(r[0]) for ws in items for r in ws.iter_rows(min_row=2, min_col=6, max_col=6, values_only=True)),
                 Decimal(0))
    assert listed == sum((Decimal(b["amount_lcy"]) for ln in data.lines for b in ln["bridges"].values()), Decimal(0)) + \
        sum((Decimal(ln["unexplained_lcy"]) - Decimal(ln["key_level"]["tie_out_difference"]) for ln in data.lines), Decimal(0))


def test_summary_refers_to_the_line_sheets_and_caches_the_results(data, split_book):
    _, wb, cached = split_book
    ws, wc = wb["Summary"], cached["Summary"]
    assert [c.value for c in ws[4]][:13] == ["Entity", "Line", "Title", "Currency", "GL", "TV", "Variance", "Σ bridges",
                                              "Unexplained", "Unexplained USD", "Resolved", "Unresolved", "Unresolved USD"]
    for r, ln in enumerate(data.lines, start=5):
        assert (ws[f"A{r}"].value, ws[f"B{r}"].value) == (ln["entity"], ln["line"])
        bridged = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
        for col, want in (("G", ln["variance_lcy"]), ("H", bridged), ("I", ln["unexplained_lcy"]), ("K", ln["resolved_lcy"]),
                          ("L", ln["unresolved_lcy"])):
            assert evaluate(wb, "Summary", ws[f"{col}{r}"].value) == Decimal(want)
            assert dec(wc[f"{col}{r}"].value) == Decimal(want)  # the cached result a non-recalculating reader shows
        assert ws[f"N{r}"].value == ln["status"]
        assert (ws[f"O{r}"].value or "") == ", ".join(ln["reasons"])
        assert (ws[f"P{r}"].value or None) == (ln["auto_certification"] if ln["auto_certified"] else None)
        assert ws[f"R{r}"].value == signoff_text(data.signoff(ln["entity"], ln["line"]))
        assert ws[f"S{r}"].value.startswith(f"{ln['entity']} ") and f": {ln['status']}" in ws[f"S{r}"].value


def test_evidence_index_and_validation_totals(data, split_book, closed):
    _, wb, _ = split_book
    ev, va = wb["Evidence"], wb["Validation"]
    steps = [s for s in closed["summary"]["steps"] if s["stage"] == "evidence"]
    assert ev.max_row == len(steps) + 3 == 29  # 2 entities x 13 items, a blank row, then the totals
    ids = {ev[f"A{r}"].value: (ev[f"E{r}"].value, ev[f"F{r}"].value, ev[f"G{r}"].value) for r in range(2, len(steps) + 2)}
    assert ids == {s["evidence_id"]: (s["manifest_sha256"], s["fingerprint"], s["rows"]) for s in steps}
    total = ev.max_row
    assert ev[f"A{total}"].value == "Total"
    assert evaluate(wb, "Evidence", ev[f"G{total}"].value) == sum(s["rows"] for s in steps)
    passed = sum(s["tests"]["passed"] for s in steps)
    assert evaluate(wb, "Evidence", ev[f"J{total}"].value) == passed
    outcome = {va[f"F{r}"].value: va[f"G{r}"].value for r in range(va.max_row - 2, va.max_row + 1)}
    assert evaluate(wb, "Validation", outcome["tests passed"]) == passed
    assert evaluate(wb, "Validation", outcome["tests failed"]) == sum(s["tests"]["failed"] for s in steps)


def test_libreoffice_opens_the_workbook(split_book, tmp_path):
    path, _, _ = split_book
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "pdf",
                           "--outdir", str(tmp_path), str(path)], capture_output=True, text=True, timeout=240)
    pdf = tmp_path / "run.pdf"
    assert pdf.is_file(), proc.stdout + proc.stderr
    assert pdf.read_bytes()[:5] == b"%PDF-"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info)[1]) > 14
