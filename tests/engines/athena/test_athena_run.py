"""The Athena engine against moto: what is sent, what comes back, and every way it fails."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import sqlglot
from athenakit import OUTPUT, Clock, Hooks, column, execution_ids, make_engine, queue_result, varchar

from soxauto.errors import EngineError, UsageError

pytestmark = pytest.mark.usefixtures("aws")

BALANCES_SQL = """
SELECT b.gl_account_no, b.balance_lcy
FROM nav.gl_balances AS b
WHERE b.company_id = :company_id AND b.closing_date = :cutoff AND b.gl_account_no IN (:accounts)
  AND b.balance_lcy <> :floor
ORDER BY b.gl_account_no
"""
PARAMS = {"company_id": "O'Neil", "cutoff": date(2025, 9, 30), "accounts": ["13003", "18412"],
          "floor": Decimal("0.01")}
EXPECTED_SQL = """SELECT
  b.gl_account_no,
  b.balance_lcy
FROM (
  SELECT
    "company_id" AS company_id,
    "closing_date" AS closing_date,
    "gl_account_no" AS gl_account_no,
    "balance_lcy" AS balance_lcy
  FROM process_nav.nav_gl_balances
) AS b
WHERE
  b.company_id = ?
  AND b.closing_date = ?
  AND b.gl_account_no IN (?, ?)
  AND b.balance_lcy <> ?
