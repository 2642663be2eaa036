"""``soxauto evidence verify`` and ``soxauto keys show|export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ..errors import UsageError
from ..evidence import keys as keys_mod
from ..evidence.store import evidence_store
from ..evidence.verify import PackageReport, StoreReport, verify_path, verify_store

app = typer.Typer(no_args_is_help=True, help="Verify evidence packages and the ledger.")
keys_app = typer.Typer(no_args_is_help=True, help="The Ed25519 key that signs evidence manifests.")

COLOR = {"ok": "green", "altered": "red", "missing": "red", "extra": "yellow", "match": "green"}


@app.command("verify")
def verify_cmd(
    path: Optional[Path] = typer.Argument(None, help="A package folder."),
    all_: bool = typer.Option(False, "--all", help="Every package in the store, and the ledger."),
    store: Optional[Path] = typer.Option(None, "--store", help="Evidence store (default: $SOXAUTO_HOME/evidence)."),
    key: Optional[Path] = typer.Option(None, "--key", help="Trust only this public key (PEM) instead of the store's keys."),
    reproduce: bool = typer.Option(False, "--reproduce", help="Re-run the recorded query and compare fingerprints."),
    lake: Optional[Path] = typer.Option(None, "--lake", help="Lake folder for --reproduce."),
    binding: Optional[Path] = typer.Option(None, "--binding", help="Binding file for --reproduce."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Recompute hashes, signature, fingerprints and chain; exit 0 when all is well, 5 otherwise."""
    if (path is None) == (not all_):
        raise UsageError("give a package folder or --all (not both)")
    if reproduce and (lake is None) == (binding is None):
        raise UsageError("--reproduce needs exactly one of --lake DIR or --binding FILE")
    if path is not None and not path.is_dir():
        raise UsageError(f"{path} is not a package folder")
    root = evidence_store(store) if all_ else None
    trusted = keys_mod.trusted_keys(root or _store_of(path), key)
    report: StoreReport | PackageReport = verify_store(root, trusted) if all_ else verify_path(path, trusted)
    if reproduce:
        report = _reproduce(report, lake, binding)
    anchors = _anchors(root) if all_ else []
    ok = report.ok and all(a.ok for a in anchors)
    if as_json:
        doc = report.to_dict()
        if all_:
            doc["anchors"] = [a.to_dict() for a in anchors]
        typer.echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        _print(report)
        for a in anchors:
            colour = "green" if a.ok else "red"
            Console().print(f"[{colour}]anchor {'ok' if a.ok else 'NOT VALID'}[/] ledger entry {a.ledger_seq} at {a.gen_time}: {a.detail}")
    raise typer.Exit(0 if ok else 5)


def _anchors(store: Path):
    from ..evidence.anchor import settings_from_env
    from ..evidence.publish import verify_anchors

    return verify_anchors(store, settings_from_env().trusted_tsa_cert())


@app.command("anchor")
def anchor_cmd(
    store: Optional[Path] = typer.Option(None, "--store", help="Evidence store (default: $SOXAUTO_HOME/evidence)."),
    tsa_url: Optional[str] = typer.Option(None, "--tsa-url", help="RFC 3161 time-stamp authority (default: $SOXAUTO_TSA_URL)."),
) -> None:
    """Timestamp the ledger head with an RFC 3161 TSA; the record goes to anchors.jsonl."""
    from ..evidence.anchor import settings_from_env
    from ..evidence.publish import anchor_head

    url = tsa_url or settings_from_env().tsa_url
    if not url:
        raise UsageError("no time-stamp authority: give --tsa-url or set SOXAUTO_TSA_URL")
    record = anchor_head(evidence_store(store), url)
    typer.echo(f"ledger entry {record['ledger_seq']} ({record['entry_sha256'][:16]}…) timestamped at "
               f"{record['gen_time']} by {record['tsa_subject']}")


@app.command("push")
def push_cmd(
    path: Optional[Path] = typer.Argument(None, help="A package folder."),
    all_: bool = typer.Option(False, "--all", help="Every current package of the store."),
    store: Optional[Path] = typer.Option(None, "--store", help="Evidence store (default: $SOXAUTO_HOME/evidence)."),
    mode: str = typer.Option("COMPLIANCE", "--mode", help="Object Lock mode: COMPLIANCE or GOVERNANCE."),
) -> None:
    """Copy packages to $SOXAUTO_EVIDENCE_S3_BUCKET with Object Lock retention."""
    from ..evidence.anchor import settings_from_env
    from ..evidence.publish import copy_to_s3
    from ..evidence.store import current_packages

    if (path is None) == (not all_):
        raise UsageError("give a package folder or --all (not both)")
    root = evidence_store(store)
    folders = current_packages(root) if all_ else [path]
    settings = settings_from_env()
    for folder in folders:
        objects = copy_to_s3(root, folder, settings, mode=mode)
        typer.echo(f"{folder.name}: {len(objects)} objects locked until {objects[0]['retain_until'] if objects else '-'}")


