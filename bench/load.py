"""Load test: open-loop traffic from logged-in users of several roles against `jicai serve` on the demo.

    .venv/bin/python bench/load.py [--users 50,200] [--duration 30] [--think 2.0] [--port 8137]
        [--server gunicorn|waitress] [--workers N] [--postgres postgres://…/jicai_lists] [--url URL --pid PID]

Needs the demo in the database (e.g. `jicai demo --scale medium` on PostgreSQL, or bench/lists.py). Unless
--url is given, it starts `jicai serve --server SERVER --port PORT` on that database and stops it at the
end. Only 127.0.0.1 is accepted as a target.

Open loop: each virtual user starts a request at exponential intervals of mean --think seconds whether or
not its previous request has answered, so a slow server gets more concurrent requests rather than fewer
(offered rate ≈ users / think). Users are spread round-robin over logged-in sessions of the demo's
province bureau, city bureau, pharmacist, manufacturer and distributor; each request is a random page or
API list of that role (home page, order/line/delivery/alert/product lists, their API endpoints).

One JSON line per level: users, offered and achieved requests/s, p50/p95/p99 latency in ms, errors (status
≥ 400, timeouts, connection errors), the server's process count (master + workers) and the target
(p95 < 500 ms with 0 errors at 200 users).
"""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
from serve import start_server

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Jicai-demo-2026"  # the demo's password (jicai/demo/steps/accounts.py)
TARGET_P95_MS = 500
ROLES = ["province", "city", "pharmacist", "manufacturer", "distributor"]
COMMON = [
    "/",
    "/trade/orders/",
    "/trade/lines/",
    "/trade/deliveries/",
    "/monitoring/alerts/",
    "/registry/products/",
    "/batches/",
    "/api/v1/orders",
    "/api/v1/order-lines",
    "/api/v1/alerts",
    "/api/v1/products",
    "/api/v1/batches",
]


def emit(**fields) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def process_count(pid: int) -> int:
    """The server process and its direct children (gunicorn workers)."""
    count = 1
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    count += 1
            except (OSError, IndexError, ValueError):
                continue
    return count


async def login(base: str, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=base,
        timeout=30,
        limits=httpx.Limits(max_connections=400, max_keepalive_connections=100),
    )
    page = await client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    response = await client.post(
        "/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1) if token else "",
        },
        headers={"Referer": f"{base}/login/"},
    )
    if response.status_code != 302:
        raise SystemExit(f"login of {username} failed: HTTP {response.status_code}")
    return client


async def run_level(clients: dict, users: int, duration: float, think: float, pid: int | None) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    pending: set[asyncio.Task] = set()
    names = list(clients)

    async def one(client: httpx.AsyncClient, url: str) -> None:
        started = time.perf_counter()
        try:
            response = await client.get(url)
            if response.status_code >= 400:
                errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
                return
        except httpx.HTTPError as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
            return
        latencies.append((time.perf_counter() - started) * 1000)

    async def user(index: int, stop_at: float) -> None:
        rng = random.Random(index)
        client = clients[names[index % len(names)]]
        await asyncio.sleep(rng.uniform(0, think))  # spread the first requests
        while time.monotonic() < stop_at:
            task = asyncio.create_task(one(client, rng.choice(COMMON)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(min(rng.expovariate(1 / think), max(0.0, stop_at - time.monotonic())))

    started = time.monotonic()
    await asyncio.gather(*(user(i, started + duration) for i in range(users)))
    sent_for = time.monotonic() - started
    if pending:
        await asyncio.wait(pending, timeout=60)
    elapsed = time.monotonic() - started
    done = len(latencies) + sum(errors.values())
    return {
        "name": "load",
        "users": users,
        "think_s": think,
        "offered_rps": round(users / think, 1),
        "duration_s": round(sent_for, 1),
        "requests": done,
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) or 0, 1),
        "p95_ms": round(percentile(latencies, 0.95) or 0, 1),
        "p99_ms": round(percentile(latencies, 0.99) or 0, 1),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "processes": process_count(pid) if pid else None,
    }


def start(args) -> subprocess.Popen:
    extra = ["--server", args.server] + (["--workers", str(args.workers)] if args.workers else [])
    return start_server({**os.environ, "DATABASE_URL": args.postgres}, args.port, extra)


async def main_async(args, base: str, pid: int | None) -> None:
    clients = {name: await login(base, name) for name in ROLES}
    for client in clients.values():  # warm-up: every URL once per session
        for url in COMMON:
            await client.get(url)
    for users in [int(u) for u in args.users.split(",")]:
        result = await run_level(clients, users, args.duration, args.think, pid)
        result["server"] = args.server if not args.url else "external"
        if users == 200:
            result["target"] = f"p95 < {TARGET_P95_MS} ms, 0 errors"
            result["met"] = result["p95_ms"] < TARGET_P95_MS and result["errors"] == 0
        emit(**result)
    for client in clients.values():
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="50,200")
    parser.add_argument("--duration", type=float, default=30, help="seconds of arrivals per level")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between a user's requests")
    parser.add_argument("--port", type=int, default=8137)
    parser.add_argument("--server", default="gunicorn", choices=["gunicorn", "waitress"])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/jicai_lists")
    parser.add_argument("--url", default="", help="an already running server (127.0.0.1 only)")
    parser.add_argument("--pid", type=int, default=None, help="its process id, for the process count")
    args = parser.parse_args()
    if args.duration <= 0 or args.duration > 600:
        raise SystemExit("--duration must be between 0 and 600 seconds")

    server = None
    if args.url:
        if urlparse(args.url).hostname != "127.0.0.1":
            raise SystemExit("only http://127.0.0.1:… targets are allowed")
        base, pid = args.url.rstrip("/"), args.pid
    else:
        server = start(args)
        base, pid = f"http://127.0.0.1:{args.port}", server.pid
    try:
        asyncio.run(main_async(args, base, pid))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
