"""A tiny hand-built lake and helpers shared by the evidence tests (and the crash child)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path

from lakekit import D, companies, write_lake

REFRESHED = datetime(2025, 10, 1, 2, 0)
BALANCES = [
    {"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": "18412", "currency": "NGN",
     "balance_lcy": D("-1500.00"), "refreshed_at": REFRESHED},
    {"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": "13003", "currency": "NGN",
     "balance_lcy": D("250.10"), "refreshed_at": REFRESHED},
    {"company_id": "JM_EG", "closing_date": date(2025, 9, 30), "gl_account_no": "18412", "currency": "EGP",
     "balance_lcy": D("-77.00"), "refreshed_at": REFRESHED},
]
# Entries that sum to the balances, so CR_04's tie-out passes.
ENTRIES = [
    {"company_id": "EC_NG", "gl_account_no": "18412", "posting_date": date(2025, 9, 3), "amount": D("-1000.00"), "entry_no": 1},
    {"company_id": "EC_NG", "gl_account_no": "18412", "posting_date": date(2025, 9, 17), "amount": D("-500.00"), "entry_no": 2},
    {"company_id": "EC_NG", "gl_account_no": "13003", "posting_date": date(2025, 8, 30), "amount": D("250.10"), "entry_no": 3},
    {"company_id": "JM_EG", "gl_account_no": "18412", "posting_date": date(2025, 9, 1), "amount": D("-77.00"), "entry_no": 4},
]
ARTIFACTS = ["context.json", "data.csv", "data.parquet", "index.html", "log.jsonl", "parameters.json",
             "profile.json", "query.canonical.sql", "query.sql", "tests.json"]


COMPANIES = companies(("EC_NG", "NGN"), ("JM_EG", "EGP"))


def make_lake(root: Path, balances=BALANCES) -> Path:
    return write_lake(root, {"nav.gl_balances": balances, "nav.gl_entries": ENTRIES, "ref.companies": COMPANIES})


def extract_args(lake: Path, out: Path, item: str = "CR_04", entity: str = "EC_NG") -> list[str]:
    return ["extract", item, "--period", "2025-09", "--entity", entity, "--lake", str(lake), "--out", str(out), "--json"]


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_bytes())


def ledger_lines(store: Path) -> list[dict]:
    return [json.loads(line) for line in (store / "ledger.jsonl").read_text().splitlines()]
