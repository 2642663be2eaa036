"""``soxauto validate ITEM``: the command a preparer runs on one item, end to end on a
generated lake: its exit code, its table and JSON, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakekit import generated

from soxauto.cli import run
from soxauto.period import Period

P = Period(2025, 9)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    """Two months; the last one has a voucher whose remaining amount does not recompute."""
    path = tmp_path_factory.mktemp("lake") / "lake"
    generated(path, scale=0.01, seed=11, first_period=Period(2025, 8), periods=2, defects=("voucher_recompute",))
    return path


def defect(lake: Path) -> dict:
    return json.loads((lake / "ground_truth.json").read_text())["defects"][0]


def test_a_failing_error_test_exits_1_and_the_json_names_the_row(lake, capsys):
    record = defect(lake)
    code = run(["validate", "IPE_08", "--period", str(P), "--entity", record["entity"], "--lake", str(lake), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    failed = [r for r in out["results"] if r["outcome"] != "passed"]
    assert [r["rule_id"] for r in failed] == ["IPE_08.remaining"]
    assert [row["voucher_id"] for row in failed[0]["sample"]] == [record["key"]["voucher_id"]]


def test_a_clean_entity_exits_0_with_every_test_in_the_table(lake, capsys):
    record = defect(lake)
    clean = "JM_EG" if record["entity"] != "JM_EG" else "EC_KE"
    code = run(["validate", "IPE_08", "--period", str(P), "--entity", clean, "--lake", str(lake)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"IPE_08 {clean} {P}: " in out and "IPE_08.remaining" in out
    assert "0 failed, 0 errored" in out


def test_the_period_defaults_to_the_lakes_latest_month_end(lake, capsys):
    record = defect(lake)
    code = run(["validate", "IPE_08", "--entity", record["entity"], "--lake", str(lake), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["period"] == str(P)


def test_an_entity_not_in_scope_is_refused_not_passed_on_an_empty_extract(lake, capsys):
    # Extracted anyway, a mistyped company would give an empty extract whose tests all pass.
    code = run(["validate", "IPE_08", "--period", str(P), "--entity", "EC_NGA", "--lake", str(lake)])
    captured = capsys.readouterr()
    assert code == 3 and captured.out == ""
    assert "entity EC_NGA is not in ref.companies with in_conso_scope; did you mean 'EC_NG'?" in captured.err


def test_a_month_the_lake_has_no_balances_for_is_refused(lake, capsys):
    code = run(["validate", "IPE_08", "--period", "2025-10", "--entity", "EC_NG", "--lake", str(lake)])
    captured = capsys.readouterr()
    assert code == 3 and captured.out == ""
    assert ("the lake has no GL balances at 2025-10-31, so nothing to extract for 2025-10: "
            "nav.gl_balances has month-ends from 2025-08-31 to 2025-09-30") in captured.err
