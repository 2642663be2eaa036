"""A deterministic zip of an evidence package: the same files give the same bytes.

Everything that zip tools normally take from the machine is fixed: entry order (sorted by
name), timestamps (1980-01-01 00:00:00, the earliest a zip can hold), permissions (0644 files,
0755 folders), the creating system (Unix), no extra fields, deflate at level 6. The package
folder's name is the single top-level folder, so unzipping anywhere recreates the package.

Deflate output depends on the zlib build: two machines with different zlib versions may produce
different bytes for the same files, though the files inside are always identical (the package's
own SHA256SUMS and manifest, not the zip's hash, are what identify the evidence).

Files are read through ``folder``: a symbolic link, FIFO, device or socket in the package is
refused (``IntegrityError``, exit 5) without being opened for reading, and no file is read past
the size the manifest declares for it (a seal past its fixed bound), so a link to ``/dev/zero``
or a FIFO swapped in can neither hang the zip nor fill the disk.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import UsageError
from . import folder as folder_mod

EPOCH = (1980, 1, 1, 0, 0, 0)
LEVEL = 6
_FILE_MODE = 0o100644  # regular file, rw-r--r--
_DIR_MODE = 0o040755  # directory, rwxr-xr-x
_MSDOS_DIRECTORY = 0x10
_UNIX = 3


def package_files(folder: Path) -> list[tuple[str, Path]]:
    """Every regular file of a package as (POSIX name relative to ``folder``, path), sorted by name.

    Entries are examined with ``lstat``: a symbolic link, FIFO, device or socket is refused
    (``folder.Refused``, exit 5) without being opened. A package holds plain files only; a link
    could smuggle content from outside the package into the copy, or never end (``/dev/zero``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a package folder (it does not exist or is not a directory)")
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(root) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                found.append((safe_name(path.relative_to(folder).as_posix()), path))
            elif not stat.S_ISDIR(mode):
                raise folder_mod.refusal(path, mode)
    return sorted(found)


def safe_name(name: str) -> str:
    """``name`` if it is a relative POSIX path that stays inside its folder, else ``UsageError``."""
    parts = PurePosixPath(name).parts
    if (
        not parts
        or name.startswith("/")
        or "\\" in name
        or ":" in parts[0]
        or any(p in ("", ".", "..") for p in name.split("/"))
    ):
        raise UsageError(f"{name!r}: unsafe file name in a package (absolute, '..', '.' or a backslash); rename the file")
    return name


def zip_package(folder: Path, out: Path) -> Path:
    """Write ``out`` (atomically: a temporary file renamed into place) and return it."""
    folder, out = Path(folder).resolve(), Path(out).resolve()
    if out.is_relative_to(folder):
        raise UsageError(f"{out}: the zip would be written inside the package it archives; write it next to {folder}")
    files = package_files(folder)
    bounds = folder_mod.limits(folder)
    top = safe_name(folder.name)
    folders = sorted({top} | {f"{top}/{parent}" for name, _ in files for parent in _parents(name)})
    entries = sorted([(d + "/", None) for d in folders] + [(f"{top}/{name}", path) for name, path in files])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        with open(tmp, "wb") as raw:
            with zipfile.ZipFile(raw, "w") as zf:
                for name, path in entries:
                    _write_entry(zf, name, path, bounds)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _parents(name: str) -> list[str]:
    parts = name.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _write_entry(zf: zipfile.ZipFile, name: str, path: Path | None, bounds: dict[str, int]) -> None:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.create_system = _UNIX
    info.extra = b""
    info.comment = b""
    if path is None:
        info.external_attr = (_DIR_MODE << 16) | _MSDOS_DIRECTORY
        info.compress_type = zipfile.ZIP_STORED
        zf.writestr(info, b"")
        return
    info.external_attr = _FILE_MODE << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    # ZipInfo has no public compression level before Python 3.13
    setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", LEVEL)
    inner = name.partition("/")[2]  # the name inside the package, as its manifest lists it
    with folder_mod.opened(path) as src:
        # A known size lets zipfile decide on ZIP64 up front, so streaming needs no data descriptor.
        info.file_size = src.size
        with zf.open(info, "w") as dst:
            for chunk in src.whole(bounds.get(inner), declared=inner not in folder_mod.SEAL_LIMITS):
                dst.write(chunk)
