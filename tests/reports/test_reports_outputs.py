"""HTML report, PDFs, lake write-back (Parquet + DuckDB views), Glue registration (moto), the
``soxauto report`` command and the close writing its workbook and HTML report."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

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
    assert row in html and f'<td class="n">{b["items"]:,}</td>' in html.split(row, 1)[1].split("</tr>", 1)[0]
    assert f"{ln['key_level']['keys']:,} keys" in html
    assert "RECONCILED 14" in re.sub(r"&nbsp;", " ", html) or "INVESTIGATE" in html


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
        got = con.sql("SELECT entity, line, gl_amount, unexplained_lcy, typeof(gl_amount) FROM recon_lines "
                      "ORDER BY entity, line").fetchall()
        want = sorted((ln["entity"], ln["line"], Decimal(ln["gl_amount"]), Decimal(ln["unexplained_lcy"]), "DECIMAL(38,2)")
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
    summary = {(r[0], r[1]): r[12] for r in wb["Summary"].iter_rows(min_row=5, values_only=True)}
    assert summary[("HF_SN", "VOUCHERS")] == "prepared, prepared by ana"
    history = [r for r in wb["Sign-off"].iter_rows(min_row=2, values_only=True)]
    assert [(h[1], h[2], h[3], h[4], h[6]) for h in history][-1] == ("prepare", "HF_SN", "VOUCHERS", "ana", "tied out")
