"""Hand-built extracts for reconciliation tests: rows as dicts, the catalog's output contract
fills the rest (neutral values, NULL where nullable), and a DuckDB engine to reconcile them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.lake.binding import lake_binding
from soxauto.period import Period
from soxauto.recon import EntityRef, load_pack, reconcile

PERIOD = Period(2025, 9)
NG = EntityRef("EC_NG", "NG", "NGN")
EG = EntityRef("JM_EG", "EG", "EGP")
NEUTRAL = {"id": "x", "money": Decimal("0.00"), "rate": Decimal("1.000000"), "date": date(2025, 9, 1),
           "ts": datetime(2025, 9, 1), "bool": False, "int": 0}
CATALOG = load_catalog()
PACK = load_pack(catalog=CATALOG)


def D(text: str | int) -> Decimal:
    return Decimal(str(text))


def table(item_id: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    item = CATALOG.item(item_id)
    names = [c.name for c in item.output]
    full = []
    for n, row in enumerate(rows, 1):
        unknown = set(row) - set(names)
        if unknown:
            raise KeyError(f"{item_id} has no column(s) {sorted(unknown)}")
        if item_id in ("CR_03", "CR_06") and "entry_no" not in row:
            row = {**row, "entry_no": n}  # CR_03's key: the classification joins the entries on it
        full.append({c.name: row.get(c.name, None if c.nullable else NEUTRAL[c.type]) for c in item.output})
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in item.output])
    return pa.Table.from_pylist(full, schema=schema)


def gl(account: str, amount: str, key: str | None = None, *, posted: date = date(2025, 9, 10), **cols) -> dict:
    """A CR_03 entry: an integration posting with ``external_document_no = key`` by default."""
    manual = key is None
    row = {"company_id": "EC_NG", "posting_date": posted, "gl_account_no": account, "amount": D(amount),
           "external_document_no": key, "integration_type": "Manual" if manual else "Integration",
           "user_id": "JUMIA\\FIRST.LAST" if manual else "JUMIA\\NAV31AFR.BATCH.SRVC"}
    row.update(cols)
    return row


def balance(account: str, amount: str) -> dict:
    return {"company_id": "EC_NG", "closing_date": PERIOD.cutoff, "gl_account_no": account, "currency": "NGN",
            "balance_lcy": D(amount)}


def rate(value: str = "1650.000000", company: str = "EC_NG") -> list[dict]:
    return [{"company_id": company, "year": 2025, "month": 9, "rate_type": "Closing", "currency": "NGN",
             "rate_lcy_per_usd": D(value)}]


def engine(tmp: Path) -> DuckDBEngine:
    """An engine for registered extracts only (the lake folder is never read)."""
    return DuckDBEngine(lake_binding(tmp))


def run_line(tmp: Path, line: str, *, cr03=(), cr04=(), cr05=None, cr06=(), tv=(), entity: EntityRef = NG, pack=PACK,
             validations=None, horizon: date | None = None, history=None):
    """Reconcile one line of one entity from hand-built rows; returns its LineResult. H defaults
    to the cutoff (the ledger known to C only: nothing after it can clear an item)."""
    spec = pack.line(line)
    extracts = {"CR_03": table("CR_03", cr03), "CR_04": table("CR_04", cr04),
                "CR_05": table("CR_05", rate() if cr05 is None else cr05), "CR_06": table("CR_06", cr06),
                spec.tv.item: table(spec.tv.item, tv)}
    with engine(tmp) as eng:
        result = reconcile(eng, extracts, PERIOD, entity, pack=pack, lines=[line], validations=validations,
                           horizon=horizon or PERIOD.cutoff, history=history)
    (only,) = result.lines
    return only


def bridges(line) -> dict[str, tuple[str, int]]:
    """bridge id -> (amount LCY as text, items)."""
    return {b.id: (str(b.amount_lcy), b.item_count) for b in line.bridges}


def proof(line, bridge: str) -> list[tuple[str, str]]:
    items = line.bridge(bridge).items
    return [(k, str(a)) for k, a in zip(items.column("key").to_pylist(), items.column("amount_lcy").to_pylist())]


_LAKE: list[Path] = []


def small_lake(factory) -> Path:
    """One generated demo lake per test session (scale 0.01, seed 7, periods 2025-08 and 2025-09)."""
    if not _LAKE:
        from lakekit import generated

        out = factory.mktemp("recon-lake")
        generated(out, scale=0.01, seed=7, first_period=Period(2025, 8), periods=2)
        _LAKE.append(out)
    return _LAKE[0]
