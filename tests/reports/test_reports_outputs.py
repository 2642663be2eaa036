"""HTML report, PDFs, lake write-back (Parquet + DuckDB views), Glue registration (moto), the
``soxauto report`` command and the close writing its workbook and HTML report."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

import handmade

from soxauto.cli import run
from soxauto.reports.html import render_html
from soxauto.reports.lake import TABLES, export_lake
from soxauto.reports.pdf import evidence_pdf, line_pdf


def test_html_is_self_contained_and_shows_every_line(data):
    html = render_html(data)
    assert re.findall(r'(?:src|href)\s*=\s*["\']?https?://', html, re.I) == []
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert html.count("<svg ") == len(data.lines) == 14
    for ln in data.lines:
        assert f'id="line-{ln["entity"]}-{ln["line"]}"' in html
    ln = data.line("HF_SN", "VOUCHERS")
    gl = f"{Decimal(ln['gl_amount']):,.2f}"
    assert f'<td class="n">{gl}</td>' in html
    assert "built-in method" not in html  # a template name that hit a dict method instead of a key
    row = f'<tr><td>{next(iter(ln["bridges"]))}</td>'
    b = next(iter(ln["bridges"].values()))
    details = html.split(f'id="line-{ln["entity"]}-{ln["line"]}"', 1)[1].split('<div class="line"', 1)[0]
    cells = details.split(row, 1)[1].split("</tr>", 1)[0]
    assert f'<td class="n">{b["item_count"]:,}</td>' in cells and f"<td>{b['nature']}</td>" in cells
    assert f"{ln['key_level']['keys']:,} keys" in html
    assert "RECONCILED 14" in re.sub(r"&nbsp;", " ", html) or "INVESTIGATE" in html
    for ln in data.lines:  # every line's unresolved figure and all its reasons, in the overview row
        overview = html.split(f'<td><a href="#line-{ln["entity"]}-{ln["line"]}">{ln["line"]}</a></td>', 1)[1].split("</tr>", 1)[0]
        assert f'<td class="n">{Decimal(ln["unresolved_lcy"]):,.2f}</td>' in overview
        assert f"<td>{', '.join(ln['reasons'])}</td>" in overview
    assert "WITHIN_TOLERANCE" not in html


def hand_html(tmp_path) -> str:
    return render_html(handmade.run_data(tmp_path))


def row_after(html: str, head: str) -> str:
    return html.split(head, 1)[1].split("</tr>", 1)[0]


def test_html_shows_resolution_reasons_natures_ageing_and_journals(tmp_path):
    html = hand_html(tmp_path)
    overview = row_after(html, '<td><a href="#line-EC_NG-VOUCHERS">VOUCHERS</a></td>')
    assert re.findall(r'<td class="n">([^<]*)</td>', overview) == [
        "13,236,000.00", "10,000,000.00", "3,236,000.00", "1,240,000.00", "1,996,000.00", "1,209.70", "1,210,000.00",
        "2,026,000.00", "1,227.88"]
    assert "<td>UNRESOLVED_ABOVE_BUCKET, MATERIAL_ITEM_UNRESOLVED</td>" in overview
    ar = row_after(html, '<td><a href="#line-EC_NG-CUSTOMER_AR">CUSTOMER_AR</a></td>')
    assert "<td>NO_OPEN_ITEMS</td>" in ar and '<td class="RECONCILED">RECONCILED</td>' in ar
    error = row_after(html, '<td><a href="#line-EC_NG-PACKAGES">PACKAGES</a></td>')
    assert re.findall(r'<td class="n">([^<]*)</td>', error) == [  # no USD figure in ERROR
        "5,300.00", "5,000.00", "300.00", "300.00", "0.00", "n/a", "0.00", "300.00", "n/a"]
    assert "<td>INPUT_TEST_FAILED</td>" in error
    details = html.split('id="line-EC_NG-VOUCHERS"', 1)[1].split('<div class="line"', 1)[0]
    natures = dict(re.findall(r"<tr><td>([A-Z_]+)</td><td>[^<]*</td><td>(timing|booking|exception|unclaimed)</td>", details))
    assert natures == {"MANUAL_ADJUSTMENT": "exception", "TIMING_USAGE": "timing", "EXPIRED_NOT_WRITTEN_OFF": "booking",
                       "VTC_NOT_BOOKED": "booking", "CANCELLED_NOT_BOOKED": "booking"}
    walk = row_after(details, "<th>of which tie-out difference</th></tr>")
    assert re.findall(r'<td class="n">(?:<b>)?([^<]*)', walk) == [
        "3,236,000.00", "1,240,000.00 + 1,996,000.00", "1,210,000.00", "2,026,000.00", "1,227.88", "1,000.00"]
    ages = {name: re.findall(r'<td class="n">([^<]*)</td>', row_after(details, f"<tr><td>{name}")) for name in
            ("items", "open NGN", "unresolved NGN")}
    assert ages == {"items": ["1", "0", "1", "1", "1"], "open NGN": ["25,000.00", "0.00", "-5,000.00", "2,000,000.00", "120,000.00"],
                    "unresolved NGN": ["25,000.00", "0.00", "0.00", "2,000,000.00", "0.00"]}
    assert "<th>0–30</th><th>31–60</th><th>61–90</th><th>over 90</th><th>no age</th>" in details
    journals = re.findall(r"<tr><td>([A-Z_]+)</td><td>(booking|adjust)[^<]*</td>\s*<td>(\d+)</td><td>(\d+)</td>"
                          r'<td class="n">([^<]*)</td><td>([^<]*)</td>\s*<td class="n">(\d+)</td>', details)
    assert journals == [
        ("EXPIRED_NOT_WRITTEN_OFF", "booking", "18412", "71050", "900,000.00", "Write off expired vouchers to breakage income", "1"),
        ("UNEXPLAINED", "adjust", "18412", "13011", "5,000.00", "Reverse duplicate refund", "1")]
    assert "adjust (d-21)" in details
    assert "Reconciling items: 8 items, 4 open (2 resolved, 2 unresolved), 2 cleared, 1 pending, 2 uncleared" in details
    assert "No proposed journal entry." in html.split('id="line-EC_NG-CUSTOMER_AR"', 1)[1].split('<div class="line"', 1)[0]
    entity = row_after(html.split("<h3>Ageing of open items per entity</h3>", 1)[1], "<tr><td>EC_NG</td><td>NGN</td>")
    assert re.findall(r'<td class="n">([^<]*)</td>', entity) == [
        "2", "25,300.00", "25,300.00", "0", "0.00", "0.00", "1", "-5,000.00", "0.00", "1", "2,000,000.00", "2,000,000.00",
        "1", "120,000.00", "0.00"]  # PACKAGES' P-1 (300.00, age 0) joins V-003 in 0-30
    assert "WITHIN_TOLERANCE" not in html and "explained by" not in html


def test_line_pdf_shows_resolution_natures_ageing_and_journals(tmp_path):
    data = handmade.run_data(tmp_path)
    text = pdf_text(line_pdf(data, "EC_NG", "VOUCHERS", tmp_path / "v.pdf"))
    flat = re.sub(r"\s+", " ", text)
    assert "Status INVESTIGATE (UNRESOLVED_ABOVE_BUCKET, MATERIAL_ITEM_UNRESOLVED)" in flat
    assert "Resolved (explained) 1,210,000.00 733.33" in flat and "Unresolved 2,026,000.00 1,227.88" in flat
    assert "of which tie-out difference 1,000.00" in flat
    assert "EXPIRED_NOT_WRITTEN_OFF expiries not written off booking 1.0.0 2 1 1,000,000.00 606.06" in flat
    assert "Open NGN 25,000.00 0.00 -5,000.00 2,000,000.00 120,000.00" in flat
    assert "Unresolved NGN 25,000.00 0.00 0.00 2,000,000.00 0.00" in flat
    assert "Proposed journal entries" in flat and "18412 71050 900,000.00" in flat and "18412 13011 5,000.00" in flat
    error = re.sub(r"\s+", " ", pdf_text(line_pdf(data, "EC_NG", "PACKAGES", tmp_path / "p.pdf")))
    assert "Status ERROR (INPUT_TEST_FAILED)" in error and "Unresolved 300.00 n/a" in error
    auto = re.sub(r"\s+", " ", pdf_text(line_pdf(data, "EC_NG", "CUSTOMER_AR", tmp_path / "a.pdf")))
    assert "Status RECONCILED (auto-certified NO_OPEN_ITEMS)" in auto and "Proposed journal entries" not in auto


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_line_and_evidence_pdfs(data, tmp_path):
    ln = data.line("JM_EG", "CUSTOMER_AR")
    text = pdf_text(line_pdf(data, "JM_EG", "CUSTOMER_AR", tmp_path / "line.pdf"))
    assert "JM_EG CUSTOMER_AR: Customer receivables, 2025-09" in text
    assert f"{Decimal(ln['gl_amount']):,.2f}" in text and f"{Decimal(ln['variance_lcy']):,.2f}" in text
    for b_id in ln["bridges"]:
        assert b_id in text
    ev = next(e for e in data.evidence if e["item"] == "CR_03" and e["entity"] == "HF_SN")
    text = pdf_text(evidence_pdf(data, ev["evidence_id"], tmp_path / "ev.pdf"))
    assert ev["manifest_sha256"] in text and ev["fingerprint"] in text and "CR_03.tie_out" in text
    assert "data.parquet" in text  # the artifacts of the package's manifest


def test_lake_export_partitions_and_duckdb_views(data, tmp_path):
    done = export_lake(data, tmp_path / "bi")
    assert done["tables"] == {name: 2 for name in TABLES}  # one period x two entities
    part = tmp_path / "bi" / "recon_lines" / "period=2025-09" / "entity=HF_SN" / "part-0.parquet"
    assert "period" not in pq.read_schema(part).names  # hive partition columns live in the path
    con = duckdb.connect(done["duckdb"], read_only=True)
    try:
        got = con.sql("SELECT entity, line, gl_amount, unexplained_lcy, resolved_lcy, unresolved_lcy, reasons, "
                      "auto_certification, typeof(gl_amount), typeof(reasons) FROM recon_lines ORDER BY entity, line").fetchall()
        want = sorted((ln["entity"], ln["line"], Decimal(ln["gl_amount"]), Decimal(ln["unexplained_lcy"]),
                       Decimal(ln["resolved_lcy"]), Decimal(ln["unresolved_lcy"]), ln["reasons"],
                       ln["auto_certification"] if ln["auto_certified"] else None, "DECIMAL(38,2)", "VARCHAR[]")
                      for ln in data.lines)
        assert got == want
        sums = dict(con.sql("SELECT entity || ':' || line || ':' || bridge, SUM(amount_lcy) FROM bridge_items "
                            "WHERE bridge <> 'UNEXPLAINED' GROUP BY 1").fetchall())
        for ln in data.lines:
            for b_id, b in ln["bridges"].items():
                assert sums.get(f"{ln['entity']}:{ln['line']}:{b_id}", Decimal("0.00")) == Decimal(b["amount_lcy"])
        assert con.sql("SELECT SUM(rows) FROM evidence_index").fetchall()[0][0] == sum(e["rows"] for e in data.evidence)
        assert con.sql("SELECT DISTINCT period FROM validation_results").fetchall() == [("2025-09",)]
    finally:
        con.close()


def test_lake_tables_are_written_as_their_schema_says(tmp_path):
    """Each table's files hold exactly the declared columns and types (partition columns in the
    path), and the new figures come through: resolved and unresolved, every reason as a list,
    the auto-certification code, each bridge's nature and item count, what explains each item."""
    data = handmade.run_data(tmp_path / "reports")
    done = export_lake(data, tmp_path / "bi")
    for name, schema in TABLES.items():
        part = tmp_path / "bi" / name / "period=2025-09" / "entity=EC_NG" / "part-0.parquet"
        written = pq.read_schema(part)
        assert [(f.name, f.type) for f in written] == [(f.name, f.type) for f in schema if f.name not in ("period", "entity")]
    con = duckdb.connect(done["duckdb"], read_only=True)
    try:
        lines = con.sql("SELECT line, bridges_lcy, unexplained_lcy, resolved_lcy, resolved_usd, unresolved_lcy, unresolved_usd, "
                        "tie_out_difference_lcy, unresolved_items, status, reason, reasons, auto_certified, auto_certification "
                        "FROM recon_lines ORDER BY line").fetchall()
        D = Decimal
        assert lines == [
            ("CUSTOMER_AR", D("7500.00"), D("0.00"), D("7500.00"), D("4.55"), D("0.00"), D("0.00"), D("0.00"), 0, "RECONCILED",
             "NO_OPEN_ITEMS", [], True, "NO_OPEN_ITEMS"),
            ("PACKAGES", D("300.00"), D("0.00"), D("0.00"), None, D("300.00"), None, D("0.00"), 1, "ERROR",
             "INPUT_TEST_FAILED", ["INPUT_TEST_FAILED"], False, None),
            ("VOUCHERS", D("1240000.00"), D("1996000.00"), D("1210000.00"), D("733.33"), D("2026000.00"), D("1227.88"),
             D("1000.00"), 2, "INVESTIGATE", "UNRESOLVED_ABOVE_BUCKET", ["UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED"],
             False, None)]
        # variance = resolved + unresolved, in the lake too
        assert con.sql("SELECT count(*) FROM recon_lines WHERE variance_lcy <> resolved_lcy + unresolved_lcy").fetchall() == [(0,)]
        bridges = con.sql("SELECT bridge, nature, item_count, amount_lcy FROM bridges WHERE line = 'VOUCHERS' "
                          "ORDER BY position").fetchall()
        assert bridges == [("MANUAL_ADJUSTMENT", "exception", 1, D("120000.00")), ("TIMING_USAGE", "timing", 3, D("120000.00")),
                           ("EXPIRED_NOT_WRITTEN_OFF", "booking", 2, D("1000000.00")), ("VTC_NOT_BOOKED", "booking", 0, D("0.00")),
                           ("CANCELLED_NOT_BOOKED", "booking", 0, D("0.00"))]
        v3 = con.sql("SELECT nature, state, cleared_lcy, open_lcy, CAST(window_end AS VARCHAR), age_days, disposition "
                     "FROM bridge_items WHERE key = 'V-003'").fetchall()
        assert v3 == [("timing", "uncleared", D("15000.00"), D("25000.00"), "2025-10-15", 30, None)]
        # Σ open without a disposition + tie-out = unresolved, line by line
        unresolved = dict(con.sql("SELECT i.line, SUM(CASE WHEN i.disposition IS NULL THEN i.open_lcy ELSE 0 END) "
                                  "+ ANY_VALUE(l.tie_out_difference_lcy) FROM bridge_items i JOIN recon_lines l USING (line) "
                                  "GROUP BY i.line").fetchall())
        assert unresolved == {"VOUCHERS": D("2026000.00"), "CUSTOMER_AR": D("0.00"), "PACKAGES": D("300.00")}
    finally:
        con.close()


