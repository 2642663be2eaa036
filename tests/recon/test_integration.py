"""Classification, tagging and review lists inside the reconciliation run (issue 4, parts 4-5):
the VOUCHERS bridge reads the voucher classification, every entity of a run carries its
movement table, collections tagging and review lists, and ``soxauto recon`` shows them."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from decimal import Decimal

import pytest
from reconkit import CATALOG, NG, PACK, PERIOD, D, balance, bridges, engine, gl, run_line, small_lake, table
from rich.console import Console

from soxauto.catalog.loader import default_pack
from soxauto.cli import run
from soxauto.cli.recon import render_analyses
from soxauto.errors import CatalogError
from soxauto.engines import connect
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.recon import load_pack, reconcile
from soxauto.recon.result import movements_dict, review_dict, tagging_dict

LINE_KEYS = {"auto_certified", "bridges", "class", "country", "currency", "entity", "findings", "fx_rate", "gl_accounts",
             "gl_amount", "key_level", "line", "period", "reason", "status", "threshold", "title", "tv_amount", "tv_item",
             "unexplained_items", "unexplained_lcy", "unexplained_usd", "variance_lcy", "variance_usd",
             # format 2 (reconciling items): what explains each difference
             "reasons", "auto_certification", "unresolved_lcy", "unresolved_usd", "resolved_lcy", "resolved_usd",
             "tie_out_difference_lcy", "horizon", "clearing_window_days", "reconciling_items", "proposed_journals",
             "gl_entries_in_period", "tv_rows"}


def vgl(amount: str, vid: str | None, description: str, *, manual: bool = False, posted: date = date(2025, 9, 10)) -> dict:
    """A CR_03 posting on 18412 of voucher ``vid`` (EC_NG), by the integration unless ``manual``."""
    row = gl("18412", amount, vid, voucher_no=vid, description=description, posted=posted)
    if manual:
        row.update(integration_type="Manual", user_id="JUMIA\\FIRST.LAST")
    return row


def voucher(vid: str, discount: str, used: str) -> dict:
    """An active, unexpired refund voucher in the target values (IPE_08)."""
    return {"company_id": "EC_NG", "voucher_id": vid, "business_use": "refund", "is_active": True, "is_expired": False,
            "discount_amount": D(discount), "used_discount_amount": D(used), "remaining_amount": D(discount) - D(used),
            "in_tv": True}


# V1: issued 104.00 in NAV against 100.00 in BOB (4.00 too much); BOB has 50.00 used by the
# cutoff, and NAV has one integration debit of 50.00 described as a JPay cash-out.
CASHOUT_LEDGER = [
    vgl("-104.00", "V1", "RF_NGV1", posted=date(2025, 9, 2)),
    vgl("50.00", "V1", "JPAY CASHOUT NGV1", posted=date(2025, 9, 20)),
]
CASHOUT_RULE = """  - id: VTC_JPAY_CASHOUT
    category: VTC
    description: A JPay wallet cash-out pays the voucher out; it is not a usage.
    when:
      integration_type: Integration
      sign: debit
      description_contains: JPAY CASHOUT

  - id: USAGE
