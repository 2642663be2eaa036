"""DOC_001, the IPE catalog master: the pack's catalog as a document (Markdown or XLSX).

Each item is first turned into one plain record (``item_record``); the Markdown and XLSX
renderers and ``soxauto catalog show --json`` only read those records. Nothing in the output
depends on the machine or the clock, so the same catalog always gives the same document and
its hash can be filed with the evidence.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from ..errors import UsageError
from .rules import RuleSpec
from .model import ALWAYS_BOUND, STANDARD_PARAMETERS, Catalog, ItemSpec

FORMATS = ("md", "xlsx")
# The workbook's creation date is a fixed value: a timestamp would make two exports of the
# same catalog differ byte for byte.
FIXED_CREATED = datetime(2000, 1, 1)
_TEST_FIELDS = ("id", "kind", "severity")


def item_record(item: ItemSpec) -> dict[str, Any]:
    """Everything about one item as JSON-ready values, in a stable order."""
    return {
        "id": item.id,
        "title": item.title,
        "kind": item.kind,
        "control": item.control,
        "version": item.version,
        "owner": item.owner,
        "source_systems": list(item.source_systems),
        "description": item.description,
        "parameters": [
            {"name": p.name, "type": p.type, "default": _plain(p.default), "description": p.description}
            for p in item.parameters
        ],
        # the run's time bounds (horizon, window_end) are bound only for the items that read them
        "standard_parameters": [n for n in STANDARD_PARAMETERS if n in ALWAYS_BOUND or n in item.reads]
        if item.extractable else [],
        "output": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in item.output],
        "critical_columns": list(item.critical_columns),
        "key": list(item.key),
        "target_values": {"measure": item.target_values.measure, "population": "in_tv = true"}
        if item.target_values else None,
        "derived_from": list(item.derived_from),
        "tests": [describe_test(t) for t in item.tests],
        "notes": item.notes,
        "query_file": item.query_file.name if item.query_file else None,
        "query_sha256": item.query_sha256,
        "sql": item.sql,
    }


def describe_test(test: RuleSpec) -> dict[str, str]:
    """A declared C&A test as id, kind, severity, and its parameters as JSON text."""
    rest = dict(test.params)
    rest.pop("sql", None) if "query" in rest else None  # a file's text is shown by its name
    if test.description:
        rest["description"] = test.description
    return {
        "id": test.id, "kind": test.kind, "severity": test.severity,
        "details": json.dumps(_plain(rest), sort_keys=True, ensure_ascii=False) if rest else "",
    }


def catalog_records(catalog: Catalog) -> list[dict[str, Any]]:
    return [item_record(catalog.items[i]) for i in sorted(catalog.items)]


def catalog_sha256(records: list[dict[str, Any]]) -> str:
    """One hash for the whole catalog: canonical JSON (sorted keys, UTF-8) of every record."""
    text = json.dumps(records, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def export(catalog: Catalog, fmt: str, out: Path) -> Path:
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "md":
        out.write_bytes(to_markdown(catalog).encode("utf-8"))
    else:
        write_xlsx(catalog, out)
    return out


# Markdown ---------------------------------------------------------------------------------

def to_markdown(catalog: Catalog) -> str:
    records = catalog_records(catalog)
    lines = [
        "# DOC_001 — IPE catalog master",
        "",
        f"Pack `{catalog.pack.name}`: {len(records)} items, "
        f"{sum(1 for r in records if r['sql'] is not None)} with a query. "
        f"Catalog SHA-256 `{catalog_sha256(records)}`.",
        "",
        "| id | kind | version | title | owner | source systems | tests | query SHA-256 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(_row([r["id"], r["kind"], r["version"], r["title"], r["owner"],
                           ", ".join(r["source_systems"]), str(len(r["tests"])),
                           f"`{r['query_sha256']}`" if r["query_sha256"] else "—"]))
    for r in records:
        lines += [""] + _item_markdown(r)
    return "\n".join(lines) + "\n"


def _item_markdown(r: dict[str, Any]) -> list[str]:
    out = [f"## {r['id']} — {r['title']}", "",
           f"- Kind: {r['kind']}", f"- Version: {r['version']}", f"- Control: {r['control']}",
           f"- Owner: {r['owner']}", f"- Source systems: {', '.join(r['source_systems'])}"]
    if r["derived_from"]:
        out.append(f"- Derived from: {', '.join(r['derived_from'])}")
    if r["query_file"]:
        out.append(f"- Query: `{r['query_file']}`, SHA-256 `{r['query_sha256']}`")
    out += ["", r["description"], ""]
    if r["sql"] is not None:
        out += ["### Parameters", "",
                f"Bound for every run: {', '.join(r['standard_parameters'])}.", ""]
        if r["parameters"]:
            out += ["| parameter | type | default | description |", "|---|---|---|---|"]
            out += [_row([p["name"], p["type"], _default_text(p["default"]), p["description"]])
                    for p in r["parameters"]]
            out.append("")
    if r["output"]:
        out += ["### Output contract", "", "| column | type | nullable | critical | key |", "|---|---|---|---|---|"]
        out += [_row([c["name"], c["type"], _yes(c["nullable"]), _yes(c["name"] in r["critical_columns"]),
                      _yes(c["name"] in r["key"])]) for c in r["output"]]
        out += ["", f"Critical columns: {', '.join(r['critical_columns']) or '—'}. "
                    f"Key: {', '.join(r['key']) or '—'}.", ""]
    if r["target_values"]:
        out += ["### Target values", "",
                f"Σ `{r['target_values']['measure']}` over the rows with `in_tv = true`.", ""]
    out += ["### Tests", ""]
    if r["tests"]:
        out += ["| id | kind | severity | details |", "|---|---|---|---|"]
        out += [_row([t["id"], t["kind"], t["severity"], t["details"]]) for t in r["tests"]]
    else:
        out.append("None declared.")
    out.append("")
    if r["notes"]:
        out += ["### Notes", "", r["notes"], ""]
    if r["sql"] is not None:
        out += ["### SQL", "", "```sql", r["sql"].rstrip("\n"), "```"]
    while out and out[-1] == "":
        out.pop()
    return out


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def _default_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _plain(value: Any) -> Any:
    """YAML values as JSON values: tuples become lists, dates and decimals become text."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, bool, int)):
        return value
    return str(value)


