"""Prescribing prompt bench (SPEC §11, issue 13): open-loop CDS Hooks traffic against `jicai serve` on the
demo province, for the cached rule and for the straightforward per-request ORM rule in the same run.

    .venv/bin/python bench/prompt.py [--rates 250,500,750,1000] [--duration 15] [--port 8111]
        [--workers 2] [--threads 4] [--database postgres://postgres@127.0.0.1:5432/jicai_prompt]

Needs the demo in the database (`jicai demo --scale small` or larger). For each rule it starts
`jicai serve --workers N` (JICAI_PROMPT_RULE=cache, then =orm) on the port, issues an institution API token
with `jicai token`, and sends `order-sign` requests at exponential intervals of mean 1/rate whatever the
answers (open loop: a slow server gets more concurrent requests, not fewer). The draft orders are a mix of
the hospital's products: winning (no card), non-winning and catalogue substitutes (cards stored).

One JSON line per rule and level: offered and achieved requests/s, p50/p95/p99 latency in ms (client side,
from the scheduled send time, so queueing in the generator counts against the server), errors (status ≠
200, timeouts, connection errors) and cards. Target: ≥ 500 requests/s with p99 ≤ 50 ms and no errors.
Only 127.0.0.1 is used.
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from serve import start_server

ROOT = Path(__file__).resolve().parent.parent
JICAI = str(Path(sys.executable).with_name("jicai"))


def emit(**fields) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


def setup(env: dict) -> tuple[str, list[str]]:
    """A token of the pharmacist's hospital and product codes to prescribe (read with a small script)."""
    script = (
        "import django, json; django.setup()\n"
        "from jicai.accounts.models import User\n"
        "from jicai.batches.models import Winner, Substitute\n"
        "from jicai.registry.models import Product\n"
        "h = User.objects.get(username='pharmacist').organisation.institution\n"
        "win = list(Winner.objects.values_list('product__code', flat=True)[:40])\n"
        "sub = list(Substitute.objects.values_list('product__code', flat=True)[:40])\n"
        "other = list(Product.objects.exclude(code__in=win + sub).values_list('code', flat=True)[:80])\n"
        "print(json.dumps({'institution': h.code, 'codes': win + sub + other}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    token = subprocess.run(
        [JICAI, "token", data["institution"], "--name", "bench"], env=env, cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    return token, data["codes"]


def body(code: str, n: int) -> bytes:
    return json.dumps(
        {
            "hook": "order-sign",
            "hookInstance": f"bench-{n}",
            "context": {
                "userId": f"Practitioner/DR0{n % 9 + 1}",
                "patientId": "P1",
                "draftOrders": {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [
                        {
                            "resource": {
                                "resourceType": "MedicationRequest",
                                "id": "mr1",
                                "status": "draft",
                                "intent": "order",
                                "subject": {"reference": "Patient/P1"},
                                "medicationCodeableConcept": {"coding": [{"code": code}]},
                                "dispenseRequest": {"quantity": {"value": 28}},
                            }
                        }
                    ],
                },
            },
        }
    ).encode()


class Pool:
    """Keep-alive HTTP/1.1 connections to 127.0.0.1 written by hand: a request is a few bytes written and a
    response read by its Content-Length. httpx costs about a millisecond of CPU per request, which on two
    shared cores would be taken from the server under test."""

    IDLE_SECONDS = 1.0  # below gunicorn's keep-alive (2 s): never reuse a connection the server may close

    def __init__(self, port: int, limit: int = 400):
        self.port, self.limit, self.idle, self.open = port, limit, [], 0
        self.available = asyncio.Condition()

    async def acquire(self):
        async with self.available:
            while not self.idle and self.open >= self.limit:
                await self.available.wait()
            while self.idle:
                conn, since = self.idle.pop()
                if time.monotonic() - since < self.IDLE_SECONDS:
                    return conn
                conn[1].close()
                self.open -= 1
            self.open += 1
        try:
            return await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            await self.release(None)
            raise

    async def release(self, conn) -> None:
        async with self.available:
            if conn is None:
                self.open -= 1
            else:
                self.idle.append((conn, time.monotonic()))
            self.available.notify()

    async def close(self) -> None:
        for (_reader, writer), _since in self.idle:
            writer.close()


async def post(pool: Pool, head: bytes, payload: bytes) -> tuple[int, bytes]:
    """(status, body) of one POST on a pooled connection; a broken connection is dropped, not reused."""
    conn = await pool.acquire()
    reader, writer = conn
    try:
        writer.write(head + str(len(payload)).encode() + b"\r\n\r\n" + payload)
        header = await reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        length = 0
        for line in header.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        data = await reader.readexactly(length)
    except BaseException:
        writer.close()
        await pool.release(None)
        raise
    await pool.release(conn)
    return status, data


async def run_level(port: int, token: str, codes: list[str], rate: float, duration: float) -> dict:
    rng = random.Random(int(rate))
    bodies = [body(rng.choice(codes), n) for n in range(2000)]
    latencies: list[float] = []
    errors = cards = 0
    head = (
        "POST /cds-services/vbp-prompt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: "
    ).encode()
    pool = Pool(port)

    async def one(payload: bytes, scheduled: float) -> None:
        nonlocal errors, cards
        try:
            status, data = await asyncio.wait_for(post(pool, head, payload), timeout=10)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            return
        if status != 200:
            errors += 1
            return
        cards += data.count(b'"indicator"')
        latencies.append((time.perf_counter() - scheduled) * 1000)

    tasks = []
    start = time.perf_counter()
    next_at = start
    n = 0
    while next_at - start < duration:
        now = time.perf_counter()
        if next_at > now:
            await asyncio.sleep(next_at - now)
        tasks.append(asyncio.create_task(one(bodies[n % len(bodies)], next_at)))
        n += 1
        next_at += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    await pool.close()
    return {
        "offered_rps": round(n / duration, 1),
        "achieved_rps": round(len(latencies) / elapsed, 1),
        "requests": n,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "errors": errors,
        "cards": cards,
    }


def drain(port: int, limit: float = 120) -> None:
    """Wait until the server answers the discovery probe within 50 ms again, so a level the server could
    not keep up with does not leave its backlog to the next level."""
    import http.client

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            started = time.perf_counter()
            conn.request("GET", "/cds-services")
            conn.getresponse().read()
            conn.close()
            if time.perf_counter() - started < 0.05:
                return
        except OSError:
            pass
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="250,500,750,1000")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--port", type=int, default=8111)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--rules", default="cache,orm")
    args = parser.parse_args()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "jicai.settings"}
    if args.database:
        env["DATABASE_URL"] = args.database
    token, codes = setup(env)
    emit(setup={"codes": len(codes), "cpus": os.cpu_count(), "load_avg": os.getloadavg()})
    for rule in args.rules.split(","):
        server = start_server(
            {**env, "JICAI_PROMPT_RULE": rule},
            args.port,
            ["--workers", str(args.workers), "--threads", str(args.threads)],
            probe="/cds-services",
        )
        try:
            asyncio.run(run_level(args.port, token, codes, 50, 2))  # warm-up: caches and connections
            for rate in (float(r) for r in args.rates.split(",")):
                drain(args.port)
                result = asyncio.run(run_level(args.port, token, codes, rate, args.duration))
                emit(
                    rule=rule,
                    rate=rate,
                    workers=args.workers,
                    threads=args.threads,
                    load_avg=round(os.getloadavg()[0], 2),
                    **result,
                )
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
