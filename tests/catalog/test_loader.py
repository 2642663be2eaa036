"""The catalog loader: every mistake in a pack is a ``file:line: message`` problem.

Each test writes a one-item pack (a copy of CR_04) into tmp_path, breaks one thing and checks
the exact located message. Expected line numbers are read off the text the test wrote.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from soxauto.catalog import load_catalog
from soxauto.catalog.loader import default_pack
from soxauto.errors import CatalogError

CR_04_YAML = """\
id: CR_04
title: NAV GL balances (actuals)
kind: CR
control: C-PG-1
owner: Group Accounting — GL team
source_systems: [NAV]
version: 1.0.0
description: >
  Month-end balances at closing_date = cutoff for the reconciled GL accounts.
query: CR_04.sql
parameters:
  gl_accounts:
    type: list
    description: GL accounts reconciled by C-PG-1.
    default: ["13003", "18412"]
output:
  - company_id: id
  - closing_date: date
  - gl_account_no: id
  - currency: id
  - balance_lcy: money
  - refreshed_at: ts
critical_columns: [company_id, closing_date, gl_account_no, balance_lcy]
key: [company_id, gl_account_no]
"""

CR_04_SQL = """\
SELECT
  b.company_id,
  b.closing_date,
  b.gl_account_no,
  b.currency,
  b.balance_lcy,
  b.refreshed_at
FROM nav.gl_balances AS b
WHERE b.company_id = :company_id
  AND b.closing_date = :cutoff
  AND b.gl_account_no IN (:gl_accounts)
