"""``soxauto recon``: the stable JSON shape, CR_01, exit codes."""

from __future__ import annotations

import json
import re

import pytest
from reconkit import small_lake

from soxauto.cli import run

AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
LINE_KEYS = {"entity", "line", "gl_amount", "tv_amount", "variance_lcy", "variance_usd", "bridges",
             "unexplained_lcy", "unexplained_usd", "status", "reason"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return small_lake(tmp_path_factory)


def test_json_shape_and_figures(lake, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SOXAUTO_HOME", str(tmp_path / "home"))
    code = run(["recon", "--period", "2025-09", "--lake", str(lake), "--entity", "JM_EG", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["period"] == "2025-09"
    assert [ln["line"] for ln in doc["lines"]] == ["CUSTOMER_AR", "COLLECTIONS", "VOUCHERS", "PREPAYMENTS",
                                                  "MPL_REFUNDS", "PACKAGES", "SC_ACCRUED"]
    for ln in doc["lines"]:
        assert LINE_KEYS <= set(ln)
        assert ln["entity"] == "JM_EG"
        for key in ("gl_amount", "tv_amount", "variance_lcy", "variance_usd", "unexplained_lcy", "unexplained_usd"):
            assert isinstance(ln[key], str) and AMOUNT.match(ln[key]), (key, ln[key])
        for bridge in ln["bridges"].values():
            assert AMOUNT.match(bridge["amount_lcy"]) and isinstance(bridge["item_count"], int) and bridge["nature"] in ("timing", "booking", "exception")
        assert ln["status"] in ("RECONCILED", "INVESTIGATE", "ERROR")
        # a line gives its reasons, or it is RECONCILED (auto-certified or for a person to prepare)
        assert bool(ln["reasons"]) == (ln["status"] != "RECONCILED")
        assert ln["reason"] == (ln["reasons"][0] if ln["reasons"] else ln["auto_certification"] or "")
    truth = {r["line"]: r for r in json.loads((lake / "ground_truth.json").read_text())["results"]
             if r["period"] == "2025-09" and r["company_id"] == "JM_EG"}
    vouchers = next(ln for ln in doc["lines"] if ln["line"] == "VOUCHERS")
    assert (vouchers["gl_amount"], vouchers["unexplained_lcy"]) == (truth["VOUCHERS"]["gl_amount"], truth["VOUCHERS"]["unexplained"])
    assert {k: v["amount_lcy"] for k, v in vouchers["bridges"].items()} == truth["VOUCHERS"]["bridges"]
    assert {k: v["item_count"] for k, v in vouchers["bridges"].items()} == truth["VOUCHERS"]["bridge_keys"]
    assert vouchers["threshold"]["line_item_usd"] == "5000.00"  # EG contract on 18412
    (cr01,) = doc["control_reports"]["CR_01"]
    assert (cr01["item"], cr01["entity"], cr01["line"], cr01["gl_accounts"], cr01["tv_item"]) == (
        "CR_01", "JM_EG", "SC_ACCRUED", ["18304"], "IPE_11")
    assert cr01["gl_amount"] == truth["SC_ACCRUED"]["gl_amount"]
    assert doc["entities"][0]["country_materiality_usd"] == "22000.00"
    statuses = {ln["status"] for ln in doc["lines"]}
    has_error_finding = any(f["severity"] == "error" for ln in doc["lines"] for f in ln["findings"])
    has_finding = any(ln["findings"] for ln in doc["lines"])
    expected = 1 if statuses != {"RECONCILED"} or has_error_finding else (2 if has_finding else 0)
    assert code == expected


def test_table_output_and_unknown_entity(lake, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SOXAUTO_HOME", str(tmp_path / "home"))
    assert run(["recon", "--period", "2025-09", "--lake", str(lake), "--entity", "EC_NGA"]) == 3
    assert "entity EC_NGA is not in ref.companies with in_conso_scope; did you mean 'EC_NG'?" in capsys.readouterr().err
    code = run(["recon", "--period", "2025-09", "--lake", str(lake), "--entity", "EC_KE"])
    out = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "EC_KE 2025-09 (KES, " in out.out and "TIMING_USAGE" in out.out and "CR_01 Reconciliation SC–NAV, EC_KE" in out.out
    assert "reconcile EC_KE" in out.err  # plain progress lines when not on a terminal