ORDER BY
  b.gl_account_no"""
BALANCE_COLUMNS = [varchar("gl_account_no"), column("balance_lcy", "decimal", 18, 2)]


def q(text: str):
    return sqlglot.parse_one(text, read="trino")


def test_sends_trino_sql_with_positional_execution_parameters_and_result_reuse_off():
    hooks = Hooks()
    engine = make_engine(hooks, unload="never", workgroup="soxauto")
    import boto3

    boto3.client("athena").create_work_group(Name="soxauto", Configuration={})
    queue_result(BALANCE_COLUMNS, [("13003", "250.10")])

    result = engine.run(q(BALANCES_SQL), PARAMS)

    assert hooks.started == [{
        "QueryString": EXPECTED_SQL,
        "WorkGroup": "soxauto",
        "ResultConfiguration": {"OutputLocation": OUTPUT},
        "QueryExecutionContext": {"Catalog": "AwsDataCatalog"},
        "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
        # one literal per ?, in text order; the quote in O'Neil doubled, never in the SQL text
        "ExecutionParameters": ["'O''Neil'", "DATE '2025-09-30'", "'13003'", "'18412'", "DECIMAL '0.01'"],
    }]
    assert result.sql == EXPECTED_SQL
    assert result.parameters == hooks.started[0]["ExecutionParameters"]
    assert "O'Neil" not in result.sql and "2025-09-30" not in result.sql


def test_money_comes_back_as_exact_decimals_and_nulls_as_nulls():
    engine = make_engine(Hooks(), unload="never")
    queue_result(BALANCE_COLUMNS, [("13003", "250.10"), ("13011", "0.20"), ("18412", "-1500.00"),
                                   ("18413", "9999999999999999.99"), ("18414", None)])

    table = engine.run(q(BALANCES_SQL), PARAMS).table

    assert str(table.schema.field("balance_lcy").type) == "decimal128(18, 2)"
    values = table.column("balance_lcy").to_pylist()
    assert values == [Decimal("250.10"), Decimal("0.20"), Decimal("-1500.00"), Decimal("9999999999999999.99"), None]
    assert sum(v for v in values if v is not None) == Decimal("9999999999998750.29")


def test_a_value_wider_than_its_declared_decimal_is_an_error_not_a_rounding():
    engine = make_engine(Hooks(), unload="never")
    queue_result(BALANCE_COLUMNS, [("13003", "99999999999999999.99")])  # 19 digits in DECIMAL(18, 2)

    with pytest.raises(EngineError, match=r"column 'balance_lcy' does not fit its declared type decimal128\(18, 2\)"):
        engine.run(q(BALANCES_SQL), PARAMS)


def test_every_athena_type_the_lake_uses_is_decoded():
    engine = make_engine(Hooks(), unload="never")
    queue_result([varchar("s"), column("d", "date"), column("t", "timestamp"), column("b", "boolean"),
                  column("n", "bigint"), column("r", "decimal", 18, 6)],
                 [("x", "2025-09-30", "2025-10-01 02:00:00.123", "true", "42", "1.234567")])

    row = engine.run(q("SELECT s, d, t, b, n, r FROM t"), {}).table.to_pylist()

    assert row == [{"s": "x", "d": date(2025, 9, 30), "t": datetime(2025, 10, 1, 2, 0, 0, 123000), "b": True,
                    "n": 42, "r": Decimal("1.234567")}]


def test_the_result_records_execution_id_engine_version_data_scanned_and_reuse():
    hooks = Hooks(statistics={"DataScannedInBytes": 1_234_567, "EngineExecutionTimeInMillis": 812,
                              "TotalExecutionTimeInMillis": 905})
    engine = make_engine(hooks, unload="never")
    queue_result(BALANCE_COLUMNS, [("13003", "250.10")])

    result = engine.run(q(BALANCES_SQL), PARAMS)

    (qid,) = execution_ids()
    assert result.execution_id == qid
    assert result.engine == "athena" and result.engine_version == "Athena engine version 3"
    assert result.started_at.tzinfo is not None
    d = result.details
    assert (d["query_execution_id"], d["data_scanned_bytes"], d["engine_execution_ms"], d["total_execution_ms"]) == \
        (qid, 1_234_567, 812, 905)
    assert d["result_reuse"] == {"enabled": False, "reused": False}
    assert d["output_location"] == f"{OUTPUT}{qid}.csv"
    assert d["read"] == "GetQueryResults" and d["result_pages"] == 1


def test_polls_with_exponential_backoff_capped_at_the_maximum():
    hooks = Hooks(states=["QUEUED", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"])
    clock = Clock()
    engine = make_engine(hooks, clock, unload="never", poll_initial_seconds=0.25, poll_max_seconds=3)
    queue_result(BALANCE_COLUMNS, [])

    engine.run(q(BALANCES_SQL), PARAMS)

    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_a_query_still_running_at_the_timeout_is_stopped_and_raises():
    hooks = Hooks(states=["RUNNING"])
    clock = Clock()
    engine = make_engine(hooks, clock, unload="never", timeout_seconds=10, poll_initial_seconds=1)

    with pytest.raises(EngineError) as e:
        engine.run(q(BALANCES_SQL), PARAMS)

    assert clock.sleeps == [1, 2, 4, 3]  # the last wait is cut to end exactly at the timeout
    (qid,) = hooks.stopped
    assert f"Athena query {qid} still RUNNING after 10s (timeout 10s); it was cancelled" in str(e.value)
    assert "--- SQL ---\nSELECT" in str(e.value)


def test_failed_raises_with_athenas_reason_and_the_sql():
    reason = "COLUMN_NOT_FOUND: line 2:3: Column 'balance_lcy' cannot be resolved"
    hooks = Hooks(states=["RUNNING", "FAILED"], status={"StateChangeReason": reason})
    engine = make_engine(hooks, unload="never")

    with pytest.raises(EngineError) as e:
        engine.run(q(BALANCES_SQL), PARAMS)

    (qid,) = execution_ids()
    assert str(e.value) == f"Athena query {qid} FAILED: {reason}\n--- SQL ---\n{EXPECTED_SQL}"


def test_cancelled_raises_with_the_reason():
    hooks = Hooks(states=["CANCELLED"], status={"StateChangeReason": "Query was cancelled by user arn:aws:iam::1:user/x"})
    engine = make_engine(hooks, unload="never")

    with pytest.raises(EngineError, match=r"CANCELLED: Query was cancelled by user arn:aws:iam::1:user/x"):
        engine.run(q(BALANCES_SQL), PARAMS)


def test_a_result_location_that_does_not_exist_is_an_error_not_an_empty_result():
    engine = make_engine(Hooks(), unload="never")  # no canned result: moto writes no result file

    with pytest.raises(EngineError) as e:
        engine.run(q(BALANCES_SQL), PARAMS)

    assert "does not exist" in str(e.value) and f"{OUTPUT}" in str(e.value)
    assert "Athena reported success but its result is missing" in str(e.value)


def test_results_are_read_page_by_page_following_next_token():
    hooks = Hooks(page_rows=2)
    engine = make_engine(hooks, unload="never")
    rows = [("13003", "1.00"), ("13004", "2.00"), ("13005", "3.00"), ("13009", "4.00"), ("13011", "5.00")]
    queue_result(BALANCE_COLUMNS, rows)  # header + 5 rows: pages of 2, 2 and 2

    result = engine.run(q(BALANCES_SQL), PARAMS)

    assert [r.get("NextToken") for r in hooks.result_requests] == [None, "page-2", "page-4"]
    assert {r["MaxResults"] for r in hooks.result_requests} == {1000}
    assert result.table.column("gl_account_no").to_pylist() == ["13003", "13004", "13005", "13009", "13011"]
    assert result.table.column("balance_lcy").to_pylist() == [Decimal(f"{n}.00") for n in range(1, 6)]
    assert result.details["result_pages"] == 3


def test_a_reused_result_is_refused():
    hooks = Hooks(statistics={"ResultReuseInformation": {"ReusedPreviousResult": True}})
    engine = make_engine(hooks, unload="never")
    queue_result(BALANCE_COLUMNS, [])

    with pytest.raises(EngineError, match="reused an earlier result although result reuse was disabled"):
        engine.run(q(BALANCES_SQL), PARAMS)


def test_an_unknown_workgroup_is_an_engine_error_naming_the_call():
    engine = make_engine(Hooks(), unload="never", workgroup="nope")

    with pytest.raises(EngineError, match=r"Athena StartQueryExecution failed: InvalidRequestException: "
                                          r"WorkGroup does not exist"):
        engine.run(q(BALANCES_SQL), PARAMS)


def test_a_first_row_that_is_not_the_header_is_refused():
    engine = make_engine(Hooks(), unload="never")
    queue_result(BALANCE_COLUMNS, [("13003", "1.00")], header=False)

    with pytest.raises(EngineError, match=r"first result row is not the header \['gl_account_no', 'balance_lcy'\]"):
        engine.run(q(BALANCES_SQL), PARAMS)


def test_a_value_that_is_not_its_type_names_row_and_column():
    engine = make_engine(Hooks(), unload="never")
    queue_result(BALANCE_COLUMNS, [("13003", "1.00"), ("13004", "12,5")])

    with pytest.raises(EngineError, match=r"row 2, column 'balance_lcy': '12,5' is not a decimal128\(18, 2\)"):
        engine.run(q(BALANCES_SQL), PARAMS)


def test_settings_need_an_output_location_and_name_unknown_keys():
    with pytest.raises(UsageError, match="needs a query result location"):
        make_engine(Hooks(), output="")
    with pytest.raises(UsageError, match="unknown Athena setting 'work_group'; did you mean 'workgroup'"):
        make_engine(Hooks(), work_group="x")
    with pytest.raises(UsageError, match="'https://x/y' is not an s3://bucket/prefix URL"):
        make_engine(Hooks(), output="https://x/y")


def test_configuration_overrides_the_binding_and_options_override_both():
    from soxauto.config import load_config

    cfg = load_config({"SOXAUTO_ATHENA_WORKGROUP": "from-env", "SOXAUTO_ATHENA_OUTPUT": "s3://acme-athena-results/env",
                       "SOXAUTO_BINDING": "b.yaml", "SOXAUTO_HOME": "/tmp/h"})
    from athenakit import glue_binding

    from soxauto.engines.athena import AthenaEngine

    engine = AthenaEngine(glue_binding(workgroup="from-binding"), config=cfg)
    assert (engine.settings.workgroup, engine.settings.output) == ("from-env", "s3://acme-athena-results/env/")
    engine = AthenaEngine(glue_binding(workgroup="from-binding"), config=cfg, workgroup="from-option")
    assert engine.settings.workgroup == "from-option"
    assert engine.settings.staging_prefix == "s3://acme-athena-results/env/soxauto-staging/"


def test_submission_time_is_the_started_at():
    hooks = Hooks(status={"SubmissionDateTime": datetime(2025, 10, 3, 6, 0, 5, tzinfo=timezone.utc)})
    engine = make_engine(hooks, unload="never")
    queue_result(BALANCE_COLUMNS, [])

    result = engine.run(q(BALANCES_SQL), PARAMS)

    assert result.started_at == datetime(2025, 10, 3, 6, 0, 5, tzinfo=timezone.utc)
    assert result.details["submitted_at"] == "2025-10-03T06:00:05+00:00"


def test_an_expired_okta_profile_is_refused_before_any_call(tmp_path, monkeypatch):
    """The engine builds its session through soxauto.aws: a profile whose Okta credentials
    expired names the refresh command instead of failing on Athena's first call."""
    from athenakit import glue_binding

    from soxauto.engines.athena import AthenaEngine
    from soxauto.errors import UsageError

    creds = tmp_path / "credentials"
    creds.write_text("[finance]\naws_access_key_id = ASIAEXAMPLE\naws_secret_access_key = x\n"
                     "aws_session_token = y\nx_security_token_expires = 2020-01-01T00:00:00+00:00\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    with pytest.raises(UsageError, match=r"'finance' .* expired at 2020-01-01T00:00:00\+00:00.*soxauto auth okta"):
        AthenaEngine(glue_binding(), config=None, profile="finance", region="eu-west-1")