ORDER BY b.gl_account_no
"""


def write_pack(root: Path, yaml_text: str = CR_04_YAML, sql_text: str = CR_04_SQL, stem: str = "CR_04") -> Path:
    folder = root / "catalog"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.yaml").write_text(yaml_text, "utf-8")
    (folder / "CR_04.sql").write_text(sql_text, "utf-8")
    return root


def problems_of(pack: Path) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        load_catalog(pack)
    return [str(p) for p in caught.value.problems]


def line(text: str, needle: str) -> int:
    """The 1-based number of the one line of ``text`` containing ``needle``."""
    hits = [n for n, t in enumerate(text.splitlines(), 1) if needle in t]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def broken(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.fixture
def yaml_file(tmp_path: Path) -> str:
    return str(tmp_path / "catalog" / "CR_04.yaml")


@pytest.fixture
def sql_file(tmp_path: Path) -> str:
    return str(tmp_path / "catalog" / "CR_04.sql")


def test_the_unbroken_copy_loads(tmp_path):
    item = load_catalog(write_pack(tmp_path)).item("CR_04")
    assert [c.name for c in item.output] == [
        "company_id", "closing_date", "gl_account_no", "currency", "balance_lcy", "refreshed_at"]
    assert item.parameters[0].default == ("13003", "18412")
    assert item.key == ("company_id", "gl_account_no")
    assert item.query_sha256 == hashlib.sha256(CR_04_SQL.encode("utf-8")).hexdigest()


def test_unknown_top_level_key_with_did_you_mean(tmp_path, yaml_file):
    text = broken(CR_04_YAML, "query: CR_04.sql", "qurey: CR_04.sql")
    assert problems_of(write_pack(tmp_path, text)) == [
        f"{yaml_file}:{line(text, 'qurey')}: unknown key 'qurey'; did you mean 'query'?"
    ]


def test_unknown_critical_column_is_located_on_its_list_item(tmp_path, yaml_file):
    text = broken(
        CR_04_YAML,
        "critical_columns: [company_id, closing_date, gl_account_no, balance_lcy]",
        "critical_columns:\n  - company_id\n  - balanse_lcy",
    )
    assert problems_of(write_pack(tmp_path, text)) == [
        f"{yaml_file}:{line(text, '- balanse_lcy')}: unknown column 'balanse_lcy' in critical_columns; "
        "did you mean 'balance_lcy'?"
    ]


def test_unknown_parameter_in_the_sql(tmp_path, sql_file):
    sql = broken(CR_04_SQL, "= :cutoff", "= :cutof")
    assert problems_of(write_pack(tmp_path, sql_text=sql)) == [
        f"{sql_file}:{line(sql, ':cutof')}: unknown parameter ':cutof'; did you mean 'cutoff'?"
    ]


def test_unknown_logical_table_with_did_you_mean_and_no_cascade_of_column_errors(tmp_path, sql_file):
    sql = broken(CR_04_SQL, "nav.gl_balances", "nav.gl_balance")
    assert problems_of(write_pack(tmp_path, sql_text=sql)) == [
        f"{sql_file}:{line(sql, 'FROM nav.gl_balance')}: 'nav.gl_balance' is not a logical table; "
        "did you mean 'nav.gl_balances'?"
    ]


def test_unknown_column_is_located_where_it_is_used_not_where_a_similar_name_is(tmp_path, sql_file):
    sql = broken(CR_04_SQL, "AND b.closing_date = :cutoff", "AND b.closing_dte = :cutoff")
    assert line(sql, "closing_dte") == 10
    assert problems_of(write_pack(tmp_path, sql_text=sql)) == [
        f"{sql_file}:10: unknown column 'closing_dte'; did you mean 'closing_date'?"
    ]


def test_sql_that_selects_other_columns_than_the_output_declares(tmp_path, sql_file):
    sql = broken(CR_04_SQL, "  b.balance_lcy,\n  b.refreshed_at\n", "  b.refreshed_at,\n  b.balance_lcy\n")
    assert problems_of(write_pack(tmp_path, sql_text=sql)) == [
        f"{sql_file}:1: the query selects ['company_id', 'closing_date', 'gl_account_no', 'currency', "
        "'refreshed_at', 'balance_lcy'] but the item's output declares ['company_id', 'closing_date', "
        "'gl_account_no', 'currency', 'balance_lcy', 'refreshed_at']"
    ]


def test_missing_required_key(tmp_path, yaml_file):
    text = broken(CR_04_YAML, "owner: Group Accounting — GL team\n", "")
    assert problems_of(write_pack(tmp_path, text)) == [f"{yaml_file}:1: missing required key 'owner'"]


def test_id_not_matching_the_file_name(tmp_path, yaml_file):
    text = broken(CR_04_YAML, "id: CR_04", "id: CR_4")
    assert problems_of(write_pack(tmp_path, text)) == [
        f"{yaml_file}:{line(text, 'id: CR_4')}: item id 'CR_4' does not match its file name 'CR_04'"
    ]


def test_sql_parse_error_names_its_line(tmp_path, sql_file):
    sql = broken(CR_04_SQL, "= :cutoff", "= :cutoff)")
    assert problems_of(write_pack(tmp_path, sql_text=sql)) == [
        f"{sql_file}:{line(sql, ':cutoff)')}: SQL does not parse as trino: Invalid expression / Unexpected token"
    ]


def test_a_function_tsql_lacks_fails_with_the_dialect_message(tmp_path, sql_file):
    sql = broken(CR_04_SQL, "ORDER BY", "  AND NOT REGEXP_LIKE(b.currency, '^X')\nORDER BY")
    assert problems_of(write_pack(tmp_path, sql_text=sql)) == [
        f"{sql_file}:{line(sql, 'REGEXP_LIKE')}: REGEXP_LIKE is not available in tsql (rendered as REGEXP_LIKE); "
        "use LIKE with a literal pattern, or add a dialect rule"
    ]


def test_an_unknown_function_fails_with_the_dialect_message(tmp_path, sql_file):
    sql = broken(CR_04_SQL, "ORDER BY", "  AND FOO_BAR(b.currency) = 'NGN'\nORDER BY")
    assert problems_of(write_pack(tmp_path, sql_text=sql)) == [
        f"{sql_file}:{line(sql, 'FOO_BAR')}: unknown function FOO_BAR: sqlglot cannot translate it; "
        "rewrite it with functions every target dialect has"
    ]


def test_a_target_value_item_without_in_tv(tmp_path, yaml_file):
    text = CR_04_YAML + "target_values:\n  measure: balance_lcy\n"
    assert problems_of(write_pack(tmp_path, text)) == [
        f"{yaml_file}:{line(text, 'target_values:')}: a target-value item needs a boolean output column 'in_tv'"
    ]


def test_every_problem_of_a_pack_is_reported_at_once(tmp_path, yaml_file, sql_file):
    text = broken(CR_04_YAML, "key: [company_id, gl_account_no]", "key: [company_id, gl_acount_no]")
    sql = broken(CR_04_SQL, "= :cutoff", "= :cutof")
    assert problems_of(write_pack(tmp_path, text, sql)) == [
        f"{yaml_file}:{line(text, 'key:')}: unknown column 'gl_acount_no' in key; did you mean 'gl_account_no'?",
        f"{sql_file}:{line(sql, ':cutof')}: unknown parameter ':cutof'; did you mean 'cutoff'?",
    ]


def test_the_real_pack_loads_and_every_query_hash_is_the_hash_of_its_file_bytes():
    catalog = load_catalog()
    folder = default_pack() / "catalog"
    assert "CR_04" in catalog.items
    assert sorted(catalog.items) == sorted(p.stem for p in folder.glob("*.yaml"))
    for item in catalog.items.values():
        assert item.source_file.stem == item.id
        if item.extractable:
            assert item.query_sha256 == hashlib.sha256(item.query_file.read_bytes()).hexdigest(), item.id
    assert catalog.item("CR_04").query_sha256 == hashlib.sha256((folder / "CR_04.sql").read_bytes()).hexdigest()


def test_a_parameter_problem_is_located_on_the_parameter_name_not_below_it(tmp_path, yaml_file, sql_file):
    text = broken(CR_04_YAML, "type: list", "type: lst")
    assert problems_of(write_pack(tmp_path, text)) == [
        f"{yaml_file}:{line(text, 'gl_accounts:')}: parameter 'gl_accounts' has unknown type 'lst'; "
        "did you mean 'list'?",
        # The rejected parameter is then unknown to the query that uses it.
        f"{sql_file}:{line(CR_04_SQL, ':gl_accounts')}: unknown parameter ':gl_accounts'",
    ]


RUNNING = """\
tests:
  - id: CR_04.roll
    kind: running_tie_out
    by: [gl_account_no]
    through: closing_dte
    measures: {balance_lcy: SUM(balance_lcy)}
    sql: |
      SELECT b.gl_account_no, b.closing_date, SUM(b.balance_lcy) AS balance_lcy
      FROM nav.gl_balances AS b WHERE b.company_id = :company_id GROUP BY b.gl_account_no, b.closing_date
