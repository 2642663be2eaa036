"""CR_01 reconciliation SC–NAV: a control report derived from other items, with no query of its own."""

from __future__ import annotations

import pytest

from soxauto.catalog import load_catalog
from soxauto.errors import UsageError
from soxauto.extract import extract
from soxauto.period import Period


def test_cr_01_is_a_derived_control_report():
    item = load_catalog().item("CR_01")
    assert (item.kind, item.control, item.version) == ("CR", "C-PG-1", "1.0.0")
    assert item.derived_from == ("IPE_11", "CR_03", "CR_04", "CR_05")
    assert item.query is None and item.query_sha256 is None
    assert not item.extractable
    assert "18304" in item.description


def test_cr_01_cannot_be_extracted():
    item = load_catalog().item("CR_01")
    with pytest.raises(UsageError, match="CR_01 is a CR derived from IPE_11, CR_03, CR_04, CR_05"):
        extract(None, item, Period.parse("2025-09"), "EC_NG")