@app.command("zip")
def zip_cmd(
    path: Path = typer.Argument(..., help="A package folder."),
    out: Path = typer.Option(..., "--out", help="The zip file to write."),
) -> None:
    """A deterministic zip of one package (same content, same bytes), for download."""
    from ..evidence.archive import zip_package

    if not path.is_dir():
        raise UsageError(f"{path} is not a package folder")
    typer.echo(str(zip_package(path, out)))


def _store_of(path: Path) -> Path:
    from ..evidence.verify import find_store

    return find_store(path.resolve()) or path.resolve().parent


def _reproduce(report, lake, binding):
    from dataclasses import replace

    from ..engines import connect
    from ..evidence.reproduce import reproduce
    from ..lake.binding import lake_binding, load_binding

    with connect(load_binding(binding) if binding else lake_binding(lake)) as engine:
        def one(p: PackageReport) -> PackageReport:
            if (p.path / "manifest.json").is_file():
                return replace(p, reproduce=reproduce(p.path, engine).verdict)
            return replace(p, reproduce="not possible: no manifest")
        if isinstance(report, PackageReport):
            return one(report)
        return replace(report, packages=tuple(one(p) for p in report.packages))


def _print(report) -> None:
    console = Console()
    packages = [report] if isinstance(report, PackageReport) else list(report.packages)
    for p in packages:
        if p.ok and isinstance(report, StoreReport):  # a store: one line per valid package
            console.print(f"[green]valid[/] {p.evidence_id}  {p.path}" + (f"  ({p.note})" if p.note else ""))
            continue
        verdict = "[green]valid[/]" if p.ok else "[red]NOT VALID[/]"
        table = Table(title=f"{p.evidence_id or p.path.name}  {verdict}  ({p.path})", title_justify="left")
        table.add_column("file")
        table.add_column("role")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        for a in p.artifacts:
            table.add_row(a.path, a.role, f"[{COLOR.get(a.status.value, 'red')}]{a.status.value}[/]", a.detail)
        console.print(table)
        fps = ", ".join(f"{f}: {v}" for f, v in p.fingerprints) or "not computed"
        console.print(f"signature: {p.signature}; fingerprint {fps}; ledger: {p.ledger}"
                      + (f" ({p.note})" if p.note else "")
                      + (f"; reproduce: {p.reproduce}" if p.reproduce else ""))
        for problem in p.problems:
            console.print(f"[red]{problem}[/]")
    if isinstance(report, StoreReport):
        for problem in report.problems:
            console.print(f"[red]{problem}[/]")
        for note in report.ignored:
            console.print(f"[yellow]ignored {note}[/]")
        good = sum(p.ok for p in report.packages)
        console.print(f"{report.store}: {good}/{len(report.packages)} packages valid, {report.ledger_entries} ledger entries"
                      + ("" if report.ok else " — [red]integrity failure[/]"))


@keys_app.command("show")
def keys_show(
    store: Optional[Path] = typer.Option(None, "--store", help="Evidence store (default: $SOXAUTO_HOME/evidence)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The signing key in use: key id, public key, and where it came from (created on first use)."""
    signer = keys_mod.load_signer(evidence_store(store))
    info = {"key_id": signer.key_id, "public_key_pem": keys_mod.public_pem(signer.public).decode("ascii"),
            "source": signer.source}
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"key id: {info['key_id']}\nsource: {info['source']}\n{info['public_key_pem']}", nl=False)


@keys_app.command("export")
def keys_export(
    out: Path = typer.Option(..., "--out", help="File for the public key (PEM)."),
    store: Optional[Path] = typer.Option(None, "--store", help="Evidence store (default: $SOXAUTO_HOME/evidence)."),
) -> None:
    """Write the signing key's public half as PEM, for auditors and ``verify --key``."""
    signer = keys_mod.load_signer(evidence_store(store))
    out.write_bytes(keys_mod.public_pem(signer.public))
    typer.echo(f"{out}: public key {signer.key_id}")
