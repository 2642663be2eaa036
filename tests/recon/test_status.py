"""FX, thresholds, status and reason codes, and the CR_03/CR_04 tie-out finding."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from reconkit import D, EG, PACK, balance, gl, run_line

from soxauto.period import Period
from soxauto.recon.fx import FxRate
from soxauto.recon.status import Facts, Status, decide
from soxauto.validation import Outcome, TestResult, ValidationResult


def test_missing_fx_rate_is_an_error_never_a_rate_of_one(tmp_path):
    line = run_line(tmp_path, "PACKAGES", cr03=[gl("13005", "40.00", "P1")], cr04=[balance("13005", "40.00")], cr05=[])
    assert (line.status, line.reason) == (Status.ERROR, "FX_RATE_MISSING")
    assert (str(line.gl_amount), str(line.variance_lcy)) == ("40.00", "40.00")  # LCY still shown
    assert line.variance_usd is None and line.unexplained_usd is None
    d = line.to_dict()
    assert (d["variance_lcy"], d["variance_usd"], d["fx_rate"]) == ("40.00", None, None)
    assert d["findings"][0]["code"] == "FX_RATE_MISSING"
    assert line.bridge("NOT_IN_TV").items.column("material").to_pylist() == [None]


def test_fx_rate_of_another_company_does_not_count(tmp_path):
    other = [{"company_id": "JM_EG", "year": 2025, "month": 9, "rate_type": "Closing", "currency": "EGP",
              "rate_lcy_per_usd": D("48.900000")}]
    line = run_line(tmp_path, "PACKAGES", cr03=[], cr04=[balance("13005", "0.00")], cr05=other)
    assert (line.status, line.reason) == (Status.ERROR, "FX_RATE_MISSING")


def test_usd_is_lcy_divided_by_the_rate_rounded_half_even_at_presentation():
    fx = FxRate("EC_NG", D("1650.000000"))
    assert fx.usd(D("1650.00")) == D("1.00")
    assert fx.usd(D("8.25")) == D("0.00")  # 0.005 -> 0.00 (half-even)
    assert fx.usd(D("24.75")) == D("0.02")  # 0.015 -> 0.02 (half-even)
    assert fx.lcy(D("1000.00")) == D("1650000.00")


def test_threshold_precedence_eg_18412_over_default():
    book = PACK.thresholds
    eg_vouchers = book.for_line("EG", "VOUCHERS", ("18412",))
    assert (eg_vouchers.line_item.value, eg_vouchers.line_item.rule.source.contract) == (D("5000.00"), "EG")
    assert (eg_vouchers.bucket.value, eg_vouchers.bucket.rule.source.contract) == (D("1000.00"), "DEFAULT")
    assert (eg_vouchers.country.value, eg_vouchers.country.rule.source.contract) == (D("22000.00"), "EG")
    eg_packages = book.for_line("EG", "PACKAGES", ("13005",))
    assert (eg_packages.line_item.value, eg_packages.line_item.rule.source.contract) == (D("500.00"), "DEFAULT")
    ng_vouchers = book.for_line("NG", "VOUCHERS", ("18412",))
    assert (ng_vouchers.line_item.value, ng_vouchers.country.value) == (D("500.00"), D("10000.00"))


def test_threshold_contract_version_and_hash_are_recorded(tmp_path):
    line = run_line(tmp_path, "VOUCHERS", cr04=[balance("18412", "0.00")], entity=EG,
                    cr05=[{"company_id": "JM_EG", "year": 2025, "month": 9, "rate_type": "Closing", "currency": "EGP",
                           "rate_lcy_per_usd": D("48.900000")}])
    contracts = line.to_dict()["threshold"]["contracts"]
    eg = PACK.folder / "thresholds" / "EG.yaml"
    assert contracts["LINE_ITEM_USD"]["sha256"] == hashlib.sha256(eg.read_bytes()).hexdigest()
    assert (contracts["LINE_ITEM_USD"]["contract"], contracts["LINE_ITEM_USD"]["version"]) == ("EG", "1.0.0")
    assert contracts["LINE_ITEM_USD"]["where"] == "EG.yaml:6"
    assert line.to_dict()["threshold"]["line_item_usd"] == "5000.00"


FX = FxRate("EC_NG", D("2.000000"))


def facts(**kw) -> Facts:
    base = dict(fx=FX, failed_input_tests=(), overlapping_keys=0, gl_amount=D("10.00"), tv_amount=D("5.00"),
                unresolved_lcy=D("0.00"), material_unresolved=0, open_items=0, pending_items=0, findings=0,
                gl_entries_in_period=3, tv_rows=1, bucket_usd=D("1000.00"))
    return Facts(**{**base, **kw})


R, I, E = Status.RECONCILED, Status.INVESTIGATE, Status.ERROR


@pytest.mark.parametrize("kw, expected", [
    ({}, (R, (), "NO_OPEN_ITEMS")),
    ({"unresolved_lcy": D("1999.99"), "open_items": 1}, (R, (), None)),  # 999.995 USD < 1000; an open item: not auto-certified
    ({"unresolved_lcy": D("2000.00"), "open_items": 1}, (I, ("UNRESOLVED_ABOVE_BUCKET",), None)),  # exactly the bucket
    ({"unresolved_lcy": D("-2000.00"), "open_items": 1}, (I, ("UNRESOLVED_ABOVE_BUCKET",), None)),
    ({"material_unresolved": 1, "open_items": 1}, (I, ("MATERIAL_ITEM_UNRESOLVED",), None)),
    ({"material_unresolved": 2, "unresolved_lcy": D("-9000.00")}, (I, ("UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED"), None)),
    ({"gl_amount": D("0.00"), "tv_amount": D("0.00")}, (R, (), "ZERO_BALANCE")),
    ({"gl_amount": D("0.00"), "tv_amount": D("0.00"), "open_items": 2}, (R, (), None)),
    ({"pending_items": 1}, (R, (), None)),  # a pending item: RECONCILED, but a person prepares it
    ({"findings": 1}, (R, (), None)),
    ({"gl_entries_in_period": 0, "tv_rows": 0}, (R, (), "NO_ACTIVITY")),
    ({"gl_entries_in_period": 0}, (R, (), "NO_OPEN_ITEMS")),  # TV rows are activity
    ({"gl_entries_in_period": 0, "tv_rows": 0, "unresolved_lcy": D("5000.00")}, (I, ("UNRESOLVED_ABOVE_BUCKET",), None)),
    ({"failed_input_tests": ("IPE_12.not_null",)}, (E, ("INPUT_TEST_FAILED",), None)),
    ({"overlapping_keys": 1}, (E, ("BRIDGE_RULES_OVERLAP",), None)),
    ({"fx": FxRate("EC_NG", None, problem="FX_RATE_MISSING"), "failed_input_tests": ("CR_05.x",)}, (E, ("FX_RATE_MISSING",), None)),
])
def test_status_reasons_and_auto_certification(kw, expected):
    d = decide(facts(**kw))
    assert (d.status, d.reasons, d.auto_certification) == expected
    assert d.reason == (expected[1][0] if expected[1] else expected[2] or "")


def test_failed_error_severity_input_test_makes_the_line_error(tmp_path):
    failed = TestResult("IPE_12.not_null", "not_null", "error", Outcome.FAILED, failing_count=2, message="2 row(s) violate not_null")
    warned = TestResult("CR_03.history", "history", "warn", Outcome.FAILED, message="out of line")
    validations = {"IPE_12": ValidationResult("IPE_12", "EC_NG", Period(2025, 9), (failed,)),
                   "CR_03": ValidationResult("CR_03", "EC_NG", Period(2025, 9), (warned,))}
    line = run_line(tmp_path, "PACKAGES", cr04=[balance("13005", "0.00")], validations=validations)
    assert (line.status, line.reason) == (Status.ERROR, "INPUT_TEST_FAILED")
    assert [(f.code, f.severity) for f in line.findings] == [("INPUT_TEST_WARNING", "warn"), ("INPUT_TEST_FAILED", "error")]
    assert line.findings[1].detail == ({"test": "IPE_12.not_null", "item": "IPE_12", "outcome": "failed"},)


def test_cr03_not_tying_to_cr04_is_a_finding_left_in_unexplained(tmp_path):
    # CR_04 says 47.00 on 13005, the entries say 40.00: 7.00 that no bridge may hide
    line = run_line(tmp_path, "PACKAGES", cr03=[gl("13005", "40.00", "P1")], cr04=[balance("13005", "47.00")])
    assert (str(line.gl_amount), str(line.key_gl_amount), str(line.tie_out_difference)) == ("47.00", "40.00", "7.00")
    assert str(line.bridge("NOT_IN_TV").amount_lcy) == "40.00"
    assert str(line.unexplained_lcy) == "7.00"
    assert line.variance_lcy == line.bridged_lcy + line.unexplained_lcy
    (finding,) = line.findings
    assert (finding.code, finding.severity, finding.amount_lcy) == ("CR03_CR04_TIE_OUT", "error", D("7.00"))
    assert finding.detail == ({"gl_account_no": "13005", "balance": "47.00", "entries": "40.00"},)
    # 7.00 is unresolved (the tie-out difference) and 40.00 (NOT_IN_TV, an exception) is open
    assert (line.unresolved_lcy, line.resolved_lcy) == (D("47.00"), D("0.00"))
    assert (line.status, line.reasons, line.auto_certified) == (Status.RECONCILED, (), False)


def test_liability_tie_out_difference_is_presented_like_gl_amount(tmp_path):
    line = run_line(tmp_path, "PREPAYMENTS", cr03=[gl("18350", "-40.00", "S1")], cr04=[balance("18350", "-47.00")])
    assert (str(line.gl_amount), str(line.key_gl_amount), str(line.unexplained_lcy)) == ("47.00", "40.00", "7.00")


def test_zero_balance_line(tmp_path):
    line = run_line(tmp_path, "SC_ACCRUED", cr04=[balance("18304", "0.00")])
    assert (line.status, line.reason, line.auto_certified) == (Status.RECONCILED, "ZERO_BALANCE", True)
    assert line.keys == 0 and all(b.amount_lcy == Decimal(0) for b in line.bridges)


def test_missing_cr04_balance_is_a_warning(tmp_path):
    line = run_line(tmp_path, "COLLECTIONS", cr04=[balance("13011", "0.00")])
    assert [f.code for f in line.findings] == ["GL_BALANCE_MISSING"]
    assert "1 of the accounts 13011, 13012" in line.findings[0].message


def test_a_failed_cr06_test_puts_every_line_of_the_entity_in_error(tmp_path):
    """CR_06 is an entity-wide extract: the clearing of every line reads it."""
    failed = TestResult("CR_06.tie_out", "running_tie_out", "error", Outcome.FAILED, failing_count=1,
                        message="balance(2025-10-31) - balance(C) differs from the entries")
    validations = {"CR_06": ValidationResult("CR_06", "EC_NG", Period(2025, 9), (failed,))}
    for line in ("PACKAGES", "VOUCHERS", "CUSTOMER_AR"):
        got = run_line(tmp_path, line, validations=validations)
        assert (got.status, got.reasons, got.variance_usd) == (Status.ERROR, ("INPUT_TEST_FAILED",), None)
        (finding,) = [f for f in got.findings if f.code == "INPUT_TEST_FAILED"]
        assert finding.detail == ({"test": "CR_06.tie_out", "item": "CR_06", "outcome": "failed"},)
