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
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soxauto.evidence.fingerprint import Fingerprinter, csv_fingerprint, fingerprint, in_canonical_order

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


def le(value: int, width: int) -> bytes:
    return value.to_bytes(width, "little", signed=True)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def column(*parts: bytes) -> bytes:
    """A column digest: SHA-256 of its parts' digests."""
    return sha(b"".join(sha(p) for p in parts))


def test_a_two_row_fingerprint_worked_out_by_hand():
    # Given with the NULL row first: the definition sorts it last.
    t = pa.Table.from_pylist([{"k": None, "v": Decimal("-0.05")}, {"k": "b", "v": Decimal("1.50")}],
                             schema=pa.schema([("k", pa.string()), ("v", pa.decimal128(18, 2))]))
    header = b"soxauto-fingerprint/3\n" + b"1:2" + b"1:k" + b"4:text" + b"1:v" + b"9:decimal:2"
    k = column(b"\x01\x00", le(1, 4) + le(0, 4), b"b")  # validity; lengths ("b", NULL counts as empty); bytes
    v = column(b"\x01\x01", le(150, 16) + le(-5, 16))  # 1.50 and -0.05 as unscaled integers at scale 2

    assert fingerprint(t) == hashlib.sha256(header + k + v).hexdigest()


def test_every_type_in_one_row_worked_out_by_hand():
    t = table([{"doc": "é", "amount": Decimal("-1500.00"), "rate": Decimal("0.000001"), "posted": date(1970, 1, 2),
                "at": datetime(1970, 1, 1, 0, 0, 1, 2), "open": True, "n": -2}])
    header = (b"soxauto-fingerprint/3\n" + b"1:1" + b"3:doc4:text" + b"6:amount9:decimal:2" + b"4:rate9:decimal:6"
              + b"6:posted4:date" + b"2:at9:timestamp" + b"4:open7:boolean" + b"1:n7:integer")
    columns = [column(b"\x01", le(2, 4), "é".encode())] + [
        column(b"\x01", c) for c in (le(-150000, 16), le(1, 16), le(1, 4), le(1_000_002, 8), b"\x01", le(-2, 8))]

    assert fingerprint(t) == hashlib.sha256(header + b"".join(columns)).hexdigest()


def test_no_rows_hash_the_header_alone():
    tags = ["text", "decimal:2", "decimal:6", "date", "timestamp", "boolean", "integer"]
    empty = [column(b"", b"", b"")] + [column(b"", b"")] * 6
    assert fingerprint(table([])) == hashlib.sha256(
        b"soxauto-fingerprint/3\n" + b"1:0" + b"".join(field(f.name) + field(tag) for f, tag in zip(SCHEMA, tags))
        + b"".join(empty)).hexdigest()


def test_row_order_and_batching_do_not_change_it():
    shuffled = table([ROWS[2], ROWS[0], ROWS[3], ROWS[1]])
    batched = pa.concat_tables([table(ROWS[:1]), table(ROWS[1:3]), table(ROWS[3:])])

    assert fingerprint(shuffled) == fingerprint(table()) == fingerprint(batched)


def test_streamed_batches_give_the_table_fingerprint_and_catch_disorder_across_boundaries():
    ordered = table().take(pa.array([1, 0, 3, 2]))  # canonical: '' < 'A-1' < 'naïve…' < NULL
    assert in_canonical_order(ordered)
    streamed = Fingerprinter(SCHEMA)
    for start in (0, 1, 3):  # batches of 1, 2 and 1 rows
        streamed.update(ordered.slice(start, {0: 1, 1: 2, 3: 1}[start]).to_batches()[0])
    assert streamed.ordered and streamed.hexdigest() == fingerprint(table())
    # Each batch is in order on its own; the second starts before the first ends.
    broken = Fingerprinter(SCHEMA)
    broken.update(ordered.slice(2, 2))
    broken.update(ordered.slice(0, 2))
    assert not broken.ordered
    with pytest.raises(ValueError, match="canonical order"):
        broken.hexdigest()


def test_big_batches_hash_their_parts_in_parallel_to_the_same_value():
    n = 70_000  # above the size at which parts are hashed on the pool
    big = pa.table({"doc": pa.array([f"D{i:06d}" for i in range(n)]),
                    "amount": pa.array([Decimal(i) / 100 for i in range(n)], pa.decimal128(18, 2))})
    streamed = Fingerprinter(big.schema)
    for batch in big.to_batches(max_chunksize=30_000):
        streamed.update(batch)
    one = Fingerprinter(big.schema)
    one.update(big.slice(0, 1000))  # below the threshold: hashed on this thread
    one.update(big.slice(1000))
    assert streamed.hexdigest() == one.hexdigest() == fingerprint(big.take(pa.array(range(n - 1, -1, -1))))


