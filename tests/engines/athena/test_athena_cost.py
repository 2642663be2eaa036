"""What a close costs on Athena: every execution's bytes scanned and engine time (GetQueryExecution
statistics, stubbed by the hooks: moto reports zeros) on the engine's meter, in the evidence log
of the package whose step ran it, and added up with their price (exact Decimal)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlglot
from athenakit import Hooks, column, execution_ids, make_engine, queue_result, varchar

from soxauto.catalog import load_catalog
from soxauto.close.report import query_usage
from soxauto.engines.cost import MINIMUM_BYTES, QueryUsage, price, total
from soxauto.evidence.record import record
from soxauto.period import Period

pytestmark = pytest.mark.usefixtures("aws")


def scanned_in_start_order():
    """Statistics per execution: the n-th execution started scans n x 7,000,001 bytes in n x 100 ms."""
    def of(execution: dict) -> dict:
        n = execution_ids().index(execution["QueryExecutionId"]) + 1
        return {"DataScannedInBytes": n * 7_000_001, "EngineExecutionTimeInMillis": n * 100}
    return of


def test_every_execution_s_bytes_scanned_and_engine_time_are_on_the_engine_s_meter():
    engine = make_engine(Hooks(statistics_of=scanned_in_start_order()), unload="never")
    for _ in range(2):
        queue_result([varchar("x")], [("a",)])
        result = engine.run(sqlglot.parse_one("SELECT x FROM t"), {})

    first, second = execution_ids()
    assert engine.meter.pending == (QueryUsage(first, 7_000_001, 100), QueryUsage(second, 14_000_002, 200))
    assert (result.details["data_scanned_bytes"], result.details["engine_execution_ms"]) == (14_000_002, 200)
    assert result.meter is engine.meter


def test_the_evidence_log_holds_the_usage_of_the_extract_and_of_its_c_and_a_statements(tmp_path):
    engine = make_engine(Hooks(statistics_of=scanned_in_start_order()), unload="never")
    queue_result([column("closing_date", "date")], [("2025-09-30",)])  # a statement before the step
    engine.run(sqlglot.parse_one("SELECT closing_date FROM nav.gl_balances"), {})
    queue_result([varchar("company_id"), column("closing_date", "date"), varchar("gl_account_no"), varchar("currency"),
                  column("balance_lcy", "decimal", 18, 2), column("refreshed_at", "timestamp")],
                 [("EC_NG", "2025-09-30", "18412", "NGN", "-1500.00", "2025-10-01 02:00:00.000")])

    done = record(engine, load_catalog(), "CR_04", Period(2025, 9), "EC_NG", store=tmp_path / "store")

    before, extract, *tests = execution_ids()
    assert tests  # the C&A statements ran on Athena too (unanswered by moto: errored, still billed)
    steps = [json.loads(line) for line in (done.package.path / "log.jsonl").read_text("utf-8").splitlines()]
    usage = [{k: s[k] for k in ("execution_id", "data_scanned_bytes", "engine_execution_ms")}
             for s in steps if s["step"] == "query.usage"]
    ids = execution_ids()
    assert usage == [{"execution_id": q, "data_scanned_bytes": (ids.index(q) + 1) * 7_000_001,
                      "engine_execution_ms": (ids.index(q) + 1) * 100} for q in [extract, *tests]]
    assert engine.meter.pending == ()  # claimed; the statement before the step is in no package
    # what the close summary reads back from the stored package
    found = query_usage([{"stage": "evidence", "status": "done", "evidence_id": done.package.path.name}],
                        tmp_path / "store")
    assert [u.execution_id for u in found] == [extract, *tests]


def test_an_extract_claimed_with_another_item_s_package_leaves_only_later_statements():
    meter_engine = make_engine(Hooks(statistics_of=scanned_in_start_order()), unload="never")
    for _ in range(4):
        queue_result([varchar("x")], [("a",)])
        meter_engine.run(sqlglot.parse_one("SELECT x FROM t"), {})
    a, b, c, d = execution_ids()
    assert [u.execution_id for u in meter_engine.meter.claim(b)] == [b, c, d]  # a (before the step) is dropped
    queue_result([varchar("x")], [("a",)])
    meter_engine.run(sqlglot.parse_one("SELECT x FROM t"), {})
    # b was claimed already: what is pending is this step's
    assert [u.execution_id for u in meter_engine.meter.claim(b)] == [execution_ids()[-1]]


@pytest.mark.parametrize("scanned, billed", [(0, 10_000_000), (9_999_999, 10_000_000), (10_000_001, 11_000_000),
                                             (1_234_567_890, 1_235_000_000)])
def test_athena_bills_whole_megabytes_and_at_least_ten_per_query(scanned, billed):
    assert QueryUsage("q", scanned).billed_bytes == billed
    assert MINIMUM_BYTES == 10 * 10**6


def test_the_cost_is_exact_billed_bytes_times_the_price_over_ten_to_the_twelve():
    usages = [QueryUsage("a", 1_234_567_890, 812), QueryUsage("b", 0, 15), QueryUsage("c", 2 * 10**12, None)]
    cost = total(usages, Decimal("5"))
    assert (cost.queries, cost.data_scanned_bytes, cost.billed_bytes, cost.engine_execution_ms) == \
        (3, 2_001_234_567_890, 2_001_245_000_000, 827)
    assert cost.cost_usd == Decimal("10.006225")
    assert cost.to_dict()["cost_usd"] == "10.006225" and cost.to_dict()["price_per_tb_usd"] == "5"
    assert price(10_000_000, Decimal("6.25")) == Decimal("0.0000625")
    assert total([], Decimal("5")).cost_usd == 0
