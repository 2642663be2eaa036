"""The pre-flight of the commands that read the lake (issue #23, and #18's float file): data
that breaks the source contract stops ``close``, ``extract``, ``validate`` and ``recon`` with
exit 3 before a run record, lock, evidence package, extract or history is written, naming the
table, column, file, how many values and an example. Before it, each of these lakes closed with
exit 0 and every line RECONCILED: the NULL row dropped out of its entity, the duplicate company
went unseen, the fourth decimal was rounded away, the float file was read as floats."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from closekit import make_lake

from soxauto.cli import run

ENTITY = "EC_NG"
PERIOD = "2025-09"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    return make_lake(tmp_path_factory.mktemp("lake") / "lake")


@pytest.fixture
def lake(generated, tmp_path) -> Path:
    return Path(shutil.copytree(generated, tmp_path / "lake"))


def rewrite(lake: Path, table: str, change) -> Path:
    """Rewrite the entity's file of ``table`` as ``change(rows, schema)`` returns it."""
    path = lake / Path(*table.split(".")) / f"{ENTITY}.parquet"
    before = pq.read_table(path)
    rows, schema = change(before.to_pylist(), before.schema)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def retyped(schema: pa.Schema, column: str, type_: pa.DataType) -> pa.Schema:
    return schema.set(schema.get_field_index(column), pa.field(column, type_))


def null_company_in_a_target_value_row(lake: Path) -> tuple[str, ...]:
    # An open package (not reconciled): a row of IPE_12's target value.
    def change(rows, schema):
        i = next(k for k, r in enumerate(rows) if r["reconciled_at"] is None and r["delivered_at"] is not None)
        found.append(rows[i]["package_id"])
        rows[i] = {**rows[i], "company_id": None}
        return rows, pa.schema([f.with_nullable(True) for f in schema])

    found: list[str] = []
    path = rewrite(lake, "oms.packages", change)
    return (f"oms.packages.company_id in {path.resolve()}: column 'company_id' is NOT NULL in the contract but has "
            f"1 NULL value(s), for example in the row with package_id '{found[0]}'",)


def duplicate_company(lake: Path) -> tuple[str, ...]:
    path = rewrite(lake, "ref.companies", lambda rows, schema: (rows + rows, schema))
    return (f"ref.companies.company_id in {path.resolve()}: 2 row(s) share their key (company_id) with another row "
            f"of the table, which must have one row per key; for example company_id '{ENTITY}'",)


def money_with_four_decimals(lake: Path) -> tuple[str, ...]:
    def change(rows, schema):
        rows[0] = {**rows[0], "amount": rows[0]["amount"] + Decimal("0.0049")}
        shown.append(f"{rows[0]['amount']:.4f}")
        return rows, retyped(schema, "amount", pa.decimal128(18, 4))

    shown: list[str] = []
    path = rewrite(lake, "seller_center.transactions", change)
    where = f"seller_center.transactions.amount in {path.resolve()}"
    return (f"{where}: column 'amount' is decimal128(18, 4), but the contract wants money",
            f"{where}: column 'amount': 1 value(s) have more than 2 decimal places (money: DECIMAL(18, 2) "
            f"(decimal128(18, 2))); they would be rounded away, for example '{shown[0]}'")


def float_money_in_a_later_file(lake: Path) -> tuple[str, ...]:
    folder = lake / "oms" / "sales_order_items"
    assert sorted(folder.iterdir())[0].name != f"{ENTITY}.parquet"  # not the table's first file

    def change(rows, schema):
        rows = [{**r, "paid_price": float(r["paid_price"])} for r in rows]
        rows[0]["paid_price"] = 0.1 + 0.2  # 0.30000000000000004: what a float sum gives
        return rows, retyped(schema, "paid_price", pa.float64())

    path = rewrite(lake, "oms.sales_order_items", change)
    where = f"oms.sales_order_items.paid_price in {path.resolve()}"
    return (f"{where}: column 'paid_price' is double, but the contract wants money",
            f"{where}: column 'paid_price': 1 value(s) have more than 2 decimal places (money: DECIMAL(18, 2) "
            "(decimal128(18, 2))); they would be rounded away, for example '0.30000000000000004'")


