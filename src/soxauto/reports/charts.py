"""The waterfall of a reconciliation line as a standalone inline ``<svg>``: GL, then each bridge
and the unexplained remainder taking the running figure down (or up) to TV.

Drawn with matplotlib's SVG canvas on a private ``Figure`` (no pyplot, no GUI backend, no
global figure state). Text is drawn as paths, so the SVG needs no font and has no external
reference; element ids are salted with the line's identity so that several charts inline in
one HTML page never share an id, and the output is byte-for-byte deterministic. Text stays
``<text>`` in DejaVu Sans or the viewer's sans-serif (``svg.fonttype: none``): a third of the
size and faster than glyph paths, which matters with dozens of charts in one report.

Amounts are ``Decimal`` strings; they become floats only for bar geometry. Every label is
printed from the decimal string itself. GL and TV are usually orders of magnitude larger than
the bridges, so the value axis is cut: it spans the running figures, and the GL and TV bars
rise from the bottom of the plot, with "axis does not start at zero" written under it.
"""

from __future__ import annotations

import io
import re
import threading
from decimal import Decimal

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .narrative import amount, label

COLORS = {"total": "#4a6fa5", "down": "#6a9f58", "up": "#c0504d", "unexplained": "#e69f00"}
_RC_LOCK = threading.Lock()  # rc_context edits process-wide settings; charts may be drawn from several threads
_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_IDS = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')


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


def _draw(fig: Figure, line: dict) -> None:
    # No axis machinery (ticks are most of matplotlib's drawing time): bars are rectangles,
    # each labelled with its amount, names written under a baseline.
    bars = steps(line)
    ax = fig.add_axes((0.03, 0.27, 0.94, 0.60))
    ax.set_axis_off()
    lo, hi, cut = _limits(bars)
    ax.set_xlim(-0.6, len(bars) - 0.4)
    ax.set_ylim(lo, hi + 0.08 * (hi - lo))
    for n, (name, start, end, kind) in enumerate(bars):
        s, e = (lo, float(end)) if kind == "total" and cut else (float(start), float(end))
        ax.add_patch(Rectangle((n - 0.3, min(s, e)), 0.6, abs(e - s), facecolor=COLORS[kind], edgecolor="#333333",
                               linewidth=0.4))
        text = amount(str(end if kind == "total" else start - end))
        ax.text(n, max(s, e) + 0.01 * (hi - lo), text, ha="center", va="bottom", fontsize=6.5)
        if n + 1 < len(bars):
            ax.plot([n + 0.3, n + 0.7], [float(end)] * 2, color="#777777", linewidth=0.6)
        tag = name if name in ("GL", "TV") else label(name).capitalize()
        ax.text(n + 0.25, lo, tag, ha="right", va="top", rotation=20, rotation_mode="anchor", fontsize=7)
    ax.plot([-0.5, len(bars) - 0.5], [lo, lo], color="#333333", linewidth=0.6)
    if not cut and lo < 0 < hi:
        ax.plot([-0.5, len(bars) - 0.5], [0, 0], color="#999999", linewidth=0.4, linestyle=":")
    fig.text(0.03, 0.93, f"{line['entity']} {line['line']}: GL to TV ({line['currency']})", fontsize=9, weight="bold")
    if cut:
        fig.text(0.97, 0.02, "value axis does not start at zero", fontsize=6, ha="right", style="italic")


def waterfall_svg(line: dict, *, width: float = 7.0, height: float = 3.4) -> str:
    """The line's waterfall as an ``<svg>`` element (no XML prologue), sized in points."""
    fig = Figure(figsize=(width, height))
    FigureCanvasSVG(fig)
    _draw(fig, line)
    buf = io.StringIO()
    with _RC_LOCK, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"{line['entity']}/{line['line']}",
                                         "font.family": "DejaVu Sans"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = _METADATA.sub("", _PROLOGUE.sub("", buf.getvalue(), count=1), count=1).strip()
    # matplotlib numbers its groups figure_1, axes_1, ... in every chart: prefix every id and
    # every reference to one, so charts inline in one page keep distinct ids.
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", f"wf-{line['entity']}-{line['line']}-")
    return _IDS.sub(lambda m: m.group(1) + prefix + m.group(2), svg) + "\n"

