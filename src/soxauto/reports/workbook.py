"""The auditor workbook of a run (``.xlsx``, XlsxWriter), re-footable in Excel:

    Summary           entity x line: GL, TV, variance, explained, unexplained, status, sign-off, narrative
    <ENTITY> <LINE>   one sheet per line: each bridge re-footed from its listed items, next to the
                      figure the reconciliation computed, and the walk variance = explained + unexplained
    Items 1, 2, ...   every proof item (close.items), split across sheets at ``max_rows``
    Validation        every C&A test result of every evidence package
    Evidence          the evidence index: package ids, manifest SHA-256, fingerprints, row counts
    Sign-off          the sign-off history of the period

Items are listed in the run's order (entity, line, bridge, key), so each bridge's items are one
contiguous block; its total is ``=SUM`` over that block (over two blocks when a split falls
inside it), its count ``=ROWS`` of it. Every formula also carries the value the reconciliation
computed as its cached result, so a reader that does not recalculate shows the same figures.
Excel keeps numbers as binary doubles (15 significant digits), exact for amounts below 10^13.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import quote_sheetname

from ..close.items import UNEXPLAINED
from .model import RunData
from .narrative import label, line_narrative
from .sheets import evidence_sheet, items_sheets, signoff_sheet, summary_sheet, validation_sheet

EXCEL_MAX_ROWS = 1_048_576
ITEM_COLUMNS = ("entity", "period", "line", "bridge", "key", "amount_lcy", "currency", "material")
AMOUNT_COL = "F"  # amount_lcy in the item sheets
Block = tuple[str, int, int]  # sheet, first and last Excel row (1-based, inclusive)


@dataclass
class Layout:
    """Where each (entity, line, bridge)'s items sit in the item sheets."""

    blocks: dict[tuple[str, str, str], list[Block]]
    sheets: list[str]

    def ranges(self, entity: str, line: str, bridge: str) -> list[Block]:
        return self.blocks.get((entity, line, bridge), [])


def sum_formula(blocks: list[Block], col: str = AMOUNT_COL) -> str:
    if not blocks:
        return "=0"
    return "=SUM(" + ",".join(f"{quote_sheetname(s)}!{col}{a}:{col}{b}" for s, a, b in blocks) + ")"


def rows_formula(blocks: list[Block], col: str = AMOUNT_COL) -> str:
    if not blocks:
        return "=0"
    return "=" + "+".join(f"ROWS({quote_sheetname(s)}!{col}{a}:{col}{b})" for s, a, b in blocks)


def sheet_name(entity: str, line: str, taken: set[str]) -> str:
    base = "".join(c for c in f"{entity} {line}" if c not in "[]:*?/\\")[:31]
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base[:28]}~{n}", n + 1
    taken.add(name.lower())
    return name


class Formats:
    def __init__(self, book: xlsxwriter.Workbook):
        self.bold = book.add_format({"bold": True})
        self.title = book.add_format({"bold": True, "font_size": 13})
        self.head = book.add_format({"bold": True, "bg_color": "#dde4ee", "border": 1, "text_wrap": True, "valign": "top"})
        self.money = book.add_format({"num_format": "#,##0.00"})
        self.money_bold = book.add_format({"num_format": "#,##0.00", "bold": True, "top": 1})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.link = book.add_format({"font_color": "blue", "underline": 1})


