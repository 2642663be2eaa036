"""The data fingerprint: independent of row order and file format, sensitive to one cent,
and recomputable by an auditor with the script in docs/evidence.md (pyarrow + hashlib only)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from soxauto.evidence.fingerprint import csv_fingerprint, fingerprint

DOCS = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"
SCHEMA = pa.schema([("doc", pa.string()), ("amount", pa.decimal128(18, 2)), ("rate", pa.decimal128(18, 6)),
                    ("posted", pa.date32()), ("at", pa.timestamp("us")), ("open", pa.bool_()), ("n", pa.int64())])
ROWS = [
    {"doc": "A-1", "amount": Decimal("-1500.00"), "rate": Decimal("1.000000"), "posted": date(2025, 9, 30),
     "at": datetime(2025, 10, 1, 2, 0), "open": True, "n": 1},
    {"doc": "", "amount": Decimal("0.20"), "rate": Decimal("0.000001"), "posted": None,
     "at": datetime(2025, 10, 1, 2, 0, 0, 5), "open": False, "n": -2},
    {"doc": None, "amount": None, "rate": None, "posted": date(1, 1, 1), "at": None, "open": None, "n": None},
    {"doc": 'naïve "quoted", comma\nnewline', "amount": Decimal("12.50"), "rate": Decimal("1500.250000"),
     "posted": date(2025, 1, 1), "at": datetime(1999, 12, 31), "open": True, "n": 2**62},
]


def table(rows=ROWS) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def field(text: str) -> bytes:
    raw = text.encode()
    return str(len(raw)).encode() + b":" + raw


def test_a_two_row_fingerprint_worked_out_by_hand():
    t = pa.Table.from_pylist([{"k": "b", "v": Decimal("1.50")}, {"k": None, "v": Decimal("-0.05")}],
                             schema=pa.schema([("k", pa.string()), ("v", pa.decimal128(18, 2))]))
    header = b"soxauto-fingerprint/1\n" + b"1:k" + b"4:text" + b"1:v" + b"9:decimal:2"
    rows = sorted([hashlib.sha256(b"1:b4:1.50").digest(), hashlib.sha256(b"N5:-0.05").digest()])

    assert fingerprint(t) == hashlib.sha256(header + b"".join(rows)).hexdigest()


def test_row_order_and_batching_do_not_change_it():
    shuffled = table([ROWS[2], ROWS[0], ROWS[3], ROWS[1]])
    batched = pa.concat_tables([table(ROWS[:1]), table(ROWS[1:3]), table(ROWS[3:])])

    assert fingerprint(shuffled) == fingerprint(table()) == fingerprint(batched)


def test_parquet_and_csv_of_the_same_rows_agree(tmp_path):
    pq.write_table(table(), tmp_path / "data.parquet")
    pcsv.write_csv(table([ROWS[3], ROWS[1], ROWS[0], ROWS[2]]), tmp_path / "data.csv")

    assert fingerprint(pq.read_table(tmp_path / "data.parquet")) == csv_fingerprint(tmp_path / "data.csv", SCHEMA) \
        == fingerprint(table())


def test_one_cent_a_null_or_a_duplicate_row_changes_it():
    base = fingerprint(table())
    cent = [dict(ROWS[0], amount=Decimal("-1500.01"))] + ROWS[1:]
    empty_vs_null = [ROWS[0], dict(ROWS[1], doc=None)] + ROWS[2:]
    duplicate = ROWS + [ROWS[0]]

    assert len({base, fingerprint(table(cent)), fingerprint(table(empty_vs_null)), fingerprint(table(duplicate))}) == 4


def test_a_renamed_column_or_another_scale_changes_it():
    renamed = table().rename_columns(["document"] + SCHEMA.names[1:])
    rescaled = table().cast(SCHEMA.set(1, pa.field("amount", pa.decimal128(18, 3))))

    assert len({fingerprint(table()), fingerprint(renamed), fingerprint(rescaled)}) == 3


def auditor_script(tmp_path: Path) -> Path:
    text = DOCS.read_text("utf-8")
    block = re.search(r"<!-- fingerprint-script:start -->\n```python\n(.*?)```\n<!-- fingerprint-script:end -->", text, re.S)
    assert block, "docs/evidence.md lost its fingerprint script"
    script = tmp_path / "fingerprint.py"
    script.write_text(block.group(1))
    assert "import soxauto" not in block.group(1) and "from soxauto" not in block.group(1)
    return script


def test_the_documented_script_recomputes_it_without_soxauto(tmp_path):
    script = auditor_script(tmp_path)
    pq.write_table(table(), tmp_path / "data.parquet")
    pcsv.write_csv(table(), tmp_path / "data.csv")
    (tmp_path / "manifest.json").write_text(
        '{"columns":[{"name":"doc","type":"id"},{"name":"amount","type":"money"},{"name":"rate","type":"rate"},'
        '{"name":"posted","type":"date"},{"name":"at","type":"ts"},{"name":"open","type":"bool"},{"name":"n","type":"int"}]}')

    # -I: isolated mode, so neither the working folder nor the test path can lend it soxauto.
    from_parquet = subprocess.run([sys.executable, "-I", str(script), str(tmp_path / "data.parquet")],
                                  capture_output=True, text=True, check=True).stdout.strip()
    from_csv = subprocess.run([sys.executable, "-I", str(script), str(tmp_path / "data.csv"), str(tmp_path / "manifest.json")],
                              capture_output=True, text=True, check=True).stdout.strip()

    assert from_parquet == from_csv == fingerprint(table())


money = st.decimals(min_value=Decimal("-999999999.99"), max_value=Decimal("999999999.99"), places=2, allow_nan=False)
row = st.fixed_dictionaries({"doc": st.none() | st.text(max_size=8), "amount": st.none() | money})


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(row, max_size=12), st.randoms(use_true_random=False))
def test_any_permutation_gives_the_same_fingerprint(rows, rnd):
    schema = pa.schema([("doc", pa.string()), ("amount", pa.decimal128(18, 2))])
    shuffled = list(rows)
    rnd.shuffle(shuffled)

    assert fingerprint(pa.Table.from_pylist(shuffled, schema=schema)) == fingerprint(pa.Table.from_pylist(rows, schema=schema))
