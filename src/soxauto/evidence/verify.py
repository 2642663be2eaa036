"""Verify evidence: every file hash, the signature, the data fingerprint and the ledger chain.

Results are frozen values built once (``PackageReport``, ``StoreReport``) and rendered by the
CLI as text or JSON. Each file of a package is ``ok``, ``altered``, ``missing`` or ``extra``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

import pyarrow as pa

from ..lake.contract import ARROW_TYPES
from . import ledger
from .canonical import canonical_bytes, sha256_hex
from .fingerprint import ALGORITHM, csv_fingerprint, parquet_fingerprint
from .keys import signature_ok
from .package import SEALS, file_sha256, sums_text
from .store import current_packages, history_packages, location, temp_folders


class Status(str, Enum):
    OK = "ok"
    ALTERED = "altered"
    MISSING = "missing"
    EXTRA = "extra"


@dataclass(frozen=True)
class ArtifactCheck:
    path: str
    role: str
    status: Status
    detail: str = ""


@dataclass(frozen=True)
class PackageReport:
    path: Path
    evidence_id: str | None
    manifest_sha256: str | None
    artifacts: tuple[ArtifactCheck, ...]
    signature: str  # ok, invalid, unknown key, missing
    fingerprints: tuple[tuple[str, str], ...]  # (file, match | differ | unreadable | unknown algorithm …)
    ledger: str = "unchecked"  # ok, or what is wrong with the package's place in the chain
    problems: tuple[str, ...] = ()
    reproduce: str | None = None

    @property
    def ok(self) -> bool:
        return (all(a.status is Status.OK for a in self.artifacts) and self.signature == "ok"
                and all(v == "match" for _, v in self.fingerprints) and bool(self.fingerprints)
                and self.ledger in ("ok", "unchecked") and not self.problems
                and self.reproduce in (None, "match"))

    def to_dict(self) -> dict:
        return {"path": str(self.path), "evidence_id": self.evidence_id, "ok": self.ok,
                "manifest_sha256": self.manifest_sha256, "signature": self.signature, "ledger": self.ledger,
                "artifacts": [{"path": a.path, "role": a.role, "status": a.status.value, "detail": a.detail} for a in self.artifacts],
                "fingerprints": dict(self.fingerprints), "reproduce": self.reproduce, "problems": list(self.problems)}


@dataclass(frozen=True)
class StoreReport:
    store: Path
    packages: tuple[PackageReport, ...]
    ledger_entries: int
    problems: tuple[str, ...] = ()
    ignored: tuple[str, ...] = field(default=())  # unfinished temporary folders: never packages

    @property
    def ok(self) -> bool:
        return not self.problems and all(p.ok for p in self.packages)

    def to_dict(self) -> dict:
        return {"store": str(self.store), "ok": self.ok, "ledger_entries": self.ledger_entries,
                "problems": list(self.problems), "ignored": list(self.ignored),
                "packages": [p.to_dict() for p in self.packages]}


def _read_sums(path: Path) -> dict[str, str] | None:
    try:
        out = {}
        for line in path.read_text("utf-8").splitlines():
            digest, sep, name = line.partition("  ")
            if not sep or len(digest) != 64:
                return None
            out[name] = digest
        return out
    except (OSError, UnicodeDecodeError):
        return None


def _manifest(folder: Path) -> tuple[bytes | None, dict | None, str]:
    path = folder / "manifest.json"
    if not path.is_file():
        return None, None, "missing"
    data = path.read_bytes()
    try:
        parsed = json.loads(data)
    except ValueError:
        return data, None, "does not parse as JSON"
    if not isinstance(parsed, dict) or canonical_bytes(parsed) != data:
        return data, parsed if isinstance(parsed, dict) else None, "not in canonical form"
    return data, parsed, ""


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def verify_package(folder: Path, keys: dict) -> PackageReport:
    """Check one package folder on its own (no ledger): files, seals, signature, fingerprints."""
    folder = Path(folder)
    data, manifest, why = _manifest(folder)
    sums = _read_sums(folder / "SHA256SUMS") if (folder / "SHA256SUMS").is_file() else None
    listed = {a["path"]: a for a in (manifest or {}).get("artifacts", []) if isinstance(a, dict) and "path" in a}
    if manifest is None and sums:  # fall back on SHA256SUMS to still name the other files
        listed = {n: {"path": n, "role": "?", "sha256": d, "size": None} for n, d in sums.items() if n not in SEALS}
    present = _files(folder)
    checks = [_artifact(folder, a, present) for a in listed.values()]
    sig_path = folder / "manifest.sig"
    signature = _signature(data, manifest, sig_path, keys)
    checks += _seals(folder, data, why, signature, sums, listed, sig_path)
    checks += [ArtifactCheck(p, "extra", Status.EXTRA, "not listed in the manifest")
               for p in sorted(present - set(listed) - set(SEALS))]
    fps = _fingerprints(folder, manifest) if manifest else ()
    checks.sort(key=lambda c: c.path)
    return PackageReport(folder, (manifest or {}).get("evidence_id"), sha256_hex(data) if data is not None else None,
                         tuple(checks), signature, fps)


def _artifact(folder: Path, a: dict, present: set[str]) -> ArtifactCheck:
    name, role = a["path"], a.get("role", "?")
    if name not in present:
        return ArtifactCheck(name, role, Status.MISSING)
    path = folder / name
    if file_sha256(path) != a.get("sha256") or (a.get("size") is not None and path.stat().st_size != a["size"]):
        return ArtifactCheck(name, role, Status.ALTERED, "SHA-256 differs from the manifest")
    return ArtifactCheck(name, role, Status.OK)


def _signature(data, manifest, sig_path: Path, keys: dict) -> str:
    if data is None or not sig_path.is_file():
        return "missing"
    key_id = (manifest or {}).get("key_id")
    if key_id not in keys:
        return "unknown key" if manifest else "invalid"
    return "ok" if signature_ok(keys[key_id], sig_path.read_bytes(), data) else "invalid"


def _seals(folder, data, why, signature, sums, listed, sig_path) -> list[ArtifactCheck]:
    """manifest.json, manifest.sig, SHA256SUMS. When the signature fails, SHA256SUMS (if it
    is intact) tells which of the two seals changed; if both still match it, the manifest was
    edited and the sums regenerated, and the manifest is the altered file."""
    out = []
    actual = {n: file_sha256(folder / n) for n in ("manifest.json", "manifest.sig") if (folder / n).is_file()}
    blamed = "manifest.json"
    if signature == "invalid" and sums and sig_path.is_file() and sums.get("manifest.sig") != actual.get("manifest.sig") \
            and sums.get("manifest.json") == actual.get("manifest.json"):
        blamed = "manifest.sig"
    for name, role in (("manifest.json", "manifest"), ("manifest.sig", "signature")):
        if name not in actual:
            out.append(ArtifactCheck(name, role, Status.MISSING))
        elif name == "manifest.json" and why:
            out.append(ArtifactCheck(name, role, Status.ALTERED, why))
        elif signature == "invalid" and name == blamed:
            out.append(ArtifactCheck(name, role, Status.ALTERED, "the signature does not verify"))
        else:
            out.append(ArtifactCheck(name, role, Status.OK))
    if sums is None:
        status = Status.MISSING if not (folder / "SHA256SUMS").is_file() else Status.ALTERED
        out.append(ArtifactCheck("SHA256SUMS", "checksums", status, "" if status is Status.MISSING else "not in sha256sum format"))
        return out
    expected = {n: a.get("sha256") for n, a in listed.items()}
    seals_trusted = signature == "ok" and not why
    if seals_trusted:
        expected.update(actual)
    names_ok = set(sums) == set(listed) | {"manifest.json", "manifest.sig"}
    hashes_ok = all(sums.get(n) == d for n, d in expected.items())
    text_ok = not seals_trusted or (folder / "SHA256SUMS").read_bytes() == sums_text(sorted(expected.items()))
    good = names_ok and hashes_ok and text_ok
    out.append(ArtifactCheck("SHA256SUMS", "checksums", Status.OK if good else Status.ALTERED,
                             "" if good else "does not match the manifest"))
    return out


def manifest_schema(manifest: dict) -> pa.Schema:
    return pa.schema([pa.field(c["name"], ARROW_TYPES[c["type"]]) for c in manifest["columns"]])


def _fingerprints(folder: Path, manifest: dict) -> tuple[tuple[str, str], ...]:
    recorded = manifest.get("fingerprint") if isinstance(manifest.get("fingerprint"), dict) else {}
    want, algorithm = recorded.get("value"), recorded.get("algorithm")
    if algorithm != ALGORITHM:
        # Only the current definition is implemented; a package sealed with another cannot be
        # checked here and is never reported as valid.
        return (("data.parquet", f"unknown algorithm {algorithm!r} (this SOXauto computes {ALGORITHM})"),)
    out = []
    for name in ("data.parquet", "data.csv"):
        path = folder / name
        listed = any(a.get("path") == name for a in manifest.get("artifacts", []))
        if not path.is_file():
            if listed or name == "data.parquet":
                out.append((name, "unreadable"))
            continue
        try:
            got = parquet_fingerprint(path) if name == "data.parquet" else csv_fingerprint(path, manifest_schema(manifest))
        except (pa.ArrowException, KeyError, TypeError, OSError):
            out.append((name, "unreadable"))
            continue
        out.append((name, "match" if got == want else "differ"))
    return tuple(out)


def find_store(folder: Path) -> Path | None:
    """The store a package folder belongs to: its parent, or three up for a history copy."""
    for candidate in (folder.parent, folder.parent.parent.parent):
        if (candidate / ledger.LEDGER).is_file():
            return candidate
    return None


def _place(report: PackageReport, manifest: dict | None, entry, entries: tuple, latest) -> PackageReport:
    """The package's standing in the ledger: committed, in the right place, chained."""
    if entry is None:
        return replace(report, ledger="not in the ledger (never committed, or edited)")
    if report.manifest_sha256 != entry.manifest_sha256:
        return replace(report, ledger=f"ledger entry {entry.seq} committed manifest {entry.manifest_sha256[:12]}…, "
                                       f"this one is {str(report.manifest_sha256)[:12]}… (replaced or altered)")
    idx = entry.seq - 2  # the entry before, when the chain is sound (a broken one is reported apart)
    previous = entries[idx].manifest_sha256 if 0 <= idx < len(entries) else None
    if manifest is not None and manifest.get("previous_manifest_sha256") != previous:
        return replace(report, ledger="previous_manifest_sha256 does not match the ledger's previous entry")
    return replace(report, ledger="ok")


