from __future__ import annotations

import hashlib
import os
import struct
import zipfile
from pathlib import Path

import pytest

from soxauto.errors import IntegrityError, UsageError
from soxauto.evidence.archive import package_files, safe_name, zip_package

PKG = "CR_04_1000_202501"
FILES = {
    "manifest.json": b'{"evidence_id": "CR_04_1000_202501"}\n',
    "SHA256SUMS": b"0" * 64 + b"  manifest.json\n",
    "data/data.csv": b"doc_id,amount\nA1,10.00\nA2,-3.50\n",
    "data/data.parquet": bytes(range(256)) * 40,
    "sql/executed.sql": b"SELECT 1\n",
}


def write_package(root: Path, order: list[str], mtime: int, mode: int) -> Path:
    folder = root / PKG
    for name in order:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(FILES[name])
        path.chmod(mode)
        os.utime(path, (mtime, mtime))
    return folder


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_same_content_gives_the_same_bytes(tmp_path: Path):
    names = list(FILES)
    first = write_package(tmp_path / "a", names, mtime=1_700_000_000, mode=0o600)
    second = write_package(tmp_path / "b", names[::-1], mtime=1_800_000_000, mode=0o755)

    one = zip_package(first, tmp_path / "one.zip").read_bytes()
    two = zip_package(second, tmp_path / "two.zip").read_bytes()

    assert one == two
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "one.zip", "two.zip"]  # no temp file left


def test_entries_are_sorted_with_fixed_time_mode_and_no_extra_fields(tmp_path: Path):
    folder = write_package(tmp_path, list(FILES), mtime=1_700_000_000, mode=0o600)
    out = zip_package(folder, tmp_path / "p.zip")
    raw = out.read_bytes()

    with zipfile.ZipFile(out) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == [
        f"{PKG}/",
        f"{PKG}/SHA256SUMS",
        f"{PKG}/data/",
        f"{PKG}/data/data.csv",
        f"{PKG}/data/data.parquet",
        f"{PKG}/manifest.json",
        f"{PKG}/sql/",
        f"{PKG}/sql/executed.sql",
    ]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.create_system == 3
        assert info.extra == b""
        assert info.flag_bits & 0x08 == 0  # no data descriptor
        # the local header repeats the name with no extra field (length at offset 28)
        name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
        assert (name_len, extra_len) == (len(info.filename), 0)
        if info.is_dir():
            assert (info.external_attr >> 16, info.compress_type) == (0o040755, zipfile.ZIP_STORED)
        else:
            assert (info.external_attr >> 16, info.compress_type) == (0o100644, zipfile.ZIP_DEFLATED)
    # deflate really compresses: 10,240 repetitive bytes of data.parquet shrink a lot
    parquet = next(i for i in infos if i.filename.endswith("data.parquet"))
    assert parquet.file_size == 10_240 and parquet.compress_size < 1_000


def test_changing_one_byte_changes_the_zip(tmp_path: Path):
    folder = write_package(tmp_path, list(FILES), mtime=1_700_000_000, mode=0o644)
    before = zip_package(folder, tmp_path / "before.zip").read_bytes()
    (folder / "data/data.csv").write_bytes(FILES["data/data.csv"].replace(b"10.00", b"10.01"))
    after = zip_package(folder, tmp_path / "after.zip").read_bytes()
    assert before != after
    assert len(before) == len(after)  # same shape, different content


def test_zip_extracts_to_the_same_files(tmp_path: Path):
    folder = write_package(tmp_path / "src", list(FILES), mtime=1_700_000_000, mode=0o644)
    out = zip_package(folder, tmp_path / "p.zip")
    with zipfile.ZipFile(out) as zf:
        zf.extractall(tmp_path / "unzipped")
    extracted = tmp_path / "unzipped" / PKG
    got = {name: sha(path.read_bytes()) for name, path in package_files(extracted)}
    assert got == {name: sha(data) for name, data in FILES.items()}


def test_entry_names_stay_inside_the_top_folder(tmp_path: Path):
    folder = write_package(tmp_path, list(FILES), mtime=1_700_000_000, mode=0o644)
    with zipfile.ZipFile(zip_package(folder, tmp_path / "p.zip")) as zf:
        names = zf.namelist()
    for name in names:
        assert name.startswith(f"{PKG}/")
        assert not name.startswith("/") and "\\" not in name
        assert ".." not in name.split("/")


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../b", "a\\b", "C:/x", "a//b", "./a", ""])
def test_unsafe_names_are_refused(name: str):
    with pytest.raises(UsageError, match="unsafe file name"):
        safe_name(name)


def test_safe_name_keeps_a_plain_relative_name():
    assert safe_name("data/data.parquet") == "data/data.parquet"


def test_a_symlink_in_the_package_is_refused(tmp_path: Path):
    folder = write_package(tmp_path / "src", list(FILES), mtime=1_700_000_000, mode=0o644)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside the package\n")
    (folder / "data" / "leak.txt").symlink_to(secret)
    with pytest.raises(IntegrityError, match=r"leak.txt: a symbolic link \(to .*secret.txt\), not a regular file: refused"):
        zip_package(folder, tmp_path / "p.zip")
    assert not (tmp_path / "p.zip").exists()


def test_zip_inside_the_package_is_refused(tmp_path: Path):
    folder = write_package(tmp_path, list(FILES), mtime=1_700_000_000, mode=0o644)
    with pytest.raises(UsageError, match="inside the package it archives"):
        zip_package(folder, folder / "self.zip")


def test_missing_folder_is_a_usage_error(tmp_path: Path):
    with pytest.raises(UsageError, match="not a package folder"):
        zip_package(tmp_path / "nope", tmp_path / "p.zip")
