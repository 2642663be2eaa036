"""Canonical JSON: the bytes every hash and signature is taken over."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soxauto.evidence.canonical import canonical_bytes, utc_text
from soxauto.period import Period


def test_keys_sorted_no_spaces_utf8_decimals_as_strings():
    value = {"b": Decimal("1500.00"), "a": [Decimal("1E+3"), Decimal("-0.05")], "é": "naïve", "n": None, "t": True}

    assert canonical_bytes(value) == '{"a":["1000","-0.05"],"b":"1500.00","n":null,"t":true,"é":"naïve"}'.encode("utf-8")


def test_aware_timestamps_become_utc_with_z_and_data_timestamps_stay_zoneless():
    lagos = timezone(timedelta(hours=1))
    value = {"at": datetime(2025, 10, 1, 3, 0, tzinfo=lagos), "posted": date(2025, 9, 30),
             "source_ts": datetime(2025, 10, 1, 2, 0), "period": Period(2025, 9)}

    assert canonical_bytes(value) == (b'{"at":"2025-10-01T02:00:00.000000Z","period":"2025-09",'
                                      b'"posted":"2025-09-30","source_ts":"2025-10-01T02:00:00.000000"}')
    with pytest.raises(ValueError, match="has no zone"):
        utc_text(datetime(2025, 1, 1))


def test_floats_are_refused_with_their_place():
    with pytest.raises(TypeError, match=r"\$\.totals\.amount: float 1\.5"):
        canonical_bytes({"totals": {"amount": 1.5}})


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.decimals(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(json_value)
def test_canonical_bytes_round_trip(value):
    data = canonical_bytes(value)

    assert canonical_bytes(json.loads(data)) == data
