"""The evidence store's layout, and recovery after a crash.

    <store>/                        <SOXAUTO_HOME>/evidence
      ledger.jsonl, ledger.lock     the chain of every committed manifest
      keys/                         signing key (0600) and every public key that signed here
      {ITEM}_{COMPANY}_{YYYYMM}/    the current package of an item × entity × period
      history/{NAME}/{SEQ}/         earlier packages of that name; SEQ is the ledger sequence
                                    (six digits) of the entry that committed them
      .tmp-{NAME}-{RUN}/            a package being written; never a package

The ledger append is the commit point. Recovery (run under the lock before every commit)
rolls back whatever a crash left uncommitted: it deletes temporary folders, removes a package
that was renamed into place but never reached the ledger, and puts back an earlier package
that was moved to history for a commit that never happened. A temporary folder whose writer
is still alive (it holds an ``fcntl`` lock on the folder) is left alone.

Recovery reads the ledger and the manifests of packages in place through ``folder``: never
through a symbolic link, never anything but a regular file, a manifest no further than its
bound. A ledger that is not a regular file stops the commit (``IntegrityError``, exit 5); a
package whose manifest is not one was not written by a commit (a commit writes regular files),
so it is left alone, unread, for ``verify`` to report.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import IntegrityError
from . import folder as folder_mod
from . import ledger
from .canonical import sha256_hex

HISTORY = "history"
TEMP_PREFIX = ".tmp-"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*_\d{6}")


def evidence_store(root: Path | None = None) -> Path:
    """The given folder, else the configured store (``SOXAUTO_EVIDENCE_STORE`` or
    ``soxauto.toml``), else ``<SOXAUTO_HOME>/evidence``: every command agrees on it."""
    if root is not None:
        return Path(root)
    from ..config import load_config

    return Path(load_config().evidence_store)


def current_packages(store: Path) -> list[Path]:
    if not store.is_dir():
        return []
    return sorted(p for p in store.iterdir() if p.is_dir() and NAME.fullmatch(p.name))


def history_packages(store: Path) -> list[Path]:
    root = store / HISTORY
    if not root.is_dir():
        return []
    return sorted(v for n in root.iterdir() if n.is_dir() for v in n.iterdir() if v.is_dir())


def temp_folders(store: Path) -> list[Path]:
    if not store.is_dir():
        return []
    return sorted(p for p in store.iterdir() if p.is_dir() and p.name.startswith(TEMP_PREFIX))


def history_path(store: Path, evidence_id: str, seq: int) -> Path:
    return store / HISTORY / evidence_id / f"{seq:06d}"


def location(store: Path, entry: ledger.Entry, latest: ledger.Entry | None) -> Path:
    """Where a committed package must be: in place when it is its name's latest commit."""
    if latest is not None and latest.seq == entry.seq:
        return store / entry.evidence_id
    return history_path(store, entry.evidence_id, entry.seq)


def _manifest_bytes(folder: Path) -> bytes | None:
    """A package's manifest, or None when there is none that a commit could have written: missing,
    not a regular file (never opened for reading) or larger than a manifest may be."""
    try:
        raw = folder_mod.read_file(Path(folder) / "manifest.json", folder_mod.MANIFEST_MAX)
    except (FileNotFoundError, NotADirectoryError, folder_mod.Refused):
        return None
    return raw if len(raw) <= folder_mod.MANIFEST_MAX else None


def manifest_hash(folder: Path) -> str | None:
    raw = _manifest_bytes(folder)
    return sha256_hex(raw) if raw is not None else None


# What recovery read before, in this process: the ledger's bytes with their parsed entries,
# and each manifest's digest under its file identity. Every commit still reads the ledger's
# bytes and stats every manifest, so any change is seen (an edit always moves ctime); only the
# parsing and hashing of unchanged bytes is skipped, which would otherwise make each commit
# cost as much as the whole store.
_LEDGERS: dict[Path, tuple[bytes, ledger.LedgerRead]] = {}
_MANIFESTS: dict[Path, tuple[tuple, str]] = {}


def _ledger_bytes(store: Path) -> tuple[bytes | None, bool]:
    """The ledger's bytes (None: no ledger yet), and whether an append that a crash left without
    its newline was cut from them; the caller holds the lock. Opened through ``folder``: a ledger
    that is not a regular file raises ``IntegrityError`` unread."""
    path = store / ledger.LEDGER
    try:
        with folder_mod.opened(path) as f:
            raw = b"".join(f.chunks(None))
            if not raw or raw.endswith(b"\n"):
                return raw, False
            keep = raw.rfind(b"\n") + 1
            with folder_mod.opened(path, os.O_WRONLY) as w:
                if (w.stat.st_dev, w.stat.st_ino) != (f.stat.st_dev, f.stat.st_ino):
                    raise IntegrityError(f"{path} was replaced while recovery read it; nothing was committed")
                os.ftruncate(w.fd, keep)
                os.fsync(w.fd)
            return raw[:keep], True
    except FileNotFoundError:
        return None, False
    except folder_mod.Refused as e:
        raise IntegrityError(f"{e}; the ledger must be a regular file, so nothing was committed; "
                             "run 'soxauto evidence verify --all'") from None


