"""``soxauto report RUN_ID``: a run's reports from the run store (docs/reports.md).

    soxauto report RUN --format xlsx --out FILE         the auditor workbook
    soxauto report RUN --format html --out FILE         the self-contained HTML report
    soxauto report RUN --format pdf --line EC_NG:VOUCHERS --out FILE     one line's reconciliation
    soxauto report RUN --format pdf --evidence CR_03_EC_NG_202509 --out FILE
    soxauto report RUN --lake-export [DIR]              Parquet tables + DuckDB views for BI tools

Exit 0 when written, 3 for a usage error (unknown run, line or package; missing option).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import UsageError

FORMATS = ("xlsx", "html", "pdf")


def _load(run_id: str):
    from ..close.store import RunStore
    from ..config import load_config
    from ..reports.model import load_run

    cfg = load_config()
    runs = RunStore(cfg.run_store)
    try:
        return load_run(runs, run_id, Path(cfg.reports), Path(cfg.evidence_store)), Path(cfg.reports)
    finally:
        runs.close()


def _pdf(data, out: Path, line: Optional[str], evidence: Optional[str]) -> Path:
    from ..reports.pdf import evidence_pdf, line_pdf

    if bool(line) == bool(evidence):
        raise UsageError("--format pdf needs exactly one of --line ENTITY:LINE or --evidence EVIDENCE_ID")
    if line:
        entity, sep, name = line.partition(":")
        if not sep or not entity or not name:
            raise UsageError(f"--line {line}: give ENTITY:LINE, e.g. EC_NG:VOUCHERS")
        return line_pdf(data, entity, name, out)
    return evidence_pdf(data, evidence, out)


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        run_id: str = typer.Argument(..., metavar="RUN_ID", help="The run (soxauto close --json prints it)."),
        fmt: Optional[str] = typer.Option(None, "--format", help="xlsx | html | pdf"),
        out: Optional[Path] = typer.Option(None, "--out", help="File to write."),
        line: Optional[str] = typer.Option(None, "--line", metavar="ENTITY:LINE", help="pdf: the line to report."),
        evidence: Optional[str] = typer.Option(None, "--evidence", metavar="ID", help="pdf: the evidence package."),
        lake_export: bool = typer.Option(False, "--lake-export", help="Write the Parquet tables and DuckDB views to DIR "
                                                                      "(default: <lake>/_soxauto, else <reports>/lake)."),
        folder: Optional[Path] = typer.Argument(None, metavar="[DIR]", show_default=False,
                                                help="--lake-export: the folder to write."),
    ) -> None:
        """Write a run's workbook, HTML report or PDF, or export its results to the lake."""
        if folder is not None and not lake_export:
            raise UsageError(f"unexpected argument '{folder}'; a folder goes after --lake-export")
        if not lake_export and fmt is None:
            raise UsageError("give --format xlsx|html|pdf with --out FILE, or --lake-export [DIR]")
        data, reports = _load(run_id)
        if lake_export:
            from ..reports.lake import default_folder, export_lake

            done = export_lake(data, folder or default_folder(data, reports))
            typer.echo(f"lake export: {done['folder']} ({', '.join(f'{k} {v}' for k, v in done['tables'].items())} "
                       f"partitions); DuckDB views: {done['duckdb']}")
        if fmt is None:
            return
        if fmt not in FORMATS:
            raise UsageError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
        if out is None:
            raise UsageError(f"--format {fmt} needs --out FILE")
        if fmt == "xlsx":
            from ..reports.workbook import write_workbook

            path = write_workbook(data, out)
        elif fmt == "html":
            from ..reports.html import write_html

            path = write_html(data, out)
        else:
            path = _pdf(data, out, line, evidence)
        typer.echo(str(path))
