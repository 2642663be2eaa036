"""Write one evidence package: artifacts into a temporary folder, then seal and commit.

Two stages, so the extract's Parquet is written once, as the package's ``data.parquet``:

    with begin_package(store, result) as draft:   # the extraction: writes data.parquet
        tests = validate(...)
        written = draft.seal(tests)                # the evidence: everything else, then commit

Order of work (the reason for each step is crash safety, docs/evidence.md):
1. every artifact is written into ``<store>/.tmp-{NAME}-{RUN}/``, hashed from the bytes in
   memory (never read back), and its fsync queued on a worker thread;
2. under the store lock: roll back any interrupted commit, read the ledger head, write
   ``manifest.json`` (canonical bytes, naming the head's manifest as previous),
   ``manifest.sig`` and ``SHA256SUMS``; wait until every file and the folder are fsynced;
3. move the earlier package of the same name, if any, to ``history/{NAME}/{SEQ}/``;
4. rename the temporary folder into place and fsync the store folder;
5. append the ledger entry (fsynced) — the commit point — and release the lock.

The file fsyncs are independent of each other and all finish before step 3, so they run at
once (the file system groups them into few journal commits: about five times faster than one
after another here); the folder renames and the ledger append stay strictly in order.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ..catalog.model import STANDARD_TYPES
from ..errors import UsageError
from ..extract import ExtractResult
from ..validation import ValidationResult
from . import ledger
from .canonical import canonical_bytes, sha256_hex, utc_now, utc_text
from .facts import RunLog, context, parquet_bounds, profile
from .fingerprint import ALGORITHM, fingerprint
from .keys import Signer, load_signer
from .store import NAME, TEMP_PREFIX, appended, fsync_dir, history_path, manifest_hash, recover_and_read, writing

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
    # Seconds per part of the work (parts run in parallel threads overlap), for the bench.
    timings: Mapping[str, float] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def sums_text(entries: list[tuple[str, str]]) -> bytes:
    """``sha256sum`` format: hex digest, two spaces (text mode), file name, newline."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(entries)).encode("utf-8")


class _Clock:
    """Seconds per part of the work, for the bench. Parts entered with ``part`` (main thread
    only) are exclusive: time in a nested part is not counted in the outer one, so they add up
    to the wall time. ``busy`` adds time spent in other threads (it overlaps the parts)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[str] = []
        self._since = 0.0

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        self._charge()
        self._stack.append(name)
        try:
            yield
        finally:
            self._charge()
            self._stack.pop()

    def _charge(self) -> None:
        now = time.perf_counter()
        if self._stack:
            self.busy(self._stack[-1], now - self._since)
        self._since = now

    def busy(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    """This process's worker threads (fsyncs, data.csv). Made per process id: a forked child
    inherits the pool object but not its threads."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=8, thread_name_prefix="evidence"))
    return _POOL[1]


class _Files:
    """Files of the temporary folder: written once, hashed from memory, fsynced by worker threads."""

    def __init__(self, folder: Path, clock: _Clock) -> None:
        self.folder, self.clock = folder, clock
        self.listed: dict[str, dict] = {}
        self._pending: list = []  # fsyncs under way
        self._later: list = []  # files being written by worker threads

    def put(self, name: str, data) -> str:
        """Write ``data`` as ``name``, hash it from memory and queue its fsync."""
        with self.clock.part("sha256"):
            digest = hashlib.sha256(data).hexdigest()
        with self.clock.part("write"):
            fd, size = _write_new(self.folder / name, data)
        self._add(name, fd, digest, size)
        return digest

    def put_later(self, name: str, task) -> None:
        """``task()`` -> (fd, digest, size) runs on a worker thread (it writes or opens the
        file and hashes the bytes); ``collect`` waits for it and lists the file."""
        self._later.append((name, _pool().submit(task)))

    def collect(self) -> None:
        later, self._later = self._later, []
        with self.clock.part("worker_wait"):
            done = [(name, future.result()) for name, future in later]
        for name, (fd, digest, size) in done:
            self._add(name, fd, digest, size)

    def _add(self, name: str, fd: int, digest: str, size: int) -> None:
        self._pending.append(_pool().submit(self._sync, fd))
        if name not in SEALS:
            self.listed[name] = {"path": name, "role": ROLES.get(name, "other"), "sha256": digest, "size": size}

    @staticmethod
    def _sync(fd: int) -> float:
        t0 = time.perf_counter()
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return time.perf_counter() - t0

    def sync(self) -> None:
        """Wait until every file written so far, and the folder, are on disk (the first failure
        is raised). They are independent, so they are flushed at once."""
        pending, self._pending = self._pending, []
        pending.append(_pool().submit(self._sync, os.open(self.folder, os.O_RDONLY)))
        with self.clock.part("fsync_wait"):
            self.clock.busy("fsync", sum(f.result() for f in pending))

    def close(self) -> None:
        for _, f in self._later:  # not collected (an error came first): close what they opened
            if f.exception() is None:
                os.close(f.result()[0])
        for f in self._pending:
            f.exception()  # every fd is closed by its task, whatever happened


