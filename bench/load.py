"""Load benchmark of the service: N concurrent clients reading reconciliation results on loopback.

    python bench/load.py [--clients 50] [--seconds 20] [--workdir DIR]

Builds a tiny lake (scale 0.01, 2025-09), closes HF_SN and JM_EG, starts ``soxauto serve``'s app
with uvicorn on 127.0.0.1 in a child process, issues an API token, then runs ``--clients``
closed-loop clients (asyncio + httpx, one connection each) for ``--seconds``, each asking in turn
for the period's results page, one line with its sources, and one line's proof items. Prints
p50/p95/p99 latency and requests/s as one JSON object; exit 1 if p95 > 200 ms or any request
failed. Time-bounded: the clients stop at the deadline whatever the server does.
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


async def client(n: int, base: str, token: str, until: float, latencies: list[float], errors: list[str]) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10.0,
                                 limits=httpx.Limits(max_connections=1)) as http:
        i = n
        while time.monotonic() < until:
            url = URLS[i % len(URLS)]
            i += 1
            t0 = time.perf_counter()
            try:
                r = await http.get(url)
                if r.status_code != 200:
                    errors.append(f"{url}: {r.status_code}")
            except httpx.HTTPError as e:
                errors.append(f"{url}: {e.__class__.__name__}")
                continue
            latencies.append(time.perf_counter() - t0)


def percentile(sorted_values: list[float], q: float) -> float:
    k = max(0, min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


async def load(base: str, token: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(*(client(n, base, token, until, latencies, errors) for n in range(clients)))
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
            base = f"http://127.0.0.1:{port}"
            asyncio.run(load(base, token, 5, 2.0))  # warm-up: first token check (argon2) and caches
            result = asyncio.run(load(base, token, args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(10)
    print(json.dumps(result, indent=2))
    return 0 if result["errors"] == 0 and result.get("p95_ms", 1e9) <= TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