# XLSX -------------------------------------------------------------------------------------

_SHEETS: dict[str, list[tuple[str, int]]] = {
    "Catalog": [("id", 10), ("kind", 6), ("version", 9), ("title", 36), ("control", 9), ("owner", 36),
                ("source systems", 22), ("derived from", 22), ("description", 70), ("parameters", 40),
                ("critical columns", 40), ("key", 24), ("target values", 22), ("tests", 7),
                ("query file", 14), ("query SHA-256", 68), ("notes", 70)],
    "Parameters": [("item", 10), ("parameter", 22), ("type", 8), ("default", 60), ("description", 60)],
    "Output": [("item", 10), ("column", 28), ("type", 8), ("nullable", 9), ("critical", 9), ("key", 6)],
    "Tests": [("item", 10), ("id", 24), ("kind", 18), ("severity", 9), ("details", 80)],
    "SQL": [("item", 10), ("query SHA-256", 68), ("line", 6), ("sql", 110)],
}


def _sheet_rows(records: list[dict[str, Any]]) -> dict[str, list[list[Any]]]:
    rows: dict[str, list[list[Any]]] = {name: [] for name in _SHEETS}
    for r in records:
        tv = r["target_values"]
        rows["Catalog"].append([
            r["id"], r["kind"], r["version"], r["title"], r["control"], r["owner"],
            ", ".join(r["source_systems"]), ", ".join(r["derived_from"]), r["description"],
            "; ".join(f"{p['name']} = {_default_text(p['default'])}" for p in r["parameters"]),
            ", ".join(r["critical_columns"]), ", ".join(r["key"]),
            f"Σ {tv['measure']} where in_tv" if tv else "", len(r["tests"]),
            r["query_file"] or "", r["query_sha256"] or "", r["notes"]])
        rows["Parameters"] += [[r["id"], p["name"], p["type"], _default_text(p["default"]), p["description"]]
                               for p in r["parameters"]]
        rows["Output"] += [[r["id"], c["name"], c["type"], _yes(c["nullable"]),
                            _yes(c["name"] in r["critical_columns"]), _yes(c["name"] in r["key"])]
                           for c in r["output"]]
        rows["Tests"] += [[r["id"], t["id"], t["kind"], t["severity"], t["details"]] for t in r["tests"]]
        # One SQL line per row: readable in a spreadsheet and clear of Excel's 32,767-character cell limit.
        for n, line in enumerate((r["sql"] or "").splitlines(), 1):
            rows["SQL"].append([r["id"], r["query_sha256"], n, line])
    return rows


def write_xlsx(catalog: Catalog, out: Path) -> None:
    import xlsxwriter

    records = catalog_records(catalog)
    workbook = xlsxwriter.Workbook(str(out), {"strings_to_numbers": False, "strings_to_formulas": False,
                                              "strings_to_urls": False})
    workbook.set_properties({
        "title": "DOC_001 — IPE catalog master",
        "subject": f"Catalog SHA-256 {catalog_sha256(records)}",
        "author": "SOXauto",
        "created": FIXED_CREATED,
    })
    header = workbook.add_format({"bold": True, "bg_color": "#1F3864", "font_color": "#FFFFFF",
                                  "border": 1, "valign": "top"})
    text = workbook.add_format({"valign": "top", "text_wrap": True})
    code = workbook.add_format({"font_name": "Consolas", "valign": "top"})
    for name, rows in _sheet_rows(records).items():
        sheet = workbook.add_worksheet(name)
        columns = _SHEETS[name]
        for col, (title, width) in enumerate(columns):
            sheet.write_string(0, col, title, header)
            sheet.set_column(col, col, width, code if title == "sql" else text)
        for row_number, row in enumerate(rows, 1):
            for col, value in enumerate(row):
                if isinstance(value, int):
                    sheet.write_number(row_number, col, value)
                elif value:
                    sheet.write_string(row_number, col, value)
        sheet.freeze_panes(1, 1)
        sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    workbook.close()
