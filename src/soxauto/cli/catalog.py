"""``soxauto catalog``: list, show, validate, export (DOC_001).

Output is plain aligned text (no box drawing) so it can be piped into ``cut``, ``awk`` or
``grep``; ``show --json`` gives the same record the DOC_001 export renders.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer

from ..catalog.dialects import DIALECTS
from ..catalog.export import FORMATS, export, item_record
from ..catalog.loader import load_catalog

app = typer.Typer(no_args_is_help=True)

PACK_HELP = "Control pack folder (default: the built-in C-PG-1 pack)."


@app.command("list")
def list_cmd(pack: Optional[Path] = typer.Option(None, "--pack", help=PACK_HELP)) -> None:
    """One item per line: id, kind, version, title."""
    items = list(load_catalog(pack).items.values())
    rows = [(i.id, i.kind, i.version, i.title) for i in items]
    typer.echo("\n".join(_aligned(rows)))


@app.command("show")
def show_cmd(
    item: str = typer.Argument(..., help="Catalog item id, e.g. IPE_08."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    pack: Optional[Path] = typer.Option(None, "--pack", help=PACK_HELP),
) -> None:
    """Everything about ITEM: metadata, parameters, output contract, tests, SQL and its SHA-256."""
    record = item_record(load_catalog(pack).item(item))
    if as_json:
        typer.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    typer.echo("\n".join(describe(record)))


@app.command("validate")
def validate_cmd(pack: Optional[Path] = typer.Option(None, "--pack", help=PACK_HELP)) -> None:
    """Load the pack and run every check (keys, columns, parameters, SQL, dialect safety)."""
    # load_catalog raises CatalogError with every located problem; the CLI maps it to exit 3.
    catalog = load_catalog(pack)
    kinds = Counter(i.kind for i in catalog.items.values())
    per_kind = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    typer.echo(f"OK: {len(catalog.items)} items ({per_kind}), {len(catalog.extractable())} queries "
               f"safe in {', '.join(DIALECTS)}")


@app.command("export")
def export_cmd(
    fmt: str = typer.Option(..., "--format", help="md or xlsx."),
    out: Path = typer.Option(..., "--out", help="File to write DOC_001 to."),
    pack: Optional[Path] = typer.Option(None, "--pack", help=PACK_HELP),
) -> None:
    """Write DOC_001, the IPE catalog master, as Markdown or XLSX."""
    from ..errors import UsageError

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not '{fmt}'")
    catalog = load_catalog(pack)
    path = export(catalog, fmt, out)
    typer.echo(f"{path}: DOC_001 with {len(catalog.items)} items")


def describe(r: dict[str, Any]) -> list[str]:
    """An item record as plain text, for the terminal."""
    lines = [f"{r['id']}  {r['title']}", ""]
    lines += _aligned([
        ("kind", r["kind"]), ("version", r["version"]), ("control", r["control"]), ("owner", r["owner"]),
        ("source systems", ", ".join(r["source_systems"])),
        ("derived from", ", ".join(r["derived_from"]) or "-"),
        ("critical columns", ", ".join(r["critical_columns"]) or "-"),
        ("key", ", ".join(r["key"]) or "-"),
        ("target values", f"sum of {r['target_values']['measure']} where in_tv" if r["target_values"] else "-"),
        ("query", f"{r['query_file']}  sha256 {r['query_sha256']}" if r["query_file"] else "-"),
    ])
    lines += ["", "description:", f"  {r['description']}"]
    if r["standard_parameters"]:
        lines += ["", "parameters:", f"  always bound: {', '.join(r['standard_parameters'])}"]
        lines += _indent(_aligned([(p["name"], p["type"], _default(p["default"]), p["description"])
                                   for p in r["parameters"]]))
    if r["output"]:
        lines += ["", "output:"]
        lines += _indent(_aligned([
            (c["name"], c["type"] + ("?" if c["nullable"] else ""),
             " ".join(t for t, on in (("critical", c["name"] in r["critical_columns"]),
                                      ("key", c["name"] in r["key"])) if on))
            for c in r["output"]]))
    lines += ["", "tests:"]
    lines += _indent(_aligned([(t["id"], t["kind"], t["severity"], t["details"]) for t in r["tests"]])) or ["  (none)"]
    if r["notes"]:
        lines += ["", "notes:", f"  {r['notes']}"]
    if r["sql"] is not None:
        lines += ["", f"sql ({r['query_file']}, sha256 {r['query_sha256']}):"]
        lines += _indent(r["sql"].rstrip("\n").splitlines())
    return lines


def _default(value: Any) -> str:
    return "[" + ", ".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def _indent(lines: list[str]) -> list[str]:
    return ["  " + line if line else line for line in lines]