def test_parquet_and_csv_of_the_same_rows_agree(tmp_path):
    pq.write_table(table(), tmp_path / "data.parquet")
    pcsv.write_csv(table([ROWS[3], ROWS[1], ROWS[0], ROWS[2]]), tmp_path / "data.csv")

    assert fingerprint(pq.read_table(tmp_path / "data.parquet")) == csv_fingerprint(tmp_path / "data.csv", SCHEMA) \
        == fingerprint(table())


def test_a_cent_a_null_a_duplicate_or_swapped_values_change_it():
    base = fingerprint(table())
    cent = [dict(ROWS[0], amount=Decimal("-1500.01"))] + ROWS[1:]
    empty_vs_null = [ROWS[0], dict(ROWS[1], doc=None)] + ROWS[2:]
    duplicate = ROWS + [ROWS[0]]
    # The same amounts in the column, but on other rows: the set of rows is different.
    swapped = [dict(ROWS[0], amount=ROWS[3]["amount"]), ROWS[1], ROWS[2], dict(ROWS[3], amount=ROWS[0]["amount"])]
    null_vs_zero = [ROWS[0], ROWS[1], dict(ROWS[2], n=0), ROWS[3]]

    values = [base] + [fingerprint(table(rows)) for rows in (cent, empty_vs_null, duplicate, swapped, null_vs_zero)]
    assert len(set(values)) == 6


def test_a_renamed_column_or_another_scale_changes_it():
    renamed = table().rename_columns(["document"] + SCHEMA.names[1:])
    rescaled = table().cast(SCHEMA.set(1, pa.field("amount", pa.decimal128(18, 3))))

    assert len({fingerprint(table()), fingerprint(renamed), fingerprint(rescaled)}) == 3


def test_the_in_order_shortcut_follows_the_definition():
    two = pa.schema([("k", pa.string()), ("n", pa.int64())])
    ordered = pa.Table.from_pylist([{"k": "a", "n": 2}, {"k": "a", "n": None}, {"k": "b", "n": 1},
                                    {"k": "b", "n": 1}, {"k": None, "n": 0}], schema=two)
    # Ties on k are decided by n (NULL last); the NULL k comes last; 'B' (0x42) sorts before 'a' (0x61).
    assert in_canonical_order(ordered)
    assert not in_canonical_order(ordered.take([1, 0, 2, 3, 4]))
    assert not in_canonical_order(ordered.take([4, 0, 1, 2, 3]))
    assert not in_canonical_order(pa.Table.from_pylist([{"k": "a", "n": 1}, {"k": "B", "n": 1}], schema=two))
    assert fingerprint(ordered) == fingerprint(ordered.take([4, 3, 2, 1, 0]))


def test_bytes_hidden_under_a_null_do_not_count():
    # Arrow lets a NULL slot own bytes or hold any number; the definition counts it as empty or zero.
    text = pa.Array.from_buffers(pa.string(), 2, [pa.py_buffer(bytes([0b01])), pa.py_buffer(le(0, 4) + le(1, 4) + le(4, 4)),
                                                 pa.py_buffer(b"xjunk")])
    amount = pa.Array.from_buffers(pa.decimal128(18, 2), 2, [pa.py_buffer(bytes([0b01])),
                                                            pa.py_buffer(le(100, 16) + le(12345, 16))])
    dirty = pa.table([text, amount], names=["doc", "amount"])
    clean = pa.table([pa.array(["x", None]), pa.array([Decimal("1.00"), None], pa.decimal128(18, 2))], names=["doc", "amount"])

    assert dirty.column("doc").to_pylist() == ["x", None]
    assert fingerprint(dirty) == fingerprint(clean)


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
    pq.write_table(table([]), tmp_path / "empty.parquet")
    empty = subprocess.run([sys.executable, "-I", str(script), str(tmp_path / "empty.parquet")],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert empty == fingerprint(table([]))


money = st.decimals(min_value=Decimal("-999999999.99"), max_value=Decimal("999999999.99"), places=2, allow_nan=False)
row = st.fixed_dictionaries({"doc": st.none() | st.text(max_size=8), "amount": st.none() | money,
                             "open": st.none() | st.booleans()})


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(row, max_size=12), st.randoms(use_true_random=False))
def test_any_permutation_gives_the_same_fingerprint(rows, rnd):
    schema = pa.schema([("doc", pa.string()), ("amount", pa.decimal128(18, 2)), ("open", pa.bool_())])
    shuffled = list(rows)
    rnd.shuffle(shuffled)

    assert fingerprint(pa.Table.from_pylist(shuffled, schema=schema)) == fingerprint(pa.Table.from_pylist(rows, schema=schema))
