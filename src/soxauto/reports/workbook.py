"""The auditor workbook of a run (``.xlsx``, XlsxWriter), re-footable in Excel:

    Summary           entity x line: GL, TV, variance, Σ bridges, unexplained, resolved, unresolved
                      (LCY and USD), status, every reason, auto-certification, sign-off, narrative;
                      below it, the ageing of each line's open items (0–30, 31–60, 61–90, over 90 days)
    <ENTITY> <LINE>   one sheet per line: each bridge (with its nature) re-footed from its listed
                      items, next to the figure the reconciliation computed; the walk
                      variance = Σ bridges + unexplained = resolved + unresolved; the proposed journals
    Items 1, 2, ...   every proof item (close.items) with what explains it: nature, state, cleared,
                      open, window end, age, disposition; split across sheets at ``max_rows``
    Validation        every C&A test result of every evidence package
    Evidence          the evidence index: package ids, manifest SHA-256, fingerprints, row counts
    Sign-off          the sign-off history of the period

Items are listed in the run's order (entity, line, bridge, key), so each bridge's items are one
contiguous block; its total is ``=SUM`` over that block (over two blocks when a split falls
inside it), its count ``=ROWS`` of it, its unresolved part ``=SUMIFS`` of the open amounts whose
disposition cell is empty. Every formula also carries the value the reconciliation computed as
its cached result, so a reader that does not recalculate shows the same figures.
Excel keeps numbers as binary doubles (15 significant digits), exact for amounts below 10^13.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import quote_sheetname

from ..close.items import UNEXPLAINED
from .ageing import ageing_by_line
from .model import RunData
from .narrative import item_count, label, line_narrative, reasons_text
from .sheets import evidence_sheet, item_col, items_sheets, signoff_sheet, summary_sheet, validation_sheet

EXCEL_MAX_ROWS = 1_048_576
# Letters of the item sheets' columns the line sheets' formulas read (sheets.ITEM_COLUMNS).
AMOUNT_COL, OPEN_COL, DISPOSITION_COL = (item_col(c) for c in ("amount_lcy", "open_lcy", "disposition"))
Block = tuple[str, int, int]  # sheet, first and last Excel row (1-based, inclusive)
ZERO = Decimal("0.00")


@dataclass
class Layout:
    """Where each (entity, line, bridge)'s items sit in the item sheets, and what they add up to."""

    blocks: dict[tuple[str, str, str], list[Block]]
    sheets: list[str]
    open_lcy: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)  # Σ open amount
    unresolved_lcy: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)  # Σ open amount without a disposition

    def ranges(self, entity: str, line: str, bridge: str) -> list[Block]:
        return self.blocks.get((entity, line, bridge), [])


def _range(block: Block, col: str) -> str:
    s, a, b = block
    return f"{quote_sheetname(s)}!{col}{a}:{col}{b}"


def sum_formula(blocks: list[Block], col: str = AMOUNT_COL) -> str:
    if not blocks:
        return "=0"
    return "=SUM(" + ",".join(_range(b, col) for b in blocks) + ")"


def rows_formula(blocks: list[Block], col: str = AMOUNT_COL) -> str:
    if not blocks:
        return "=0"
    return "=" + "+".join(f"ROWS({_range(b, col)})" for b in blocks)


def unresolved_formula(blocks: list[Block]) -> str:
    """Σ open amount of the listed items whose disposition cell is empty (Excel and LibreOffice
    both match an empty cell with the criterion "")."""
    if not blocks:
        return "=0"
    return "=" + "+".join(f'SUMIFS({_range(b, OPEN_COL)},{_range(b, DISPOSITION_COL)},"")' for b in blocks)


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
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
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
    ages = {}
    for table in items.values():
        ages.update(ageing_by_line(table))
    summary_sheet(summary, fmt, data, names, anchors, ages)
    items_sheets(book, fmt, items, layout, max_rows)
    validation_sheet(book.add_worksheet("Validation"), fmt, data)
    evidence_sheet(book.add_worksheet("Evidence"), fmt, data)
    signoff_sheet(book.add_worksheet("Sign-off"), fmt, data)
    book.close()
    tmp.replace(path)
    return path


