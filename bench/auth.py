"""Auth costs: token check (cached / uncached), login throughput, and config GET throughput when the
client sends a token vs username+password on every request (target: password path within 1.5x).

Run: .venv/bin/python bench/auth.py  (starts its own server on a free loopback port; ~40 s)
"""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.server_process import ServerProcess

from pynacos.server.auth import passwords
from pynacos.server.auth.tokens import TokenCodec, TokenService

KEY = base64.b64encode(bytes(range(60, 100))).decode()
PASSWORD = "Bench-Passw0rd!"
CONCURRENCY = 16
DURATION = 8.0


def token_check_costs() -> None:
    service = TokenService(TokenCodec(bytes(range(60, 100))), 18000)
    token, _ = service.issue("nacos")
    service.verify(token)
    rounds = 50_000
    cached = timeit.timeit(lambda: service.verify(token), number=rounds) / rounds
    uncached = timeit.timeit(lambda: service.codec.verify(token), number=rounds) / rounds  # type: ignore[union-attr]
    print(f"token check, cached (memoised):   {cached * 1e6:8.2f} us")
    print(f"token check, uncached (HMAC+JSON): {uncached * 1e6:8.2f} us")
    stored = passwords.hash_password(PASSWORD)
    bcrypt_cost = timeit.timeit(lambda: passwords.verify(PASSWORD, stored), number=5) / 5
    per_core = 1 / bcrypt_cost
    print(f"one BCrypt check (cost 10, a first login): {bcrypt_cost * 1000:8.1f} ms = {per_core:.0f} logins/s per core")


async def hammer(base: str, params: dict[str, str], seconds: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get("/v1/cs/configs", params=params)
            assert response.status_code == 200, response.text
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


async def login_rate(base: str, seconds: float) -> float:
    count = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            response = await client.post("/v1/auth/login", data={"username": "nacos", "password": PASSWORD})
            assert response.status_code == 200
            count += 1

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(4)))
        return count / (time.perf_counter() - started)


def describe(name: str, rate: float, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50, p99 = statistics.median(ordered), ordered[int(len(ordered) * 0.99)]
    print(f"{name:32s} {rate:8.0f} req/s   p50 {p50 * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms")


async def http_figures(server: ServerProcess) -> None:
    base = server.base
    async with httpx.AsyncClient(base_url=base) as client:
        await client.post("/v1/auth/users/admin", data={"password": PASSWORD})
        token = (await client.post("/v1/auth/login", data={"username": "nacos", "password": PASSWORD})).json()[
            "accessToken"
        ]
        await client.post(
            "/v1/cs/configs", data={"dataId": "bench", "group": "g", "content": "x" * 200, "accessToken": token}
        )
    rate = await login_rate(base, 4.0)
    print(f"login throughput, repeated credentials (BCrypt skipped by the 60 s cache): {rate:.1f} logins/s")
    query = {"dataId": "bench", "group": "g"}
    with_token = {**query, "accessToken": token}
    with_password = {**query, "username": "nacos", "password": PASSWORD}
    if shutil.which("wrk"):
        print(f"load generator: wrk -t1 -c{CONCURRENCY} -d{DURATION:.0f}s")
        wrk(base, with_token, 1.0)
        token_rate = wrk(base, with_token, DURATION)
        pw_rate = wrk(base, with_password, DURATION)
        print(f"{'config GET with accessToken':36s} {token_rate:8.0f} req/s")
        print(f"{'config GET with username+password':36s} {pw_rate:8.0f} req/s")
    else:
        print("load generator: httpx (install wrk for figures not bound by the client)")
        await hammer(base, with_token, 1.0)
        token_rate, token_lat = await hammer(base, with_token, DURATION)
        pw_rate, pw_lat = await hammer(base, with_password, DURATION)
        describe("config GET with accessToken", token_rate, token_lat)
        describe("config GET with username+password", pw_rate, pw_lat)
    print(f"ratio token/password throughput: {token_rate / pw_rate:.2f}x (target <= 1.5x)")


def wrk(base: str, params: dict[str, str], seconds: float) -> float:
    """Requests per second measured by wrk (one thread, fixed connections)."""
    url = f"{base}/v1/cs/configs?{urlencode(params)}"
    command = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{max(1, int(seconds))}s", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if match is None or non_2xx is not None:
        raise RuntimeError(f"wrk run failed: {output}")
    return float(match.group(1))


def main() -> None:
    token_check_costs()
    with tempfile.TemporaryDirectory() as home:
        server = ServerProcess(
            Path(home),
            {"nacos.core.auth.enabled": "true", "nacos.core.auth.plugin.nacos.token.secret.key": KEY},
        )
        server.start()
        try:
            asyncio.run(http_figures(server))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