"""


def test_the_timing_usage_bridge_follows_the_classification_rules(tmp_path):
    # Pack rules: the cash-out is an integration debit, hence a Usage posting: nav_usage 50.00 is
    # not below BOB's 50.00, so TIMING_USAGE does not claim V1 and its delta (g 54.00 − t 50.00)
    # stays unexplained.
    cr04 = [balance("18412", "-54.00")]
    line = run_line(tmp_path / "a", "VOUCHERS", cr03=CASHOUT_LEDGER, cr04=cr04, tv=[voucher("V1", "100.00", "50.00")])
    assert (str(line.gl_amount), str(line.tv_amount), str(line.variance_lcy)) == ("54.00", "50.00", "4.00")
    assert bridges(line)["TIMING_USAGE"] == ("0.00", 0)
    assert str(line.unexplained_lcy) == "4.00"

    # One rule added before USAGE (version 1.1.0): the cash-out is VTC, the voucher has no NAV
    # usage by the cutoff (0.00 < 50.00), and TIMING_USAGE claims the same 4.00.
    pack_dir = tmp_path / "pack"
    shutil.copytree(default_pack(), pack_dir)
    rules = pack_dir / "recon" / "voucher_classification.yaml"
    text = rules.read_text("utf-8")
    assert "version: 1.0.0" in text and "  - id: USAGE\n" in text
    rules.write_text(text.replace("version: 1.0.0", "version: 1.1.0", 1).replace("  - id: USAGE\n", CASHOUT_RULE, 1), "utf-8")
    edited = load_pack(pack_dir)
    assert (edited.vouchers.version, edited.vouchers.sha256) == ("1.1.0", hashlib.sha256(rules.read_bytes()).hexdigest())
    line = run_line(tmp_path / "b", "VOUCHERS", cr03=CASHOUT_LEDGER, cr04=cr04, tv=[voucher("V1", "100.00", "50.00")],
                    pack=edited)
    assert bridges(line)["TIMING_USAGE"] == ("4.00", 1)
    assert str(line.unexplained_lcy) == "0.00"
    assert line.findings == ()


def test_an_integration_debit_that_is_no_usage_does_not_count_as_nav_usage(tmp_path):
    # V2 is partly cancelled by an accrual reversal the integration posts (a debit of 20.00): the
    # classification calls it Cancellation, so the voucher's NAV usage is 10.00 < BOB's 25.00 and
    # TIMING_USAGE claims its delta; "integration debits" alone would have counted 30.00.
    cr03 = [vgl("-80.00", "V2", "RF_NGV2", posted=date(2025, 9, 1)), vgl("10.00", "V2", "RF_NGV2 USAGE"),
            vgl("20.00", "V2", "Voucher Accrual reversal NGV2")]
    line = run_line(tmp_path, "VOUCHERS", cr03=cr03, cr04=[balance("18412", "-50.00")],
                    tv=[voucher("V2", "60.00", "25.00")])
    # g = 80 − 10 − 20 = 50.00; t = 60 − 25 = 35.00
    assert bridges(line)["TIMING_USAGE"] == ("15.00", 1)
    assert str(line.unexplained_lcy) == "0.00"


def test_unclassified_postings_of_a_classified_line_are_a_warning(tmp_path):
    # A manual debit on a voucher that no category rule describes (not an expiry, not against a
    # bank, not a credit memo): Unclassified, so nav_usage leaves it out; the line says so.
    cr03 = [vgl("-40.00", "V3", "RF_NGV3", posted=date(2025, 9, 1)),
            vgl("3.00", "V3", "OPENING BALANCE FIX", manual=True, posted=date(2025, 9, 15))]
    line = run_line(tmp_path, "VOUCHERS", cr03=cr03, cr04=[balance("18412", "-37.00")], tv=[voucher("V3", "40.00", "0.00")])
    (finding,) = line.findings
    assert (finding.code, finding.severity, str(finding.amount_lcy)) == ("POSTINGS_UNCLASSIFIED", "warn", "-3.00")
    assert "1 posting(s) by cutoff match no category rule of voucher_classification.yaml 1.0.0" in finding.message
    assert finding.detail == ({"entry_no": "2", "posting_date": "2025-09-15", "voucher_no": "V3",
                               "description": "OPENING BALANCE FIX", "amount": "3.00"},)


def test_gl_classification_is_checked_when_the_pack_loads(tmp_path):
    pack_dir = tmp_path / "pack"
    shutil.copytree(default_pack(), pack_dir)
    lines = pack_dir / "recon" / "lines.yaml"
    text = lines.read_text("utf-8")
    lines.write_text(text.replace("gl_classification: voucher_classification.yaml", "gl_classification: voucher_clasification.yaml")
                     .replace('gl_accounts: ["18412"]', 'gl_accounts: ["18412", "18413"]'), "utf-8")
    with pytest.raises(CatalogError) as e:
        load_pack(pack_dir)
    at = next(i for i, ln in enumerate(lines.read_text("utf-8").splitlines(), 1) if "gl_classification:" in ln)
    assert (f"lines.yaml:{at}: unknown classification rule file 'voucher_clasification.yaml'; "
            "did you mean 'voucher_classification.yaml'?") in str(e.value)
    # a category column is only there when the classification is: nav_usage now reads an unknown column
    assert "unknown column 'category' in attribute 'nav_usage'" in str(e.value)

    lines.write_text(text.replace('gl_accounts: ["18412"]', 'gl_accounts: ["18412", "18413"]'), "utf-8")
    with pytest.raises(CatalogError) as e:
        load_pack(pack_dir)
    assert f"lines.yaml:{at}: voucher_classification.yaml classifies accounts 18412, not 18413 of this line" in str(e.value)


# Twelve customers, each with two open documents under two posting groups and two business
# lines: RET 100 + k (the larger) and MPL 10.00. Context rows (in_tv false) do not count.
def documents() -> list[dict]:
    rows = []
    for k in range(1, 13):
        c = f"C{k:02d}"
        rows.append({"customer_no": c, "customer_name": f"Customer {k}", "customer_posting_group": "NATIONAL",
                     "busline_code": "RET", "remaining_amount_lcy": D(100 + k), "in_tv": True})
        rows.append({"customer_no": c, "customer_name": f"Customer {k}", "customer_posting_group": "EXPORT",
                     "busline_code": "MPL", "remaining_amount_lcy": D("10.00"), "in_tv": True})
    rows.append({"customer_no": "C99", "customer_posting_group": "EXPORT", "busline_code": "MPL",
                 "remaining_amount_lcy": D("0.00"), "in_tv": False})
    return rows


def collections() -> list[dict]:
    def row(tid, kind, partner, amount, in_tv):
        return {"company_id": "EC_NG", "transaction_id": tid, "transaction_type": kind, "collection_partner": partner,
                "related_entity": "X", "status": "pending", "amount": D(amount), "in_tv": in_tv}
    return [row("T1", "Payment", "Jumia Express", "250.00", True),      # SALES_DELIVERY
            row("T2", "Payment", "Acme Couriers", "40.00", True),       # no rule names the partner: untagged
            row("T3", "Payment - Rev", "JumiaPay", "-15.00", False)]    # REFUND, settled in the period


def test_a_full_reconciliation_carries_the_entity_analyses(tmp_path):
    cr03 = [vgl("-7.50", None, "Manual voucher accrual adjustment", manual=True, posted=date(2025, 8, 20)),
            vgl("-100.00", "V1", "RF_NGV1", posted=date(2025, 9, 5)), vgl("30.00", "V1", "RF_NGV1 USAGE")]
    extracts = {i: table(i, []) for i in PACK.items}
    extracts.update(CR_03=table("CR_03", cr03), CR_04=table("CR_04", [balance("18412", "-77.50")]),
                    CR_05=table("CR_05", [{"company_id": "EC_NG", "year": 2025, "month": 9, "rate_type": "Closing",
                                           "currency": "NGN", "rate_lcy_per_usd": D("1650.000000")}]),
                    IPE_07=table("IPE_07", [{"company_id": "EC_NG", **r} for r in documents()]),
                    IPE_31=table("IPE_31", collections()))
    with engine(tmp_path) as eng:
        ent = reconcile(eng, extracts, PERIOD, NG, pack=PACK, horizon=PERIOD.cutoff)
    voucher_sha = hashlib.sha256((PACK.folder / "voucher_classification.yaml").read_bytes()).hexdigest()
    assert movements_dict(ent.voucher_movements) == {
        "rules": {"version": "1.0.0", "sha256": voucher_sha}, "currency": "NGN",
        "opening_lcy": "7.50", "closing_lcy": "77.50",  # 7.50 + 100.00 − 30.00
        "rows": [{"category": "Issuance", "voucher_type": "Refund", "count": 1, "amount_lcy": "100.00"},
                 {"category": "Usage", "voucher_type": "Refund", "count": 1, "amount_lcy": "-30.00"}],
        "unclassified_count": 0}
    tagging = tagging_dict(ent.collections_tagging)
    by_rule = {r["rule"]: r for r in tagging["rows"]}
    assert by_rule["SALES_DELIVERY"] == {"rule": "SALES_DELIVERY", "accounting_rule": "sales delivery", "debit_account": "13011",
                                         "credit_account": "13005", "count": 1, "amount_lcy": "250.00", "context_count": 0}
    assert (by_rule["REFUND"]["count"], by_rule["REFUND"]["amount_lcy"], by_rule["REFUND"]["context_count"]) == (0, "0.00", 1)
    assert (tagging["untagged_count"], tagging["untagged_amount_lcy"], tagging["open_amount_lcy"]) == (1, "40.00", "290.00")
    review = review_dict(ent.review)
    assert len(review["multiple_posting_groups"]) == 24
    assert review["multiple_posting_groups"][:2] == [
        {"customer_no": "C01", "customer_name": "Customer 1", "posting_group": "EXPORT", "documents": 1, "balance_lcy": "10.00"},
        {"customer_no": "C01", "customer_name": "Customer 1", "posting_group": "NATIONAL", "documents": 1, "balance_lcy": "101.00"}]
    assert review["busline_reclass"][11] == {
        "customer_no": "C12", "target": "RET", "balance_lcy": "122.00",
        "moves": [{"busline_code": "RET", "balance_lcy": "112.00", "move_lcy": "10.00"},
                  {"busline_code": "MPL", "balance_lcy": "10.00", "move_lcy": "-10.00"}]}

    console = Console(record=True, width=140)
    render_analyses(console, ent)
    text = console.export_text()
    assert "EC_NG voucher movements (NGN, rules 1.0.0)" in text
    assert "EC_NG customers with several posting groups: 12" in text and "(14 more)" in text  # 24 rows, 10 shown
    assert "EC_NG proposed business-line reclasses: 12" in text and "(2 more)" in text
    assert "C10" in text and "C11" not in text
    untagged = next(ln for ln in text.splitlines() if "untagged" in ln)
    assert [c.strip() for c in untagged.split("│")][1:8] == ["untagged", "", "", "", "1", "40.00", ""]


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return small_lake(tmp_path_factory)


def test_recon_json_carries_the_entity_analyses_on_a_generated_lake(lake, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SOXAUTO_HOME", str(tmp_path / "home"))
    run(["recon", "--period", "2025-09", "--lake", str(lake), "--json"])
    doc = json.loads(capsys.readouterr().out)
    truth = {(r["company_id"], r["line"]): r for r in json.loads((lake / "ground_truth.json").read_text())["results"]
             if r["period"] == "2025-09"}
    # the documented keys of format 2; the analyses are keys of the entity objects
    assert {"period", "lines", "control_reports", "entities"} <= set(doc) and doc["period"] == "2025-09"
    assert all(set(ln) == LINE_KEYS for ln in doc["lines"]) and len(doc["lines"]) == 63
    folder = PACK.folder
    shas = {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in ("voucher_classification.yaml", "collections_rules.yaml")}
    assert len(doc["entities"]) == 9
    for ent in doc["entities"]:
        company = ent["entity"]
        vm, ct = ent["voucher_movements"], ent["collections_tagging"]
        assert vm["rules"] == {"version": "1.0.0", "sha256": shas["voucher_classification.yaml"]}
        assert ct["rules"] == {"version": "1.0.0", "sha256": shas["collections_rules.yaml"]}
        assert vm["closing_lcy"] == truth[(company, "VOUCHERS")]["gl_amount"]
        assert Decimal(vm["opening_lcy"]) + sum(Decimal(r["amount_lcy"]) for r in vm["rows"]) == Decimal(vm["closing_lcy"])
        assert vm["unclassified_count"] == 0 and not any(r["category"] == "Unclassified" for r in vm["rows"])
        assert ct["open_amount_lcy"] == truth[(company, "COLLECTIONS")]["tv_amount"]
        assert sum(Decimal(r["amount_lcy"]) for r in ct["rows"]) == Decimal(ct["open_amount_lcy"])
        assert (ct["untagged_count"], ct["untagged_amount_lcy"]) == (0, "0.00")
        vouchers = next(ln for ln in doc["lines"] if ln["entity"] == company and ln["line"] == "VOUCHERS")
        assert {k: v["amount_lcy"] for k, v in vouchers["bridges"].items()} == truth[(company, "VOUCHERS")]["bridges"]
        assert {k: v["item_count"] for k, v in vouchers["bridges"].items()} == truth[(company, "VOUCHERS")]["bridge_keys"]
    assert sum(r["count"] for e in doc["entities"] for r in e["voucher_movements"]["rows"] if r["category"] == "Usage") > 0
    _review_matches_the_customer_balances(lake, doc)


def _review_matches_the_customer_balances(lake, doc) -> None:
    """The review lists recomputed in Python from each entity's IPE_07 extract."""
    reclasses = 0
    with connect(lake_binding(lake)) as eng:
        for ent in doc["entities"]:
            rows = [r for r in extract(eng, CATALOG.item("IPE_07"), PERIOD, ent["entity"]).table.to_pylist() if r["in_tv"]]
            groups: dict[str, set] = {}
            lines: dict[str, dict] = {}
            for r in rows:
                groups.setdefault(r["customer_no"], set()).add(r["customer_posting_group"])
                per = lines.setdefault(r["customer_no"], {})
                per[r["busline_code"]] = per.get(r["busline_code"], Decimal("0.00")) + r["remaining_amount_lcy"]
            multi = sorted((c, g) for c, gs in groups.items() if len(gs) > 1 for g in gs)
            got = ent["review"]["multiple_posting_groups"]
            assert [(g["customer_no"], g["posting_group"]) for g in got] == multi
            want = {}
            for c, per in lines.items():
                nonzero = {b: v for b, v in per.items() if v != 0}
                if len(nonzero) > 1:
                    want[c] = min(nonzero, key=lambda b: (-abs(nonzero[b]), b is None, b or ""))
            got = {r["customer_no"]: r["target"] for r in ent["review"]["busline_reclass"]}
            assert got == want
            for r in ent["review"]["busline_reclass"]:
                assert sum(Decimal(m["move_lcy"]) for m in r["moves"]) == 0
            reclasses += len(got)
    assert reclasses > 0


