"""The golden statement corpus: ``soxauto sql render`` run for duckdb, trino (Athena) and tsql
(SQL Server) on the small generated lake of tests/engines/test_generated.py, compared file by
file with ``tests/engines/golden/corpus/<dialect>/``. Every change of a statement the product
sends (a rewrite, a new test, a reconciliation query, a bound value) is a reviewable diff there.
A missing or stale file fails; ``pytest --update-golden`` writes the command's output there
(and removes stale files) after review.

Each golden rendering is also checked against its dialect's capability table
(``engines.lint``). That the renderings mean what DuckDB's statements mean (the round trip) is
checked by tests/engines/test_generated.py on the same statements."""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path

import pytest
from lakekit import generated
from test_generated import ENTITY, LAKE, PERIOD

from soxauto.cli import run
from soxauto.engines.corpus import decode
from soxauto.engines.lint import problems

GOLDEN = Path(__file__).resolve().parent / "golden" / "corpus"
DIALECTS = ("duckdb", "trino", "tsql")


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    return generated(tmp_path_factory.mktemp("lake"), **LAKE)


@pytest.fixture(scope="module")
def rendered(lake, tmp_path_factory):
    """The command's output for a dialect, and what it printed (run once per dialect and worker)."""
    made: dict[str, tuple[Path, dict]] = {}

    def of(dialect: str) -> tuple[Path, dict]:
        if dialect not in made:
            folder = tmp_path_factory.mktemp(f"corpus-{dialect}")
            code, text = _run(["sql", "render", "--dialect", dialect, "--lake", str(lake), "--period", str(PERIOD),
                               "--entity", ENTITY, "--out", str(folder), "--json"])
            assert code == 0, text
            made[dialect] = folder, json.loads(text)
        return made[dialect]

    return of


def _run(argv: list[str]) -> tuple[int, str]:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = run(argv)
    return code, buf.getvalue()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_command_writes_the_golden_corpus(rendered, dialect, update_golden):
    folder, printed = rendered(dialect)
    made = {p.name: p.read_text("utf-8") for p in sorted(folder.iterdir())}
    assert printed["problems"] == [] and sorted(printed["files"]) == sorted(made)
    assert printed["statements"] == len(made) // 2 and printed["statements"] > 60
    golden = GOLDEN / dialect
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        golden.mkdir(parents=True)
        for name, text in made.items():
            (golden / name).write_text(text, "utf-8")
        return
    assert golden.is_dir(), f"{golden} is missing; review the command's output and run pytest --update-golden"
    kept = {p.name: p.read_text("utf-8") for p in sorted(golden.iterdir())}
    assert sorted(kept) == sorted(made), (f"golden files missing {sorted(set(made) - set(kept))[:5]}, stale "
                                          f"{sorted(set(kept) - set(made))[:5]}: run pytest --update-golden")
    diffs = ["".join(difflib.unified_diff(kept[n].splitlines(True), made[n].splitlines(True), f"golden/{n}", n))
             for n in made if kept[n] != made[n]]
    assert not diffs, f"{len(diffs)} files differ from tests/engines/golden/corpus/{dialect}:\n" + "\n".join(diffs[:3])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_golden_rendering_keeps_to_its_dialect_s_capability_table(dialect):
    files = sorted((GOLDEN / dialect).glob("*.sql"))
    assert len(files) > 60
    failing = {f.name: problems(dialect, f.read_text("utf-8")) for f in files}
    assert {k: v for k, v in failing.items() if v} == {}


