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
    assert progress["steps"] == 26 and progress["done"] == 26 and progress["failed"] == []  # 2 x (12 items + 1 recon)
    assert progress["stages"] == {"evidence": {"done": 24}, "reconcile": {"done": 2}}
    assert get(client, world, "/api/runs/nope").status_code == 404


def test_results_are_paged_filtered_and_exact(client, world):
    doc = get(client, world, f"/api/results/{PERIOD}?per_page=5&page=2").json()
    assert (doc["run_id"], doc["total"], doc["page"], len(doc["rows"])) == (world.run_id, 14, 2, 5)
    assert [r["line"] for r in doc["rows"]] == ["PACKAGES", "SC_ACCRUED", "CUSTOMER_AR", "COLLECTIONS", "VOUCHERS"]
    ar = get(client, world, f"/api/results/{PERIOD}?entity=HF_SN&line=CUSTOMER_AR").json()["rows"]
    assert ar == [{
        "entity": "HF_SN", "line": "CUSTOMER_AR", "title": "Customer receivables", "currency": "XOF",
        "gl_amount": "19625727.90", "tv_amount": "19397317.31", "variance_lcy": "228410.59", "variance_usd": "407.88",
        "unexplained_lcy": "0.00", "unexplained_usd": "0.00", "status": "RECONCILED", "reason": "WITHIN_TOLERANCE",
        "bridges": {"MANUAL_ADJUSTMENT": "-3746.86", "TIMING": "0.00", "NOT_POSTED": "0.00", "NOT_IN_TV": "213953.41",
                    "AMOUNT_DIFFERENCE": "18204.04"}}]
    # variance = Σ bridges + unexplained, to the cent
    assert sum(Decimal(v) for v in ar[0]["bridges"].values()) + Decimal(ar[0]["unexplained_lcy"]) == Decimal("228410.59")
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
    assert doc["line"]["gl_amount"] == "161402.25" and doc["line"]["tv_amount"] == "84864.11"
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
    line = get(client, world, f"/api/results/{PERIOD}/HF_SN/CUSTOMER_AR").json()["line"]
    doc = get(client, world, f"/api/results/{PERIOD}/HF_SN/CUSTOMER_AR/items?per_page=1000").json()
    by: dict[str, list] = {}
    for r in doc["rows"]:
        by.setdefault(r["bridge"], []).append(Decimal(r["amount_lcy"]))
    assert {b: (len(v), str(sum(v))) for b, v in by.items()} == {
        "MANUAL_ADJUSTMENT": (1, "-3746.86"), "NOT_IN_TV": (2, "213953.41"), "AMOUNT_DIFFERENCE": (1, "18204.04")}
    assert {b: (v["items"], v["amount_lcy"]) for b, v in line["bridges"].items() if v["items"]} == \
        {b: (len(v), str(sum(v))) for b, v in by.items()}
    one = get(client, world, f"/api/results/{PERIOD}/HF_SN/CUSTOMER_AR/items?bridge=NOT_IN_TV").json()
    assert one["total"] == 2 and {r["bridge"] for r in one["rows"]} == {"NOT_IN_TV"}
    paged = get(client, world, f"/api/results/{PERIOD}/HF_SN/CUSTOMER_AR/items?per_page=1&page=2").json()
    assert paged["total"] == 4 and paged["rows"] == [doc["rows"][1]]
    r = get(client, world, f"/api/results/{PERIOD}/HF_SN/CUSTOMER_AR/items.csv?bridge=NOT_IN_TV")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["bridge"], x["amount_lcy"]) for x in rows] == [(x["bridge"], x["amount_lcy"]) for x in one["rows"]]
    assert str(sum(Decimal(x["amount_lcy"]) for x in rows)) == "213953.41"
    unexplained = get(client, world, f"/api/results/{PERIOD}/HF_SN/VOUCHERS/items?bridge=UNEXPLAINED").json()["rows"]
    assert str(sum(Decimal(x["amount_lcy"]) for x in unexplained)) == "20899.11"


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
    assert len(rows) == 12 and {r["run_id"] for r in rows} == {world.run_id}
    assert len(get(client, world, f"/api/evidence?period={PERIOD}").json()) == 24
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
    assert [e["action"] for e in doc["entries"]] == ["run.finish", "run.start"]
    assert doc["entries"][1]["detail"]["entities"] == list(ENTITIES) and doc["entries"][1]["user"] == "closer"
