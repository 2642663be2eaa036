"""``soxauto extract``: one item, one entity, one period, to Parquet and a JSON summary."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lakekit import D, companies, write_lake

from soxauto.catalog.loader import default_pack
from soxauto.cli import run

BALANCES = [
    {"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": "18412", "currency": "NGN",
     "balance_lcy": D("-1500.00"), "refreshed_at": datetime(2025, 10, 1, 2, 0)},
    {"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": "13003", "currency": "NGN",
     "balance_lcy": D("250.10"), "refreshed_at": datetime(2025, 10, 1, 2, 0)},
    {"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": "13011", "currency": "NGN",
     "balance_lcy": D("0.20"), "refreshed_at": datetime(2025, 10, 1, 2, 0)},
    {"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": "99999", "currency": "NGN",
     "balance_lcy": D("1000.00"), "refreshed_at": datetime(2025, 10, 1, 2, 0)},  # not reconciled
    {"company_id": "EC_NG", "closing_date": date(2025, 8, 31), "gl_account_no": "18412", "currency": "NGN",
     "balance_lcy": D("-900.00"), "refreshed_at": datetime(2025, 9, 1, 2, 0)},  # previous month-end
    {"company_id": "JM_EG", "closing_date": date(2025, 9, 30), "gl_account_no": "18412", "currency": "EGP",
     "balance_lcy": D("-77.00"), "refreshed_at": datetime(2025, 10, 1, 2, 0)},  # another company
]


COMPANIES = companies(("EC_NG", "NGN"), ("JM_EG", "EGP"), ("EC-NG_2", "NGN"))


@pytest.fixture
def lake(tmp_path):
    return write_lake(tmp_path / "lake", {"nav.gl_balances": BALANCES, "ref.companies": COMPANIES})


def extract_args(lake, out, item="CR_04", entity="EC_NG"):
    return ["extract", item, "--period", "2025-09", "--entity", entity, "--lake", str(lake), "--out", str(out), "--json"]


def test_extract_prints_one_json_object_and_writes_parquet(lake, tmp_path, capsys):
    out = tmp_path / "out"

    code = run(extract_args(lake, out))

    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["item"] == "CR_04"
    assert summary["period"] == "2025-09"
    assert summary["entity"] == "EC_NG"
    assert summary["row_count"] == 3
    assert summary["control_totals"] == {"balance_lcy": "-1249.70"}  # -1500.00 + 250.10 + 0.20
    assert len(summary["query_sha256"]) == 64
    path = out / "CR_04_EC_NG_202509.parquet"
    assert summary["path"] == str(path)
    table = pq.read_table(path)
    assert table.column("gl_account_no").to_pylist() == ["13003", "13011", "18412"]
    assert table.column("balance_lcy").to_pylist() == [Decimal("250.10"), Decimal("0.20"), Decimal("-1500.00")]
    assert str(table.schema.field("balance_lcy").type) == "decimal128(18, 2)"


def test_a_list_parameter_can_be_overridden(lake, tmp_path, capsys):
    code = run(extract_args(lake, tmp_path / "out") + ["--param", "gl_accounts=18412,99999"])

    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["row_count"] == 2
    assert summary["control_totals"] == {"balance_lcy": "-500.00"}


def test_a_wrong_item_id_exits_3_with_a_suggestion(lake, tmp_path, capsys):
    code = run(extract_args(lake, tmp_path / "out", item="CR_4"))

    err = capsys.readouterr().err
    assert code == 3
    assert "no catalog item 'CR_4'; did you mean 'CR_04'?" in err
    assert not (tmp_path / "out").exists()


def test_a_missing_table_exits_3(lake, tmp_path, capsys):
    shutil.rmtree(lake / "nav" / "gl_balances")

    code = run(extract_args(lake, tmp_path / "out"))

    err = capsys.readouterr().err
    assert code == 3
    assert "nav.gl_balances" in err and "does not exist" in err


@pytest.mark.parametrize("entity", ["../EC_NG", "EC NG", "EC_NG/..", "EC_NG\n", "", "EC.NG", "EC_NG;rm"])
def test_an_entity_that_is_not_a_company_id_is_refused_before_anything_runs(tmp_path, capsys, entity):
    # The lake does not even exist: the entity is checked first.
    code = run(extract_args(tmp_path / "no-lake", tmp_path / "out", entity=entity))

    err = capsys.readouterr().err
    assert code == 3
    assert f"--entity '{entity}' is not a company id" in err
    assert not (tmp_path / "out").exists()


def test_a_company_id_with_a_dash_is_accepted(lake, tmp_path, capsys):
    code = run(extract_args(lake, tmp_path / "out", entity="EC-NG_2"))

    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["row_count"] == 0
    assert summary["control_totals"] == {"balance_lcy": "0.00"}
    assert (tmp_path / "out" / "CR_04_EC-NG_2_202509.parquet").is_file()


def test_an_entity_not_in_scope_is_refused_and_no_evidence_is_written(lake, tmp_path, capsys, isolated_home):
    # Extracted anyway, a mistyped company would give an empty extract, all tests passed and a
    # signed evidence package for a company that does not exist.
    code = run(extract_args(lake, tmp_path / "out", entity="EC_NGA"))
    captured = capsys.readouterr()
    assert code == 3 and captured.out == ""
    assert "entity EC_NGA is not in ref.companies with in_conso_scope; did you mean 'EC_NG'?" in captured.err
    assert not (tmp_path / "out").exists()
    assert not (isolated_home / "evidence").exists()


AFTER_CUTOFF = [
    {"company_id": "EC_NG", "entry_no": 1, "posting_date": date(2025, 9, 30), "gl_account_no": "18412", "amount": D("-1500.00")},
    {"company_id": "EC_NG", "entry_no": 2, "posting_date": date(2025, 10, 1), "gl_account_no": "18412", "amount": D("20.00")},
    {"company_id": "EC_NG", "entry_no": 3, "posting_date": date(2025, 10, 2), "gl_account_no": "18412", "amount": D("30.00")},
]


@pytest.fixture
def ledger_lake(tmp_path):
    return write_lake(tmp_path / "ledger", {"nav.gl_balances": BALANCES, "nav.gl_entries": AFTER_CUTOFF, "ref.companies": COMPANIES})


def test_cr_06_gets_window_end_from_the_pack_and_the_horizon_from_the_lake(ledger_lake, tmp_path, capsys):
    code = run(extract_args(ledger_lake, tmp_path / "out", item="CR_06"))

    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["row_count"] == 1  # H = 2025-10-01, the date of the balances' latest refresh
    assert summary["control_totals"] == {"amount": "20.00"}
    bound = json.loads((Path(summary["evidence"]["path"]) / "parameters.json").read_text("utf-8"))
    assert (bound["parameters"]["horizon"], bound["parameters"]["window_end"]) == ("2025-10-01", "2025-11-14")


def test_cr_06_in_a_pack_without_recon_lines_is_refused_naming_the_missing_window_end(ledger_lake, tmp_path, capsys):
    pack = tmp_path / "pack"
    shutil.copytree(default_pack() / "catalog", pack / "catalog")

    code = run(extract_args(ledger_lake, tmp_path / "out", item="CR_06") + ["--pack", str(pack)])

    err = capsys.readouterr().err
    assert code == 3
    assert "CR_06 reads :window_end (the cutoff + the largest clearing window of the recon pack's lines)" in err
    assert not (tmp_path / "out").exists()


def test_validate_and_extract_all_bind_the_time_bounds_too(ledger_lake, tmp_path, capsys):
    code = run(["validate", "CR_06", "--period", "2025-09", "--entity", "EC_NG", "--lake", str(ledger_lake), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert {r["rule_id"]: r["outcome"] for r in doc["results"]}["CR_06.outside_window_absent"] == "passed"
    assert code == 0

    code = run(["extract-all", "--period", "2025-09", "--entity", "EC_NG", "--lake", str(ledger_lake),
                "--out", str(tmp_path / "all"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {x["item"]: x["row_count"] for x in doc["extracts"]}["CR_06"] == 1