def write_workbook(data: RunData, path: Path, *, max_rows: int = EXCEL_MAX_ROWS) -> Path:
    """Write the workbook of ``data`` to ``path``; ``max_rows`` (header included) splits item sheets."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    items = {e: data.items(e) for e in data.run["entities"] if e in data.items_files}
    layout = plan_items(data, items, max_rows)
    tmp = path.with_name(f".{path.name}.tmp")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": f"SOXauto C-PG-1 {data.period} run {data.run_id}", "author": "soxauto"})
    fmt = Formats(book)
    taken = {"summary", "validation", "evidence", "sign-off"} | {s.lower() for s in layout.sheets}
    names = {(ln["entity"], ln["line"]): sheet_name(ln["entity"], ln["line"], taken) for ln in data.lines}
    anchors = {}
    summary = book.add_worksheet("Summary")
    for ln in data.lines:
        anchors[(ln["entity"], ln["line"])] = line_sheet(book.add_worksheet(names[(ln["entity"], ln["line"])]), fmt, ln,
                                                         layout)
    summary_sheet(summary, fmt, data, names, anchors)
    items_sheets(book, fmt, data, items, layout, max_rows)
    validation_sheet(book.add_worksheet("Validation"), fmt, data)
    evidence_sheet(book.add_worksheet("Evidence"), fmt, data)
    signoff_sheet(book.add_worksheet("Sign-off"), fmt, data)
    book.close()
    tmp.replace(path)
    return path


def plan_items(data: RunData, items: dict, max_rows: int) -> Layout:
    """Cut the item list into sheets of ``max_rows - 1`` items and record each bridge's blocks."""
    if max_rows < 2:
        raise ValueError("max_rows must leave room for the header and one item")
    per_sheet = max_rows - 1
    blocks: dict[tuple[str, str, str], list[Block]] = {}
    n = 0
    for entity, table in items.items():
        cols = table.select(["line", "bridge"]).to_pydict()
        for line, bridge in zip(cols["line"], cols["bridge"]):
            sheet, row = f"Items {n // per_sheet + 1}", n % per_sheet + 2
            spans = blocks.setdefault((entity, line, bridge), [])
            if spans and spans[-1][0] == sheet and spans[-1][2] == row - 1:
                spans[-1] = (sheet, spans[-1][1], row)
            else:
                spans.append((sheet, row, row))
            n += 1
    return Layout(blocks, [f"Items {k + 1}" for k in range(max(1, -(-n // per_sheet)))])


HEAD = ("Bridge", "Label", "Version", "Items (re-footed)", "Items (result)", "Amount LCY (re-footed)",
        "Amount LCY (result)", "Difference", "Amount USD (result)", "Material items", "Item list")


def line_sheet(ws, fmt: Formats, ln: dict, layout: Layout) -> dict[str, int]:
    """A line's bridges, re-footed; returns the Excel rows of its explained and unexplained totals."""
    e, name = ln["entity"], ln["line"]
    ws.set_column(0, 0, 36)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 10, 16)
    ws.write(0, 0, f"{e} {name}: {ln['title']}, {ln['period']} ({ln['currency']})", fmt.title)
    ws.set_row(1, 48)
    ws.merge_range(1, 0, 1, 10, line_narrative(ln), fmt.wrap)
    ws.write_row(3, 0, HEAD, fmt.head)
    rows = [(b_id, label(b_id), b["version"], b["items"], b["amount_lcy"], b["amount_usd"], b["material_items"])
            for b_id, b in ln["bridges"].items()]
    rows.append((UNEXPLAINED, "unexplained keys", "", ln["unexplained_items"], None, None, None))
    keys_total = _unexplained_keys(ln)
    for r, (b_id, text, version, count, amount, usd, material) in enumerate(rows, start=4):
        blocks = layout.ranges(e, name, b_id)
        value = Decimal(amount) if amount is not None else keys_total
        ws.write_string(r, 0, b_id)
        ws.write_string(r, 1, text)
        ws.write_string(r, 2, version)
        ws.write_formula(r, 3, rows_formula(blocks), None, count)
        ws.write_number(r, 4, count)
        ws.write_formula(r, 5, sum_formula(blocks), fmt.money, value)
        ws.write_number(r, 6, value, fmt.money)
        ws.write_formula(r, 7, f"=F{r + 1}-G{r + 1}", fmt.money, 0)
        if usd is not None:
            ws.write_number(r, 8, Decimal(usd), fmt.money)
        if material is not None:
            ws.write_number(r, 9, material)
        ws.write_string(r, 10, "; ".join(f"{s} rows {a}-{b}" for s, a, b in blocks) or "no items")
    return _walk(ws, fmt, ln, first=5, last_bridge=4 + len(rows) - 1, keys_row=4 + len(rows))


def _unexplained_keys(ln: dict) -> Decimal:
    """Σ delta of the unclaimed keys: the unexplained figure less the tie-out differences."""
    kl = ln["key_level"]
    gl_diff = Decimal(ln["gl_amount"]) - Decimal(kl["gl_amount"])
    tv_diff = Decimal(ln["tv_amount"]) - Decimal(kl["tv_amount"])
    return Decimal(ln["unexplained_lcy"]) - gl_diff + tv_diff


def _walk(ws, fmt: Formats, ln: dict, *, first: int, last_bridge: int, keys_row: int) -> dict[str, int]:
    gl, tv = Decimal(ln["gl_amount"]), Decimal(ln["tv_amount"])
    kl = ln["key_level"]
    unexplained = Decimal(ln["unexplained_lcy"])
    explained = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
    r = keys_row + 2  # Excel row numbers below (1-based)
    walk = [
        ("GL (CR_04, as presented)", None, gl),
        ("TV (target values)", None, tv),
        ("Variance = GL - TV", f"=F{r}-F{r + 1}", gl - tv),
        ("Explained = Σ bridges", f"=SUM(F{first}:F{last_bridge})", explained),
        ("Unexplained keys (re-footed above)", f"=F{keys_row}", _unexplained_keys(ln)),
        ("CR_04 - Σ CR_03 tie-out difference", None, gl - Decimal(kl["gl_amount"])),
        ("TV - Σ key-level TV (subtracted)", None, tv - Decimal(kl["tv_amount"])),
        ("Unexplained = keys + tie-out - TV difference", f"=F{r + 4}+F{r + 5}-F{r + 6}", unexplained),
        ("Unexplained (result)", None, unexplained),
        ("Check: variance - explained - unexplained", f"=F{r + 2}-F{r + 3}-F{r + 7}", gl - tv - explained - unexplained),
    ]
    for n, (text, formula, value) in enumerate(walk):
        row = r - 1 + n
        ws.write_string(row, 0, text, fmt.bold if formula else None)
        if formula:
            ws.write_formula(row, 5, formula, fmt.money_bold, value)
        else:
            ws.write_number(row, 5, value, fmt.money)
    return {"explained": r + 3, "unexplained": r + 7, "variance": r + 2, "check": r + 9}
