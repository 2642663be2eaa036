"""The workbook's list sheets: summary, items, validation results, evidence index, sign-off history
(the per-line sheets and the item layout are in ``workbook``)."""

from __future__ import annotations

from decimal import Decimal

from xlsxwriter.utility import quote_sheetname, xl_col_to_name

from .ageing import LABELS, ageing
from .model import RunData
from .narrative import line_narrative, reasons_text

SUMMARY_HEAD = ("Entity", "Line", "Title", "Currency", "GL", "TV", "Variance", "Σ bridges", "Unexplained",
                "Unexplained USD", "Resolved", "Unresolved", "Unresolved USD", "Status", "Reasons", "Auto-certification",
                "Unresolved items", "Sign-off", "Narrative", "Sheet")


def signoff_text(s: dict | None) -> str:
    if s is None:
        return "unsigned"
    who = [f"prepared by {s['prepared_by']}" if s.get("prepared_by") else "",
           f"reviewed by {s['reviewed_by']}" if s.get("reviewed_by") else ""]
    state = s["state"].replace("_", " ")  # approved_with_exception: an escalation, shown as such
    if s.get("exception"):
        n = len(s["exception"].get("open_items") or ())
        state += f" ({n} open item{'' if n == 1 else 's'} accepted)"
    return state + "".join(f", {w}" for w in who if w)


def summary_sheet(ws, fmt, data: RunData, names: dict, anchors: dict, ages: dict | None = None) -> None:
    """One row per line (figures that the line sheet re-foots are references to it), then the
    ageing of each line's open items."""
    run = data.run
    ws.write(0, 0, f"C-PG-1 reconciliation {data.period}: run {data.run_id}", fmt.title)
    ws.write(1, 0, f"status {run['status']}, exit code {run['exit_code']}; source {run['source']}; pack "
                   f"{run['pack_version']}; by {run['user']} on {run['host']}, {run['started_at']} to {run['finished_at'] or ''}")
    ws.write_row(3, 0, SUMMARY_HEAD, fmt.head)
    ws.set_column(0, 1, 14)
    ws.set_column(2, 2, 30)
    ws.set_column(4, 12, 18)
    ws.set_column(13, 13, 14)
    ws.set_column(14, 14, 44)
    ws.set_column(15, 17, 20)
    ws.set_column(18, 18, 90)
    ws.set_column(19, 19, 20)
    for r, ln in enumerate(data.lines, start=4):
        key = (ln["entity"], ln["line"])
        sheet, at = quote_sheetname(names[key]), anchors[key]
        gl, tv = Decimal(ln["gl_amount"]), Decimal(ln["tv_amount"])
        bridged = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
        for c, text in enumerate((ln["entity"], ln["line"], ln["title"], ln["currency"])):
            ws.write_string(r, c, text)
        ws.write_number(r, 4, gl, fmt.money)
        ws.write_number(r, 5, tv, fmt.money)
        ws.write_formula(r, 6, f"=E{r + 1}-F{r + 1}", fmt.money, gl - tv)
        ws.write_formula(r, 7, f"={sheet}!G{at['bridges']}", fmt.money, bridged)
        ws.write_formula(r, 8, f"={sheet}!G{at['unexplained']}", fmt.money, Decimal(ln["unexplained_lcy"]))
        _usd(ws, r, 9, ln.get("unexplained_usd"), fmt)
        ws.write_formula(r, 10, f"={sheet}!G{at['resolved']}", fmt.money, Decimal(ln["resolved_lcy"]))
        ws.write_formula(r, 11, f"={sheet}!G{at['unresolved']}", fmt.money, Decimal(ln["unresolved_lcy"]))
        _usd(ws, r, 12, ln.get("unresolved_usd"), fmt)
        ws.write_string(r, 13, ln["status"])
        for c, text in ((14, reasons_text(ln)), (15, ln.get("auto_certification") if ln.get("auto_certified") else None)):
            if text:  # an empty cell, not an empty string: the autofilter's "(empty)" finds it
                ws.write_string(r, c, text)
        ws.write_number(r, 16, (ln.get("reconciling_items") or {}).get("unresolved") or 0)
        ws.write_string(r, 17, signoff_text(data.signoff(*key)))
        ws.write_string(r, 18, line_narrative(ln), fmt.wrap)
        ws.write_url(r, 19, f"internal:{sheet}!A1", fmt.link, string=names[key])
    ws.freeze_panes(4, 2)
    if data.lines:
        ws.autofilter(3, 0, 3 + len(data.lines), len(SUMMARY_HEAD) - 1)
    ageing_table(ws, fmt, data, names, anchors, ages or {}, 4 + len(data.lines) + 2)