def test_the_golden_files_hold_what_each_engine_is_sent():
    """Spot checks of the capability table's effect, as a reviewer of the corpus sees it."""
    tsql, trino, duck = (GOLDEN / d for d in ("tsql", "trino", "duckdb"))
    vouchers = (tsql / _one(tsql, "reconcile_vouchers", "LOGICAL_OR", "is_expired")).read_text("utf-8")
    assert "CAST(MAX(CASE WHEN is_expired <> 0 THEN 1" in " ".join(vouchers.split())  # BOOL_OR on SQL Server 2019
    assert not any("IS DISTINCT FROM" in f.read_text("utf-8").upper() for f in tsql.glob("*.sql"))
    assert any("BOOL_OR(" in f.read_text("utf-8") for f in duck.glob("*.sql"))
    # Athena: the IPE_08 extract's TV uses are literals in the text; its WHERE values stay parameters
    (ipe08,) = trino.glob("*_extract_ipe_08.sql")
    text, doc = ipe08.read_text("utf-8"), json.loads(ipe08.with_suffix(".params.json").read_text("utf-8"))
    assert "'store_credit'" in text and "?" in text
    assert [p["parameter"] for p in doc["literals"]][:2] == ["cutoff", "tv_business_uses[0]"]
    assert text.count("?") == len(doc["parameters"])
    # DuckDB binds by name: each parameter says which placeholder it goes to
    (duck08,) = duck.glob("*_extract_ipe_08.params.json")
    entries = json.loads(duck08.read_text("utf-8"))["parameters"]
    assert all(f"${e['placeholder']}" in duck08.with_name(duck08.name.replace(".params.json", ".sql")).read_text("utf-8")
               for e in entries)
    # values come back as what was bound: a date, an exact decimal
    values = [decode(e) for f in tsql.glob("*.params.json") for e in json.loads(f.read_text("utf-8"))["parameters"]]
    assert any(type(v).__name__ == "date" for v in values) and any(type(v).__name__ == "Decimal" for v in values)
    conditional = [json.loads(f.read_text("utf-8")).get("sent_only_when") for f in tsql.glob("*_overlap.params.json")]
    assert conditional and set(conditional) == {"two bridge rules claim one key row"}


def _one(folder: Path, what: str, *words: str) -> str:
    """The file of a statement labelled ``what`` holding ``words`` (in the duckdb rendering)."""
    for f in sorted(folder.parent.joinpath("duckdb").glob(f"*_{what}.sql")):
        text = f.read_text("utf-8")
        if all(w in text or w.replace("LOGICAL_OR", "BOOL_OR") in text for w in words):
            return f.name
    raise AssertionError(f"no {what} statement with {words}")


def test_usage_errors_name_what_to_fix(lake, tmp_path, capsys):
    assert run(["sql", "render", "--dialect", "athena", "--lake", str(lake), "--entity", ENTITY,
                "--out", str(tmp_path)]) == 3
    assert "unknown dialect 'athena'; choose duckdb, trino (Athena) or tsql (SQL Server)" in capsys.readouterr().err
    assert run(["sql", "render", "--dialect", "tsql", "--lake", str(lake), "--entity", "EC_NX",
                "--out", str(tmp_path)]) == 3
    assert "entity EC_NX is not in ref.companies with in_conso_scope; did you mean 'EC_NG'?" in capsys.readouterr().err
    assert run(["sql", "render", "--dialect", "tsql", "--lake", str(lake), "--period", "2024-01", "--entity", ENTITY,
                "--out", str(tmp_path)]) == 3
    assert "the lake has no GL balances at 2024-01-31" in capsys.readouterr().err
    binding = tmp_path / "athena.yaml"
    binding.write_text("engine: athena\nconnection: {output: 's3://b/p/'}\n", "utf-8")
    assert run(["sql", "render", "--dialect", "trino", "--binding", str(binding), "--entity", ENTITY,
                "--out", str(tmp_path)]) == 3
    assert "sql render runs the close on DuckDB to collect its statements" in capsys.readouterr().err
    assert list(tmp_path.glob("*.sql")) == []


def test_a_duckdb_binding_gives_the_same_corpus_as_its_lake(lake, rendered, tmp_path):
    """A binding of engine duckdb is read like the lake it points at (renamed columns included:
    the statements name logical columns), and the corpus is the same, file for file."""
    import pyarrow.parquet as pq

    renamed = tmp_path / "lake"
    shutil.copytree(lake, renamed)
    for path in (renamed / "ref" / "companies").glob("*.parquet"):
        table = pq.read_table(path)
        pq.write_table(table.rename_columns(["Company Id" if c == "company_id" else c for c in table.column_names]), path)
    binding = tmp_path / "binding.yaml"
    binding.write_text(f"engine: duckdb\nroot: {renamed}\ntables:\n  ref.companies:\n    columns: {{company_id: Company Id}}\n",
                       "utf-8")
    out = tmp_path / "out"
    code, text = _run(["sql", "render", "--dialect", "tsql", "--binding", str(binding), "--period", str(PERIOD),
                       "--entity", ENTITY, "--out", str(out), "--json"])
    assert code == 0, text
    expected = rendered("tsql")[0]
    assert {p.name: p.read_text("utf-8") for p in out.iterdir()} == {p.name: p.read_text("utf-8") for p in expected.iterdir()}
