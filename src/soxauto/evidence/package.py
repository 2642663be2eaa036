"""Write one evidence package: artifacts into a temporary folder, then seal and commit.

Order of work (the reason for each step is crash safety, docs/evidence.md):
1. every artifact is written into ``<store>/.tmp-{NAME}-{RUN}/`` and fsynced;
2. under the store lock: roll back any interrupted commit, read the ledger head, write
   ``manifest.json`` (canonical bytes, naming the head's manifest as previous),
   ``manifest.sig`` and ``SHA256SUMS``, fsync them and the folder;
3. move the earlier package of the same name, if any, to ``history/{NAME}/{SEQ}/``;
4. rename the temporary folder into place and fsync the store folder;
5. append the ledger entry (fsynced) — the commit point — and release the lock.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ..errors import IntegrityError, UsageError
from ..extract import ExtractResult
from ..validation import ValidationResult
from . import ledger
from .canonical import canonical_bytes, sha256_hex, utc_now, utc_text
from .facts import RunLog, context, profile
from .fingerprint import ALGORITHM, fingerprint
from .keys import Signer, load_signer
from .store import NAME, TEMP_PREFIX, fsync_dir, fsync_file, history_path, manifest_hash, recover, writing

FORMAT = "soxauto-evidence/1"
CSV_MAX_ROWS = 100_000
SEALS = ("manifest.json", "manifest.sig", "SHA256SUMS")  # not listed in the manifest itself
ROLES = {
    "query.sql": "executed_sql", "query.canonical.sql": "canonical_sql", "parameters.json": "parameters",
    "data.parquet": "data", "data.csv": "data_csv", "profile.json": "profile", "tests.json": "tests",
    "context.json": "context", "log.jsonl": "log", "index.html": "index",
}


@dataclass(frozen=True)
class Written:
    path: Path
    evidence_id: str
    run_id: str
    seq: int
    manifest_sha256: str
    fingerprint: str
    recovered: tuple[str, ...]


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_package(store: Path, result: ExtractResult, tests: ValidationResult, *, signer: Signer | None = None,
                  log: RunLog | None = None, csv_max_rows: int = CSV_MAX_ROWS, run_id: str | None = None) -> Written:
    name = result.name
    if not NAME.fullmatch(name):
        raise UsageError(f"'{name}' cannot name an evidence package; company ids are letters, digits, '_' and '-'")
    store.mkdir(parents=True, exist_ok=True)
    signer = signer or load_signer(store)
    run_id = run_id or str(uuid.uuid4())
    log = log or RunLog()
    tmp = store / f"{TEMP_PREFIX}{name}-{run_id}"
    tmp.mkdir()
    with writing(tmp):
        body = _artifacts(tmp, result, tests, log, csv_max_rows)
        return _commit(store, tmp, name, run_id, body, signer)


def _artifacts(tmp: Path, result: ExtractResult, tests: ValidationResult, log: RunLog, csv_max_rows: int) -> dict:
    """Write every artifact but the seals; return the manifest's body (without chain fields)."""
    item, query, table = result.item, result.query, result.table
    log.step("evidence.start", rows=result.row_count)
    _write(tmp / "query.sql", query.sql.encode("utf-8"))
    _write(tmp / "query.canonical.sql", (item.sql or "").encode("utf-8"))
    types = {"cutoff": "date", "as_of": "date", "period_start": "date", "year_start": "date", "company_id": "id",
             **{p.name: p.type for p in item.parameters}}
    _write(tmp / "parameters.json", canonical_bytes({
        "parameters": dict(result.parameters), "types": {k: types.get(k, "id") for k in result.parameters},
        "driver": query.parameters if isinstance(query.parameters, dict) else list(query.parameters)}))
    pq.write_table(table, tmp / "data.parquet", compression="zstd")
    fsync_file(tmp / "data.parquet")
    if table.num_rows <= csv_max_rows:
        pcsv.write_csv(table, tmp / "data.csv")
        fsync_file(tmp / "data.csv")
    log.step("evidence.data_written", csv=table.num_rows <= csv_max_rows)
    totals = result.control_totals
    digest = fingerprint(table)
    log.step("evidence.fingerprint", algorithm=ALGORITHM, value=digest)
    _write(tmp / "profile.json", canonical_bytes(profile(table, item.output, totals)))
    _write(tmp / "tests.json", canonical_bytes(tests.to_dict()))
    _write(tmp / "context.json", canonical_bytes(context(query)))
    log.step("evidence.artifacts_written")
    _write(tmp / "log.jsonl", log.bytes())
    body = {
        "format": FORMAT,
        "evidence_id": result.name,
        "item": {"id": item.id, "version": item.version, "title": item.title, "kind": item.kind,
                 "control": item.control, "query_sha256": item.query_sha256},
        "period": str(result.period),
        "entity": result.company_id,
        "engine": {"name": query.engine, "version": query.engine_version, "execution_id": query.execution_id},
        "executed_sql_sha256": sha256_hex(query.sql.encode("utf-8")),
        "columns": [{"name": c.name, "type": c.type} for c in item.output],
        "row_count": result.row_count,
        "control_totals": totals,
        "fingerprint": {"algorithm": ALGORITHM, "value": digest},
        "tests": tests.to_dict()["summary"] | {"exit_code": tests.exit_code},
    }
    from .html import index_html

    arts = _listing(tmp)
    page = index_html(body, arts, tests).encode("utf-8")
    _write(tmp / "index.html", page)
    arts.append({"path": "index.html", "role": ROLES["index.html"], "sha256": sha256_hex(page), "size": len(page)})
    body["artifacts"] = sorted(arts, key=lambda a: a["path"])
    return body


