"""The workbook's list sheets: summary, items, validation results, evidence index, sign-off history
(the per-line sheets and the item layout are in ``workbook``)."""

from __future__ import annotations

from decimal import Decimal

from xlsxwriter.utility import quote_sheetname

from .model import RunData
from .narrative import line_narrative

SUMMARY_HEAD = ("Entity", "Line", "Title", "Currency", "GL", "TV", "Variance", "Explained", "Unexplained",
                "Unexplained USD", "Status", "Reason", "Sign-off", "Narrative", "Sheet")


def signoff_text(s: dict | None) -> str:
    if s is None:
        return "unsigned"
    who = [f"prepared by {s['prepared_by']}" if s.get("prepared_by") else "",
           f"reviewed by {s['reviewed_by']}" if s.get("reviewed_by") else ""]
    return s["state"] + "".join(f", {w}" for w in who if w)


def summary_sheet(ws, fmt, data: RunData, names: dict, anchors: dict) -> None:
    run = data.run
    ws.write(0, 0, f"C-PG-1 reconciliation {data.period}: run {data.run_id}", fmt.title)
    ws.write(1, 0, f"status {run['status']}, exit code {run['exit_code']}; source {run['source']}; pack "
                   f"{run['pack_version']}; by {run['user']} on {run['host']}, {run['started_at']} to {run['finished_at'] or ''}")
    ws.write_row(3, 0, SUMMARY_HEAD, fmt.head)
    ws.set_column(0, 1, 14)
    ws.set_column(2, 2, 30)
    ws.set_column(4, 9, 18)
    ws.set_column(10, 12, 16)
    ws.set_column(13, 13, 90)
    ws.set_column(14, 14, 20)
    for r, ln in enumerate(data.lines, start=4):
        key = (ln["entity"], ln["line"])
        sheet, at = quote_sheetname(names[key]), anchors[key]
        gl, tv = Decimal(ln["gl_amount"]), Decimal(ln["tv_amount"])
        explained = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
        for c, text in enumerate((ln["entity"], ln["line"], ln["title"], ln["currency"])):
            ws.write_string(r, c, text)
        ws.write_number(r, 4, gl, fmt.money)
        ws.write_number(r, 5, tv, fmt.money)
        ws.write_formula(r, 6, f"=E{r + 1}-F{r + 1}", fmt.money, gl - tv)
        ws.write_formula(r, 7, f"={sheet}!F{at['explained']}", fmt.money, explained)
        ws.write_formula(r, 8, f"={sheet}!F{at['unexplained']}", fmt.money, Decimal(ln["unexplained_lcy"]))
        if ln["unexplained_usd"] is not None:
            ws.write_number(r, 9, Decimal(ln["unexplained_usd"]), fmt.money)
        ws.write_string(r, 10, ln["status"])
        ws.write_string(r, 11, ln["reason"])
        ws.write_string(r, 12, signoff_text(data.signoff(*key)))
        ws.write_string(r, 13, line_narrative(ln), fmt.wrap)
        ws.write_url(r, 14, f"internal:{sheet}!A1", fmt.link, string=names[key])
    ws.freeze_panes(4, 2)
    if data.lines:
        ws.autofilter(3, 0, 3 + len(data.lines), len(SUMMARY_HEAD) - 1)


def items_sheets(book, fmt, data: RunData, items: dict, layout, max_rows: int) -> None:
    per_sheet = max_rows - 1
    sheets = [book.add_worksheet(name) for name in layout.sheets]
    for ws in sheets:
        ws.write_row(0, 0, ("Entity", "Period", "Line", "Bridge", "Key", "Amount LCY", "Currency", "Material"), fmt.head)
        ws.set_column(0, 3, 14)
        ws.set_column(4, 4, 24)
        ws.set_column(5, 5, 18)
        ws.freeze_panes(1, 0)
    n = 0
    for table in items.values():
        cols = table.to_pydict()
        for i in range(table.num_rows):
            ws, row = sheets[n // per_sheet], n % per_sheet + 1
            for c, name in enumerate(("entity", "period", "line", "bridge", "key")):
                ws.write_string(row, c, cols[name][i])
            ws.write_number(row, 5, cols["amount_lcy"][i], fmt.money)
            ws.write_string(row, 6, cols["currency"][i])
            ws.write_boolean(row, 7, cols["material"][i])
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
        ws.write_row(r, 0, (h["seq"], h["action"], h.get("entity") or "", h.get("line") or "", h.get("user") or "",
                            h.get("at") or "", h.get("comment") or "", h.get("run_id") or "", evidence))
