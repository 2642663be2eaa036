"""Reports of a run for accountants, auditors and BI tools (docs/reports.md). They read result
objects only (run store, reports folder, evidence packages, sign-off), never an engine.

    narrative.line_narrative   the deterministic paragraph of a line (classified, explained, unresolved, reasons)
    ageing.ageing              a line's open items in buckets of age (0–30, 31–60, 61–90, over 90, no age)
    charts.waterfall_svg       the line's waterfall, GL -> bridges -> unexplained -> TV, inline SVG
    workbook.write_workbook    the auditor workbook (.xlsx, re-footable)
    html.write_html            the self-contained HTML report
    pdf.line_pdf, evidence_pdf a line's reconciliation, an evidence package's summary
    lake.export_lake           Parquet tables + DuckDB views written back to the lake; glue.register

Modules import their heavy dependencies themselves: importing ``narrative`` or ``charts``
does not load XlsxWriter or reportlab.
"""

from __future__ import annotations

from pathlib import Path

WORKBOOK = "workbook.xlsx"
HTML = "report.html"


def write_run_reports(runs, run_id: str, reports_dir: Path, evidence_store: Path | None = None,
                      summary: dict | None = None) -> dict[str, str]:
    """The workbook and the HTML report of a run, into ``<reports>/<run_id>/``; returns their paths.

    ``summary`` (the close's run summary, written before the run row is final) supplies the
    status, exit code and finish time the reports print."""
    from dataclasses import replace

    from .html import write_html
    from .model import load_run
    from .workbook import write_workbook

    data = load_run(runs, run_id, reports_dir, evidence_store)
    if summary is not None:
        data = replace(data, run={**data.run, **{k: summary[k] for k in ("status", "exit_code", "finished_at") if k in summary}})
    folder = Path(reports_dir) / run_id
    return {"workbook": str(write_workbook(data, folder / WORKBOOK)), "html": str(write_html(data, folder / HTML))}
