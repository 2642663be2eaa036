"""A tiny evaluator for the formulas the auditor workbook writes, over cells read back with
openpyxl: sums of terms joined by + and -, each a number, a cell (optionally on another sheet),
SUM(ranges), ROWS(range) or COUNTIF(range,"text"). Amounts come back from the file as the
doubles Excel stores; they are turned into Decimal through their shortest repr, which is the
decimal string that was written."""

from __future__ import annotations

import re
from decimal import Decimal

REF = r"(?:(?:'(?P<q>[^']+)'|(?P<s>[A-Za-z0-9_]+))!)?\$?(?P<c1>[A-Z]+)\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Z]+)\$?(?P<r2>\d+))?"
TERM = re.compile(r"([+-]?)(SUM\((?P<sum>[^)]*)\)|ROWS\((?P<rows>[^)]*)\)|COUNTIF\((?P<cif>[^,]+),\"(?P<text>[^\"]*)\"\)"
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
        if m["sum"] is not None:
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
