"""``soxauto lake check``: a sound lake passes; each kind of breach is named by table, column, file."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lakekit import D, table_of, write_lake

from soxauto.cli import run
from soxauto.errors import LakeContractError
from soxauto.lake.check import check_lake

BALANCES = [
    {"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": "18412", "currency": "NGN",
     "balance_lcy": D("-1500.00"), "refreshed_at": datetime(2025, 10, 1, 2, 0)},
    {"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": "13003", "currency": "NGN",
     "balance_lcy": D("250.10"), "refreshed_at": datetime(2025, 10, 1, 2, 0)},
]
ENTRIES = [
    # external_document_no is nullable: a manual journal without one is sound.
    {"company_id": "EC_NG", "entry_no": 1, "posting_date": date(2025, 9, 3), "document_no": "D1",
     "gl_account_no": "18412", "amount": D("-1500.00"), "user_id": "JUMIA\\FIRST.LAST", "external_document_no": None},
    {"company_id": "EC_NG", "entry_no": 2, "posting_date": date(2025, 9, 4), "document_no": "D2",
     "gl_account_no": "13003", "amount": D("250.10"), "user_id": "JUMIA\\NAV31AFR.BATCH.SRVC",
     "external_document_no": "PKG-1"},
    {"company_id": "EC_NG", "entry_no": 3, "posting_date": date(2025, 9, 5), "document_no": "D3",
     "gl_account_no": "13003", "amount": D("0.00"), "user_id": "JUMIA\\FIRST.LAST"},
]


def sound_lake(root: Path, fmt: str = "parquet") -> Path:
    return write_lake(root, {
        "ref.companies": [{"company_id": "EC_NG", "company_name": "Jumia Nigeria", "country_code": "NG",
                           "currency": "NGN", "in_conso_scope": True}],
        "nav.gl_balances": BALANCES,
        "nav.gl_entries": ENTRIES,
    }, fmt=fmt)


def replace_file(lake: Path, qualified: str, table: pa.Table) -> Path:
    schema, name = qualified.split(".")
    path = lake / schema / name / "part-0.parquet"
    pq.write_table(table, path)
    return path


def with_column(table: pa.Table, name: str, array: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, array)


def check_fails(lake: Path, capsys) -> str:
    """Run the CLI, require exit 3, return what it wrote to stderr."""
    code = run(["lake", "check", str(lake)])
    err = capsys.readouterr().err
    assert code == 3, err
    return err


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_sound_lake_passes_and_is_counted(tmp_path, fmt, capsys):
    lake = sound_lake(tmp_path / "lake", fmt)

    report = check_lake(lake)

    assert len(report.tables) == 17
    rows = {t.table: t.rows for t in report.tables}
    assert rows["nav.gl_balances"] == 2
    assert rows["nav.gl_entries"] == 3
    assert rows["ref.companies"] == 1
    assert rows["jdash.voucher_usage"] == 0
    assert report.rows == 6
    assert report.files == 17
    assert {t.format for t in report.tables} == {fmt}
    assert report.notes == ()

    assert run(["lake", "check", str(lake)]) == 0
    out = capsys.readouterr().out
    assert "satisfies the source contract" in out
    assert "nav.gl_entries" in out


def test_missing_table_folder(tmp_path, capsys):
    lake = sound_lake(tmp_path / "lake")
    shutil.rmtree(lake / "jdash" / "voucher_usage")

    err = check_fails(lake, capsys)

    assert f"jdash.voucher_usage in {(lake / 'jdash' / 'voucher_usage').resolve()}" in err
    assert "folder does not exist" in err


def test_empty_table_folder(tmp_path, capsys):
    lake = sound_lake(tmp_path / "lake")
    (lake / "oms" / "packages" / "part-0.parquet").unlink()
    (lake / "oms" / "packages" / "README.txt").write_text("not data")

    err = check_fails(lake, capsys)

    assert f"oms.packages in {(lake / 'oms' / 'packages').resolve()}" in err
    assert "no .parquet or .csv file" in err


def test_missing_column_names_table_column_and_file(tmp_path, capsys):
    lake = sound_lake(tmp_path / "lake")
    path = replace_file(lake, "nav.gl_balances", table_of("nav.gl_balances", BALANCES).drop_columns(["balance_lcy"]))

    err = check_fails(lake, capsys)

    assert f"nav.gl_balances.balance_lcy in {path.resolve()}: column 'balance_lcy' is missing" in err


def test_a_misspelt_column_gets_a_suggestion(tmp_path, capsys):
    lake = sound_lake(tmp_path / "lake")
    table = table_of("nav.gl_balances", BALANCES).rename_columns(
        ["company_id", "closing_date", "gl_account_no", "currency", "balance_lcyy", "refreshed_at"])
    replace_file(lake, "nav.gl_balances", table)

    err = check_fails(lake, capsys)

    assert "column 'balance_lcy' is missing; did you mean 'balance_lcyy'?" in err


@pytest.mark.parametrize(
    "column, array, shown",
    [
        ("balance_lcy", pa.array([-1500.0, 250.1], pa.float64()), "is double"),
        ("balance_lcy", pa.array(["-1500.00", "250.10"], pa.string()), "is string"),
        ("balance_lcy", pa.array([D("-1500.000"), D("250.100")], pa.decimal128(18, 3)), "is decimal128(18, 3)"),
        ("refreshed_at", pa.array([datetime(2025, 10, 1, 2)] * 2, pa.timestamp("us", tz="UTC")), "is timestamp[us, tz=UTC]"),
        ("closing_date", pa.array(["2025-09-30"] * 2, pa.string()), "is string"),
    ],
)
def test_wrong_physical_type(tmp_path, capsys, column, array, shown):
    lake = sound_lake(tmp_path / "lake")
    path = replace_file(lake, "nav.gl_balances", with_column(table_of("nav.gl_balances", BALANCES), column, array))

    err = check_fails(lake, capsys)

    assert f"nav.gl_balances.{column} in {path.resolve()}: column '{column}' {shown}, but the contract wants" in err
    assert "1 problem(s)" in err


def test_timestamp_with_time_zone_is_explained(tmp_path):
    lake = sound_lake(tmp_path / "lake")
    array = pa.array([datetime(2025, 10, 1, 2)] * 2, pa.timestamp("us", tz="Africa/Lagos"))
    replace_file(lake, "nav.gl_balances", with_column(table_of("nav.gl_balances", BALANCES), "refreshed_at", array))

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    (problem,) = e.value.problems
    assert problem.message == (
        "column 'refreshed_at' is timestamp[us, tz=Africa/Lagos], "
        "but the contract wants ts: TIMESTAMP without time zone (UTC)"
    )


def test_null_in_a_not_null_column_is_counted_per_file(tmp_path, capsys):
    lake = sound_lake(tmp_path / "lake")
    rows = [dict(r) for r in ENTRIES]
    rows[0]["user_id"] = None
    rows[2]["user_id"] = None
    # table_of builds a non-nullable field; a real file with NULLs declares it nullable.
    table = table_of("nav.gl_entries", ENTRIES)
    table = table.cast(pa.schema([f.with_nullable(True) for f in table.schema]))
    table = with_column(table, "user_id", pa.array([r["user_id"] for r in rows], pa.string()))
    path = replace_file(lake, "nav.gl_entries", table)
    # A second file of the same table without NULLs is not named.
    pq.write_table(table_of("nav.gl_entries", ENTRIES), path.with_name("part-1.parquet"))

    err = check_fails(lake, capsys)

    assert f"nav.gl_entries.user_id in {path.resolve()}: column 'user_id' is NOT NULL in the contract but has 2 NULL value(s)" in err
    assert "part-1.parquet" not in err


def test_null_in_a_nullable_column_is_fine(tmp_path):
    lake = sound_lake(tmp_path / "lake")
    # Every nullable column of every row is NULL here (ENTRIES leaves them out).
    entries = pq.read_table(lake / "nav" / "gl_entries" / "part-0.parquet")
    assert entries.column("external_document_no").null_count == 2
    assert entries.column("comment").null_count == 3

    assert check_lake(lake).rows == 6


def test_extra_columns_are_notes_not_errors(tmp_path, capsys):
    lake = sound_lake(tmp_path / "lake")
    table = table_of("nav.gl_balances", BALANCES).append_column("loaded_by", pa.array(["etl", "etl"]))
    replace_file(lake, "nav.gl_balances", table)

    report = check_lake(lake)

    assert report.notes == ("nav.gl_balances: part-0.parquet: extra column(s) loaded_by (allowed, not read)",)
    assert run(["lake", "check", str(lake)]) == 0
    assert "extra column(s) loaded_by" in capsys.readouterr().out


def rewrite_csv(lake: Path, qualified: str, old: str, new: str) -> Path:
    schema, name = qualified.split(".")
    path = lake / schema / name / "part-0.csv"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")
    return path


def test_csv_with_an_unparsable_date(tmp_path, capsys):
    lake = sound_lake(tmp_path / "lake", "csv")
    path = rewrite_csv(lake, "nav.gl_entries", "2025-09-04", "2025-09-31")

    err = check_fails(lake, capsys)

    assert (
        f"nav.gl_entries.posting_date in {path.resolve()}: column 'posting_date': 1 value(s) do not parse "
        "as date: DATE, for example '2025-09-31'"
    ) in err


MONEY = "money: DECIMAL(18, 2) (decimal128(18, 2))"


@pytest.mark.parametrize(
    "old, new, column, message",
    [
        # DuckDB would round it to 250.10 (or 250.11) without a word
        ("250.10", "250.105", "balance_lcy", f"1 value(s) have more than 2 decimal places ({MONEY}); "
                                             "they would be rounded away, for example '250.105'"),
        ("250.10", "about 250", "balance_lcy", f"1 value(s) do not parse as {MONEY}, for example 'about 250'"),
        ("250.10", "12345678901234567.00", "balance_lcy",
         f"1 value(s) are too large for {MONEY}, for example '12345678901234567.00'"),
        ("2025-10-01 02:00:00.000000", "2025-10-01 02:00:00+01:00", "refreshed_at",
         "1 value(s) do not parse as ts: TIMESTAMP without time zone (UTC), for example '2025-10-01 02:00:00+01:00'"),
    ],
)
def test_csv_values_that_do_not_fit_the_contract(tmp_path, old, new, column, message):
    lake = sound_lake(tmp_path / "lake", "csv")
    path = rewrite_csv(lake, "nav.gl_balances", old, new)

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    (problem,) = e.value.problems
    assert problem.where == f"nav.gl_balances.{column} in {path.resolve()}"
    assert problem.message == f"column '{column}': {message}"


def test_csv_null_in_not_null_column(tmp_path):
    lake = sound_lake(tmp_path / "lake", "csv")
    path = rewrite_csv(lake, "nav.gl_balances", '"18412"', "")

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    assert [str(p) for p in e.value.problems] == [
        f"nav.gl_balances.gl_account_no in {path.resolve()}: "
        "column 'gl_account_no' is NOT NULL in the contract but has 1 NULL value(s), "
        "for example in the row with company_id 'EC_NG', closing_date 2025-09-30"
    ]


def test_several_problems_are_all_reported_at_once(tmp_path, capsys):
    lake = sound_lake(tmp_path / "lake")
    shutil.rmtree(lake / "ref" / "fx_rates")
    balances = replace_file(lake, "nav.gl_balances", table_of("nav.gl_balances", BALANCES).drop_columns(["currency"]))
    table = table_of("nav.gl_entries", ENTRIES)
    table = table.cast(pa.schema([f.with_nullable(True) for f in table.schema]))
    entries = replace_file(lake, "nav.gl_entries", with_column(table, "amount", pa.array([None, D("1.00"), None], pa.decimal128(18, 2))))

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    assert [p.where for p in e.value.problems] == [
        f"ref.fx_rates in {(lake / 'ref' / 'fx_rates').resolve()}",
        f"nav.gl_entries.amount in {entries.resolve()}",
        f"nav.gl_balances.currency in {balances.resolve()}",
    ]
    assert "has 2 NULL value(s)" in e.value.problems[1].message
    err = check_fails(lake, capsys)
    assert "3 problem(s)" in err
    for p in e.value.problems:
        assert p.where in err


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    lake = sound_lake(tmp_path / "lake")
    path = lake / "nav" / "gl_entries" / "part-1.parquet"
    path.write_bytes(b"company_id,amount\nEC_NG,1.00\n")

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    (problem,) = e.value.problems
    assert problem.where == f"nav.gl_entries in {path.resolve()}"
    assert problem.message.startswith("the file cannot be read as parquet: ")


def test_csv_files_of_one_table_are_checked_each(tmp_path):
    lake = sound_lake(tmp_path / "lake", "csv")
    folder = lake / "nav" / "gl_balances"
    text = (folder / "part-0.csv").read_text("utf-8")
    # A second export whose header lost a column: only that file is named.
    header, *rows = text.splitlines()
    (folder / "part-1.csv").write_text(
        "\n".join([header.replace(',"currency"', "")] + [r.replace(',"NGN"', "") for r in rows]) + "\n", "utf-8")

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    assert [str(p) for p in e.value.problems] == [
        f"nav.gl_balances.currency in {(folder / 'part-1.csv').resolve()}: column 'currency' is missing"
    ]


def test_the_cli_needs_exactly_one_of_lake_or_binding(tmp_path, capsys):
    assert run(["lake", "check"]) == 3
    assert "give exactly one of a lake folder or --binding FILE" in capsys.readouterr().err


def test_a_lake_folder_that_does_not_exist_is_one_problem(tmp_path, capsys):
    err = check_fails(tmp_path / "nowhere", capsys)
    assert f"{tmp_path / 'nowhere'}: the lake folder does not exist" in err
    assert "jdash" not in err


def nullable(table: pa.Table) -> pa.Table:
    """A real file with NULLs declares its fields nullable (table_of builds them NOT NULL)."""
    return table.cast(pa.schema([f.with_nullable(True) for f in table.schema]))


def test_a_null_is_shown_with_the_row_it_sits_in(tmp_path):
    lake = sound_lake(tmp_path / "lake")
    table = nullable(table_of("nav.gl_entries", ENTRIES))
    path = replace_file(lake, "nav.gl_entries", with_column(table, "company_id", pa.array(["EC_NG", None, "EC_NG"])))

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    assert [str(p) for p in e.value.problems] == [
        f"nav.gl_entries.company_id in {path.resolve()}: column 'company_id' is NOT NULL in the contract but has "
        "1 NULL value(s), for example in the row with entry_no 2, posting_date 2025-09-04"
    ]


def test_nulls_are_counted_in_a_parquet_file_written_without_statistics(tmp_path):
    # The footers' NULL counts spare reading the data; a file without them is read.
    lake = sound_lake(tmp_path / "lake")
    table = with_column(nullable(table_of("nav.gl_entries", ENTRIES)), "user_id", pa.array([None, "A", "B"]))
    path = lake / "nav" / "gl_entries" / "part-0.parquet"
    pq.write_table(table, path, write_statistics=False)
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).statistics is None

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    (problem,) = e.value.problems
    assert problem.where == f"nav.gl_entries.user_id in {path.resolve()}"
    assert "has 1 NULL value(s), for example in the row with company_id 'EC_NG', entry_no 1" in problem.message


def test_money_with_four_decimals_is_counted_not_rounded(tmp_path):
    lake = sound_lake(tmp_path / "lake")
    four = pa.array([D("-1500.0000"), D("250.1049")], pa.decimal128(18, 4))
    path = replace_file(lake, "nav.gl_balances", with_column(table_of("nav.gl_balances", BALANCES), "balance_lcy", four))

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    where = f"nav.gl_balances.balance_lcy in {path.resolve()}"
    assert [str(p) for p in e.value.problems] == [
        f"{where}: column 'balance_lcy' is decimal128(18, 4), but the contract wants money: DECIMAL(18, 2) (decimal128(18, 2))",
        f"{where}: column 'balance_lcy': 1 value(s) have more than 2 decimal places (money: DECIMAL(18, 2) "
        "(decimal128(18, 2))); they would be rounded away, for example '250.1049'",
    ]


def test_money_too_large_for_the_contract_is_counted(tmp_path):
    lake = sound_lake(tmp_path / "lake")
    wide = pa.array([D("-1500.00"), D("12345678901234567.00")], pa.decimal128(38, 2))
    replace_file(lake, "nav.gl_balances", with_column(table_of("nav.gl_balances", BALANCES), "balance_lcy", wide))

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    assert [p.message for p in e.value.problems][1] == (
        "column 'balance_lcy': 1 value(s) are too large for money: DECIMAL(18, 2) (decimal128(18, 2)), "
        "for example '12345678901234567.00'")


def test_a_float_money_column_in_a_later_file_is_named_with_its_inexact_values(tmp_path):
    lake = sound_lake(tmp_path / "lake")
    first = lake / "nav" / "gl_balances" / "part-0.parquet"
    # A spreadsheet's sum: 0.1 + 0.2 is 0.30000000000000004 in binary floating point.
    floats = pa.array([-1500.0, 0.1 + 0.2], pa.float64())
    later = first.with_name("part-1.parquet")
    pq.write_table(with_column(table_of("nav.gl_balances", BALANCES), "balance_lcy", floats), later)

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    assert [p.where for p in e.value.problems] == [f"nav.gl_balances.balance_lcy in {later.resolve()}"] * 2
    assert e.value.problems[0].message.startswith("column 'balance_lcy' is double, but the contract wants money")
    assert e.value.problems[1].message.endswith("1 value(s) have more than 2 decimal places (money: DECIMAL(18, 2) "
                                                "(decimal128(18, 2))); they would be rounded away, for example "
                                                "'0.30000000000000004'")


def test_a_duplicate_company_is_caught_in_each_file_that_holds_it(tmp_path):
    lake = sound_lake(tmp_path / "lake")
    first = lake / "ref" / "companies" / "part-0.parquet"
    again = first.with_name("part-1.parquet")
    pq.write_table(table_of("ref.companies", [{"company_id": "EC_NG", "company_name": "Jumia Nigeria (copy)"},
                                              {"company_id": "JM_EG"}]), again)

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    message = ("1 row(s) share their key (company_id) with another row of the table, which must have one row per "
               "key; for example company_id 'EC_NG'")
    assert [str(p) for p in e.value.problems] == [
        f"ref.companies.company_id in {first.resolve()}: {message}",
        f"ref.companies.company_id in {again.resolve()}: {message}",
    ]


def test_two_closing_rates_for_one_company_and_month_are_caught(tmp_path):
    lake = sound_lake(tmp_path / "lake")
    rate = {"company_id": "EC_NG", "year": 2025, "month": 9, "rate_type": "Closing", "currency": "NGN"}
    path = replace_file(lake, "ref.fx_rates", table_of("ref.fx_rates", [
        {**rate, "rate_lcy_per_usd": D("1650.000000")},
        {**rate, "rate_lcy_per_usd": D("1651.000000")},
        {**rate, "rate_type": "Average", "rate_lcy_per_usd": D("1640.000000")},
        {**rate, "month": 8, "rate_lcy_per_usd": D("1630.000000")},
    ]))

    with pytest.raises(LakeContractError) as e:
        check_lake(lake)

    assert [str(p) for p in e.value.problems] == [
        f"ref.fx_rates (company_id, year, month, rate_type) in {path.resolve()}: 2 row(s) share their key "
        "(company_id, year, month, rate_type) with another row of the table, which must have one row per key; "
        "for example company_id 'EC_NG', year 2025, month 9, rate_type 'Closing'"
    ]


def test_the_declared_keys_are_contract_columns():
    from soxauto.lake.check import KEYS
    from soxauto.lake.contract import contract

    for table, key in KEYS.items():
        spec = contract().table(table)
        assert all(not spec.column(k).nullable for k in key)


def test_check_tables_checks_only_the_tables_asked_and_may_leave_absent_ones(tmp_path):
    from soxauto.lake.binding import lake_binding
    from soxauto.lake.check import check_tables
    from soxauto.lake.contract import contract

    lake = sound_lake(tmp_path / "lake")
    shutil.rmtree(lake / "jdash" / "voucher_usage")
    replace_file(lake, "nav.gl_balances", table_of("nav.gl_balances", BALANCES).drop_columns(["currency"]))
    specs = [contract().table("ref.companies"), contract().table("jdash.voucher_usage")]

    problems, reports, absent = check_tables(lake_binding(lake), specs, absent_ok=True)
    assert (problems, [r.table for r in reports], absent) == ([], ["ref.companies"], ["jdash.voucher_usage"])

    problems, _, _ = check_tables(lake_binding(lake), specs)
    assert [p.message for p in problems] == ["the table's folder does not exist; create it with the table's Parquet or CSV files"]


def test_a_generated_lake_passes(tmp_path):
    from lakekit import generated

    from soxauto.period import Period

    lake = generated(tmp_path / "lake", scale=0.01, seed=11, first_period=Period(2025, 9), periods=1)

    report = check_lake(lake)

    assert len(report.tables) == 17 and report.rows > 0
