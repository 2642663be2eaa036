"""Reading the REST API: every resource answered with the figures of a real close of HF_SN and
JM_EG for 2025-09 (tiny generated lake, seed 11), errors as problem documents."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

from servicekit import ENTITIES, PERIOD

PROBLEM = "application/problem+json"


def get(client, world, url, user="audrey", **kw):
    return client.get(url, headers=world.bearer(user), **kw)


def test_health_and_openapi_are_open_everything_else_needs_a_token(client, world):
    assert client.get("/health").json() == {"status": "ok", "version": "0.1.0"}
    spec = client.get("/openapi.json").json()
    assert "/api/results/{period}" in spec["paths"] and "/login" not in spec["paths"]
    r = client.get("/api/runs")
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["title"] == "not authenticated" and r.json()["status"] == 401
    forged = world.tokens["pat"][:-4] + ("AAAA" if not world.tokens["pat"].endswith("AAAA") else "BBBB")
    bad = client.get("/api/runs", headers={"Authorization": f"Bearer {forged}"})
    assert bad.status_code == 401 and bad.json()["detail"] == "unknown API token"
    assert client.get("/api/runs", headers={"Authorization": "Basic cGF0OnB3"}).status_code == 401


def test_catalog_lists_items_with_sql_and_tests(client, world):
    items = {i["id"]: i for i in get(client, world, "/api/catalog").json()}
    assert items["IPE_07"]["title"] == "Customer balances at cutoff" and items["IPE_07"]["has_sql"] is True
    assert items["CR_01"]["has_sql"] is False
    one = get(client, world, "/api/catalog/IPE_07").json()
    assert ":company_id" in one["sql"] and ":cutoff" in one["sql"]
    assert "IPE_07.tie_out" in [t["id"] for t in one["tests"]]
    missing = get(client, world, "/api/catalog/IPE_7")
    assert missing.status_code == 404 and "did you mean" in missing.json()["detail"]


def test_runs_list_detail_and_progress(client, world):
    runs = get(client, world, f"/api/runs?period={PERIOD}").json()
    assert [(r["id"], r["status"], r["exit_code"], r["entities"]) for r in runs] == \
        [(world.run_id, "completed", 0, list(ENTITIES))]
    detail = get(client, world, f"/api/runs/{world.run_id}").json()
    assert detail["summary"]["reconciliation"]["summary"] == {"RECONCILED": 14, "INVESTIGATE": 0, "ERROR": 0}
    progress = get(client, world, f"/api/runs/{world.run_id}/progress").json()
    assert progress["steps"] == 28 and progress["done"] == 28 and progress["failed"] == []  # 2 x (13 items + 1 recon)
    assert progress["stages"] == {"evidence": {"done": 26}, "reconcile": {"done": 2}}
    assert get(client, world, "/api/runs/nope").status_code == 404


def test_results_are_paged_filtered_and_exact(client, world):
    doc = get(client, world, f"/api/results/{PERIOD}?per_page=5&page=2").json()
    assert (doc["run_id"], doc["total"], doc["page"], len(doc["rows"])) == (world.run_id, 14, 2, 5)
    assert [r["line"] for r in doc["rows"]] == ["PACKAGES", "SC_ACCRUED", "CUSTOMER_AR", "COLLECTIONS", "VOUCHERS"]
    ar = get(client, world, f"/api/results/{PERIOD}?entity=HF_SN&line=CUSTOMER_AR").json()["rows"]
    full = get(client, world, f"/api/results/{PERIOD}/HF_SN/CUSTOMER_AR").json()["line"]
    keys = ("entity", "line", "title", "currency", "gl_amount", "tv_amount", "variance_lcy", "variance_usd",
            "unexplained_lcy", "unexplained_usd", "status", "reason")
    assert ar == [{**{k: full[k] for k in keys}, "bridges": {b: v["amount_lcy"] for b, v in full["bridges"].items()}}]
    assert (ar[0]["entity"], ar[0]["line"], ar[0]["title"], ar[0]["currency"]) == ("HF_SN", "CUSTOMER_AR",
                                                                                   "Customer receivables", "XOF")
    assert list(ar[0]["bridges"]) == ["MANUAL_ADJUSTMENT", "TIMING", "NOT_POSTED", "NOT_IN_TV", "AMOUNT_DIFFERENCE"]
    # the reason is the first of the line's reasons, or its auto-certification code; never the old WITHIN_TOLERANCE
    assert ar[0]["reason"] == (full["reasons"][0] if full["reasons"] else full["auto_certification"] or "")
    assert ar[0]["reason"] in ("", "UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED", "ZERO_BALANCE", "NO_ACTIVITY",
                               "NO_OPEN_ITEMS")
    # variance = Σ bridges + unexplained = resolved + unresolved, to the cent
    variance = Decimal(ar[0]["variance_lcy"])
    assert variance == Decimal(ar[0]["gl_amount"]) - Decimal(ar[0]["tv_amount"])
    assert sum(Decimal(v) for v in ar[0]["bridges"].values()) + Decimal(ar[0]["unexplained_lcy"]) == variance
    assert Decimal(full["resolved_lcy"]) + Decimal(full["unresolved_lcy"]) == variance
    assert get(client, world, f"/api/results/{PERIOD}?status=INVESTIGATE").json()["total"] == 0
    assert get(client, world, f"/api/results/{PERIOD}?entity=JM_EG").json()["total"] == 7
    assert get(client, world, "/api/results/2025-13").status_code == 400
    none = get(client, world, "/api/results/2024-01")
    assert none.status_code == 404 and none.json()["detail"] == \
        "no completed close of period 2024-01; did you mean '2025-09'?"
    text = get(client, world, f"/api/results/{PERIOD}/lines.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 14 and rows[2]["line"] == "VOUCHERS" and rows[2]["unexplained_lcy"] == "20899.11"


def test_line_detail_names_the_sql_and_parameters_behind_each_figure(client, world):
    doc = get(client, world, f"/api/results/{PERIOD}/HF_SN/VOUCHERS").json()
    assert doc["line"]["gl_amount"] == "120217.06" and doc["line"]["tv_amount"] == "84864.11"
    sources = {s["figure"]: s for s in doc["sources"]}
    assert [(f, s["item"], s["evidence_id"]) for f, s in sources.items()] == [
        ("gl_amount", "CR_04", "CR_04_HF_SN_202509"), ("key_level", "CR_03", "CR_03_HF_SN_202509"),
        ("tv_amount", "IPE_08", "IPE_08_HF_SN_202509")]
    assert sources["gl_amount"]["parameters"]["company_id"] == "HF_SN"
    assert sources["gl_amount"]["parameters"]["cutoff"] == "2025-09-30"
    assert "v.company_id = $company_id" in sources["tv_amount"]["sql"]  # as executed: values bound by the driver
    missing = get(client, world, f"/api/results/{PERIOD}/HF_SN/VOUCHER")
    assert missing.status_code == 404 and "did you mean 'VOUCHERS'" in missing.json()["detail"]


def test_proof_items_add_up_to_each_bridge_and_download_as_csv(client, world):
    line = get(client, world, f"/api/results/{PERIOD}/HF_SN/VOUCHERS").json()["line"]
    doc = get(client, world, f"/api/results/{PERIOD}/HF_SN/VOUCHERS/items?per_page=1000").json()
    by: dict[str, list] = {}
    for r in doc["rows"]:
        by.setdefault(r["bridge"], []).append(Decimal(r["amount_lcy"]))
    assert {b: (v["item_count"], v["amount_lcy"]) for b, v in line["bridges"].items() if v["item_count"]} == \
        {b: (len(v), str(sum(v))) for b, v in by.items() if b != "UNEXPLAINED"}
    assert len(by.get("UNEXPLAINED", [])) == line["unexplained_items"] > 0
    assert str(sum(by["UNEXPLAINED"])) == "20899.11" == line["unexplained_lcy"]  # no tie-out difference on this line
    # each item says what explains it; Σ open amounts without a disposition + tie-out = unresolved
    assert {r["nature"] for r in doc["rows"]} <= {"timing", "booking", "exception"}
    assert all(r["state"] in ("cleared", "pending", "uncleared") for r in doc["rows"] if r["nature"] in ("timing", "booking"))
    assert sum(Decimal(r["open_lcy"]) for r in doc["rows"] if not r["disposition"]) + \
        Decimal(line["tie_out_difference_lcy"]) == Decimal(line["unresolved_lcy"])
    bridge, rows_of = max(by.items(), key=lambda kv: len(kv[1]))
    one = get(client, world, f"/api/results/{PERIOD}/HF_SN/VOUCHERS/items?bridge={bridge}").json()
    assert one["total"] == len(rows_of) >= 2 and {r["bridge"] for r in one["rows"]} == {bridge}
    paged = get(client, world, f"/api/results/{PERIOD}/HF_SN/VOUCHERS/items?per_page=1&page=2").json()
    assert paged["total"] == len(doc["rows"]) and paged["rows"] == [doc["rows"][1]]
    r = get(client, world, f"/api/results/{PERIOD}/HF_SN/VOUCHERS/items.csv?bridge={bridge}")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["bridge"], x["amount_lcy"], x["open_lcy"], x["state"] or None) for x in rows] == \
        [(x["bridge"], x["amount_lcy"], x["open_lcy"], x["state"]) for x in one["rows"]]
    assert sum(Decimal(x["amount_lcy"]) for x in rows) == sum(rows_of)


def test_validation_results_per_rule(client, world):
    doc = get(client, world, f"/api/validation/{PERIOD}").json()
    steps = get(client, world, f"/api/runs/{world.run_id}").json()["summary"]["steps"]
    assert doc["outcomes"]["passed"] == sum(s["tests"]["passed"] for s in steps if s["tests"])
    assert doc["outcomes"]["failed"] == sum(s["tests"]["failed"] for s in steps if s["tests"])
    one = get(client, world, f"/api/validation/{PERIOD}?entity=HF_SN&item=IPE_07").json()["rows"]
    tie = next(r for r in one if r["rule_id"] == "IPE_07.tie_out")
    assert tie["outcome"] == "passed" and tie["observed"] == {"open_documents": "14", "remaining": "19397317.31"}
    assert tie["evidence_id"] == "IPE_07_HF_SN_202509"


def test_evidence_list_zip_and_verify(client, world):
    rows = get(client, world, "/api/evidence?entity=HF_SN").json()
    assert len(rows) == 13 and {r["run_id"] for r in rows} == {world.run_id}
    assert len(get(client, world, f"/api/evidence?period={PERIOD}").json()) == 26
    first = get(client, world, "/api/evidence/IPE_07_HF_SN_202509/zip")
    second = get(client, world, "/api/evidence/IPE_07_HF_SN_202509/zip")
    assert first.headers["content-type"] == "application/zip" and first.content == second.content  # deterministic
    names = zipfile.ZipFile(io.BytesIO(first.content)).namelist()
    assert "IPE_07_HF_SN_202509/manifest.json" in names and all(n.startswith("IPE_07_HF_SN_202509/") for n in names)
    report = client.post("/api/evidence/IPE_07_HF_SN_202509/verify", headers=world.bearer("audrey")).json()
    assert report["ok"] is True and report["signature"] == "ok" and report["ledger"] == "ok"
    assert {a["path"]: a["status"] for a in report["artifacts"]}["data.parquet"] == "ok"
    assert {a["status"] for a in report["artifacts"]} == {"ok"} and len(report["artifacts"]) == 13


def test_evidence_path_traversal_is_refused(client, world):
    for evil in ("..%2F..%2F..%2Fetc%2Fpasswd", "..", "keys", "history", "IPE_07_HF_SN_202509%2F..%2Fkeys",
                 "%2E%2E", ".tmp-IPE_07_HF_SN_202509-x", "IPE_07_HF_SN_202509%00"):
        for method, tail in (("GET", "/zip"), ("POST", "/verify"), ("GET", "")):
            r = client.request(method, f"/api/evidence/{evil}{tail}", headers=world.bearer("adam"))
            assert r.status_code == 404, (evil, tail, r.status_code)
            assert r.headers["content-type"] == PROBLEM and b"PRIVATE KEY" not in r.content


def test_audit_log_newest_first(client, world):
    doc = get(client, world, f"/api/audit?run_id={world.run_id}").json()
    # newest first: the system's preparation of each auto-certified line as the close ended, then the close's own
    assert [e["action"] for e in doc["entries"] if not e["action"].startswith("signoff.")] == ["run.finish", "run.start"]
    prepared = [e for e in doc["entries"] if e["action"].startswith("signoff.")]
    assert {(e["action"], e["user"], e["refused"]) for e in prepared} == {("signoff.prepare", "soxauto", False)}
    assert all(e["detail"]["comment"] == f"auto-certified: {e['detail']['auto_certification']}" for e in prepared)
    start = doc["entries"][-1]
    assert (start["action"], start["detail"]["entities"], start["user"]) == ("run.start", list(ENTITIES), "closer")
