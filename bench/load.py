"""Load benchmark of the service: N concurrent clients reading reconciliation results on loopback.

    python bench/load.py [--clients 50] [--seconds 20] [--workdir DIR]

Builds a tiny lake (scale 0.01, 2025-09), closes HF_SN and JM_EG, starts ``soxauto serve`` on
127.0.0.1 in a child process, issues an API token, checks that each URL answers its JSON, then
runs ``--clients`` closed-loop clients for ``--seconds``, each on one kept-alive HTTP/1.1
connection asking in turn for the period's results page, a filtered page, one line's proof items
and one line with its sources. A response counts when its status is 200 and its whole body
(Content-Length or chunked) has been read. Prints p50/p95/p99 latency and requests/s as one JSON
object; exit 1 if p95 > 200 ms or any request failed. Time-bounded: no request starts after the
deadline and none may take more than 10 s past it.

The clients speak HTTP with asyncio streams rather than httpx: server and clients share this
machine's cores, and httpx spent as much CPU per request as the server did, so the figures it
gave were half the client's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 200.0
URLS = ("/api/results/2025-09", "/api/results/2025-09?entity=JM_EG&status=RECONCILED",
        "/api/results/2025-09/HF_SN/VOUCHERS/items?bridge=UNEXPLAINED", "/api/results/2025-09/JM_EG/CUSTOMER_AR")


def prepare(work: Path) -> tuple[dict, str]:
    """A closed period and a reviewer's token; the environment the server runs with."""
    sys.path.insert(0, str(ROOT / "tests" / "close"))
    from closekit import make_lake

    from soxauto.auth import LocalUsers
    from soxauto.close import CloseRequest, close
    from soxauto.close.store import RunStore
    from soxauto.config import load_config

    env = {**os.environ, "SOXAUTO_HOME": str(work / "home"), "SOXAUTO_LAKE": str(make_lake(work / "lake")),
           "SOXAUTO_USER": "bench"}
    cfg = load_config(env)
    if not RunStore(cfg.run_store).runs("2025-09"):
        close(cfg, CloseRequest("2025-09", ("HF_SN", "JM_EG")))
    users = LocalUsers(RunStore(cfg.run_store), actor="bench")
    if not any(u["name"] == "loadtest" for u in users.list()):
        users.add("loadtest", ["reviewer"])
    return env, users.issue_token("loadtest", "bench")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", "from soxauto.cli import main; main()", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {proc.stderr.read().decode()}")
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not listen within 60 s")


class HttpError(Exception):
    """A response the benchmark does not accept: not 200, or not a whole HTTP/1.1 message."""


BROKEN = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, HttpError, ValueError)


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    """One request on a kept-alive connection: the status and the whole body (Content-Length or
    chunked). About 0.1 ms of CPU a request, where httpx took 1.4 ms."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    headers = {}
    for raw in header_block.split(b"\r\n"):
        name, sep, value = raw.partition(b":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16):
            parts.append(await reader.readexactly(size + 2))
        await reader.readuntil(b"\r\n")
        body = b"".join(p[:-2] for p in parts)
    else:
        raise HttpError(f"{status}: neither Content-Length nor chunked")
    if headers.get(b"connection", b"").lower() == b"close":
        raise HttpError(f"{status}: the server closed the connection")
    return status, body


async def client(n: int, port: int, token: str, until: float, latencies: list[float], errors: list[str]) -> None:
    """A closed-loop client on one kept-alive connection: the next request leaves when the answer
    to the last one has been read whole. A broken connection is counted and opened again."""
    requests = [f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Accept: application/json\r\n\r\n".encode() for url in URLS]
    i, conn = n, None
    while time.monotonic() < until:
        k = i % len(URLS)
        i += 1
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(max(0.1, until - time.monotonic() + 10.0)):
                conn = conn or await asyncio.open_connection("127.0.0.1", port)
                status, body = await fetch(*conn, requests[k])
            if status != 200 or not body:
                errors.append(f"{URLS[k]}: {status}")
        except BROKEN as e:
            errors.append(f"{URLS[k]}: {e.__class__.__name__} {e}")
            if conn:
                conn[1].close()
            conn = None
            continue
        latencies.append(time.perf_counter() - t0)
    if conn:
        conn[1].close()


async def check(port: int, token: str) -> None:
    """Each URL once, the body parsed: the load then only checks status and length, but what it
    measures is known to be the real answer."""
    conn = await asyncio.open_connection("127.0.0.1", port)
    try:
        for url in URLS:
            status, body = await fetch(*conn, f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                                              f"Authorization: Bearer {token}\r\n\r\n".encode())
            doc = json.loads(body)
            if status != 200 or not (doc.get("rows") or doc.get("line")):
                raise SystemExit(f"{url}: {status} {body[:300]!r}")
    finally:
        conn[1].close()


def percentile(sorted_values: list[float], q: float) -> float:
    k = max(0, min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


async def load(port: int, token: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(client(n, port, token, until, latencies, errors) for n in range(clients)))
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    ms = {f"p{int(q * 100)}_ms": round(percentile(lat, q) * 1000, 1) for q in (0.5, 0.95, 0.99)} if lat else {}
    return {"clients": clients, "seconds": round(wall, 1), "requests": len(lat), "errors": len(errors),
            "requests_per_second": round(len(lat) / wall, 1), **ms, "target_p95_ms": TARGET_P95_MS,
            "first_errors": errors[:5]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workdir", type=Path, default=None, help="keep the lake and home here (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="soxauto-load-") as tmp:
        work = args.workdir or Path(tmp)
        env, token = prepare(work)
        port = free_port()
        server = serve(env, port)
        try:
            asyncio.run(check(port, token))
            asyncio.run(load(port, token, 5, 2.0))  # warm-up: first token check (argon2) and caches
            result = asyncio.run(load(port, token, args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(10)
    print(json.dumps(result, indent=2))
    return 0 if result["errors"] == 0 and result.get("p95_ms", 1e9) <= TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