def _usd(ws, r: int, c: int, value: str | None, fmt) -> None:
    """A USD figure; left empty for a line in ERROR (it could not be computed)."""
    if value is not None:
        ws.write_number(r, c, Decimal(value), fmt.money)


AGEING_HEAD = ("Entity", "Line", "Currency", *(f"{b} {what}" for b in LABELS for what in ("items", "open LCY")),
               "Open LCY (buckets)", "Open LCY (line sheet)", "Difference")


def ageing_table(ws, fmt, data: RunData, names: dict, anchors: dict, ages: dict, top: int) -> None:
    """Open items per line and bucket of age (count and open amount); the buckets' total is
    re-footed against the line sheet's open amount, re-footed from the listed items."""
    ws.write_string(top, 0, "Ageing of open items: days from the cutoff of the first month of each item's unbroken run "
                            "of months; the manual key has no age", fmt.bold)
    ws.write_row(top + 1, 0, AGEING_HEAD, fmt.head)
    for r, ln in enumerate(data.lines, start=top + 2):
        key = (ln["entity"], ln["line"])
        buckets = ages.get(key) or ageing(())
        for c, text in enumerate((ln["entity"], ln["line"], ln["currency"])):
            ws.write_string(r, c, text)
        for n, b in enumerate(buckets):
            ws.write_number(r, 3 + 2 * n, b.items)
            ws.write_number(r, 4 + 2 * n, b.open_lcy, fmt.money)
        c = 3 + 2 * len(buckets)
        total = sum((b.open_lcy for b in buckets), Decimal(0))
        cells = "+".join(f"{xl_col_to_name(4 + 2 * n)}{r + 1}" for n in range(len(buckets)))
        ws.write_formula(r, c, f"={cells}", fmt.money, total)
        ws.write_formula(r, c + 1, f"={quote_sheetname(names[key])}!G{anchors[key]['open']}", fmt.money, total)
        ws.write_formula(r, c + 2, f"={xl_col_to_name(c)}{r + 1}-{xl_col_to_name(c + 1)}{r + 1}", fmt.money, 0)


# The item sheets' columns: (header, close.items column), in this order (A, B, ...).
ITEM_COLUMNS = (("Entity", "entity"), ("Period", "period"), ("Line", "line"), ("Bridge", "bridge"), ("Key", "key"),
                ("Amount LCY", "amount_lcy"), ("Currency", "currency"), ("Material", "material"), ("Nature", "nature"),
                ("State", "state"), ("Movement LCY", "movement_lcy"), ("Cleared LCY", "cleared_lcy"), ("Open LCY", "open_lcy"),
                ("Window end", "window_end"), ("Age (days)", "age_days"), ("Disposition", "disposition"),
                ("Disposition id", "disposition_id"), ("Disposition period", "disposition_period"))
ITEM_MONEY = ("amount_lcy", "movement_lcy", "cleared_lcy", "open_lcy")
TIMED = ("movement_lcy", "cleared_lcy")  # read from CR_06 for timing and booking items only: empty for the others


def item_col(name: str) -> str:
    """The letter of a close.items column in the item sheets."""
    return xl_col_to_name([n for _, n in ITEM_COLUMNS].index(name))


