"""``soxauto catalog``: list, show, validate, export, through the CLI entry point."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import openpyxl

from soxauto.catalog import load_catalog
from soxauto.catalog.loader import default_pack
from soxauto.cli import run

PACK_IDS = sorted(p.stem for p in (default_pack() / "catalog").glob("*.yaml"))


def cr_04_sha256() -> str:
    return hashlib.sha256((default_pack() / "catalog" / "CR_04.sql").read_bytes()).hexdigest()


def test_list_puts_the_item_id_first_on_every_line(capsys):
    assert run(["catalog", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == PACK_IDS
    cr_04 = next(line for line in lines if line.startswith("CR_04 "))
    assert cr_04.split()[:3] == ["CR_04", "CR", "1.0.0"]
    assert cr_04.endswith("NAV GL balances (actuals)")
    assert not any(ch in "".join(lines) for ch in "┃│─┏")


def test_show_prints_the_metadata_the_sql_and_its_hash(capsys):
    assert run(["catalog", "show", "CR_04"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CR_04  NAV GL balances (actuals)\n")
    assert cr_04_sha256() in out
    assert "  FROM nav.gl_balances AS b\n" in out
    assert "gl_accounts  list  [13003, 13004, 13005, 13009, 13011, 13012, 18304, 18317, 18350, 18412]" in out
    assert "balance_lcy    money  critical\n" in out
    assert "gl_account_no  id     critical key\n" in out


def test_show_json_is_one_object_with_the_exact_sql(capsys):
    assert run(["catalog", "show", "CR_04", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    sql = (default_pack() / "catalog" / "CR_04.sql").read_text("utf-8")
    assert record["id"] == "CR_04"
    assert record["sql"] == sql
    assert record["query_sha256"] == cr_04_sha256()
    assert record["key"] == ["company_id", "gl_account_no"]
    assert record["output"][4] == {"name": "balance_lcy", "type": "money", "nullable": False}
    tests = {t["id"]: t for t in record["tests"]}
    assert tests["CR_04.tie_out"]["kind"] == "source_tie_out" and tests["CR_04.tie_out"]["severity"] == "error"
    assert tests["CR_04.history"]["severity"] == "warn"


def test_show_of_an_unknown_item_is_a_usage_error_with_a_suggestion(capsys):
    assert run(["catalog", "show", "CR_4"]) == 3
    assert "no catalog item 'CR_4'; did you mean 'CR_04'?" in capsys.readouterr().err


def test_validate_the_real_pack(capsys):
    catalog = load_catalog()
    assert run(["catalog", "validate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: {len(PACK_IDS)} items (")
    assert f"{len(catalog.extractable())} queries safe in duckdb, trino, tsql" in out


def test_validate_a_broken_pack_exits_3_with_the_located_problem(tmp_path, capsys):
    folder = tmp_path / "catalog"
    folder.mkdir()
    sql = (default_pack() / "catalog" / "CR_04.sql").read_text("utf-8")
    broken = sql.replace("ORDER BY", "  AND STARTS_WITH(b.currency, 'N')\nORDER BY")
    (folder / "CR_04.sql").write_text(broken, "utf-8")
    (folder / "CR_04.yaml").write_text((default_pack() / "catalog" / "CR_04.yaml").read_text("utf-8"), "utf-8")
    line = broken.splitlines().index("  AND STARTS_WITH(b.currency, 'N')") + 1
    assert run(["catalog", "validate", "--pack", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert f"{folder / 'CR_04.sql'}:{line}: STARTS_WITH is not available in tsql (rendered as STARTS_WITH)" in err


def test_export_markdown_lists_every_item_with_its_hash(tmp_path, capsys):
    out = tmp_path / "DOC_001.md"
    assert run(["catalog", "export", "--format", "md", "--out", str(out)]) == 0
    text = out.read_text("utf-8")
    assert text.startswith("# DOC_001 — IPE catalog master\n")
    for item_id in PACK_IDS:
        assert f"\n## {item_id} — " in text
    summary = "| CR_04 | CR | 1.0.0 | NAV GL balances (actuals) | Group Accounting — GL team | NAV | 7 |"
    assert f"{summary} `{cr_04_sha256()}` |" in text
    assert "| gl_accounts | list | 13003, 13004, 13005, 13009, 13011, 13012, 18304, 18317, 18350, 18412 |" in text
    again = tmp_path / "again.md"
    assert run(["catalog", "export", "--format", "md", "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_export_xlsx_opens_and_holds_every_item_and_query_hash(tmp_path, capsys):
    out = tmp_path / "DOC_001.xlsx"
    assert run(["catalog", "export", "--format", "xlsx", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["Catalog", "Parameters", "Output", "Tests", "SQL"]
    rows = list(book["Catalog"].iter_rows(values_only=True))
    header = rows[0]
    ids = [r[0] for r in rows[1:]]
    assert ids == PACK_IDS
    hashes = {r[0]: r[header.index("query SHA-256")] for r in rows[1:]}
    for item in load_catalog().extractable():
        assert hashes[item.id] == item.query_sha256
    sql_rows = [r for r in book["SQL"].iter_rows(values_only=True) if r[0] == "CR_04"]
    assert [r[3] for r in sql_rows][:2] == ["SELECT", "  b.company_id,"]
    book.close()
    again = tmp_path / "again.xlsx"
    assert run(["catalog", "export", "--format", "xlsx", "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_export_rejects_an_unknown_format(tmp_path, capsys):
    assert run(["catalog", "export", "--format", "csv", "--out", str(tmp_path / "x.csv")]) == 3
    assert "--format must be one of md, xlsx, not 'csv'" in capsys.readouterr().err
    assert not Path(tmp_path / "x.csv").exists()


def test_declared_tests_are_rendered_in_show_and_export(tmp_path, capsys):
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "CR_04.sql").write_bytes((default_pack() / "catalog" / "CR_04.sql").read_bytes())
    base = (default_pack() / "catalog" / "CR_04.yaml").read_text("utf-8").split("\ntests:")[0]
    yaml_text = base + (
        "\ntests:\n"
        "  - id: CR_04.sign\n"
        "    kind: range\n"
        "    column: balance_lcy\n"
        "    min: -100\n"
        "  - id: CR_04.key\n"
        "    kind: unique\n"
    )
    (folder / "CR_04.yaml").write_text(yaml_text, "utf-8")
    assert run(["catalog", "show", "CR_04", "--pack", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tests"] == [
        {"id": "CR_04.sign", "kind": "range", "severity": "error", "details": '{"column": "balance_lcy", "min": -100}'},
        {"id": "CR_04.key", "kind": "unique", "severity": "error", "details": ""},
    ]
    out = tmp_path / "DOC_001.md"
    assert run(["catalog", "export", "--format", "md", "--out", str(out), "--pack", str(tmp_path)]) == 0
    text = out.read_text("utf-8")
    assert '| CR_04.sign | range | error | {"column": "balance_lcy", "min": -100} |' in text
    assert "| CR_04.key | unique | error |  |" in text
    summary = "| CR_04 | CR | 1.0.0 | NAV GL balances (actuals) | Group Accounting — GL team | NAV | 2 |"
    assert f"{summary} `{cr_04_sha256()}` |" in text
    book_path = tmp_path / "DOC_001.xlsx"
    assert run(["catalog", "export", "--format", "xlsx", "--out", str(book_path), "--pack", str(tmp_path)]) == 0
    book = openpyxl.load_workbook(book_path, read_only=True)
    assert list(book["Tests"].iter_rows(values_only=True))[1:] == [
        ("CR_04", "CR_04.sign", "range", "error", '{"column": "balance_lcy", "min": -100}'),
        ("CR_04", "CR_04.key", "unique", "error", None),
    ]
    book.close()


def test_a_misspelled_test_kind_fails_validation_with_its_line(tmp_path, capsys):
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "CR_04.sql").write_bytes((default_pack() / "catalog" / "CR_04.sql").read_bytes())
    base = (default_pack() / "catalog" / "CR_04.yaml").read_text("utf-8").split("\ntests:")[0]
    text = base + "\ntests:\n  - id: CR_04.key\n    kind: uniqe\n"
    (folder / "CR_04.yaml").write_text(text, "utf-8")
    assert run(["catalog", "validate", "--pack", str(tmp_path)]) == 3
    line = text.splitlines().index("    kind: uniqe") + 1
    assert f"CR_04.yaml:{line}: unknown test kind 'uniqe'; did you mean 'unique'?" in capsys.readouterr().err


def test_the_catalog_master_shows_cr_06_with_its_time_bounds_and_month_end_tie_out(tmp_path, capsys):
    out = tmp_path / "DOC_001.md"
    assert run(["catalog", "export", "--format", "md", "--out", str(out)]) == 0
    sections = {s.split(" — ", 1)[0]: s for s in out.read_text("utf-8").split("\n## ")[1:]}
    cr06 = sections["CR_06"]
    assert cr06.startswith("CR_06 — NAV GL entries after cutoff\n")
    assert "Bound for every run: cutoff, as_of, period_start, year_start, company_id, horizon, window_end." in cr06
    assert "| CR_06.tie_out | running_tie_out | error |" in cr06
    # items that do not read the time bounds are documented as before
    assert "Bound for every run: cutoff, as_of, period_start, year_start, company_id.\n" in sections["CR_03"]
    assert run(["catalog", "show", "CR_06"]) == 0
    assert "always bound: cutoff, as_of, period_start, year_start, company_id, horizon, window_end" in capsys.readouterr().out
