"""``index.html``: the page a person opens first. Plain string building with ``html.escape``
on every value, so nothing from the data or the catalog can inject markup."""

from __future__ import annotations

from html import escape

from ..validation import ValidationResult

STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}code,.hash{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}
.passed{color:#17692c}.failed{color:#b00020;font-weight:bold}.errored{color:#8a1c9e;font-weight:bold}
pre{background:#f6f6f6;padding:.75rem;overflow-x:auto}"""


def _e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(body: dict) -> str:
    item = body["item"]
    tests = body["tests"]
    rows = [
        ["Evidence id", _e(body["evidence_id"])],
        ["Catalog item", f"{_e(item['id'])} — {_e(item['title'])} (version {_e(item['version'])}, {_e(item['kind'])}, control {_e(item['control'])})"],
        ["Entity", _e(body["entity"])],
        ["Period", _e(body["period"])],
        ["Rows", f"{body['row_count']:,}"],
        ["Control totals", "<br>".join(f"{_e(k)} = <code>{_e(v)}</code>" for k, v in body["control_totals"].items()) or "—"],
        ["Tests", f"{tests['passed']} passed, {tests['failed']} failed, {tests['errored']} errored"],
        ["Data fingerprint", f"<span class=hash>{_e(body['fingerprint']['value'])}</span> ({_e(body['fingerprint']['algorithm'])})"],
        ["Engine", f"{_e(body['engine']['name'])} {_e(body['engine']['version'])}, execution id <code>{_e(body['engine']['execution_id'])}</code>"],
        ["Canonical query SHA-256", f"<span class=hash>{_e(item['query_sha256'])}</span>"],
    ]
    return "<table><tbody>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</tbody></table>"


def _tests(tests: ValidationResult) -> str:
    rows = []
    for r in tests.results:
        outcome = r.outcome.value
        rows.append([_e(r.rule_id), _e(r.kind), _e(r.severity), f"<span class={outcome}>{_e(outcome)}</span>",
                     f"{r.failing_count:,}", _e(r.message)])
    if not rows:
        return "<p>This item declares no tests.</p>"
    return _table(["Test", "Kind", "Severity", "Outcome", "Failing rows", "Message"], rows)


def _files(artifacts: list[dict]) -> str:
    rows = [[f"<a href=\"{_e(a['path'])}\">{_e(a['path'])}</a>", _e(a["role"]), f"{a['size']:,}",
             f"<span class=hash>{_e(a['sha256'])}</span>"] for a in artifacts]
    return _table(["File", "Role", "Bytes", "SHA-256"], rows)


HOW_TO_VERIFY = """<ol>
<li>File integrity, with no SOXauto installed: <pre>sha256sum -c SHA256SUMS</pre></li>
<li>Signature of the manifest (the public key comes from <code>soxauto keys export --out key.pem</code>;
its SHA-256 over the 32 raw key bytes is the <code>key_id</code> in <code>manifest.json</code>):
<pre>openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in manifest.json -sigfile manifest.sig</pre></li>
<li>Data fingerprint: recompute it from <code>data.parquet</code> (or <code>data.csv</code>) with the short
script in SOXauto's <code>docs/evidence.md</code> and compare it with <code>fingerprint.value</code> in
<code>manifest.json</code>.</li>
<li>Everything at once, including the ledger chain:
<pre>soxauto evidence verify THIS_FOLDER</pre> and, to re-run the query on the source:
<pre>soxauto evidence verify THIS_FOLDER --reproduce --lake LAKE_FOLDER</pre></li>
</ol>"""


def index_html(body: dict, artifacts: list[dict], tests: ValidationResult) -> str:
    title = f"Evidence {body['evidence_id']}"
    parts = [
        "<!doctype html>", "<html lang=en><head><meta charset=utf-8>",
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        "<p>An evidence package of SOXauto: the full extract of one catalog item for one entity and period, "
        "its completeness-and-accuracy tests, and how it was produced. <code>manifest.json</code> lists every "
        "file with its SHA-256 and is signed (<code>manifest.sig</code>, Ed25519); the store's ledger chains "
        "the manifests.</p>",
        "<h2>Summary</h2>", _summary(body),
        "<h2>Tests</h2>", _tests(tests),
        "<h2>Files</h2>", _files(artifacts),
        "<p>This page is listed in <code>manifest.json</code> too; <code>manifest.json</code>, "
        "<code>manifest.sig</code> and <code>SHA256SUMS</code> seal the package.</p>",
        "<h2>How to verify</h2>", HOW_TO_VERIFY,
        "</body></html>", "",
    ]
    return "\n".join(parts)