def _ledger_read(store: Path, raw: bytes | None) -> ledger.LedgerRead:
    """``ledger.read`` through the memory above, for the ledger's bytes ``raw`` as the caller
    just read them under the lock."""
    path = store / ledger.LEDGER
    if raw is None:
        return ledger.read(store)
    known = _LEDGERS.get(path)
    if known is not None and known[0] == raw:
        return known[1]
    read = ledger.read(store)
    _LEDGERS[path] = (raw, read)
    return read


def appended(store: Path, read: ledger.LedgerRead, entry: ledger.Entry) -> None:
    """Record our own append (under the same lock as ``read``) so the next commit need not
    parse the ledger again."""
    path = store / ledger.LEDGER
    known = _LEDGERS.get(path)
    if known is not None and known[1] is read and not read.problems and not read.torn_tail:
        _LEDGERS[path] = (known[0] + entry.line + b"\n", ledger.LedgerRead(read.entries + (entry,), (), False))


def _manifest_digest(folder: Path) -> str | None:
    path = folder / "manifest.json"
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None  # not a manifest a commit wrote: left alone, never opened
    key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    known = _MANIFESTS.get(path)
    if known is not None and known[0] == key:
        return known[1]
    digest = manifest_hash(folder)
    if digest is not None:
        _MANIFESTS[path] = (key, digest)
    return digest


def previous_of(folder: Path) -> str | None:
    raw = _manifest_bytes(folder)
    try:
        manifest = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return manifest.get("previous_manifest_sha256") if isinstance(manifest, dict) else None


def recover(store: Path) -> list[str]:
    """Roll back an interrupted commit; the caller holds ``ledger.locked(store)``.
    Returns what was done, one line each, for the log."""
    return recover_and_read(store)[0]


def recover_and_read(store: Path) -> tuple[list[str], ledger.LedgerRead]:
    """``recover``, and the ledger as it stands afterwards (recovery never changes entries,
    only cuts a torn tail before reading), so a commit reads the ledger once."""
    done: list[str] = []
    raw, cut = _ledger_bytes(store)
    if cut:
        done.append("cut an unfinished ledger line")
    # One listing of the store instead of a stat per name (this runs before every commit). A
    # symbolic link is never taken for a folder: recovery reads nothing through one.
    with os.scandir(store) as listing:
        folders = sorted(e.name for e in listing if e.is_dir(follow_symlinks=False))
    for tmp in (store / n for n in folders if n.startswith(TEMP_PREFIX)):
        if remove_if_abandoned(tmp):
            done.append(f"removed unfinished folder {tmp.name}")
    read = _ledger_read(store, raw)
    head = read.head
    committed = {e.manifest_sha256 for e in read.entries}
    in_place = set()
    for folder in (store / n for n in folders if NAME.fullmatch(n)):
        in_place.add(folder.name)
        digest = _manifest_digest(folder)
        # Only the one commit in flight when the lock holder died can match this: its manifest
        # names the current head as previous yet it never reached the ledger. Anything else
        # that is not in the ledger is left alone for verify to report.
        if digest is not None and digest not in committed and previous_of(folder) == (head.manifest_sha256 if head else None):
            doomed = store / f"{TEMP_PREFIX}rollback-{folder.name}"
            os.replace(folder, doomed)  # atomic: a crash mid-delete leaves a temp folder
            shutil.rmtree(doomed, ignore_errors=True)
            done.append(f"removed uncommitted package {folder.name}")
            in_place.discard(folder.name)
    for evidence_id, entry in read.latest().items():
        here, moved = store / evidence_id, history_path(store, evidence_id, entry.seq)
        if evidence_id not in in_place and not here.exists() and moved.is_dir():
            os.replace(moved, here)
            done.append(f"put back {evidence_id} (ledger {entry.seq}) from history")
    if done:
        fsync_dir(store)
    return done, read


@contextmanager
def writing(folder: Path) -> Iterator[None]:
    """Hold a lock on a temporary folder while it is written: recovery by another process
    removes only folders whose writer is gone (the kernel drops the lock when it dies)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_if_abandoned(folder: Path) -> bool:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
