"""The recon pack as data: loader errors with file:line, and overlapping bridge rules
rejected at load (fixture rows) and at run time (real key rows)."""

from __future__ import annotations

import dataclasses
import shutil
from types import MappingProxyType

import pytest
import sqlglot
from reconkit import PACK, balance, gl, run_line

from soxauto.catalog.loader import default_pack
from soxauto.errors import CatalogError
from soxauto.recon import Status, load_pack
from soxauto.recon.lines import BridgeRuleSpec, FamilySpec


def test_the_pack_declares_the_seven_lines_of_the_spec():
    assert [(s.id, s.gl_accounts, s.account_class, s.tv.item, s.tv.measure, s.family) for s in PACK.lines] == [
        ("CUSTOMER_AR", ("13003", "13004", "13009"), "asset", "IPE_07", "remaining_amount_lcy", "GENERIC"),
        ("COLLECTIONS", ("13011", "13012"), "asset", "IPE_31", "amount", "GENERIC"),
        ("VOUCHERS", ("18412",), "liability", "IPE_08", "remaining_amount", "VOUCHERS"),
        ("PREPAYMENTS", ("18350",), "liability", "IPE_10", "paid_price", "GENERIC"),
        ("MPL_REFUNDS", ("18317",), "liability", "IPE_34", "signed_amount", "GENERIC"),
        ("PACKAGES", ("13005",), "asset", "IPE_12", "amount_expected", "GENERIC"),
        ("SC_ACCRUED", ("18304",), "asset", "IPE_11", "amount", "GENERIC"),
    ]
    assert [r.id for r in PACK.families["VOUCHERS"].rules] == [
        "MANUAL_ADJUSTMENT", "TIMING_USAGE", "EXPIRED_NOT_WRITTEN_OFF", "VTC_NOT_BOOKED", "CANCELLED_NOT_BOOKED"]
    assert PACK.line("SC_ACCRUED").control_report == "CR_01"


@pytest.fixture
def pack_copy(tmp_path):
    dest = tmp_path / "pack"
    shutil.copytree(default_pack(), dest)
    return dest


def edit(path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def line_of(path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in line)


def test_overlapping_rules_are_rejected_when_the_pack_loads(pack_copy):
    # NOT_IN_TV widened to "no in_tv row": it now also claims TIMING's keys
    edit(pack_copy / "recon" / "bridges.yaml", "when: NOT is_manual AND tv_rows = 0", "when: NOT is_manual AND in_tv_rows = 0")
    with pytest.raises(CatalogError) as e:
        load_pack(pack_copy)
    fixtures = pack_copy / "recon" / "fixtures" / "key_rows.yaml"
    message = str(e.value)
    assert f"key_rows.yaml:{line_of(fixtures, 'item_key: PKG-1')}: GENERIC: key 'PKG-1' is claimed by TIMING and NOT_IN_TV" in message
    assert f"key_rows.yaml:{line_of(fixtures, 'item_key: CUST-7')}: GENERIC: key 'CUST-7' is claimed by TIMING and NOT_IN_TV" in message


def test_a_fixture_row_claimed_by_the_wrong_rule_is_rejected(pack_copy):
    edit(pack_copy / "recon" / "bridges.yaml", "AND inactive_reason = 'cancelled'", "AND inactive_reason = 'canceled'")
    with pytest.raises(CatalogError, match=r"key 'V-5' is claimed by no rule, expected CANCELLED_NOT_BOOKED"):
        load_pack(pack_copy)


def test_loader_errors_name_file_line_and_suggest(pack_copy):
    lines = pack_copy / "recon" / "lines.yaml"
    edit(lines, "gl_key: voucher_no", "gl_key: vocher_no")
    edit(lines, "bridges: VOUCHERS", "bridges: VOUCHER")
    with pytest.raises(CatalogError) as e:
        load_pack(pack_copy)
    message = str(e.value)
    assert f"lines.yaml:{line_of(lines, 'gl_key: vocher_no')}: unknown column 'vocher_no' in gl_key; did you mean 'voucher_no'?" in message
    assert f"lines.yaml:{line_of(lines, 'bridges: VOUCHER')}: unknown bridge family 'VOUCHER'; did you mean 'VOUCHERS'?" in message


def test_a_rule_reading_a_column_the_line_lacks_is_rejected(pack_copy):
    edit(pack_copy / "recon" / "bridges.yaml", "when: NOT is_manual AND tv_rows = 0", "when: NOT is_manual AND tv_row = 0")
    with pytest.raises(CatalogError, match=r"unknown column 'tv_row' in bridge NOT_IN_TV \(used by line CUSTOMER_AR\); did you mean 'tv_rows'\?"):
        load_pack(pack_copy)


def test_threshold_files_are_checked(pack_copy):
    eg, default = pack_copy / "recon" / "thresholds" / "EG.yaml", pack_copy / "recon" / "thresholds" / "DEFAULT.yaml"
    edit(eg, "measure: LINE_ITEM_USD", "measure: LINE_ITEM")
    edit(default, 'value: "1000.00"', "value: 1000.5")
    with pytest.raises(CatalogError) as e:
        load_pack(pack_copy)
    assert f"EG.yaml:{line_of(eg, 'measure: LINE_ITEM')}: unknown measure 'LINE_ITEM'; did you mean 'LINE_ITEM_USD'?" in str(e.value)
    assert f"DEFAULT.yaml:{line_of(default, 'value: 1000.5')}: write the value as a string or an integer" in str(e.value)
    # the float made DEFAULT lose its bucket: reported too, rather than failing at run time
    assert "DEFAULT.yaml: DEFAULT needs an unscoped rule for BUCKET_USD" in str(e.value)


def test_overlap_on_real_key_rows_makes_the_line_error_and_names_the_rows(tmp_path):
    extra = BridgeRuleSpec("ANY_POSTED", "0.1.0", "overlaps on purpose", "NOT is_manual AND gl_entries > 0",
                           sqlglot.parse_one("NOT is_manual AND gl_entries > 0", read="trino"), "bridges.yaml:99")
    generic = PACK.families["GENERIC"]
    family = FamilySpec("GENERIC", generic.rules + (extra,), "bridges.yaml:17")
    pack = dataclasses.replace(PACK, families=MappingProxyType({**PACK.families, "GENERIC": family}))
    cr03 = [gl("13005", "10.00", "P1"), gl("13005", "4.00", "P2"), gl("13005", "1.00")]
    ipe12 = [{"company_id": "EC_NG", "package_id": "P2", "amount_expected": 3, "in_tv": True}]
    line = run_line(tmp_path, "PACKAGES", cr03=cr03, cr04=[balance("13005", "15.00")], tv=ipe12, pack=pack)
    assert (line.status, line.reason) == (Status.ERROR, "BRIDGE_RULES_OVERLAP")
    (finding,) = line.findings
    assert [d["message"] for d in finding.detail] == [
        "line PACKAGES: key 'P1' (delta 10.00) is claimed by NOT_IN_TV and ANY_POSTED",
        "line PACKAGES: key 'P2' (delta 1.00) is claimed by AMOUNT_DIFFERENCE and ANY_POSTED",
    ]
    assert finding.detail[0]["where"] == "bridges.yaml:17"