def items_sheets(book, fmt, items: dict, layout, max_rows: int) -> None:
    per_sheet = max_rows - 1
    sheets = [book.add_worksheet(name) for name in layout.sheets]
    for ws in sheets:
        ws.write_row(0, 0, [head for head, _ in ITEM_COLUMNS], fmt.head)
        ws.set_column(0, 3, 14)
        ws.set_column(4, 4, 24)
        ws.set_column(5, 5, 18)
        ws.set_column(9, 13, 14)
        ws.set_column(16, 16, 22)
        ws.freeze_panes(1, 0)
    n = 0
    names = [name for _, name in ITEM_COLUMNS]
    for table in items.values():
        cols = table.select(names).to_pydict()
        for i in range(table.num_rows):
            ws, row = sheets[n // per_sheet], n % per_sheet + 1
            timed = cols["state"][i] is not None
            for c, name in enumerate(names):
                value = cols[name][i]
                if value is None or (not timed and name in TIMED):
                    continue  # an empty cell: the disposition column's SUMIFS counts on it
                if name in ITEM_MONEY:
                    ws.write_number(row, c, value, fmt.money)
                elif name == "material":
                    ws.write_boolean(row, c, value)
                elif name == "age_days":
                    ws.write_number(row, c, value)
                elif name == "window_end":
                    ws.write_datetime(row, c, value, fmt.date)
                else:
                    ws.write_string(row, c, value)
            n += 1


VALIDATION_HEAD = ("Evidence id", "Entity", "Item", "Rule", "Kind", "Severity", "Outcome", "Failing rows", "Observed",
                   "Expected", "Message")


def validation_sheet(ws, fmt, data: RunData) -> None:
    ws.write_row(0, 0, VALIDATION_HEAD, fmt.head)
    ws.set_column(0, 0, 24)
    ws.set_column(3, 3, 34)
    ws.set_column(8, 9, 40)
    ws.freeze_panes(1, 0)
    for r, v in enumerate(data.validation, start=1):
        ws.write_row(r, 0, (v["evidence_id"], v["entity"], v["item"], v["rule_id"], v["kind"], v["severity"], v["outcome"]))
        ws.write_number(r, 7, v["failing_count"] or 0)
        ws.write_row(r, 8, (v["observed"][:32000], v["expected"][:32000], v["message"] or ""))
    last = len(data.validation) + 1
    r = last + 1
    for n, outcome in enumerate(("passed", "failed", "errored")):
        ws.write_string(r + n, 5, f"tests {outcome}", fmt.bold)
        count = sum(1 for v in data.validation if v["outcome"] == outcome)
        ws.write_formula(r + n, 6, f'=COUNTIF(G2:G{last},"{outcome}")', fmt.bold, count)


EVIDENCE_HEAD = ("Evidence id", "Entity", "Item", "Status", "Manifest SHA-256", "Fingerprint", "Rows", "Ledger seq",
                 "Exit code", "Tests passed", "Tests failed", "Tests errored", "Package")


def evidence_sheet(ws, fmt, data: RunData) -> None:
    ws.write_row(0, 0, EVIDENCE_HEAD, fmt.head)
    ws.set_column(0, 0, 24)
    ws.set_column(4, 5, 66)
    ws.set_column(12, 12, 60)
    ws.freeze_panes(1, 1)
    for r, e in enumerate(data.evidence, start=1):
        ws.write_row(r, 0, (e["evidence_id"] or "", e["entity"], e["item"], e["status"], e["manifest_sha256"] or "",
                            e["fingerprint"] or ""))
        for c, key in enumerate(("rows", "ledger_seq", "outcome", "tests_passed", "tests_failed", "tests_errored"), start=6):
            if e[key] is not None:
                ws.write_number(r, c, e[key])
        ws.write_string(r, 12, e["package"] or "")
    last, r = len(data.evidence) + 1, len(data.evidence) + 2
    ws.write_string(r, 0, "Total", fmt.bold)
    for c, key in ((6, "rows"), (9, "tests_passed"), (10, "tests_failed"), (11, "tests_errored")):
        col = chr(ord("A") + c)
        ws.write_formula(r, c, f"=SUM({col}2:{col}{last})", fmt.bold, sum(e[key] or 0 for e in data.evidence))


SIGNOFF_HEAD = ("Seq", "Action", "Entity", "Line", "User", "At", "Comment", "Run", "Evidence")


def signoff_sheet(ws, fmt, data: RunData) -> None:
    ws.write_row(0, 0, SIGNOFF_HEAD, fmt.head)
    ws.set_column(4, 7, 22)
    ws.set_column(8, 8, 80)
    if not data.signoff_history:
        ws.write_string(1, 0, f"No sign-off events for {data.period}.")
    for r, h in enumerate(data.signoff_history, start=1):
        evidence = "; ".join(f"{k} {v}" for k, v in sorted((h.get("evidence") or {}).items()))
        action = h["action"] + (" with exception" if h.get("exception") else "")
        ws.write_row(r, 0, (h["seq"], action, h.get("entity") or "", h.get("line") or "", h.get("user") or "",
                            h.get("at") or "", h.get("comment") or "", h.get("run_id") or "", evidence))
