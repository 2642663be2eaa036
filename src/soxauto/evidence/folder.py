"""A package folder's entries and files, read without trusting what lies in the folder.

Nothing here follows a symbolic link or reads anything but a regular file. An entry's kind
comes from ``lstat``; a file is opened with ``O_NOFOLLOW | O_NONBLOCK`` (a symbolic link or
FIFO swapped in after the listing can neither redirect nor block the open) and checked again
with ``fstat`` before a byte is read; and no read goes past the caller's bound plus one byte
(the extra byte tells "larger than declared" from "exactly the declared size"). So a
symbolic link to ``/dev/zero`` or a FIFO in a package is refused at once instead of being read
forever.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

CHUNK = 1 << 20
KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"),
         (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))


class Refused(Exception):
    """``path`` is not a regular file; nothing of it was read."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = Path(path), what
        super().__init__(f"{path}: {what}, not a regular file: refused without reading it")

    @property
    def detail(self) -> str:
        return f"{self.what}, not a regular file: refused without reading it"


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


def entries(folder: Path) -> dict[str, str]:
    """Every entry of ``folder`` (not recursive) and its kind, as ``lstat`` sees it."""
    with os.scandir(folder) as listing:
        return {e.name: kind(e.stat(follow_symlinks=False).st_mode) for e in listing}


def read_file(path: Path, limit: int | None) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path`` (``limit`` None: up to its end,
    which a regular file has). Anything else raises ``Refused`` before a byte is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Refused(path, describe(path, "symbolic link")) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(path, describe(path, kind(st.st_mode)))
        left = None if limit is None else limit + 1
        chunks = []
        while left is None or left > 0:
            chunk = os.read(fd, CHUNK if left is None else min(left, CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left = None if left is None else left - len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