def _listing(folder: Path) -> list[dict]:
    return [{"path": p.name, "role": ROLES.get(p.name, "other"), "sha256": file_sha256(p), "size": p.stat().st_size}
            for p in sorted(folder.iterdir()) if p.name not in SEALS]


def sums_text(entries: list[tuple[str, str]]) -> bytes:
    """``sha256sum`` format: hex digest, two spaces (text mode), file name, newline."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(entries)).encode("utf-8")


def _commit(store: Path, tmp: Path, name: str, run_id: str, body: dict, signer: Signer) -> Written:
    with ledger.locked(store):
        recovered = tuple(recover(store))
        read = ledger.read(store)
        if read.problems:
            raise IntegrityError("the evidence ledger is damaged; nothing was committed", [])
        head = read.head
        manifest = body | {
            "run_id": run_id, "created_at": utc_text(utc_now()), "key_id": signer.key_id,
            "previous_manifest_sha256": head.manifest_sha256 if head else None,
            "supersedes_manifest_sha256": read.latest()[name].manifest_sha256 if name in read.latest() else None,
        }
        data = canonical_bytes(manifest)
        _write(tmp / "manifest.json", data)
        signature = signer.sign(data)
        _write(tmp / "manifest.sig", signature)
        sums = [(a["path"], a["sha256"]) for a in manifest["artifacts"]]
        sums += [("manifest.json", sha256_hex(data)), ("manifest.sig", sha256_hex(signature))]
        _write(tmp / "SHA256SUMS", sums_text(sums))
        fsync_dir(tmp)
        target = store / name
        if target.exists():
            _supersede(store, target, read)
        os.replace(tmp, target)
        fsync_dir(store)
        entry = ledger.append(store, name, sha256_hex(data), run_id)
    return Written(target, name, run_id, entry.seq, entry.manifest_sha256, manifest["fingerprint"]["value"], recovered)


def _supersede(store: Path, target: Path, read: ledger.LedgerRead) -> None:
    """Keep the earlier package under history, named by the ledger entry that committed it."""
    entry = read.latest().get(target.name)
    if entry is None or manifest_hash(target) != entry.manifest_sha256:
        # Not the committed package (edited or foreign): keep it aside for the auditor.
        dest = store / "history" / target.name / f"unledgered-{utc_now().strftime('%Y%m%dT%H%M%S%fZ')}"
    else:
        dest = history_path(store, target.name, entry.seq)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(target, dest)
    fsync_dir(dest.parent)
