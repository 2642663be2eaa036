"""A real PostgreSQL server for the run-store tests: fixture ``pg_url`` (session scope).

It starts a throwaway cluster from the Debian server binaries (``/usr/lib/postgresql/*/bin``),
listening only on 127.0.0.1 on a free port with trust authentication for loopback, creates the
database ``soxauto_test`` and yields a SQLAlchemy URL. PostgreSQL refuses to run as root, so
as root the cluster belongs to a system user ``soxauto-pg`` (created on first use) and the
server programs run through ``runuser``. The server is stopped and its folder removed at the
end of the session, also when tests fail.

No server is a failure, not a skip: ``scripts/test-deps.sh`` installs it (``make test`` runs
that first), and a run store that was never tested against PostgreSQL must not look green.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

USER = "soxauto-pg"
DATABASE = "soxauto_test"
ROLE = "soxauto"
# A test cluster holds nothing worth an fsync; these make start-up and writes fast.
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 32MB
"""
HBA = """
local all all trust
host  all all 127.0.0.1/32 trust
"""


def server_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with initdb and pg_ctl."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    found = [d for d in found if (d / "initdb").exists()]
    if not found:
        pytest.fail("PostgreSQL server not found under /usr/lib/postgresql/*/bin: "
                    "run `bash scripts/test-deps.sh` (installs the Debian package postgresql)", pytrace=False)
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


def as_owner() -> tuple[list[str], int | None, int | None]:
    """The command prefix and uid/gid for the cluster owner: ourselves, or ``soxauto-pg`` as root."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        # Two pytest-xdist workers may both find the user missing: the loser's useradd fails with
        # "already exists" (exit 9), which is the state both wanted.
        done = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                               "--shell", "/usr/sbin/nologin", USER], capture_output=True, text=True)
        if done.returncode not in (0, 9):
            pytest.fail(f"useradd {USER} failed ({done.returncode}): {done.stderr}", pytrace=False)
        entry = pwd.getpwnam(USER)
    return ["runuser", "-u", USER, "--"], entry.pw_uid, entry.pw_gid


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"PostgreSQL {what} failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout}{done.stderr}",
                    pytrace=False)


class Cluster:
    """One throwaway cluster in a temporary folder: data/, the server log, the sockets."""

    def __init__(self) -> None:
        self.bin = server_bin()
        self.prefix, uid, gid = as_owner()
        self.root = Path(tempfile.mkdtemp(prefix="soxauto-pg-"))
        self.data, self.log = self.root / "data", self.root / "server.log"
        if uid is not None:
            os.chown(self.root, uid, gid)
        self.port = 0
        self.timings: dict[str, float] = {}

    def start(self) -> str:
        started = time.perf_counter()
        run([*self.prefix, str(self.bin / "initdb"), "-D", str(self.data), "-U", ROLE, "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-sync"], "initdb")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(SETTINGS.format(sockets=self.root))
        (self.data / "pg_hba.conf").write_text(HBA, encoding="utf-8")
        self.timings["initdb"] = time.perf_counter() - started
        for attempt in range(3):  # another process may take the free port before the server binds it
            self.port = free_port()
            done = subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                                   "-o", f"-p {self.port}", "-w", "-t", "60", "start"], capture_output=True, text=True)
            if done.returncode == 0:
                break
        else:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            pytest.fail(f"PostgreSQL did not start on 127.0.0.1 ({done.returncode}):\n{done.stderr}\n{tail}",
                        pytrace=False)
        run([*self.prefix, str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", ROLE, DATABASE], "createdb")
        self.timings["start"] = time.perf_counter() - started
        return f"postgresql+psycopg://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        started = time.perf_counter()
        try:
            if (self.data / "postmaster.pid").exists():
                pg_ctl = [*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", "stop"]
                if subprocess.run([*pg_ctl, "-m", "fast"], capture_output=True).returncode != 0:
                    subprocess.run([*pg_ctl, "-m", "immediate"], capture_output=True)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.timings["stop"] = time.perf_counter() - started


@pytest.fixture(scope="session")
def pg_url():
    """``postgresql+psycopg://soxauto@127.0.0.1:PORT/soxauto_test`` on a server of our own."""
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()
