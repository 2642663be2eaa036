"""``soxauto lake map``: a Glue database read page by page, a binding proposed by the documented
name rules, unmatched columns listed; the proposal loads as a binding."""

from __future__ import annotations

import boto3
import pytest
import yaml
from moto import mock_aws

from soxauto.cli import run
from soxauto.lake.binding import load_binding
from soxauto.lake.contract import contract
from soxauto.lake.glue import GlueTable, list_tables, normalise, propose, table_rule

REGION = "eu-west-1"
DB = "process_central_fin_dwh"


@pytest.fixture
def glue(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("glue", region_name=REGION)
        client.create_database(DatabaseInput={"Name": DB})
        yield client


def add_table(glue, name: str, columns: list[tuple[str, str]], partitions: list[tuple[str, str]] = ()) -> None:
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": name,
        "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in columns],
                              "Location": f"s3://acme-lake/{name}/"},
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in partitions],
    })


# NAV's balance view as Glue shows it: lower case, spaces, a trailing '_', money with the wrong scale
BALANCES = [("company_id", "string"), ("closing date", "date"), ("g_l account no_", "string"),
            ("currency", "string"), ("balance_lcy", "decimal(38,4)"), ("refreshed_at", "timestamp"),
            ("etl_batch", "bigint")]
VOUCHERS = [(c.name, {"id": "string", "money": "decimal(18,2)", "date": "date", "ts": "timestamp", "bool": "boolean",
                      "int": "bigint"}[c.type]) for c in contract().table("bob.store_credit_vouchers").columns
            if c.name != "snapshot_date"]


def test_normalise_and_the_table_rule():
    assert normalise("Entry No_") == "entry_no" and normalise("G/L Account  No.") == "g_l_account_no"
    spec = contract().table("nav.gl_entries")
    assert [table_rule(spec, n) for n in ("nav_gl_entries", "gl_entries", "dwh_gl_entries", "gl_entry")] == [3, 2, 1, 0]


def test_list_tables_reads_every_page_with_partition_keys_last(glue):
    for n in range(5):
        add_table(glue, f"t{n}", [("a", "string")], [("dt", "date")])
    tokens = []

    def page(parsed, **_):  # moto answers in one page: cut it in pages of 2 with a NextToken
        start = int(tokens[-1] or 0)
        rows = parsed["TableList"]
        parsed["TableList"] = rows[start:start + 2]
        if start + 2 < len(rows):
            parsed["NextToken"] = str(start + 2)

    glue.meta.events.register("before-parameter-build.glue.GetTables", lambda params, **_: tokens.append(params.get("NextToken")))
    glue.meta.events.register("after-call.glue.GetTables", page)

    tables = list_tables(glue, DB)

    assert tokens == [None, "2", "4"]
    assert [t.name for t in tables] == ["t0", "t1", "t2", "t3", "t4"]
    assert tables[0].columns == (("a", "string"), ("dt", "date"))


def test_a_missing_database_is_a_usage_error(glue):
    from soxauto.errors import UsageError

    with pytest.raises(UsageError, match="Glue database 'nope' does not exist"):
        list_tables(glue, "nope")


def test_propose_matches_tables_and_columns_and_lists_what_is_left():
    tables = [GlueTable("nav_gl_balances", tuple(BALANCES)), GlueTable("store_credit_vouchers", tuple(VOUCHERS)),
              GlueTable("audit_log", (("x", "string"),))]

    p = propose(DB, tables)

    vouchers, bal = p.matches  # sorted by logical name
    assert (bal.logical, bal.glue_table, bal.rule) == ("nav.gl_balances", "nav_gl_balances", 3)
    assert bal.renames == {"closing_date": "closing date", "gl_account_no": "g_l account no_"}
    assert bal.missing == [] and bal.extra == ["etl_batch"]
    assert bal.notes == ["balance_lcy (balance_lcy) is decimal(38,4); money needs decimal(p,2) so amounts stay exact"]
    assert (vouchers.logical, vouchers.rule, vouchers.missing) == ("bob.store_credit_vouchers", 2, ["snapshot_date"])
    assert p.unused == ["audit_log"]
    assert len(p.unmatched) == len(contract().tables) - 2 and "nav.gl_entries" in p.unmatched


def test_the_better_rule_wins_a_contested_glue_table():
    spec_cols = tuple((c.name, "string") for c in contract().table("oms.packages").columns)
    p = propose(DB, [GlueTable("packages", spec_cols), GlueTable("oms_packages", spec_cols)])

    assert [(m.logical, m.glue_table) for m in p.matches] == [("oms.packages", "oms_packages")]
    assert p.unused == ["packages"]


def test_lake_map_writes_a_binding_that_loads_and_prints_unmatched_columns(glue, tmp_path, capsys):
    add_table(glue, "nav_gl_balances", BALANCES)
    add_table(glue, "store_credit_vouchers", VOUCHERS)
    out = tmp_path / "binding.yaml"

    code = run(["lake", "map", "--database", DB, "--region", REGION, "--out", str(out)])

    printed = capsys.readouterr()
    assert code == 0, printed.err
    text = out.read_text("utf-8")
    assert "# bob.store_credit_vouchers: no column for snapshot_date: map them by hand" in text
    doc = yaml.safe_load(text)
    assert doc["engine"] == "athena" and doc["connection"] == {"region": REGION}
    assert doc["tables"]["nav.gl_balances"] == {
        "location": f"{DB}.nav_gl_balances",
        "columns": {"closing_date": "closing date", "gl_account_no": "g_l account no_"}}
    assert doc["tables"]["bob.store_credit_vouchers"] == {"location": f"{DB}.store_credit_vouchers"}
    binding = load_binding(out)
    assert binding.engine == "athena"
    assert binding.table("nav.gl_balances").physical_column("gl_account_no") == "g_l account no_"
    assert "etl_batch" in printed.out and "unmatched logical table: nav.gl_entries" in printed.out


def test_an_athena_binding_location_must_be_database_dot_table(tmp_path):
    from soxauto.errors import BindingError

    path = tmp_path / "b.yaml"
    path.write_text("engine: athena\ntables:\n  nav.gl_entries: {location: just_a_table}\n", "utf-8")

    with pytest.raises(BindingError, match="nav.gl_entries: location 'just_a_table' is not a Glue table 'database.table'"):
        load_binding(path)