"""


def test_a_running_tie_out_names_an_extract_column_to_sum_through(tmp_path, yaml_file):
    text = CR_04_YAML + RUNNING
    assert problems_of(write_pack(tmp_path, text)) == [
        f"{yaml_file}:{line(text, 'through: closing_dte')}: unknown column 'closing_dte' in running_tie_out; "
        "did you mean 'closing_date'?"
    ]
    text = CR_04_YAML + RUNNING.replace("    through: closing_dte\n", "")
    assert problems_of(write_pack(tmp_path, text)) == [
        f"{yaml_file}:{line(text, '- id: CR_04.roll')}: running_tie_out needs parameter 'through'"
    ]


def test_the_time_bounds_are_standard_parameters_bound_only_for_items_that_read_them(tmp_path, yaml_file):
    sql = CR_04_SQL.replace("b.closing_date = :cutoff", "b.closing_date <= :horizon")
    item = load_catalog(write_pack(tmp_path, sql_text=sql)).item("CR_04")
    assert item.reads == {"company_id", "horizon", "gl_accounts"}
    from soxauto.period import Period

    bound = item.bind(Period(2025, 9), "EC_NG", {"horizon": "2025-10-03", "window_end": "2025-11-14"})
    assert str(bound["horizon"]) == "2025-10-03" and "window_end" not in bound
    text = CR_04_YAML.replace("parameters:\n", "parameters:\n  horizon:\n    type: date\n")
    assert problems_of(write_pack(tmp_path / "declared", text)) == [
        f"{tmp_path / 'declared' / 'catalog' / 'CR_04.yaml'}:{line(text, '  horizon:')}: "
        "'horizon' is a standard parameter, bound by the engine; do not declare it"
    ]