def verify_path(folder: Path, keys: dict) -> PackageReport:
    report = verify_package(folder, keys)
    store = find_store(Path(folder).resolve())
    if store is None:
        return replace(report, ledger="no ledger found beside the package")
    read = ledger.read(store)
    _, manifest, _ = _manifest(folder)
    by_hash = {e.manifest_sha256: e for e in read.entries}
    entry = by_hash.get(report.manifest_sha256)
    latest = read.latest().get(report.evidence_id or "")
    in_place = Path(folder).resolve().parent == store.resolve()
    if entry is None and in_place and latest is not None:
        entry = latest  # explains the mismatch: the ledger expects another manifest here
    report = _place(report, manifest, entry, read.entries, latest)
    if report.ledger == "ok" and in_place and latest is not None and latest.seq != entry.seq:
        report = replace(report, ledger=f"an older package: the ledger's latest {report.evidence_id} is entry {latest.seq}")
    problems = read.problems + (("the ledger ends with an unfinished line",) if read.torn_tail else ())
    return replace(report, problems=report.problems + problems)


def verify_store(store: Path, keys: dict) -> StoreReport:
    read = ledger.read(store)
    latest = read.latest()
    problems = list(read.problems)
    if read.torn_tail:
        problems.append("the ledger ends with an unfinished line (a commit cut short; the next write removes it)")
    reports, claimed = [], set()
    for entry in read.entries:
        where = location(store, entry, latest.get(entry.evidence_id))
        claimed.add(where.resolve())
        if not where.is_dir():
            problems.append(f"ledger entry {entry.seq} ({entry.evidence_id}): package missing at {where}")
            continue
        report = verify_package(where, keys)
        _, manifest, _ = _manifest(where)
        reports.append(_place(report, manifest, entry, read.entries, latest))
    for folder in current_packages(store) + history_packages(store):
        if folder.resolve() not in claimed:
            reports.append(replace(verify_package(folder, keys), ledger="not in the ledger (never committed, or foreign)"))
    ignored = tuple(f"{t.name}: unfinished write, not a package" for t in temp_folders(store))
    return StoreReport(store, tuple(reports), len(read.entries), tuple(problems), ignored)
