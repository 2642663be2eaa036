"""Files a disposition attaches: read without trusting the path, stored once by content.

A file given by path (the CLI) is read through ``evidence.folder.opened``: a regular file only,
its last component never followed as a symbolic link, a FIFO or device refused before a byte is
read, and never more than the size limit plus one byte. A file given as bytes (the API, the
dashboard) is checked against the same limit. The name a person gave is kept only as a display
name: its last path component, without control characters; it is never used as a path. The
content is stored at ``<home>/attachments/<sha256>`` (written to a temporary file, synced, then
renamed into place), so the same file attached twice is stored once and a stored file is named
by what it holds.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IntegrityError, UsageError
from ..evidence.folder import Larger, Refused, opened

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
NAME_MAX = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Attachment:
    name: str  # for display only
    sha256: str
    size: int
    data: bytes = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


def display_name(raw: str) -> str:
    """The last component of ``raw`` (``/`` and ``\\`` both separate), without control
    characters, at most 200 characters: a label, never a path."""
    name = _CONTROL.sub("", re.split(r"[\\/]", str(raw))[-1]).strip()[:NAME_MAX]
    if name in ("", ".", ".."):
        raise UsageError(f"attachment name {str(raw)!r} has no file name in it; give the file's name, e.g. credit-note-118.pdf")
    return name


def _too_large(name: str, limit: int) -> UsageError:
    return UsageError(f"attachment {name} is larger than {limit} bytes, the most a disposition may attach "
                      "(setting attachment_max_bytes); attach a smaller file or a summary")


def from_bytes(name: str, data: bytes, limit: int = DEFAULT_MAX_BYTES) -> Attachment:
    shown = display_name(name)
    if len(data) > limit:
        raise _too_large(shown, limit)
    return Attachment(shown, hashlib.sha256(data).hexdigest(), len(data), bytes(data))


def from_file(path: Path, limit: int = DEFAULT_MAX_BYTES) -> Attachment:
    """The regular file at ``path``, at most ``limit`` bytes; anything else is a ``UsageError``
    saying why, and nothing of it is kept."""
    path = Path(path)
    try:
        with opened(path) as f:
            data = b"".join(f.whole(limit, declared=False))
    except Larger:
        raise _too_large(str(path), limit) from None
    except Refused as e:
        raise UsageError(f"attachment {path}: {e.detail}; attach the file itself") from None
    except FileNotFoundError:
        raise UsageError(f"attachment {path}: no such file") from None
    except OSError as e:
        raise UsageError(f"attachment {path}: cannot be read ({e.strerror or e.__class__.__name__})") from None
    return Attachment(display_name(path.name), hashlib.sha256(data).hexdigest(), len(data), data)


def stored_path(folder: Path, sha256: str) -> Path:
    if not _HEX.match(sha256):
        raise UsageError(f"{sha256!r} is not a SHA-256 (64 lowercase hex digits)")
    return Path(folder) / sha256


def store(attachment: Attachment, folder: Path) -> Path:
    """Write the content to ``folder/<sha256>`` (once: an existing copy with the same bytes is kept)."""
    target = stored_path(folder, attachment.sha256)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if _holds(target, attachment.sha256):
        return target
    tmp = folder / f".{attachment.sha256}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(attachment.data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)  # replaces a damaged or planted entry itself, never what it points to
    return target


def _holds(path: Path, sha256: str) -> bool:
    try:
        with opened(path) as f:
            return hashlib.sha256(b"".join(f.chunks(None))).hexdigest() == sha256
    except (OSError, Refused):
        return False


def read_stored(folder: Path, sha256: str, limit: int | None = None) -> bytes:
    """A stored attachment's bytes, checked against its name (its SHA-256)."""
    path = stored_path(folder, sha256)
    try:
        with opened(path) as f:
            data = b"".join(f.chunks(limit))
    except (FileNotFoundError, Refused):
        raise UsageError(f"attachment {sha256} is not in {folder}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise IntegrityError(f"attachment {sha256} in {folder} does not hold the bytes it is named by")
    return data
