"""A tiny evaluator for the formulas the auditor workbook writes, over cells read back with
openpyxl: sums of terms joined by + and -, each a number, a cell (optionally on another sheet),
SUM(ranges), ROWS(range), COUNTIF(range,"text") or SUMIFS(range,range,"text") with one criterion
(``""`` matches an empty cell, as in Excel and LibreOffice). Amounts come back from the file as the
doubles Excel stores; they are turned into Decimal through their shortest repr, which is the
decimal string that was written."""

from __future__ import annotations

import re
from decimal import Decimal

REF = r"(?:(?:'(?P<q>[^']+)'|(?P<s>[A-Za-z0-9_]+))!)?\$?(?P<c1>[A-Z]+)\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Z]+)\$?(?P<r2>\d+))?"
TERM = re.compile(r"([+-]?)(SUMIFS\((?P<sifs>[^,]+),(?P<crit>[^,]+),\"(?P<ctext>[^\"]*)\"\)|SUM\((?P<sum>[^)]*)\)|ROWS\((?P<rows>[^)]*)\)|COUNTIF\((?P<cif>[^,]+),\"(?P<text>[^\"]*)\"\)"
                  r"|(?P<ref>" + REF.replace("?P<", "?P<x") + r")|(?P<num>\d+(?:\.\d+)?))")
REF_RE = re.compile(REF)


def dec(value) -> Decimal:
    if value is None:
        return Decimal(0)
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def cells(wb, sheet: str, ref: str) -> list:
    m = REF_RE.fullmatch(ref.strip())
    assert m, ref
    ws = wb[m["q"] or m["s"] or sheet]
    c1, r1 = m["c1"], int(m["r1"])
    c2, r2 = (m["c2"], int(m["r2"])) if m["c2"] else (c1, r1)
    assert c1 == c2, "only single-column ranges are written"
    return [ws[f"{c1}{r}"].value for r in range(r1, r2 + 1)]


def evaluate(wb, sheet: str, formula) -> Decimal:
    """The value of ``formula`` (or of a plain cell value) on ``sheet``."""
    if not isinstance(formula, str) or not formula.startswith("="):
        return dec(formula)
    body, total, pos = formula[1:], Decimal(0), 0
    while pos < len(body):
        m = TERM.match(body, pos)
        assert m and m.group(2), f"cannot read {formula!r} at {pos}"
        sign = -1 if m.group(1) == "-" else 1
        if m["sifs"] is not None:
            values, keys = cells(wb, sheet, m["sifs"]), cells(wb, sheet, m["crit"])
            assert len(values) == len(keys), formula
            value = sum((dec(v) for v, k in zip(values, keys) if (k if k is not None else "") == m["ctext"]), Decimal(0))
        elif m["sum"] is not None:
            value = sum((evaluate(wb, sheet, v) if isinstance(v, str) else dec(v)
                         for part in m["sum"].split(",") for v in cells(wb, sheet, part)), Decimal(0))
        elif m["rows"] is not None:
            value = Decimal(len(cells(wb, sheet, m["rows"])))
        elif m["cif"] is not None:
            value = Decimal(sum(1 for v in cells(wb, sheet, m["cif"]) if v == m["text"]))
        elif m["ref"] is not None:
            (v,) = cells(wb, sheet, m["ref"])
            value = evaluate(wb, (REF_RE.fullmatch(m["ref"])["q"] or REF_RE.fullmatch(m["ref"])["s"] or sheet), v)
        else:
            value = Decimal(m["num"])
        total += sign * value
        pos = m.end()
    return total


# LibreOffice keeps the cached results of an .xlsx it opens unless told to recalculate on load;
# this profile setting tells it to, always (OOXMLRecalcMode 0).
RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""
# CSV of every sheet (-1), raw values rather than as formatted (the 9th token, false).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,UTF8,1,,0,false,true,false,false,false,-1"


def recalculated(path, folder) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook at ``path`` as LibreOffice computes it after recalculating
    every formula: sheet name -> rows of cell texts (one CSV per sheet, written under ``folder``)."""
    import csv
    import subprocess
    from pathlib import Path

    folder = Path(folder)
    profile = folder / "profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_PROFILE)
    out = folder / "csv"
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", CSV_FILTER,
                           "--outdir", str(out), str(path)], capture_output=True, text=True, timeout=240)
    stem = Path(path).stem
    sheets = {}
    for f in sorted(out.glob(f"{stem}-*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            sheets[f.name[len(stem) + 1:-4]] = list(csv.reader(fh))
    assert sheets, proc.stdout + proc.stderr
    return sheets


def cell(sheets: dict, sheet: str, ref: str) -> str:
    """The text of one cell (``G12``) of a recalculated sheet; '' when empty."""
    m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    rows = sheets[sheet]
    row = int(m[2]) - 1
    return rows[row][col - 1] if row < len(rows) and col - 1 < len(rows[row]) else ""


def cents(text: str) -> Decimal:
    """A recalculated amount to the cent: LibreOffice adds doubles, so a sum of cents may come
    back as 1209.6999999999998; the workbook shows two places."""
    return Decimal(text or "0").quantize(Decimal("0.01"))