def plan_items(data: RunData, items: dict, max_rows: int) -> Layout:
    """Cut the item list into sheets of ``max_rows - 1`` items and record each bridge's blocks
    and the open and unresolved amounts of its items (the cached results of their formulas)."""
    if max_rows < 2:
        raise ValueError("max_rows must leave room for the header and one item")
    per_sheet = max_rows - 1
    layout = Layout({}, [])
    n = 0
    for entity, table in items.items():
        cols = table.select(["line", "bridge", "open_lcy", "disposition"]).to_pydict()
        for line, bridge, open_lcy, disposition in zip(cols["line"], cols["bridge"], cols["open_lcy"], cols["disposition"]):
            sheet, row = f"Items {n // per_sheet + 1}", n % per_sheet + 2
            key = (entity, line, bridge)
            spans = layout.blocks.setdefault(key, [])
            if spans and spans[-1][0] == sheet and spans[-1][2] == row - 1:
                spans[-1] = (sheet, spans[-1][1], row)
            else:
                spans.append((sheet, row, row))
            open_lcy = open_lcy or ZERO
            layout.open_lcy[key] = layout.open_lcy.get(key, ZERO) + open_lcy
            if not disposition:
                layout.unresolved_lcy[key] = layout.unresolved_lcy.get(key, ZERO) + open_lcy
            n += 1
    layout.sheets = [f"Items {k + 1}" for k in range(max(1, -(-n // per_sheet)))]
    return layout


HEAD = ("Bridge", "Label", "Nature", "Version", "Items (re-footed)", "Items (result)", "Amount LCY (re-footed)",
        "Amount LCY (result)", "Difference", "Amount USD (result)", "Material items", "Open LCY (re-footed)",
        "Unresolved LCY (re-footed)", "Resolved LCY", "Item list")
VALUE = "G"  # the line sheet's amount column: bridges re-footed, and the walk below them
UNRESOLVED, RESOLVED, OPEN = "M", "N", "L"  # the line sheet's per-bridge open, unresolved and resolved columns


def line_sheet(ws, fmt: Formats, ln: dict, layout: Layout) -> dict[str, int]:
    """A line's bridges, re-footed, its walk and its proposed journals; returns the Excel rows of
    the walk's totals (what the Summary refers to)."""
    e, name = ln["entity"], ln["line"]
    ws.set_column(0, 0, 44)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 13, 16)
    ws.set_column(14, 14, 30)
    ws.write(0, 0, f"{e} {name}: {ln['title']}, {ln['period']} ({ln['currency']})", fmt.title)
    ws.set_row(1, 60)
    ws.merge_range(1, 0, 1, len(HEAD) - 1, line_narrative(ln), fmt.wrap)
    ws.write_string(2, 0, facts(ln))
    ws.write_row(3, 0, HEAD, fmt.head)
    rows = [(b_id, label(b_id), b.get("nature") or "", b["version"], item_count(b), b["amount_lcy"], b["amount_usd"],
             b["material_items"]) for b_id, b in ln["bridges"].items()]
    rows.append((UNEXPLAINED, "unexplained keys", "unclaimed", "", ln["unexplained_items"], None, None, None))
    keys_total = _unexplained_keys(ln)
    for r, (b_id, text, nature, version, count, amount, usd, material) in enumerate(rows, start=4):
        blocks = layout.ranges(e, name, b_id)
        value = Decimal(amount) if amount is not None else keys_total
        unresolved = layout.unresolved_lcy.get((e, name, b_id), ZERO)
        for c, v in enumerate((b_id, text, nature, version)):
            ws.write_string(r, c, v)
        ws.write_formula(r, 4, rows_formula(blocks), None, count)
        ws.write_number(r, 5, count)
        ws.write_formula(r, 6, sum_formula(blocks), fmt.money, value)
        ws.write_number(r, 7, value, fmt.money)
        ws.write_formula(r, 8, f"=G{r + 1}-H{r + 1}", fmt.money, 0)
        if usd is not None:
            ws.write_number(r, 9, Decimal(usd), fmt.money)
        if material is not None:
            ws.write_number(r, 10, material)
        ws.write_formula(r, 11, sum_formula(blocks, OPEN_COL), fmt.money, layout.open_lcy.get((e, name, b_id), ZERO))
        ws.write_formula(r, 12, unresolved_formula(blocks), fmt.money, unresolved)
        ws.write_formula(r, 13, f"=G{r + 1}-M{r + 1}", fmt.money, value - unresolved)
        ws.write_string(r, 14, "; ".join(f"{s} rows {a}-{b}" for s, a, b in blocks) or "no items")
    open_total = sum((layout.open_lcy.get((e, name, r[0]), ZERO) for r in rows), ZERO)
    at = _walk(ws, fmt, ln, first=5, last_bridge=4 + len(rows) - 1, keys_row=4 + len(rows), open_total=open_total)
    journals_table(ws, fmt, ln, at["end"] + 1)
    return at


def facts(ln: dict) -> str:
    """Status, every reason, auto-certification, the data horizon and the reconciling items' counts."""
    why = reasons_text(ln)
    auto = ln.get("auto_certification") if ln.get("auto_certified") else None
    ri = ln.get("reconciling_items") or {}
    parts = [f"Status {ln['status']}" + (f": {why}" if why else ""),
             f"auto-certified {auto}" if auto else "not auto-certified",
             f"data horizon {ln.get('horizon') or 'n/a'}, clearing window {ln.get('clearing_window_days') or 'n/a'} days"]
    if ri:
        parts.append(f"{ri['items']:,} items: {ri['open']:,} open ({ri['resolved']:,} resolved, {ri['unresolved']:,} "
                     f"unresolved), {ri['cleared']:,} cleared, {ri['pending']:,} pending, {ri['uncleared']:,} uncleared, "
                     f"{ri['carried_dispositions']:,} dispositions carried forward")
    return "; ".join(parts)


def _unexplained_keys(ln: dict) -> Decimal:
    """Σ delta of the unclaimed keys: the unexplained figure less the tie-out differences."""
    kl = ln["key_level"]
    gl_diff = Decimal(ln["gl_amount"]) - Decimal(kl["gl_amount"])
    tv_diff = Decimal(ln["tv_amount"]) - Decimal(kl["tv_amount"])
    return Decimal(ln["unexplained_lcy"]) - gl_diff + tv_diff


def _walk(ws, fmt: Formats, ln: dict, *, first: int, last_bridge: int, keys_row: int, open_total: Decimal) -> dict[str, int]:
    """variance = Σ bridges + unexplained = resolved + unresolved, each side re-footed from the
    rows above (and so from the listed items), next to the figures the reconciliation computed."""
    gl, tv = Decimal(ln["gl_amount"]), Decimal(ln["tv_amount"])
    kl = ln["key_level"]
    unexplained = Decimal(ln["unexplained_lcy"])
    bridged = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
    unresolved, resolved = Decimal(ln["unresolved_lcy"]), Decimal(ln["resolved_lcy"])
    tie_out, tv_diff = gl - Decimal(kl["gl_amount"]), tv - Decimal(kl["tv_amount"])
    without = unresolved - tie_out + tv_diff  # Σ open amounts without a disposition
    r, v = keys_row + 2, VALUE  # Excel row numbers below (1-based)
    walk = [
        ("GL (CR_04, as presented)", None, gl),
        ("TV (target values)", None, tv),
        ("Variance = GL - TV", f"={v}{r}-{v}{r + 1}", gl - tv),
        ("Σ bridges (classified, not by itself explained)", f"=SUM({v}{first}:{v}{last_bridge})", bridged),
        ("Unexplained keys (re-footed above)", f"={v}{keys_row}", _unexplained_keys(ln)),
        ("CR_04 - Σ CR_03 tie-out difference", None, tie_out),
        ("TV - Σ key-level TV (subtracted)", None, tv_diff),
        ("Unexplained = keys + tie-out - TV difference", f"={v}{r + 4}+{v}{r + 5}-{v}{r + 6}", unexplained),
        ("Unexplained (result)", None, unexplained),
        ("Check: variance - Σ bridges - unexplained", f"={v}{r + 2}-{v}{r + 3}-{v}{r + 7}", gl - tv - bridged - unexplained),
        ("Open amounts without a disposition (re-footed above)", f"=SUM({UNRESOLVED}{first}:{UNRESOLVED}{keys_row})", without),
        ("Unresolved = open without disposition + tie-out - TV difference", f"={v}{r + 10}+{v}{r + 5}-{v}{r + 6}", unresolved),
        ("Unresolved (result)", None, unresolved),
        ("Resolved = Σ (amount - unresolved) of the items (re-footed above)", f"=SUM({RESOLVED}{first}:{RESOLVED}{keys_row})",
         resolved),
        ("Resolved (result)", None, resolved),
        ("Check: variance - resolved - unresolved", f"={v}{r + 2}-{v}{r + 13}-{v}{r + 11}", gl - tv - resolved - unresolved),
        ("Open amount of the items (re-footed above)", f"=SUM({OPEN}{first}:{OPEN}{keys_row})", open_total),
    ]
    for n, (text, formula, value) in enumerate(walk):
        row = r - 1 + n
        ws.write_string(row, 0, text, fmt.bold if formula else None)
        if formula:
            ws.write_formula(row, 6, formula, fmt.money_bold, value)
        else:
            ws.write_number(row, 6, value, fmt.money)
    return {"bridges": r + 3, "unexplained": r + 7, "variance": r + 2, "check": r + 9, "unresolved": r + 11,
            "resolved": r + 13, "check_resolution": r + 15, "open": r + 16, "end": r + len(walk) - 1}


JOURNAL_HEAD = ("Proposed journal entry", "Description", "Source", "Debit", "Credit", "Items", "Amount LCY", "Item keys",
                "Disposition id")


def journals_table(ws, fmt: Formats, ln: dict, row: int) -> None:
    """The line's proposed journal entries: one per booking bridge (its items' parts not yet
    cleared) and one per ``adjust`` disposition (domain spec, "Reconciling items")."""
    journals = ln.get("proposed_journals") or []
    ws.write_string(row, 0, f"Proposed journal entries ({len(journals)})", fmt.bold)
    if not journals:
        ws.write_string(row + 1, 0, "No proposed journal entry: no booking item left to book and no adjust disposition.")
        return
    ws.write_row(row + 1, 0, JOURNAL_HEAD, fmt.head)
    for n, j in enumerate(journals, start=row + 2):
        keys = list(j.get("items") or ())
        ws.write_row(n, 0, (j.get("bridge") or "", j.get("description") or "", j.get("source") or "", j.get("debit") or "",
                            j.get("credit") or ""))
        ws.write_number(n, 5, len(keys))
        ws.write_number(n, 6, Decimal(j["amount_lcy"]), fmt.money)
        ws.write_string(n, 7, ", ".join(keys[:50]) + (f", and {len(keys) - 50:,} more" if len(keys) > 50 else ""))
        ws.write_string(n, 8, j.get("disposition_id") or "")
