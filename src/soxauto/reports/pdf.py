"""PDFs (reportlab): one line's reconciliation, and one evidence package's summary.

Both read ``RunData`` only (the package summary also lists the artifacts of the package's own
``manifest.json``). Figures are printed from the results' decimal strings.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from ..errors import UsageError, did_you_mean
from .ageing import ageing
from .model import RunData
from .narrative import amount, item_count, label, line_narrative, reasons_text
from .sheets import signoff_text

STYLES = getSampleStyleSheet()
GRID = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c8cfd8")),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde4ee")),
    ("FONTSIZE", (0, 0), (-1, -1), 8), ("VALIGN", (0, 0), (-1, -1), "TOP"),
])
STATUS_COLORS = {"RECONCILED": "#24591b", "INVESTIGATE": "#7a5400", "ERROR": "#8a1c1c"}


def _table(rows: list[list], widths=None, numeric_from: int | None = None) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(GRID)
    if numeric_from is not None:
        t.setStyle(TableStyle([("ALIGN", (numeric_from, 1), (-1, -1), "RIGHT")]))
    return t


def _doc(path: Path, title: str, *, wide: bool = False) -> SimpleDocTemplate:
    path.parent.mkdir(parents=True, exist_ok=True)
    return SimpleDocTemplate(str(path), pagesize=landscape(A4) if wide else A4, title=title, author="soxauto",
                             leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                             invariant=True)


def _p(text: str, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape(text), STYLES[style])


def line_pdf(data: RunData, entity: str, line: str, path: Path) -> Path:
    ln = data.line(entity, line)
    ccy = ln["currency"]
    bridged = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
    color = STATUS_COLORS.get(ln["status"], "#222222")
    why = reasons_text(ln) or (f"auto-certified {ln.get('auto_certification')}" if ln.get("auto_certified") else "no reason")
    buckets = ageing(data.items(entity, line).to_pylist()) if entity in data.items_files else ageing(())
    story = [
        _p(f"{entity} {line}: {ln['title']}, {ln['period']}", "Title"),
        Paragraph(f"Status <font color='{color}'><b>{escape(ln['status'])}</b></font> ({escape(why)}); "
                  f"sign-off: {escape(signoff_text(data.signoff(entity, line)))}; run {escape(data.run_id)}", STYLES["BodyText"]),
        Spacer(1, 4 * mm), _p(line_narrative(ln)), Spacer(1, 4 * mm),
        _table([["Figure", f"Amount {ccy}", "Amount USD"],
                ["GL (CR_04, as presented)", amount(ln["gl_amount"]), ""],
                ["TV (target values)", amount(ln["tv_amount"]), ""],
                ["Variance = GL - TV", amount(ln["variance_lcy"]), amount(ln["variance_usd"])],
                ["Σ bridges (classified)", amount(str(bridged)), ""],
                ["Unexplained", amount(ln["unexplained_lcy"]), amount(ln["unexplained_usd"])],
                ["Resolved (explained)", amount(ln.get("resolved_lcy")), amount(ln.get("resolved_usd"))],
                ["Unresolved", amount(ln.get("unresolved_lcy")), amount(ln.get("unresolved_usd"))],
                ["of which tie-out difference", amount(ln.get("tie_out_difference_lcy")), ""]],
               widths=[70 * mm, 50 * mm, 40 * mm], numeric_from=1),
        Spacer(1, 4 * mm),
        _table([["Bridge", "Label", "Nature", "Version", "Items", "Material", f"Amount {ccy}", "Amount USD"]]
               + [[b_id, label(b_id), b.get("nature") or "", b["version"], f"{item_count(b):,}", f"{b['material_items']:,}",
                   amount(b["amount_lcy"]), amount(b["amount_usd"])] for b_id, b in ln["bridges"].items()]
               + [["UNEXPLAINED", "unclaimed keys, tie-out", "unclaimed", "", f"{ln['unexplained_items']:,}", "",
                   amount(ln["unexplained_lcy"]), amount(ln["unexplained_usd"])]], numeric_from=4),
        Spacer(1, 4 * mm),
        _p("Ageing of open items (days from the cutoff where the item's run of months began; the manual key has no age)"),
        _table([["", *(b.label for b in buckets)], ["Items", *(f"{b.items:,}" for b in buckets)],
                [f"Open {ccy}", *(amount(str(b.open_lcy)) for b in buckets)],
                [f"Unresolved {ccy}", *(amount(str(b.unresolved_lcy)) for b in buckets)]], numeric_from=1),
        Spacer(1, 4 * mm),
        _p(f"GL accounts {', '.join(ln['gl_accounts'])}; TV item {ln['tv_item']}; {ln['key_level']['keys']:,} keys; "
           f"CR_04 - Σ CR_03 tie-out difference {amount(ln['key_level']['tie_out_difference'])} {ccy}; "
           f"FX {ln['fx_rate'] or 'n/a'} {ccy} per USD; bucket threshold "
           f"{amount((ln.get('threshold') or {}).get('bucket_usd'))} USD; data horizon {ln.get('horizon') or 'n/a'}, "
           f"clearing window {ln.get('clearing_window_days') or 'n/a'} days."),
    ]
    journals = ln.get("proposed_journals") or []
    if journals:
        story += [Spacer(1, 4 * mm), _p("Proposed journal entries", "Heading3"), _table(
            [["Bridge", "Source", "Debit", "Credit", f"Amount {ccy}", "Description", "Items"]]
            + [[j.get("bridge") or "", j.get("source") or "", j.get("debit") or "", j.get("credit") or "",
                amount(j["amount_lcy"]), Paragraph(escape(j.get("description") or ""), STYLES["BodyText"]),
                f"{len(j.get('items') or ()):,}"] for j in journals],
            widths=[46 * mm, 16 * mm, 14 * mm, 14 * mm, 26 * mm, 50 * mm, 12 * mm])]
    if ln["findings"]:
        story += [Spacer(1, 4 * mm), _table([["Finding", "Severity", "Message", "Amount"]] + [
            [f["code"], f["severity"], Paragraph(escape(f["message"]), STYLES["BodyText"]),
             amount(f["amount_lcy"]) if f["amount_lcy"] else ""] for f in ln["findings"]], widths=[40 * mm, 18 * mm, 90 * mm, 30 * mm])]
    _doc(Path(path), f"{entity} {line} {ln['period']}").build(story)
    return Path(path)


def evidence_pdf(data: RunData, evidence_id: str, path: Path) -> Path:
    row = next((e for e in data.evidence if e["evidence_id"] == evidence_id), None)
    if row is None:
        known = [e["evidence_id"] for e in data.evidence if e["evidence_id"]]
        raise UsageError(f"run {data.run_id} has no evidence package {evidence_id}{did_you_mean(evidence_id, known)}; "
                         "'soxauto report RUN --format xlsx' lists them on the Evidence sheet")
    facts = [["Field", "Value"], ["Evidence id", evidence_id], ["Entity / item", f"{row['entity']} / {row['item']}"],
             ["Period", data.period], ["Run", data.run_id], ["Rows", f"{row['rows'] or 0:,}"],
             ["Manifest SHA-256", row["manifest_sha256"] or ""], ["Fingerprint", row["fingerprint"] or ""],
             ["Ledger sequence", str(row["ledger_seq"] or "")], ["Tests exit code", str(row["outcome"])],
             ["Tests passed / failed / errored", f"{row['tests_passed']} / {row['tests_failed']} / {row['tests_errored']}"],
             ["Package folder", row["package"] or "not found in the evidence store"]]
    tests = [v for v in data.validation if v["evidence_id"] == evidence_id]
    story = [_p(f"Evidence package {evidence_id}", "Title"), _table(facts, widths=[55 * mm, 200 * mm]), Spacer(1, 5 * mm),
             _p("C&A tests", "Heading2"),
             _table([["Rule", "Kind", "Severity", "Outcome", "Failing rows", "Message"]]
                    + [[v["rule_id"], v["kind"], v["severity"], v["outcome"], f"{v['failing_count'] or 0:,}",
                        Paragraph(escape(v["message"] or ""), STYLES["BodyText"])] for v in tests],
                    widths=[60 * mm, 35 * mm, 20 * mm, 20 * mm, 22 * mm, 100 * mm])]
    manifest = Path(row["package"]) / "manifest.json" if row["package"] else None
    if manifest and manifest.is_file():
        artifacts = json.loads(manifest.read_bytes()).get("artifacts", [])
        story += [Spacer(1, 5 * mm), _p("Artifacts (manifest.json)", "Heading2"),
                  _table([["Path", "Role", "SHA-256", "Bytes"]] + [[a["path"], a["role"], a["sha256"], f"{a['size']:,}"]
                                                                   for a in artifacts],
                         widths=[45 * mm, 30 * mm, 150 * mm, 25 * mm], numeric_from=3)]
    _doc(Path(path), f"Evidence {evidence_id}", wide=True).build(story)
    return Path(path)