def _write_new(path: Path, data) -> tuple[int, int]:
    """Create ``path`` with ``data``; the open descriptor (for the fsync) and the size."""
    view = memoryview(data).cast("B")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        done = 0
        while done < len(view):
            done += os.write(fd, view[done:])
    except BaseException:
        os.close(fd)
        raise
    return fd, len(view)


class Draft:
    """A package being written: ``data.parquet`` is in the temporary folder; ``seal`` adds the
    rest and commits. Use it as a context manager: leaving it on an error without a commit
    removes the folder."""

    def __init__(self, store: Path, result: ExtractResult, run_id: str, log: RunLog, csv_max_rows: int = CSV_MAX_ROWS) -> None:
        self.store, self.result, self.run_id, self.log = store, result, run_id, log
        self.csv_max_rows = csv_max_rows
        # A unique suffix: a resumed run reuses its run id, and the killed attempt's folder may remain.
        self.tmp = store / f"{TEMP_PREFIX}{result.name}-{run_id}-{uuid.uuid4().hex[:8]}"
        self.clock = _Clock()
        self._stack = ExitStack()
        self._parquet: pa.Buffer | None = None
        self._metadata: pq.FileMetaData | None = None
        self._sealed = False
        self._fingerprint: Future | None = None

    def _timed_fingerprint(self) -> str:
        t0 = time.perf_counter()
        try:
            return fingerprint(self.result.table)
        finally:
            self.clock.busy("fingerprint_busy", time.perf_counter() - t0)

    def __enter__(self) -> Draft:
        # Create and lock the folder under the store lock: recovery (which runs under the same
        # lock) removes unlocked temporary folders, and must never see this one unlocked.
        with ledger.locked(self.store):
            self.tmp.mkdir()
            self._stack.enter_context(writing(self.tmp))
        try:
            self.files = _Files(self.tmp, self.clock)
            self._stack.callback(self.files.close)
            if self.result.spooled is None:
                # The fingerprint reads only the (immutable) table: it runs on the other core
                # while this one serialises the Parquet file, instead of after it.
                self._fingerprint = _pool().submit(self._timed_fingerprint)
            if self.result.row_count <= self.csv_max_rows:
                self.files.put_later("data.csv", self._csv)  # likewise
            with self.clock.part("parquet"):
                self._write_extract()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, kind, value, tb) -> None:
        try:
            self._stack.close()
        finally:
            # An error removes the unsealed folder; an interrupt (or a simulated death) leaves it,
            # like a crash, to the next writer's recovery.
            if not self._sealed and (kind is None or issubclass(kind, Exception)):
                shutil.rmtree(self.tmp, ignore_errors=True)

    def _write_extract(self) -> None:
        """The extraction's own output: serialise the extract as Parquet and write it. Its hash
        and fsync are evidence work, done in ``seal``. A spooled extract is already a Parquet
        file in the store: the package takes it by a hard link (the same bytes, nothing copied)."""
        spooled = self.result.spooled
        if spooled is not None:
            os.link(spooled.path, self.tmp / "data.parquet")
            self._metadata = spooled.metadata
            return
        sink, collected = pa.BufferOutputStream(), []
        pq.write_table(self.result.table, sink, compression="zstd", metadata_collector=collected)
        self._parquet = sink.getvalue()
        self._metadata = collected[0] if collected else None  # its statistics give the profile's bounds
        with open(self.tmp / "data.parquet", "wb") as f:
            f.write(self._parquet)

    def seal(self, tests: ValidationResult, *, signer: Signer | None = None) -> Written:
        signer = signer or load_signer(self.store)
        rows = self.result.row_count
        self._usage()
        self.log.step("evidence.start", rows=rows)
        # Hashing data.parquet and writing data.csv are long calls into hashlib and Arrow, which
        # run without the GIL: worker threads do them while this thread computes the fingerprint.
        self.files.put_later("data.parquet", self._hash_extract)
        csv = rows <= self.csv_max_rows  # data.csv was started when the draft was entered
        with self.clock.part("fingerprint"):
            spooled = self.result.spooled
            value = spooled.fingerprint if spooled is not None else self._fingerprint.result()
        with self.clock.part("small_files"):
            tests_doc = tests.to_dict()  # built once: it renders every failing-row sample
        totals = self._descriptions(tests_doc)
        self.files.collect()
        self._parquet = None
        self.log.step("evidence.data_written", csv=csv)
        self.log.step("evidence.fingerprint", algorithm=ALGORITHM, value=value)
        self.log.step("evidence.artifacts_written")
        with self.clock.part("small_files"):
            self.files.put("log.jsonl", self.log.bytes())
            body = self._body(tests, tests_doc, totals, value)
        written = self._commit(body, signer)
        self._sealed = True
        return written

    def _usage(self) -> None:
        """One ``query.usage`` step per query execution of this step that the engine metered
        (Athena: bytes scanned and engine time of the extract and of the C&A statements after
        it; ``engines.cost``). Engines without a meter add nothing."""
        query = self.result.query
        meter = getattr(query, "meter", None)
        if meter is None:
            return
        for usage in meter.claim(query.execution_id):
            self.log.step("query.usage", **usage.to_dict())

    def _hash_extract(self) -> tuple[int, str, int]:
        t0 = time.perf_counter()
        fd = os.open(self.tmp / "data.parquet", os.O_RDONLY)  # written by the extraction; fsync only
        if self._parquet is not None:
            digest, size = hashlib.sha256(self._parquet).hexdigest(), self._parquet.size
        else:  # spooled: hash the file as it lies on disk
            with open(fd, "rb", closefd=False) as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            size = os.fstat(fd).st_size
        self.clock.busy("parquet_sha256_busy", time.perf_counter() - t0)
        return fd, digest, size

    def _csv(self) -> tuple[int, str, int]:
        t0 = time.perf_counter()
        sink = pa.BufferOutputStream()
        # Larger batches than Arrow's default of 1,024 rows: the same bytes, a third faster.
        pcsv.write_csv(self.result.data(), sink, pcsv.WriteOptions(batch_size=65_536))
        data = sink.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        fd, size = _write_new(self.tmp / "data.csv", data)
        self.clock.busy("csv_busy", time.perf_counter() - t0)
        return fd, digest, size

    def _descriptions(self, tests_doc: dict) -> dict:
        """query.sql, query.canonical.sql, parameters.json, profile.json, tests.json,
        context.json; returns the control totals."""
        result, files = self.result, self.files
        item, query = result.item, result.query
        with self.clock.part("small_files"):
            files.put("query.sql", query.sql.encode("utf-8"))
            files.put("query.canonical.sql", (item.sql or "").encode("utf-8"))
            types = {**STANDARD_TYPES, **{p.name: p.type for p in item.parameters}}
            files.put("parameters.json", canonical_bytes({
                "parameters": dict(result.parameters), "types": {k: types.get(k, "id") for k in result.parameters},
                "driver": query.parameters if isinstance(query.parameters, dict) else list(query.parameters)}))
            files.put("tests.json", canonical_bytes(tests_doc))
            files.put("context.json", canonical_bytes(context(query)))
        with self.clock.part("profile"):
            totals = result.control_totals
            if result.spooled is not None:
                described = result.spooled.profile  # computed while the extract streamed
            else:
                bounds = parquet_bounds(self._metadata) if self._metadata is not None else {}
                described = profile(result.table, item.output, totals, bounds)
            files.put("profile.json", canonical_bytes(described))
        return totals

    def _body(self, tests: ValidationResult, tests_doc: dict, totals: dict, value: str) -> dict:
        """The manifest's body (without chain fields); writes index.html, the last artifact."""
        from .html import index_html

        result = self.result
        item, query = result.item, result.query
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
            "fingerprint": {"algorithm": ALGORITHM, "value": value},
            "tests": tests_doc["summary"] | {"exit_code": tests.exit_code},
        }
        arts = sorted(self.files.listed.values(), key=lambda a: a["path"])
        self.files.put("index.html", index_html(body, arts, tests).encode("utf-8"))
        body["artifacts"] = sorted(self.files.listed.values(), key=lambda a: a["path"])
        return body

    def _commit(self, body: dict, signer: Signer) -> Written:
        store, tmp, name, files, clock = self.store, self.tmp, self.result.name, self.files, self.clock
        with ledger.locked(store):
            with clock.part("recover"):
                recovered, read = recover_and_read(store)
            ledger.refuse_damaged(store, read, signer)
            head, latest = read.head, read.latest()
            with clock.part("sign"):
                manifest = body | {
                    "run_id": self.run_id, "created_at": utc_text(utc_now()), "key_id": signer.key_id,
                    "previous_manifest_sha256": head.manifest_sha256 if head else None,
                    "supersedes_manifest_sha256": latest[name].manifest_sha256 if name in latest else None,
                }
                data = canonical_bytes(manifest)
                signature = signer.sign(data)
                manifest_digest = files.put("manifest.json", data)
                sums = [(a["path"], a["sha256"]) for a in manifest["artifacts"]]
                sums += [("manifest.json", manifest_digest), ("manifest.sig", files.put("manifest.sig", signature))]
                files.put("SHA256SUMS", sums_text(sums))
            files.sync()
            with clock.part("commit"):
                target = store / name
                if target.exists():
                    _supersede(store, target, read)
                os.replace(tmp, target)
                fsync_dir(store)
                entry = ledger.append(store, name, manifest_digest, self.run_id, signer, read)
                appended(store, read, entry)
        return Written(target, name, self.run_id, entry.seq, entry.manifest_sha256, manifest["fingerprint"]["value"],
                       tuple(recovered), dict(clock.seconds))


def begin_package(store: Path, result: ExtractResult, *, log: RunLog | None = None, run_id: str | None = None,
                  csv_max_rows: int = CSV_MAX_ROWS) -> Draft:
    """A package for ``result``; entering the returned ``Draft`` (``with``) writes ``data.parquet``
    (and starts the fingerprint and ``data.csv``, of at most ``csv_max_rows`` rows, beside it)."""
    name = result.name
    if not NAME.fullmatch(name):
        raise UsageError(f"'{name}' cannot name an evidence package; company ids are letters, digits, '_' and '-'")
    store.mkdir(parents=True, exist_ok=True)
    return Draft(store, result, run_id or str(uuid.uuid4()), log or RunLog(), csv_max_rows)


def write_package(store: Path, result: ExtractResult, tests: ValidationResult, *, signer: Signer | None = None,
                  log: RunLog | None = None, csv_max_rows: int = CSV_MAX_ROWS, run_id: str | None = None) -> Written:
    """Both stages at once, for an extract whose tests have already run."""
    signer = signer or load_signer(store)
    with begin_package(store, result, log=log, run_id=run_id, csv_max_rows=csv_max_rows) as draft:
        return draft.seal(tests, signer=signer)


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
