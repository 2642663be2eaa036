"""Golden files: each extractable item's canonical query rendered in every target dialect.

A change in generated SQL (a new sqlglot, an edited item, a new rewrite of the capability
table) shows up as a reviewable diff of ``tests/golden/sql/<ITEM>.<dialect>.sql``. Each is the
query as that dialect's engine says it (``render.rewritten``: the capability rewrites of
``engines/capability.py``, e.g. SQL Server 2019's), keeping the named placeholders and applying
no binding or list expansion, so they do not depend on the machine or the lake. (What the
engines send for a whole close, with values and placeholders, is the statement corpus:
tests/engines/test_corpus.py.)
A missing file fails; ``pytest --update-golden`` rewrites them (and removes stale ones).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from soxauto.catalog import load_catalog
from soxauto.catalog.dialects import DIALECTS
from soxauto.catalog.loader import default_pack
from soxauto.engines.render import rewritten

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "sql"
# Parametrised from the pack's files, not from a loaded catalog, so a broken item fails its
# own tests instead of the collection of the whole suite.
QUERY_ITEMS = sorted(p.stem for p in (default_pack() / "catalog").glob("*.sql"))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def rendering(catalog, item_id: str, dialect: str) -> str:
    return rewritten(catalog.item(item_id).query, dialect).sql(dialect=dialect, pretty=True) + "\n"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("item_id", QUERY_ITEMS)
def test_rendering_matches_its_golden_file(catalog, item_id, dialect, update_golden):
    text = rendering(catalog, item_id, dialect)
    golden = GOLDEN / f"{item_id}.{dialect}.sql"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, "utf-8")
        return
    assert golden.is_file(), f"{golden} is missing; review the SQL and run pytest --update-golden"
    expected = golden.read_text("utf-8")
    diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(golden), "rendered"))
    assert text == expected, f"{item_id} renders differently in {dialect}:\n{diff}"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("item_id", QUERY_ITEMS)
def test_rendering_parses_back_in_its_own_dialect(catalog, item_id, dialect):
    text = rendering(catalog, item_id, dialect)
    parsed = sqlglot.parse(text, read=dialect, error_level=ErrorLevel.RAISE)
    assert len(parsed) == 1 and isinstance(parsed[0], exp.Query)
    original = catalog.item(item_id).query
    assert [s.alias_or_name for s in parsed[0].selects] == [s.alias_or_name for s in original.selects]
    assert sorted(p.name for p in parsed[0].find_all(exp.Placeholder)) == sorted(
        p.name for p in original.find_all(exp.Placeholder))


@pytest.mark.parametrize("item_id", QUERY_ITEMS)
def test_the_canonical_rendering_is_a_fixed_point(catalog, item_id):
    text = rendering(catalog, item_id, "trino")
    assert sqlglot.parse_one(text, read="trino").sql(dialect="trino", pretty=True) + "\n" == text


def test_every_extractable_item_has_a_golden_per_dialect_and_no_golden_is_stale(catalog, update_golden):
    expected = {f"{i.id}.{d}.sql" for i in catalog.extractable() for d in DIALECTS}
    assert {f"{i}.{d}.sql" for i in QUERY_ITEMS for d in DIALECTS} == expected
    stale = sorted(p for p in GOLDEN.glob("*.sql") if p.name not in expected)
    if update_golden:
        for path in stale:
            path.unlink()
        return
    assert stale == [], f"golden files of no catalog item: {[p.name for p in stale]}; run pytest --update-golden"