def test_glue_types_cover_every_column_type():
    import pyarrow as pa

    from soxauto.reports.glue import hive_type

    assert [hive_type(t) for t in (pa.list_(pa.string()), pa.date32(), pa.int32(), pa.decimal128(38, 2))] == [
        "array<string>", "date", "int", "decimal(38,2)"]
    assert {hive_type(f.type) for schema in TABLES.values() for f in schema} <= {
        "string", "bigint", "int", "boolean", "date", "decimal(38,2)", "decimal(38,6)", "array<string>"}


def test_glue_tables_and_partitions_with_moto(data, tmp_path, monkeypatch):
    import boto3
    from moto import mock_aws

    from soxauto.reports.glue import register, upload

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(k, v)
    export_lake(data, tmp_path / "bi")
    with mock_aws():
        s3, glue = boto3.client("s3"), boto3.client("glue")
        s3.create_bucket(Bucket="results", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        assert upload(s3, tmp_path / "bi", "results", "soxauto") == 12
        added = register(glue, "soxauto", "results", "soxauto", tmp_path / "bi")
        assert added["recon_lines"] == [("2025-09", "HF_SN"), ("2025-09", "JM_EG")]
        assert register(glue, "soxauto", "results", "soxauto", tmp_path / "bi")["recon_lines"] == []  # idempotent
        t = glue.get_table(DatabaseName="soxauto", Name="recon_lines")["Table"]
        sd = t["StorageDescriptor"]
        assert sd["Location"] == "s3://results/soxauto/recon_lines/"
        assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        cols = {c["Name"]: c["Type"] for c in sd["Columns"]}
        assert cols["gl_amount"] == "decimal(38,2)" and cols["fx_rate"] == "decimal(38,6)"
        assert cols["unexplained_items"] == "bigint" and "period" not in cols
        assert cols["reasons"] == "array<string>" and cols["unresolved_lcy"] == "decimal(38,2)"
        items = {c["Name"]: c["Type"] for c in glue.get_table(DatabaseName="soxauto", Name="bridge_items")["Table"][
            "StorageDescriptor"]["Columns"]}
        assert (items["window_end"], items["age_days"], items["open_lcy"]) == ("date", "int", "decimal(38,2)")
        assert [k["Name"] for k in t["PartitionKeys"]] == ["period", "entity"]
        parts = glue.get_partitions(DatabaseName="soxauto", TableName="bridge_items")["Partitions"]
        assert sorted(p["StorageDescriptor"]["Location"] for p in parts) == [
            "s3://results/soxauto/bridge_items/period=2025-09/entity=HF_SN/",
            "s3://results/soxauto/bridge_items/period=2025-09/entity=JM_EG/"]
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="results", Prefix="soxauto/bridges/")["Contents"]]
        assert keys == ["soxauto/bridges/period=2025-09/entity=HF_SN/part-0.parquet",
                        "soxauto/bridges/period=2025-09/entity=JM_EG/part-0.parquet"]