def test_recon_terminal_shows_the_entity_analyses(lake, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SOXAUTO_HOME", str(tmp_path / "home"))
    run(["recon", "--period", "2025-09", "--lake", str(lake), "--entity", "JM_EG"])
    out = capsys.readouterr().out
    table_end = out.index("JM_EG voucher movements (EGP, rules 1.0.0)")
    assert out.index("SC_ACCRUED") < table_end < out.index("JM_EG collections open items by accounting rule (EGP, rules 1.0.0)")
    assert "JM_EG proposed business-line reclasses: " in out and "JM_EG customers with several posting groups: " in out
    assert out.index("JM_EG proposed business-line reclasses") < out.index("CR_01 Reconciliation SC–NAV, JM_EG")


def test_a_subset_of_lines_computes_only_what_they_read(tmp_path):
    extracts = {i: table(i, []) for i in PACK.items}
    extracts["CR_05"] = table("CR_05", [{"company_id": "EC_NG", "year": 2025, "month": 9, "rate_type": "Closing",
                                         "currency": "NGN", "rate_lcy_per_usd": D("1650.000000")}])
    with engine(tmp_path) as eng:
        packages = reconcile(eng, extracts, PERIOD, NG, pack=PACK, lines=["PACKAGES", "COLLECTIONS"], horizon=PERIOD.cutoff)
        vouchers = reconcile(eng, extracts, PERIOD, NG, pack=PACK, lines=["VOUCHERS"], horizon=PERIOD.cutoff)
    assert (packages.voucher_movements, packages.collections_tagging, packages.review) == (None, None, None)
    # VOUCHERS reads the classification, so its movement table comes with it
    assert vouchers.voucher_movements is not None and vouchers.collections_tagging is None
    assert str(vouchers.voucher_movements.movement.closing.amount) == "0.00"
