"""The history store reads only what was appended since its last read, and still sees a file
that was replaced or a line that was half written when it last looked."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from soxauto.errors import UsageError
from soxauto.period import Period
from soxauto.validation.history import HistoryStore


def test_appended_records_are_seen_and_a_later_record_of_a_period_wins(tmp_path):
    store = HistoryStore(tmp_path / "h.jsonl")
    store.record("CR_03", "EC_NG", Period(2025, 6), {"row_count": Decimal(10)})
    assert store.earlier("CR_03", "EC_NG", Period(2025, 9), 12) == [(Period(2025, 6), {"row_count": Decimal(10)})]
    store.record("CR_03", "EC_NG", Period(2025, 7), {"row_count": Decimal(11)})
    store.record("CR_03", "EC_NG", Period(2025, 6), {"row_count": Decimal(12)})  # period 6 run again
    store.record("CR_03", "EC_KE", Period(2025, 7), {"row_count": Decimal(99)})  # another entity
    assert store.earlier("CR_03", "EC_NG", Period(2025, 9), 12) == [
        (Period(2025, 6), {"row_count": Decimal(12)}), (Period(2025, 7), {"row_count": Decimal(11)})]
    assert store.earlier("CR_03", "EC_NG", Period(2025, 9), 1) == [(Period(2025, 7), {"row_count": Decimal(11)})]


def test_a_half_written_line_is_read_once_complete_and_a_replaced_file_is_read_again(tmp_path):
    path = tmp_path / "h.jsonl"
    store = HistoryStore(path)
    store.record("IPE_08", "EC_NG", Period(2025, 7), {"row_count": Decimal(5)})
    line = '{"entity": "EC_NG", "item": "IPE_08", "metrics": {"row_count": "6"}, "period": "2025-08"}'
    with path.open("a") as f:
        f.write(line[:20])  # another process is writing
    assert [p for p, _ in store.earlier("IPE_08", "EC_NG", Period(2025, 9), 12)] == [Period(2025, 7)]
    with path.open("a") as f:
        f.write(line[20:] + "\n")
    assert [p for p, _ in store.earlier("IPE_08", "EC_NG", Period(2025, 9), 12)] == [Period(2025, 7), Period(2025, 8)]
    replacement = tmp_path / "new.jsonl"
    replacement.write_text(line + "\n")
    replacement.replace(path)  # a new file under the same name: only its records count
    assert store.earlier("IPE_08", "EC_NG", Period(2025, 9), 12) == [(Period(2025, 8), {"row_count": Decimal(6)})]


def test_a_line_that_is_not_a_record_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "h.jsonl"
    store = HistoryStore(path)
    store.record("IPE_08", "EC_NG", Period(2025, 7), {"row_count": Decimal(5)})
    assert len(store.earlier("IPE_08", "EC_NG", Period(2025, 9), 12)) == 1
    with path.open("a") as f:
        f.write('{"item": "IPE_08", "entity": "EC_NG"}\n')  # valid JSON, not a record
    with pytest.raises(UsageError, match=rf"^{re.escape(str(path))}:2: not a history record \(KeyError: 'metrics'\); fix or delete that line$"):
        store.earlier("IPE_08", "EC_NG", Period(2025, 9), 12)
    with pytest.raises(UsageError, match=":2: not a history record"):  # every later read, not only the first
        HistoryStore(path).earlier("CR_03", "EC_KE", Period(2025, 9), 12)


def test_a_line_torn_by_a_crash_does_not_swallow_the_next_record(tmp_path):
    path = tmp_path / "h.jsonl"
    store = HistoryStore(path)
    store.record("IPE_08", "EC_NG", Period(2025, 7), {"row_count": Decimal(5)})
    with path.open("a") as f:
        f.write('{"entity": "EC_NG", "item": "IPE_0')  # the process died here
    store.record("IPE_08", "EC_NG", Period(2025, 8), {"row_count": Decimal(6)})
    lines = path.read_text().splitlines()
    assert lines[1] == '{"entity": "EC_NG", "item": "IPE_0' and json.loads(lines[2])["period"] == "2025-08"
    with pytest.raises(UsageError, match=":2: not a history record"):
        store.earlier("IPE_08", "EC_NG", Period(2025, 9), 12)
    path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # the operator deletes the torn line
    assert [p for p, _ in store.earlier("IPE_08", "EC_NG", Period(2025, 9), 12)] == [Period(2025, 7), Period(2025, 8)]
