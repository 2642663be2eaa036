"""The close summary's Athena cost: the query.usage steps of the run's evidence packages added
up (each execution once), priced at the athena_price_per_tb setting, in run.json and in the
printed summary. The packages here are hand-made logs: what the writer puts there is tested in
tests/engines/athena/test_athena_cost.py."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from soxauto.close import report

RUN = {"id": "202509-run", "period": "2025-09", "user": "ada", "host": "h", "pid": 1, "attempts": 1,
       "started_at": "2025-10-03T06:00:00Z", "entities": ["EC_NG"], "source": "binding.yaml"}
RECON = {"lines": [], "entities": [], "summary": {}}


def step(evidence_id: str, status: str = "done") -> dict:
    return {"entity": "EC_NG", "stage": "evidence", "item": evidence_id.split("_EC_NG")[0], "status": status,
            "attempts": 1, "seconds": 1.0, "rows": 2, "outcome": 0, "tests": {"passed": 3}, "timings": None,
            "evidence_id": evidence_id, "manifest_sha256": "m", "fingerprint": "f", "ledger_seq": 1, "error": None}


def package(store: Path, evidence_id: str, *usage: tuple[str, int, int]) -> None:
    folder = store / evidence_id
    folder.mkdir(parents=True)
    lines = [{"time": "2025-10-03T06:00:01Z", "step": "extract.start"}]
    lines += [{"time": "2025-10-03T06:00:02Z", "step": "query.usage", "execution_id": q, "data_scanned_bytes": b,
               "engine_execution_ms": ms} for q, b, ms in usage]
    (folder / "log.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), "utf-8")


def summarize(store: Path, steps: list[dict], **kwargs) -> dict:
    return report.summary(RUN, steps, RECON, status="completed", exit_code=0, previous=None, previous_steps=[],
                          store=store, reports=store / "reports", run_store="sqlite:///x", attempt_seconds=1.0, **kwargs)


def test_the_summary_adds_up_every_package_s_queries_and_prices_them(tmp_path):
    package(tmp_path, "CR_04_EC_NG_2025-09", ("q1", 1_234_567_890, 812), ("q2", 0, 15))
    package(tmp_path, "IPE_08_EC_NG_2025-09", ("q3", 2 * 10**12, 40_000), ("q2", 0, 15))  # q2 listed twice: once
    package(tmp_path, "IPE_09_EC_NG_2025-09", ("q9", 5 * 10**12, 1))  # its step failed: not this run's evidence
    steps = [step("CR_04_EC_NG_2025-09"), step("IPE_08_EC_NG_2025-09"), step("IPE_09_EC_NG_2025-09", "failed")]

    summary = summarize(tmp_path, steps, price_per_tb=Decimal("5"))

    assert summary["athena"] == {
        "queries": 3, "data_scanned_bytes": 2_001_234_567_890, "billed_bytes": 2_001_245_000_000,
        "engine_execution_ms": 40_827, "price_per_tb_usd": "5", "cost_usd": "10.006225",
        "billing": "per query rounded up to 1 MB (10^6 bytes), at least 10 MB; TB = 10^12 bytes"}
    text = report.text(summary, width=200)
    assert ("Athena: 3 queries scanned 2,001,234,567,890 bytes (billed 2,001,245,000,000: 1 MB rounding, 10 MB "
            "minimum per query); cost 10.006225 USD at 5 USD per TB (10^12 bytes)") in text


def test_the_statements_no_package_claims_count_through_the_reconcile_step(tmp_path):
    package(tmp_path, "CR_04_EC_NG_2025-09", ("q1", 1_000_000, 5))
    recon = {**step("CR_04_EC_NG_2025-09"), "stage": "reconcile", "item": "", "evidence_id": None,
             "detail": {"query_usage": [{"execution_id": "r1", "data_scanned_bytes": 3_500_000, "engine_execution_ms": 7},
                                        {"execution_id": "q1", "data_scanned_bytes": 1_000_000, "engine_execution_ms": 5}]}}
    summary = summarize(tmp_path, [step("CR_04_EC_NG_2025-09"), recon], price_per_tb=Decimal("5"))
    # q1 once; r1 (a reconciliation statement) billed at the 10 MB minimum like any query
    assert (summary["athena"]["queries"], summary["athena"]["data_scanned_bytes"], summary["athena"]["billed_bytes"]) == (
        2, 4_500_000, 20_000_000)


def test_a_meter_hands_over_what_no_package_claimed_once():
    from soxauto.engines.cost import Meter, QueryUsage

    meter = Meter()
    for n in ("bounds", "extract", "test"):
        meter.record(QueryUsage(n, 1))
    assert [u.execution_id for u in meter.claim("extract")] == ["extract", "test"]
    meter.record(QueryUsage("recon", 1))
    assert [u.execution_id for u in meter.drain_outside()] == ["bounds", "recon"]
    assert meter.drain_outside() == () and meter.pending == ()


def test_the_price_comes_from_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SOXAUTO_ATHENA_PRICE_PER_TB", "6.25")
    package(tmp_path, "CR_04_EC_NG_2025-09", ("q1", 3_000_000, 10))

    athena = summarize(tmp_path, [step("CR_04_EC_NG_2025-09")])["athena"]

    assert (athena["billed_bytes"], athena["price_per_tb_usd"], athena["cost_usd"]) == (10_000_000, "6.25", "0.0000625")


def test_a_run_without_athena_queries_has_no_cost_line(tmp_path, monkeypatch):
    monkeypatch.setenv("SOXAUTO_ATHENA_PRICE_PER_TB", "not read")  # a DuckDB close never asks for the price
    package(tmp_path, "CR_04_EC_NG_2025-09")

    summary = summarize(tmp_path, [step("CR_04_EC_NG_2025-09")])

    assert "athena" not in summary and "Athena:" not in report.text(summary)


@pytest.mark.parametrize("raw", ["-1", "five", "NaN"])
def test_a_bad_price_is_a_usage_error(raw, monkeypatch):
    from soxauto.config import load_config
    from soxauto.errors import UsageError

    monkeypatch.setenv("SOXAUTO_ATHENA_PRICE_PER_TB", raw)
    with pytest.raises(UsageError, match="athena_price_per_tb = .* is not an amount >= 0"):
        load_config()