def test_close_wrote_workbook_and_html_and_the_cli_reports(closed, tmp_path, capsys, monkeypatch):
    folder = closed["reports"] / closed["run_id"]
    assert closed["summary"]["reports"]["workbook"] == str(folder / "workbook.xlsx")
    assert closed["summary"]["reports"]["html"] == str(folder / "report.html")
    assert (folder / "workbook.xlsx").stat().st_size > 0 and (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    monkeypatch.setenv("SOXAUTO_HOME", str(closed["home"]))
    rid = closed["run_id"]
    assert run(["report", rid, "--format", "html", "--out", str(tmp_path / "r.html")]) == 0
    assert run(["report", rid, "--format", "pdf", "--line", "HF_SN:VOUCHERS", "--out", str(tmp_path / "l.pdf")]) == 0
    assert (tmp_path / "l.pdf").read_bytes()[:5] == b"%PDF-"
    assert run(["report", rid, "--lake-export", str(tmp_path / "bi")]) == 0
    assert (tmp_path / "bi" / "soxauto.duckdb").is_file()
    capsys.readouterr()
    assert run(["report", rid, "--format", "pdf", "--line", "HF_SN:VOUCHER", "--out", str(tmp_path / "x.pdf")]) == 3
    assert "did you mean 'HF_SN:VOUCHERS'?" in capsys.readouterr().err
    assert run(["report", "nope", "--format", "xlsx", "--out", str(tmp_path / "x.xlsx")]) == 3
    assert run(["report", rid, "--format", "pdf", "--out", str(tmp_path / "x.pdf")]) == 3


def test_signoff_state_and_history_reach_the_reports(closed, tmp_path):
    import openpyxl

    from soxauto.auth import Principal
    from soxauto.close.store import RunStore
    from soxauto.reports.model import load_run
    from soxauto.reports.workbook import write_workbook
    from soxauto.signoff import SignOffs

    runs = RunStore(closed["run_store"])
    try:
        SignOffs(runs).prepare(Principal("ana", frozenset({"preparer"}), "password"), "2025-09", "HF_SN", "VOUCHERS", "tied out")
        data = load_run(runs, closed["run_id"], closed["reports"], closed["evidence"])
    finally:
        runs.close()
    assert data.signoff("HF_SN", "VOUCHERS")["state"] == "prepared"
    wb = openpyxl.load_workbook(write_workbook(data, tmp_path / "s.xlsx"))
    summary = {(r[0], r[1]): r[17] for r in wb["Summary"].iter_rows(min_row=5, max_row=4 + len(data.lines), values_only=True)}
    assert summary[("HF_SN", "VOUCHERS")] == "prepared, prepared by ana"
    history = [r for r in wb["Sign-off"].iter_rows(min_row=2, values_only=True)]
    assert [(h[1], h[2], h[3], h[4], h[6]) for h in history][-1] == ("prepare", "HF_SN", "VOUCHERS", "ana", "tied out")
