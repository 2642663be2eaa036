"""Verify evidence: every file hash, the signature, the data fingerprint, the package's place in
the store and the ledger, and the ledger's chain and signatures.

Results are frozen values built once (``PackageReport``, ``StoreReport``) and rendered by the
CLI as text or JSON. Each file of a package is ``ok``, ``altered``, ``missing``, ``extra`` or
``refused`` (not a regular file: a symbolic link, FIFO, device or folder, never read). Files are
read through ``folder``: never through a link, never past the size the manifest declares plus
one byte. A data file is hashed in chunks as it is read, and its fingerprint is read again
through the same open descriptor, so a large extract is never held in memory as bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Callable

import pyarrow as pa

from ..lake.contract import ARROW_TYPES
from . import folder as folder_mod
from . import ledger
from .canonical import canonical_bytes, sha256_hex
from .fingerprint import ALGORITHM, csv_fingerprint, parquet_fingerprint
from .folder import MANIFEST_MAX, SIGNATURE_SIZE, SUMS_MAX
from .keys import signature_ok
from .package import SEALS, sums_text
from .store import HISTORY, current_packages, history_packages, location, temp_folders

DATA_FILES = ("data.parquet", "data.csv")


class Status(str, Enum):
    OK = "ok"
    ALTERED = "altered"
    MISSING = "missing"
    EXTRA = "extra"
    REFUSED = "refused"  # not a regular file: never read


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
    note: str = ""  # said of a valid package, e.g. that it is an earlier one kept under history

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
                "fingerprints": dict(self.fingerprints), "reproduce": self.reproduce, "problems": list(self.problems),
                "note": self.note}


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


@dataclass(frozen=True)
class _File:
    """One file of a package as read: its bytes (at most the bound plus one), or why not."""

    data: bytes | None
    status: Status = Status.OK  # MISSING or REFUSED when there are no bytes
    detail: str = ""


def _refused(path: Path, what: str) -> str:
    """The detail of an entry the listing found not to be a regular file (never opened)."""
    return folder_mod.Refused(path, folder_mod.describe(path, what)).detail


def _open(folder: Path, kinds: dict[str, str], name: str, limit: int | None) -> _File:
    what = kinds.get(name)
    if what is None:
        return _File(None, Status.MISSING)
    if what != "file":
        return _File(None, Status.REFUSED, _refused(folder / name, what))
    try:
        return _File(folder_mod.read_file(folder / name, limit))
    except folder_mod.Refused as e:  # swapped after the listing
        return _File(None, Status.REFUSED, e.detail)
    except FileNotFoundError:
        return _File(None, Status.MISSING)


def _parse_sums(data: bytes) -> dict[str, str] | None:
    try:
        out = {}
        for line in data.decode("utf-8").splitlines():
            digest, sep, name = line.partition("  ")
            if not sep or len(digest) != 64:
                return None
            out[name] = digest
        return out
    except UnicodeDecodeError:
        return None


def _manifest(read: _File) -> tuple[dict | None, str]:
    """The parsed manifest, and what is wrong with its bytes (empty when nothing is)."""
    data = read.data
    if data is None:
        return None, read.detail or read.status.value
    if len(data) > MANIFEST_MAX:
        return None, f"larger than {MANIFEST_MAX} bytes; not read further"
    try:
        parsed = json.loads(data)
    except ValueError:
        return None, "does not parse as JSON"
    if not isinstance(parsed, dict) or canonical_bytes(parsed) != data:
        return parsed if isinstance(parsed, dict) else None, "not in canonical form"
    return parsed, ""


def _declared_size(a: dict) -> int | None:
    size = a.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def verify_package(folder: Path, keys: dict) -> PackageReport:
    """Check one package folder on its own (no ledger): files, seals, signature, fingerprints."""
    return _inspect(Path(folder), keys)[0]


def _inspect(folder: Path, keys: dict) -> tuple[PackageReport, dict | None]:
    """``verify_package``, and the manifest it read (the place checks need it)."""
    kinds = folder_mod.entries(folder)
    seals = {"manifest.json": _open(folder, kinds, "manifest.json", MANIFEST_MAX),
             "manifest.sig": _open(folder, kinds, "manifest.sig", SIGNATURE_SIZE),
             "SHA256SUMS": _open(folder, kinds, "SHA256SUMS", SUMS_MAX)}
    data = seals["manifest.json"].data
    manifest, why = _manifest(seals["manifest.json"])
    raw_sums = seals["SHA256SUMS"].data
    sums = _parse_sums(raw_sums) if raw_sums is not None and len(raw_sums) <= SUMS_MAX else None
    listed = {a["path"]: a for a in (manifest or {}).get("artifacts", [])
              if isinstance(a, dict) and isinstance(a.get("path"), str)}
    sized = manifest is not None  # without a manifest, files are read to their end to name the intact ones
    if manifest is None and sums:  # fall back on SHA256SUMS to still name the other files
        listed = {n: {"path": n, "role": "?", "sha256": d} for n, d in sums.items() if n not in SEALS}
    fingerprint = _fingerprinter(manifest)
    verdicts: dict[str, str | None] = {}  # each data file's fingerprint verdict, or why it was not read
    checks = []
    for a in listed.values():
        check, verdicts[a["path"]] = _artifact(folder, kinds, a, sized, fingerprint)
        checks.append(check)
    signature = _signature(data, manifest, seals["manifest.sig"].data, keys)
    checks += _seals(seals, why, signature, sums, listed)
    for name in sorted(set(kinds) - set(listed) - set(SEALS)):
        if kinds[name] == "file":
            checks.append(ArtifactCheck(name, "extra", Status.EXTRA, "not listed in the manifest"))
        else:
            refused = _open(folder, kinds, name, None)  # not a file: refused without opening it
            checks.append(ArtifactCheck(name, "extra", Status.REFUSED, f"{refused.detail}; not listed in the manifest"))
    fps = _fingerprints(manifest, verdicts) if manifest else ()
    checks.sort(key=lambda c: c.path)
    problems = (f"{folder} is a symbolic link: a package is verified in its own folder, not through a link",) \
        if folder.is_symlink() else ()
    report = PackageReport(folder, (manifest or {}).get("evidence_id"), sha256_hex(data) if data is not None else None,
                           tuple(checks), signature, fps, problems=problems)
    return report, manifest


def _artifact(folder: Path, kinds: dict[str, str], a: dict, sized: bool,
              fingerprint: Callable[[str, object], str] | None) -> tuple[ArtifactCheck, str | None]:
    """One listed file, read no further than its declared size plus one byte (``sized``: the
    manifest declares sizes, and one without a size is not read); and, for a data file, its
    fingerprint verdict (None when there is no fingerprint to check)."""
    name, role = a["path"], a.get("role", "?")
    size = _declared_size(a)
    if sized and size is None and name in kinds:
        return ArtifactCheck(name, role, Status.ALTERED, "the manifest declares no size for it; not read"), "unreadable"
    what = kinds.get(name)
    if what is None:
        return ArtifactCheck(name, role, Status.MISSING), "unreadable"
    if what != "file":
        return ArtifactCheck(name, role, Status.REFUSED, _refused(folder / name, what)), "refused"
    verdict = None
    try:
        with folder_mod.opened(folder / name) as f:
            digest, length = hashlib.sha256(), 0
            for chunk in f.chunks(size):
                digest.update(chunk)
                length += len(chunk)
            if size is not None and length > size:
                larger = folder_mod.Larger(folder / name, size, declared=True)
                return ArtifactCheck(name, role, Status.ALTERED, larger.detail), "not read: larger than declared"
            if fingerprint is not None and name in DATA_FILES:
                verdict = fingerprint(name, f.view(length))  # the bytes just hashed, through the same descriptor
    except folder_mod.Refused as e:  # swapped after the listing
        return ArtifactCheck(name, role, Status.REFUSED, e.detail), "refused"
    except FileNotFoundError:
        return ArtifactCheck(name, role, Status.MISSING), "unreadable"
    if digest.hexdigest() != a.get("sha256") or (size is not None and length != size):
        return ArtifactCheck(name, role, Status.ALTERED, "SHA-256 differs from the manifest"), verdict
    return ArtifactCheck(name, role, Status.OK), verdict


def _signature(data: bytes | None, manifest: dict | None, sig: bytes | None, keys: dict) -> str:
    if data is None or sig is None:
        return "missing"
    key_id = (manifest or {}).get("key_id")
    if not isinstance(key_id, str) or key_id not in keys:
        return "unknown key" if manifest else "invalid"
    return "ok" if signature_ok(keys[key_id], sig, data) else "invalid"


def _seals(seals: dict[str, _File], why: str, signature: str, sums, listed) -> list[ArtifactCheck]:
    """manifest.json, manifest.sig, SHA256SUMS. When the signature fails, SHA256SUMS (if it
    is intact) tells which of the two seals changed; if both still match it, the manifest was
    edited and the sums regenerated, and the manifest is the altered file."""
    out = []
    actual = {n: sha256_hex(seals[n].data) for n in ("manifest.json", "manifest.sig") if seals[n].data is not None}
    blamed = "manifest.json"
    if signature == "invalid" and sums and "manifest.sig" in actual and sums.get("manifest.sig") != actual["manifest.sig"] \
            and sums.get("manifest.json") == actual.get("manifest.json"):
        blamed = "manifest.sig"
    for name, role in (("manifest.json", "manifest"), ("manifest.sig", "signature")):
        if name not in actual:
            out.append(ArtifactCheck(name, role, seals[name].status, seals[name].detail))
        elif name == "manifest.json" and why:
            out.append(ArtifactCheck(name, role, Status.ALTERED, why))
        elif signature == "invalid" and name == blamed:
            out.append(ArtifactCheck(name, role, Status.ALTERED, "the signature does not verify"))
        else:
            out.append(ArtifactCheck(name, role, Status.OK))
    raw = seals["SHA256SUMS"]
    if raw.data is None:
        out.append(ArtifactCheck("SHA256SUMS", "checksums", raw.status, raw.detail))
        return out
    if sums is None:
        too_big = len(raw.data) > SUMS_MAX
        out.append(ArtifactCheck("SHA256SUMS", "checksums", Status.ALTERED,
                                 f"larger than {SUMS_MAX} bytes; not read further" if too_big else "not in sha256sum format"))
        return out
    expected = {n: a.get("sha256") for n, a in listed.items()}
    seals_trusted = signature == "ok" and not why
    if seals_trusted:
        expected.update(actual)
    names_ok = set(sums) == set(listed) | {"manifest.json", "manifest.sig"}
    hashes_ok = all(sums.get(n) == d for n, d in expected.items())
    text_ok = not seals_trusted or raw.data == sums_text(sorted(expected.items()))
    good = names_ok and hashes_ok and text_ok
    out.append(ArtifactCheck("SHA256SUMS", "checksums", Status.OK if good else Status.ALTERED,
                             "" if good else "does not match the manifest"))
    return out


def manifest_schema(manifest: dict) -> pa.Schema:
    return pa.schema([pa.field(c["name"], ARROW_TYPES[c["type"]]) for c in manifest["columns"]])


def _fingerprinter(manifest: dict | None) -> Callable[[str, object], str] | None:
    """What checks a data file's fingerprint, read from a file object, against the manifest's;
    None without a manifest or with an algorithm this SOXauto does not compute."""
    recorded = (manifest or {}).get("fingerprint")
    recorded = recorded if isinstance(recorded, dict) else {}
    if manifest is None or recorded.get("algorithm") != ALGORITHM:
        return None
    want = recorded.get("value")

    def check(name: str, source) -> str:
        try:
            source = pa.PythonFile(source, mode="r")
            got = parquet_fingerprint(source) if name == "data.parquet" else csv_fingerprint(source, manifest_schema(manifest))
        except (pa.ArrowException, KeyError, TypeError, OSError):
            return "unreadable"
        return "match" if got == want else "differ"
    return check


def _fingerprints(manifest: dict, verdicts: dict[str, str | None]) -> tuple[tuple[str, str], ...]:
    recorded = manifest.get("fingerprint") if isinstance(manifest.get("fingerprint"), dict) else {}
    algorithm = recorded.get("algorithm")
    if algorithm != ALGORITHM:
        # Only the current definition is implemented; a package sealed with another cannot be
        # checked here and is never reported as valid.
        return (("data.parquet", f"unknown algorithm {algorithm!r} (this SOXauto computes {ALGORITHM})"),)
    out = []
    for name in DATA_FILES:
        if name in verdicts:  # listed: its verdict, or why it was not read
            out.append((name, verdicts[name] or "unreadable"))
        elif name == "data.parquet":  # the full extract must be there; the CSV is optional
            out.append((name, "unreadable"))
    return tuple(out)


def find_store(folder: Path) -> Path | None:
    """The store a package folder belongs to: its parent, or three up for a history copy."""
    for candidate in (folder.parent, folder.parent.parent.parent):
        if (candidate / ledger.LEDGER).is_file():
            return candidate
    return None


def _identity(folder: Path, store: Path, manifest: dict | None) -> str:
    """What is wrong with the package's name: the manifest's evidence id must be made of its
    item, entity and period, and be the folder's name (in place) or its parent's (history)."""
    if manifest is None:
        return ""  # the manifest's own check already fails
    evidence_id = manifest.get("evidence_id")
    item = manifest.get("item") if isinstance(manifest.get("item"), dict) else {}
    expected = f"{item.get('id')}_{manifest.get('entity')}_{str(manifest.get('period')).replace('-', '')}"
    if evidence_id != expected:
        return (f"the manifest's evidence_id {evidence_id!r} is not made of its item {item.get('id')!r}, entity "
                f"{manifest.get('entity')!r} and period {manifest.get('period')!r} ({expected!r})")
    if folder.parent == store:
        name = folder.name
    elif folder.parent.parent == store / HISTORY:
        name = folder.parent.name
    else:
        return f"{folder} is neither a package folder of the store {store} nor one under its {HISTORY}/"
    if name != evidence_id:
        return f"folder {name} holds package {evidence_id}; a package is valid only in its own folder"
    return ""


def _entry_for(folder: Path, store: Path, read: ledger.LedgerRead) -> ledger.Entry | None:
    """The entry whose package belongs at ``folder``: the latest of its name in place, the one
    of its sequence number under history."""
    latest = read.latest()
    if folder.parent == store:
        return latest.get(folder.name)
    if folder.parent.parent == store / HISTORY and folder.name.isdigit():
        entry = next((e for e in read.entries if e.seq == int(folder.name)), None)
        if entry is not None and location(store, entry, latest.get(entry.evidence_id)) == folder:
            return entry
    return None


def _standing(folder: Path, store: Path, report: PackageReport, manifest: dict | None,
              read: ledger.LedgerRead, here: ledger.Entry | None) -> tuple[str, str]:
    """The package's standing: ("ok", a note) or what is wrong. ``here`` is the ledger entry
    whose package belongs at ``folder`` (None: no entry's does)."""
    wrong = _identity(folder, store, manifest)
    if wrong:
        return wrong, ""
    digest = report.manifest_sha256
    committed = next((e for e in read.entries if e.manifest_sha256 == digest), None) if digest else None
    latest = read.latest()
    if here is None:
        if committed is None:
            return "not in the ledger (never committed, or edited)", ""
        belongs = location(store, committed, latest.get(committed.evidence_id)).relative_to(store).as_posix()
        return (f"this manifest is ledger entry {committed.seq}'s ({committed.evidence_id}), "
                f"whose package belongs at {belongs}"), ""
    if digest != here.manifest_sha256:
        how = ("replaced or altered" if committed is None else
               f"an older package put back: ledger entry {committed.seq}'s" if committed.evidence_id == here.evidence_id
               else f"ledger entry {committed.seq}'s, the package of {committed.evidence_id}")
        return (f"ledger entry {here.seq} committed manifest {here.manifest_sha256[:12]}…, "
                f"this one is {str(digest)[:12]}… ({how})"), ""
    idx = here.seq - 2  # the entry before, when the chain is sound (a broken one is reported apart)
    previous = read.entries[idx].manifest_sha256 if 0 <= idx < len(read.entries) else None
    if manifest is not None and manifest.get("previous_manifest_sha256") != previous:
        return "previous_manifest_sha256 does not match the ledger's previous entry", ""
    newest = latest[here.evidence_id]
    if newest.seq != here.seq:
        return "ok", f"an earlier package of {here.evidence_id}: ledger entry {here.seq}; the latest is entry {newest.seq}"
    return "ok", ""


def _ledger_problems(read: ledger.LedgerRead, keys: dict, store: Path, seqs=None) -> tuple[str, ...]:
    torn = ("the ledger ends with an unfinished line (a commit cut short; the next write removes it)",) \
        if read.torn_tail else ()
    return read.problems + torn + tuple(ledger.signature_problems(read, keys, store / ledger.LEDGER, seqs))


def verify_path(folder: Path, keys: dict) -> PackageReport:
    """One package, and its place: its folder, its manifest and the ledger must agree. Of the
    ledger, the chain is checked whole and the signatures of its last entry and of this
    package's entry: through the chain, the last signature covers every entry before it."""
    report, manifest = _inspect(Path(folder), keys)
    where = Path(folder).resolve()
    store = find_store(where)
    if store is None:
        return replace(report, ledger="no ledger found beside the package")
    read = ledger.read(store)
    here = _entry_for(where, store, read)
    verdict, note = _standing(where, store, report, manifest, read, here)
    seqs = {e.seq for e in (read.head, here) if e is not None}
    return replace(report, ledger=verdict, note=note, problems=report.problems + _ledger_problems(read, keys, store, seqs))


def verify_store(store: Path, keys: dict) -> StoreReport:
    """Every package the ledger committed, where it must be; every package folder the ledger
    does not claim; the chain and every entry's signature."""
    read = ledger.read(store)
    latest = read.latest()
    problems = list(_ledger_problems(read, keys, store))
    reports, claimed = [], set()
    for entry in read.entries:
        where = location(store, entry, latest.get(entry.evidence_id))
        claimed.add(where)
        if not where.is_dir() or where.is_symlink():
            problems.append(f"ledger entry {entry.seq} ({entry.evidence_id}): package missing at {where}"
                            + (" (a symbolic link stands there)" if where.is_symlink() else ""))
            continue
        report, manifest = _inspect(where, keys)
        verdict, note = _standing(where, store, report, manifest, read, entry)
        reports.append(replace(report, ledger=verdict, note=note))
    for folder in current_packages(store) + history_packages(store):
        if folder not in claimed:
            reports.append(replace(verify_package(folder, keys), ledger="not in the ledger (never committed, or foreign)"))
    ignored = tuple(f"{t.name}: unfinished write, not a package" for t in temp_folders(store))
    return StoreReport(store, tuple(reports), len(read.entries), tuple(problems), ignored)