CASES = {
    "null_company": (null_company_in_a_target_value_row, "IPE_12"),
    "duplicate_company": (duplicate_company, "CR_04"),
    "four_decimals": (money_with_four_decimals, "IPE_11"),
    "float_later_file": (float_money_in_a_later_file, "IPE_10"),
}


def argv(command: str, lake: Path, item: str, out: Path) -> list[str]:
    source = ["--lake", str(lake), "--period", PERIOD]
    if command == "close":
        return ["close", *source, "--entities", ENTITY, "--json"]
    if command == "recon":
        return ["recon", *source, "--entity", ENTITY, "--json"]
    if command == "extract-all":
        return ["extract-all", *source, "--entity", ENTITY, "--out", str(out), "--json"]
    extra = ["--out", str(out)] if command == "extract" else []
    return [command, item, *source, "--entity", ENTITY, *extra, "--json"]


def nothing_written(home: Path, out: Path) -> None:
    assert not (home / "runs.sqlite").exists()  # no run record: the run store was never opened
    assert not (home / "evidence").exists()
    assert not (home / "reports").exists()
    assert not (home / "history.jsonl").exists()
    assert not out.exists()


@pytest.mark.parametrize("command", ["close", "extract", "validate", "recon", "extract-all"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_stops_the_command_before_it_writes_anything(case, command, lake, tmp_path, capsys, isolated_home):
    breach, item = CASES[case]
    expected = breach(lake)
    out = tmp_path / "out"

    code = run(argv(command, lake, item, out))

    captured = capsys.readouterr()
    assert code == 3, captured.err
    assert captured.out == ""
    assert f"error: pre-flight of {command}: lake:{lake.resolve()} breaks the source contract" in captured.err
    assert "nothing was run or written" in captured.err
    for text in expected:
        assert text in captured.err
    nothing_written(isolated_home, out)


def test_a_close_started_without_the_cli_runs_the_pre_flight_too(lake, isolated_home):
    # The service's runner calls the close function itself.
    from soxauto.close import CloseRequest, Observer, close
    from soxauto.config import load_config
    from soxauto.errors import LakeContractError

    expected = null_company_in_a_target_value_row(lake)
    notes: list[str] = []

    class Notes(Observer):
        def note(self, text):
            notes.append(text)

    with pytest.raises(LakeContractError) as e:
        close(load_config().override(lake=lake), CloseRequest(PERIOD, (ENTITY,)), Notes())

    assert e.value.exit_code == 3 and expected[0] in str(e.value)
    assert notes == []
    nothing_written(isolated_home, isolated_home / "out")


def test_a_resumed_close_runs_the_pre_flight_again(lake, isolated_home, capsys):
    # The run fails on a missing table (a step's error, resumable); meanwhile a NULL company
    # lands in the lake: the resume is refused and the run is left as it was.
    moved = lake.parent / "voucher_usage"
    shutil.move(lake / "jdash" / "voucher_usage", moved)
    assert run(["close", "--lake", str(lake), "--period", PERIOD, "--entities", "HF_SN", "--json"]) == 3
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "failed"
    shutil.move(moved, lake / "jdash" / "voucher_usage")
    expected = null_company_in_a_target_value_row(lake)
    ledger = (isolated_home / "evidence" / "ledger.jsonl").read_text()

    code = run(["close", "--resume", summary["run_id"], "--json"])

    err = capsys.readouterr().err
    assert code == 3 and expected[0] in err
    from soxauto.close.store import RunStore

    runs = RunStore(f"sqlite:///{isolated_home / 'runs.sqlite'}")
    try:
        after = runs.run(summary["run_id"])
        assert (after["status"], after["attempts"]) == ("failed", 1)
    finally:
        runs.close()
    assert (isolated_home / "evidence" / "ledger.jsonl").read_text() == ledger


def test_a_clean_generated_lake_passes_the_pre_flight(lake, tmp_path, capsys, isolated_home):
    out = tmp_path / "out"
    assert run(argv("extract", lake, "IPE_12", out)) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["item"] == "IPE_12" and "pre-flight" not in captured.err

    code = run(["close", "--lake", str(lake), "--period", PERIOD, "--entities", "HF_SN", "--json"])

    captured = capsys.readouterr()
    assert code in (0, 1, 2), captured.err
    assert json.loads(captured.out)["status"] == "completed"
    assert "pre-flight: 15 tables, 135 files, " in captured.err and " rows satisfy the source contract (" in captured.err
