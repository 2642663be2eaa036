"""The HTML report of a run: one self-contained file (styles and SVG charts inline, no script,
no external URL) with the period overview (status matrix, every line's resolved and unresolved
figures with all its reasons, the ageing of open items per entity) and every line's details
(narrative, waterfall, bridges with their nature, variance = Σ bridges + unexplained =
resolved + unresolved, reconciling item counts, ageing buckets, proposed journals, findings),
readable offline.

Rendered with Jinja2 (autoescaped) from ``RunData``; figures are printed from the results'
decimal strings.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from jinja2 import Environment

from .ageing import LABELS, Bucket, ageing, ageing_by_line, total
from .charts import waterfall_svg
from .model import RunData
from .narrative import amount, item_count, label, line_narrative, reasons_text
from .sheets import signoff_text

CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:13px;color:#222;margin:24px auto;max-width:1500px;padding:0 16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;border-bottom:2px solid #4a6fa5;padding-bottom:3px;margin-top:28px}
h3{font-size:14px;margin:22px 0 6px}.meta{color:#555;margin-bottom:14px}
table{border-collapse:collapse;margin:6px 0 10px}th,td{border:1px solid #c8cfd8;padding:3px 7px;vertical-align:top}
th{background:#dde4ee;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.RECONCILED{background:#e3f1de;color:#24591b;font-weight:bold}.INVESTIGATE{background:#fff1cc;color:#7a5400;font-weight:bold}
.ERROR,.FAILED{background:#f8dcdc;color:#8a1c1c;font-weight:bold}.counts span{margin-right:14px}
.narrative{background:#f5f7fa;border-left:4px solid #4a6fa5;padding:6px 10px;margin:6px 0;max-width:1050px}
.line{page-break-inside:avoid;border-top:1px solid #e0e4ea;padding-top:4px}code{font-size:12px}
.matrix td,.matrix th{font-size:11px}.chart svg{max-width:100%;height:auto}a{color:#2d5597}.small{font-size:11px;color:#555}
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>C-PG-1 {{ run.period }} run {{ run.id }}</title>
<style>{{ css }}</style></head>
<body>
<h1>C-PG-1 reconciliation {{ run.period }}</h1>
<div class="meta">Run <code>{{ run.id }}</code>: {{ run.status }}, exit code {{ run.exit_code }}; source {{ run.source }};
pack {{ run.pack_version }}; by {{ run.user }} on {{ run.host }}, {{ run.started_at }} to {{ run.finished_at or "" }}.</div>
<div class="counts">{% for s, n in counts %}<span class="{{ s }}">&nbsp;{{ s }} {{ n }}&nbsp;</span>{% endfor %}</div>

<h2>Period overview</h2>
<table class="matrix"><tr><th>Entity</th><th>Currency</th><th>FX (LCY per USD)</th><th>Σ |unexplained| USD</th>
<th>Σ |unresolved| USD</th><th>Materiality USD</th>
{% for ln in line_ids %}<th>{{ ln }}</th>{% endfor %}</tr>
{% for e in entities %}<tr><td>{{ e.id }}</td><td>{{ e.currency }}</td><td class="n">{{ e.rate }}</td><td class="n">{{ e.total }}</td>
<td class="n">{{ e.unresolved }}</td><td class="n">{{ e.materiality }}</td>
{% for ln in line_ids %}{% set c = e.cells.get(ln) %}<td class="{{ c.status if c else '' }}">{% if c %}<a href="#{{ c.anchor }}">{{ c.status }}</a>{% endif %}</td>{% endfor %}</tr>
{% endfor %}</table>

<table><tr><th>Entity</th><th>Line</th><th>Currency</th><th>GL</th><th>TV</th><th>Variance</th><th>Σ bridges</th>
<th>Unexplained</th><th>Unexplained USD</th><th>Resolved</th><th>Unresolved</th><th>Unresolved USD</th><th>Status</th>
<th>Reasons</th><th>Auto-certification</th><th>Sign-off</th></tr>
{% for l in lines %}<tr><td>{{ l.entity }}</td><td><a href="#{{ l.anchor }}">{{ l.line }}</a></td><td>{{ l.currency }}</td>
<td class="n">{{ l.gl }}</td><td class="n">{{ l.tv }}</td><td class="n">{{ l.variance }}</td><td class="n">{{ l.bridged }}</td>
<td class="n">{{ l.unexplained }}</td><td class="n">{{ l.unexplained_usd }}</td><td class="n">{{ l.resolved }}</td>
<td class="n">{{ l.unresolved }}</td><td class="n">{{ l.unresolved_usd }}</td><td class="{{ l.status }}">{{ l.status }}</td>
<td>{{ l.reasons }}</td><td>{{ l.auto }}</td><td>{{ l.signoff }}</td></tr>
{% endfor %}</table>

<h3>Ageing of open items per entity</h3>
<table><tr><th>Entity</th><th>Currency</th>{% for b in age_labels %}<th>{{ b }}: items</th><th>{{ b }}: open</th><th>{{ b }}: unresolved</th>{% endfor %}</tr>
{% for e in entities %}<tr><td>{{ e.id }}</td><td>{{ e.currency }}</td>{% for b in e.ageing %}<td class="n">{{ b.count }}</td>
<td class="n">{{ b.open }}</td><td class="n">{{ b.unresolved }}</td>{% endfor %}</tr>
{% endfor %}</table>
<p class="small">Age: days from the cutoff of the first month of the item's unbroken run of months to this cutoff; the
keyless manual key has no age. Open: the items' open amounts; unresolved: the part without a disposition.</p>

<h2>Line details</h2>
{% for l in lines %}<div class="line" id="{{ l.anchor }}">
<h3>{{ l.entity }} {{ l.line }}: {{ l.title }} <span class="{{ l.status }}">&nbsp;{{ l.status }}&nbsp;</span>
{% if l.reasons %}<span class="small">{{ l.reasons }}</span>{% endif %}{% if l.auto %}<span class="small">auto-certified {{ l.auto }}</span>{% endif %}</h3>
<div class="narrative">{{ l.narrative }}</div>
<div class="small">GL accounts {{ l.accounts }}; TV item {{ l.tv_item }}; {{ l.key_count }} keys; FX {{ l.rate }};
data horizon {{ l.horizon }}; clearing window {{ l.window }} days; sign-off: {{ l.signoff }}.</div>
<div class="chart">{{ l.svg | safe }}</div>
<table><tr><th>Bridge</th><th>Label</th><th>Nature</th><th>Version</th><th>Items</th><th>Material items</th>
<th>Amount {{ l.currency }}</th><th>Amount USD</th></tr>
{% for b in l.bridges %}<tr><td>{{ b.id }}</td><td>{{ b.label }}</td><td>{{ b.nature }}</td><td>{{ b.version }}</td><td class="n">{{ b.count }}</td>
<td class="n">{{ b.material }}</td><td class="n">{{ b.amount }}</td><td class="n">{{ b.usd }}</td></tr>{% endfor %}
<tr><td><b>UNEXPLAINED</b></td><td>unclaimed keys and tie-out differences</td><td>unclaimed</td><td></td>
<td class="n">{{ l.unexplained_items }}</td><td></td><td class="n"><b>{{ l.unexplained }}</b></td><td class="n"><b>{{ l.unexplained_usd }}</b></td></tr></table>
<table><tr><th>Variance {{ l.currency }}</th><th>= Σ bridges + unexplained</th><th>= resolved (explained)</th><th>+ unresolved</th>
<th>Unresolved USD</th><th>of which tie-out difference</th></tr>
<tr><td class="n">{{ l.variance }}</td><td class="n">{{ l.bridged }} + {{ l.unexplained }}</td><td class="n">{{ l.resolved }}</td>
<td class="n"><b>{{ l.unresolved }}</b></td><td class="n"><b>{{ l.unresolved_usd }}</b></td><td class="n">{{ l.tie_out }}</td></tr></table>
{% if l.counts %}<div class="small">Reconciling items: {{ l.counts }}.</div>{% endif %}
<table><tr><th>Age of open items</th>{% for b in l.ageing %}<th>{{ b.label }}</th>{% endfor %}</tr>
<tr><td>items</td>{% for b in l.ageing %}<td class="n">{{ b.count }}</td>{% endfor %}</tr>
<tr><td>open {{ l.currency }}</td>{% for b in l.ageing %}<td class="n">{{ b.open }}</td>{% endfor %}</tr>
<tr><td>unresolved {{ l.currency }}</td>{% for b in l.ageing %}<td class="n">{{ b.unresolved }}</td>{% endfor %}</tr></table>
{% if l.journals %}<table><tr><th>Proposed journal entry</th><th>Source</th><th>Debit</th><th>Credit</th><th>Amount {{ l.currency }}</th>
<th>Description</th><th>Items</th></tr>
{% for j in l.journals %}<tr><td>{{ j.bridge }}</td><td>{{ j.source }}{% if j.disposition_id %} ({{ j.disposition_id }}){% endif %}</td>
<td>{{ j.debit }}</td><td>{{ j.credit }}</td><td class="n">{{ j.amount }}</td><td>{{ j.description }}</td>
<td class="n">{{ j.count }}</td></tr>{% endfor %}</table>
{% else %}<div class="small">No proposed journal entry.</div>{% endif %}
{% if l.findings %}<table><tr><th>Finding</th><th>Severity</th><th>Message</th><th>Amount</th></tr>
{% for f in l.findings %}<tr><td>{{ f.code }}</td><td>{{ f.severity }}</td><td>{{ f.message }}</td><td class="n">{{ f.amount }}</td></tr>{% endfor %}
</table>{% endif %}
</div>
{% endfor %}

<h2>Evidence</h2>
<p>{{ evidence|length }} packages, {{ tests.passed }} tests passed, {{ tests.failed }} failed, {{ tests.errored }} errored.</p>
<table><tr><th>Evidence id</th><th>Rows</th><th>Tests p/f/e</th><th>Manifest SHA-256</th><th>Fingerprint</th></tr>
{% for e in evidence %}<tr><td>{{ e.evidence_id }}</td><td class="n">{{ "{:,}".format(e.rows or 0) }}</td>
<td class="n">{{ e.tests_passed }}/{{ e.tests_failed }}/{{ e.tests_errored }}</td><td><code>{{ e.manifest_sha256 }}</code></td>
<td><code>{{ e.fingerprint }}</code></td></tr>{% endfor %}</table>
{% if failing %}<h3>Tests that did not pass</h3><table><tr><th>Evidence id</th><th>Rule</th><th>Severity</th><th>Outcome</th>
<th>Failing rows</th><th>Message</th></tr>{% for v in failing %}<tr><td>{{ v.evidence_id }}</td><td>{{ v.rule_id }}</td>
<td>{{ v.severity }}</td><td>{{ v.outcome }}</td><td class="n">{{ v.failing_count }}</td><td>{{ v.message }}</td></tr>{% endfor %}</table>{% endif %}
{% if history %}<h2>Sign-off history</h2><table><tr><th>#</th><th>Action</th><th>Entity</th><th>Line</th><th>User</th><th>At</th>
<th>Comment</th></tr>{% for h in history %}<tr><td>{{ h.seq }}</td><td>{{ h.action }}{% if h.exception %} with exception{% endif %}</td><td>{{ h.entity or "" }}</td>
<td>{{ h.line or "" }}</td><td>{{ h.user }}</td><td>{{ h.at }}</td><td>{{ h.comment or "" }}</td></tr>{% endfor %}</table>{% endif %}
<p class="small">Generated by soxauto from run {{ run.id }}. Amounts in each entity's currency (LCY) unless marked USD.</p>
</body></html>
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def anchor(ln: dict) -> str:
    return f"line-{ln['entity']}-{ln['line']}"


def line_view(data: RunData, ln: dict, svg: str = "", buckets: tuple[Bucket, ...] = ()) -> dict:
    bridged = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal(0))
    ri = ln.get("reconciling_items") or {}
    return {
        "entity": ln["entity"], "line": ln["line"], "title": ln["title"], "currency": ln["currency"], "anchor": anchor(ln),
        "gl": amount(ln["gl_amount"]), "tv": amount(ln["tv_amount"]), "variance": amount(ln["variance_lcy"]),
        "bridged": amount(str(bridged)), "unexplained": amount(ln["unexplained_lcy"]),
        "unexplained_usd": amount(ln["unexplained_usd"]), "unexplained_items": ln["unexplained_items"],
        "resolved": amount(ln.get("resolved_lcy")), "unresolved": amount(ln.get("unresolved_lcy")),
        "unresolved_usd": amount(ln.get("unresolved_usd")), "tie_out": amount(ln.get("tie_out_difference_lcy")),
        "status": ln["status"], "reasons": reasons_text(ln),
        "auto": (ln.get("auto_certification") or "") if ln.get("auto_certified") else "",
        "signoff": signoff_text(data.signoff(ln["entity"], ln["line"])),
        "narrative": line_narrative(ln), "svg": svg,
        "accounts": ", ".join(ln["gl_accounts"]), "tv_item": ln["tv_item"], "key_count": f"{ln['key_level']['keys']:,}",
        "rate": ln["fx_rate"] or "n/a", "horizon": ln.get("horizon") or "n/a", "window": ln.get("clearing_window_days") or "n/a",
        "counts": (f"{ri['items']:,} items, {ri['open']:,} open ({ri['resolved']:,} resolved, {ri['unresolved']:,} unresolved), "
                   f"{ri['cleared']:,} cleared, {ri['pending']:,} pending, {ri['uncleared']:,} uncleared, "
                   f"{ri['carried_dispositions']:,} dispositions carried forward") if ri else "",
        "bridges": [{"id": b_id, "label": label(b_id), "nature": b.get("nature") or "", "version": b["version"],
                     "count": f"{item_count(b):,}", "material": f"{b['material_items']:,}", "amount": amount(b["amount_lcy"]),
                     "usd": amount(b["amount_usd"])} for b_id, b in ln["bridges"].items()],
        "ageing": bucket_views(buckets),
        "journals": [{**j, "amount": amount(j["amount_lcy"]), "count": f"{len(j.get('items') or ()):,}"}
                     for j in ln.get("proposed_journals") or ()],
        "findings": [{"code": f["code"], "severity": f["severity"], "message": f["message"],
                      "amount": amount(f["amount_lcy"]) if f["amount_lcy"] else ""} for f in ln["findings"]],
    }


def bucket_views(buckets: tuple[Bucket, ...]) -> list[dict]:
    return [{"label": b.label, "count": f"{b.items:,}", "open": amount(str(b.open_lcy)),
             "unresolved": amount(str(b.unresolved_lcy))}
            for b in (buckets or ageing(()))]


def entity_views(data: RunData, ages: dict) -> list[dict]:
    out = []
    for e in data.run["entities"]:
        d = data.entities.get(e, {})
        mine = [ln for ln in data.lines if ln["entity"] == e]
        cells = {ln["line"]: {"status": ln["status"], "anchor": anchor(ln)} for ln in mine}
        per_bucket = zip(*(ages.get((e, ln["line"])) or ageing(()) for ln in mine)) if mine else ()
        out.append({"id": e, "currency": d.get("currency", ""), "rate": (d.get("fx") or {}).get("rate_lcy_per_usd") or "n/a",
                    "total": amount(d.get("unexplained_usd_abs_total")), "unresolved": amount(d.get("unresolved_usd_abs_total")),
                    "materiality": amount(d.get("country_materiality_usd")), "cells": cells,
                    "ageing": bucket_views(tuple(total(b) for b in per_bucket))})
    return out


def render_html(data: RunData, *, charts: bool = True) -> str:
    svgs = [waterfall_svg(ln) for ln in data.lines] if charts else [""] * len(data.lines)
    ages = {}
    for e in data.run["entities"]:
        if e in data.items_files:
            ages.update(ageing_by_line(data.items(e)))
    lines = [line_view(data, ln, svg, ages.get((ln["entity"], ln["line"]), ())) for ln, svg in zip(data.lines, svgs)]
    statuses = [ln["status"] for ln in data.lines]
    tests = {k: sum(e[f"tests_{k}"] or 0 for e in data.evidence) for k in ("passed", "failed", "errored")}
    return _ENV.from_string(TEMPLATE).render(
        css=CSS, run=data.run, lines=lines, entities=entity_views(data, ages), age_labels=LABELS,
        line_ids=list(dict.fromkeys(ln["line"] for ln in data.lines)),
        counts=[(s, statuses.count(s)) for s in ("RECONCILED", "INVESTIGATE", "ERROR")],
        evidence=data.evidence, tests=tests, failing=[v for v in data.validation if v["outcome"] != "passed"],
        history=data.signoff_history)


def write_html(data: RunData, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(path)
    return path
