"""The auditor workbook, read back with openpyxl: every total re-foots from the listed items to
the reconciliation's figures; long item lists split across sheets; LibreOffice opens it."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal

import openpyxl
import pytest
from xlsxeval import dec, evaluate

from soxauto.reports.sheets import signoff_text
from soxauto.reports.workbook import write_workbook


@pytest.fixture(scope="module")
def split_book(data, tmp_path_factory):
    path = write_workbook(data, tmp_path_factory.mktemp("wb") / "run.xlsx", max_rows=100)
    return path, openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)


def line_sheets(wb):
    return [ws for ws in wb.worksheets if ws["A4"].value == "Bridge"]


def test_every_bridge_refoots_from_its_items_to_the_result(data, split_book):
    _, wb, _ = split_book
    sheets = line_sheets(wb)
    assert len(sheets) == len(data.lines) == 14  # 2 entities x 7 lines
    for ws in sheets:
        entity, line = ws.title.split(" ", 1)
        ln = data.line(entity, line)
        rows = {ws[f"A{r}"].value: r for r in range(5, 5 + len(ln["bridges"]) + 1)}
        assert list(rows) == [*ln["bridges"], "UNEXPLAINED"]
        for b_id, b in ln["bridges"].items():
            r = rows[b_id]
            assert evaluate(wb, ws.title, ws[f"F{r}"].value) == Decimal(b["amount_lcy"]), (ws.title, b_id)
            assert evaluate(wb, ws.title, ws[f"D{r}"].value) == b["items"]
            assert dec(ws[f"G{r}"].value) == Decimal(b["amount_lcy"])
            assert evaluate(wb, ws.title, ws[f"H{r}"].value) == 0
        r = rows["UNEXPLAINED"]
        assert evaluate(wb, ws.title, ws[f"D{r}"].value) == ln["unexplained_items"]
        walk = {ws[f"A{k}"].value: ws[f"F{k}"].value for k in range(r + 2, r + 12)}
        variance = Decimal(ln["gl_amount"]) - Decimal(ln["tv_amount"])
        explained = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
        assert evaluate(wb, ws.title, walk["Variance = GL - TV"]) == variance == Decimal(ln["variance_lcy"])
        assert evaluate(wb, ws.title, walk["Explained = Σ bridges"]) == explained
        assert evaluate(wb, ws.title, walk["Unexplained = keys + tie-out - TV difference"]) == Decimal(ln["unexplained_lcy"])
        assert evaluate(wb, ws.title, walk["Check: variance - explained - unexplained"]) == 0


def test_items_are_split_at_the_row_limit_and_a_bridge_spans_two_sheets(data, split_book):
    _, wb, _ = split_book
    items = [ws for ws in wb.worksheets if ws.title.startswith("Items ")]
    total = data.items().num_rows
    assert total > 200  # the fixture run must be big enough to split
    assert [ws.title for ws in items] == [f"Items {n}" for n in range(1, -(-total // 99) + 1)]
    assert all(ws.max_row <= 100 for ws in items)
    assert sum(ws.max_row - 1 for ws in items) == total
    formulas = [c.value for ws in line_sheets(wb) for c in ws["F"] if isinstance(c.value, str) and c.value.startswith("=SUM('")]
    assert any(f.count("!") == 2 for f in formulas)  # a block cut by the split is summed over both sheets
    # the listed items add up to the sum of every bridge and unexplained key of every line
    listed = sum((dec(r[0]) for ws in items for r in ws.iter_rows(min_row=2, min_col=6, max_col=6, values_only=True)),
                 Decimal(0))
    assert listed == sum((Decimal(b["amount_lcy"]) for ln in data.lines for b in ln["bridges"].values()), Decimal(0)) + \
        sum((Decimal(ln["unexplained_lcy"]) - Decimal(ln["key_level"]["tie_out_difference"]) for ln in data.lines), Decimal(0))


def test_summary_refers_to_the_line_sheets_and_caches_the_results(data, split_book):
    _, wb, cached = split_book
    ws, wc = wb["Summary"], cached["Summary"]
    assert [c.value for c in ws[4]][:10] == ["Entity", "Line", "Title", "Currency", "GL", "TV", "Variance", "Explained",
                                              "Unexplained", "Unexplained USD"]
    for r, ln in enumerate(data.lines, start=5):
        assert (ws[f"A{r}"].value, ws[f"B{r}"].value) == (ln["entity"], ln["line"])
        explained = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
        for col, want in (("G", ln["variance_lcy"]), ("H", explained), ("I", ln["unexplained_lcy"])):
            assert evaluate(wb, "Summary", ws[f"{col}{r}"].value) == Decimal(want)
            assert dec(wc[f"{col}{r}"].value) == Decimal(want)  # the cached result a non-recalculating reader shows
        assert ws[f"K{r}"].value == ln["status"]
        assert ws[f"M{r}"].value == signoff_text(data.signoff(ln["entity"], ln["line"]))
        assert ws[f"N{r}"].value.startswith(f"{ln['entity']} ") and ws[f"N{r}"].value.endswith(f": {ln['status']}.")


def test_evidence_index_and_validation_totals(data, split_book, closed):
    _, wb, _ = split_book
    ev, va = wb["Evidence"], wb["Validation"]
    steps = [s for s in closed["summary"]["steps"] if s["stage"] == "evidence"]
    assert ev.max_row == len(steps) + 3 == 27  # a blank row, then the totals
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
