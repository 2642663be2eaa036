"""A package folder's entries and files, read without trusting what lies in the folder.

Nothing here follows a symbolic link or reads anything but a regular file. An entry's kind
comes from ``lstat``; a file is opened with ``O_NOFOLLOW | O_NONBLOCK`` (a symbolic link or
FIFO swapped in after the listing can neither redirect nor block the open) and checked again
with ``fstat`` before a byte is read; and no read goes past the caller's bound plus one byte
(the extra byte tells "larger than declared" from "exactly the declared size"). So a
symbolic link to ``/dev/zero`` or a FIFO in a package is refused at once instead of being read
forever.

Every reader of packages goes through here: ``verify``, ``zip``, ``push`` and the store's
recovery. A refusal is an ``IntegrityError`` (exit 5), with the same words everywhere.
"""

from __future__ import annotations

import errno
import io
import json
import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import IntegrityError

CHUNK = 1 << 20
KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"),
         (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))
# Bounds of the files the manifest does not size: a manifest is a few KiB, SHA256SUMS a line
# per file, a signature 64 bytes. Anything larger is not what it claims to be.
MANIFEST_MAX = 16 * 1024 * 1024
SUMS_MAX = 1024 * 1024
SIGNATURE_SIZE = 64
SEAL_LIMITS = {"manifest.json": MANIFEST_MAX, "manifest.sig": SIGNATURE_SIZE, "SHA256SUMS": SUMS_MAX}


class Refused(IntegrityError):
    """``path`` is not a regular file; nothing of it was read."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = Path(path), what
        super().__init__(f"{path}: {what}, not a regular file: refused without reading it")

    @property
    def detail(self) -> str:
        return f"{self.what}, not a regular file: refused without reading it"


class Larger(IntegrityError):
    """``path`` holds more than its bound (the size the manifest declares, or a seal's limit)."""

    def __init__(self, path: Path, limit: int, declared: bool) -> None:
        self.path, self.limit = Path(path), limit
        self.detail = (f"larger than the {limit} bytes the manifest declares; not read further" if declared
                       else f"larger than {limit} bytes; not read further")
        super().__init__(f"{path}: {self.detail}")


def kind(mode: int) -> str:
    return next((name for test, name in KINDS if test(mode)), "special file")


def describe(path: Path, what: str) -> str:
    """``a symbolic link (to /dev/zero)``: the link's own text is read, never its target."""
    article = "an" if what[0] in "aeiou" else "a"
    if what != "symbolic link":
        return f"{article} {what}"
    try:
        return f"a symbolic link (to {os.readlink(path)})"
    except OSError:
        return "a symbolic link"


def refusal(path: Path, mode: int) -> Refused:
    """The refusal of an entry whose ``lstat`` mode is not a regular file's."""
    return Refused(path, describe(path, kind(mode)))


def entries(folder: Path) -> dict[str, str]:
    """Every entry of ``folder`` (not recursive) and its kind, as ``lstat`` sees it."""
    with os.scandir(folder) as listing:
        return {e.name: kind(e.stat(follow_symlinks=False).st_mode) for e in listing}


class Opened:
    """A regular file opened by ``opened``: its descriptor and its ``fstat`` at open."""

    def __init__(self, path: Path, fd: int, st: os.stat_result) -> None:
        self.path, self.fd, self.stat = Path(path), fd, st
        self.size = st.st_size

    def chunks(self, limit: int | None) -> Iterator[bytes]:
        """Its bytes from the current offset, ``CHUNK`` at a time, at most ``limit + 1`` in all
        (``limit`` None: up to its end, which a regular file has)."""
        left = None if limit is None else limit + 1
        while left is None or left > 0:
            chunk = os.read(self.fd, CHUNK if left is None else min(left, CHUNK))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk

    def whole(self, limit: int | None, declared: bool = True) -> Iterator[bytes]:
        """Its bytes for a copy, all of them and no more than ``limit``: ``Larger`` before a byte
        is read when ``fstat`` already says it is larger; ``IntegrityError`` when its size changes
        while it is read (a copy must hold the bytes it was sized by)."""
        if limit is not None and self.size > limit:
            raise Larger(self.path, limit, declared)
        got = 0
        for chunk in self.chunks(self.size):
            got += len(chunk)
            yield chunk
        if got != self.size:
            raise IntegrityError(f"{self.path}: {'grew' if got > self.size else 'shrank'} from {self.size} bytes "
                                 "while it was read; nothing was copied (is something still writing the package?)")

    def view(self, size: int) -> io.BufferedReader:
        """A seekable, read-only file object over its first ``size`` bytes, read with ``pread`` on
        this descriptor: for readers that seek (pyarrow reads a Parquet footer first) without
        opening the path again."""
        return io.BufferedReader(_Window(self.fd, size), CHUNK)


class _Window(io.RawIOBase):
    """The first ``size`` bytes of a descriptor, read by offset; closing it leaves the fd open."""

    def __init__(self, fd: int, size: int) -> None:
        super().__init__()
        self._fd, self._size, self._pos = fd, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        want = max(0, min(len(buffer), self._size - self._pos))
        data = os.pread(self._fd, want, self._pos) if want else b""
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


@contextmanager
def opened(path: Path, flags: int = os.O_RDONLY) -> Iterator[Opened]:
    """``path`` opened (``flags``: the access mode) if it is a regular file; anything else raises
    ``Refused`` before a byte is read, and a missing file ``FileNotFoundError``."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Refused(path, describe(path, "symbolic link")) from None
        if e.errno == errno.ENXIO:  # opened for writing: a FIFO without a reader, or a device
            raise refusal(path, os.lstat(path).st_mode) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise refusal(path, st.st_mode)
        yield Opened(path, fd, st)
    finally:
        os.close(fd)


def read_file(path: Path, limit: int | None) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path`` (``limit`` None: up to its end,
    which a regular file has). Anything else raises ``Refused`` before a byte is read."""
    with opened(path) as f:
        return b"".join(f.chunks(limit))


def limits(folder: Path) -> dict[str, int]:
    """The most each file of a package may hold, by name: the seals' bounds above, and the size
    its manifest declares for each artifact (none when the manifest does not read or parse:
    a regular file is then read to the size ``fstat`` gives it)."""
    out = dict(SEAL_LIMITS)
    try:
        raw = read_file(Path(folder) / "manifest.json", MANIFEST_MAX)
        manifest = json.loads(raw) if len(raw) <= MANIFEST_MAX else None
    except (FileNotFoundError, ValueError):
        manifest = None
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    for a in artifacts if isinstance(artifacts, list) else ():
        if isinstance(a, dict) and isinstance(a.get("path"), str) and a["path"] not in SEAL_LIMITS:
            size = a.get("size")
            if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
                out[a["path"]] = size
    return out
