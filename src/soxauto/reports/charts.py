"""The waterfall of a reconciliation line as a standalone inline ``<svg>``: GL, then each bridge
and the unexplained remainder taking the running figure down (or up) to TV.

Written directly as SVG elements (rectangles, lines, ``<text>``): no plotting library, no font
file, no external reference, byte-for-byte deterministic. Text is ``<text>`` in DejaVu Sans or
the viewer's sans-serif. Element ids are prefixed with the line's identity so that several
charts inline in one HTML page never share an id. (matplotlib drew it until round 2: importing
and driving it cost about two seconds of every close for a dozen rectangles.)

Amounts are ``Decimal`` strings; they become floats only for bar geometry. Every label is
printed from the decimal string itself. GL and TV are usually orders of magnitude larger than
the bridges, so the value axis is cut: it spans the running figures, and the GL and TV bars
rise from the bottom of the plot, with "value axis does not start at zero" written under it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from .narrative import amount, label

COLORS = {"total": "#4a6fa5", "down": "#6a9f58", "up": "#c0504d", "unexplained": "#e69f00"}
EDGE, GUIDE, ZERO = "#333333", "#777777", "#999999"
FONT = "DejaVu Sans, sans-serif"


def steps(line: dict) -> list[tuple[str, Decimal, Decimal, str]]:
    """(label, start, end, kind) per bar, in order: GL, bridges, unexplained, TV."""
    gl, tv = Decimal(line["gl_amount"]), Decimal(line["tv_amount"])
    bars = [("GL", Decimal(0), gl, "total")]
    running = gl
    for b_id, b in line["bridges"].items():
        value = Decimal(b["amount_lcy"])
        bars.append((b_id, running, running - value, "down" if value >= 0 else "up"))
        running -= value
    unexplained = Decimal(line["unexplained_lcy"])
    bars.append(("UNEXPLAINED", running, running - unexplained, "unexplained"))
    bars.append(("TV", Decimal(0), tv, "total"))
    return bars


def _limits(bars) -> tuple[float, float, bool]:
    """The value axis: from zero when the steps are visible at that scale, else cut to them."""
    inner = [float(v) for _, s, e, k in bars if k != "total" for v in (s, e)]
    totals = [float(e) for _, _, e, k in bars if k == "total"]
    lo, hi = min(inner + totals + [0.0]), max(inner + totals + [0.0])
    span = (max(inner) - min(inner)) if inner else 0.0
    if span == 0 or span > 0.05 * (hi - lo):
        pad = 0.08 * ((hi - lo) or 1.0)
        return (lo - pad if lo < 0 else lo), hi + pad, False
    pad = 0.25 * span
    return min(inner) - pad, max(inner) + pad, True


def _num(x: float) -> str:
    """A coordinate with two decimals, without trailing zeros: stable text for equal input."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def waterfall_svg(line: dict, *, width: float = 7.0, height: float = 3.4) -> str:
    """The line's waterfall as an ``<svg>`` element (no XML prologue), sized in points."""
    w, h = width * 72, height * 72
    bars = steps(line)
    lo, hi, cut = _limits(bars)
    top = hi + 0.08 * (hi - lo)
    # The plot area: 3 %..97 % across, 13 %..73 % down (room for the title above, names below).
    x0, x1, y0, y1 = 0.03 * w, 0.97 * w, 0.13 * h, 0.73 * h
    xs = lambda v: x0 + (v + 0.6) / (len(bars) - 0.4 + 0.6) * (x1 - x0)  # noqa: E731
    ys = lambda v: y1 - (v - lo) / ((top - lo) or 1.0) * (y1 - y0)  # noqa: E731
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", f"wf-{line['entity']}-{line['line']}-")

    def text(x, y, body, *, size, anchor="middle", extra=""):
        return (f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}"{extra}>'
                f"{escape(body)}</text>")

    title = f"{line['entity']} {line['line']}: GL to TV ({line['currency']})"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(w)}pt" height="{_num(h)}pt" '
           f'viewBox="0 0 {_num(w)} {_num(h)}" version="1.1" id="{prefix}chart" role="img" aria-label={quoteattr(title)}>',
           f'<g id="{prefix}plot" font-family="{FONT}" fill="#000000">',
           text(0.03 * w, 0.07 * h + 9, title, size=9, anchor="start", extra=' font-weight="bold"')]
    for n, (name, start, end, kind) in enumerate(bars):
        s, e = (lo, float(end)) if kind == "total" and cut else (float(start), float(end))
        left, right = xs(n - 0.3), xs(n + 0.3)
        upper, lower = ys(max(s, e)), ys(min(s, e))
        out.append(f'<rect id="{prefix}bar{n}" x="{_num(left)}" y="{_num(upper)}" width="{_num(right - left)}" '
                   f'height="{_num(lower - upper)}" fill="{COLORS[kind]}" stroke="{EDGE}" stroke-width="0.4"/>')
        figure = amount(str(end if kind == "total" else start - end))
        out.append(text(xs(n), ys(max(s, e) + 0.01 * (hi - lo)) - 2, figure, size=6.5))
        if n + 1 < len(bars):
            y = _num(ys(float(end)))
            out.append(f'<line x1="{_num(xs(n + 0.3))}" y1="{y}" x2="{_num(xs(n + 0.7))}" y2="{y}" '
                       f'stroke="{GUIDE}" stroke-width="0.6"/>')
        tag = name if name in ("GL", "TV") else label(name).capitalize()
        x, y = xs(n + 0.25), ys(lo) + 9
        out.append(text(x, y, tag, size=7, anchor="end", extra=f' transform="rotate(-20 {_num(x)} {_num(y)})"'))
    base = _num(ys(lo))
    out.append(f'<line x1="{_num(xs(-0.5))}" y1="{base}" x2="{_num(xs(len(bars) - 0.5))}" y2="{base}" '
               f'stroke="{EDGE}" stroke-width="0.6"/>')
    if not cut and lo < 0 < hi:
        zero = _num(ys(0.0))
        out.append(f'<line x1="{_num(xs(-0.5))}" y1="{zero}" x2="{_num(xs(len(bars) - 0.5))}" y2="{zero}" '
                   f'stroke="{ZERO}" stroke-width="0.4" stroke-dasharray="1,2"/>')
    if cut:
        out.append(text(0.97 * w, 0.98 * h, "value axis does not start at zero", size=6, anchor="end",
                        extra=' font-style="italic"'))
    out.append("</g>\n</svg>")
    return "\n".join(out) + "\n"
