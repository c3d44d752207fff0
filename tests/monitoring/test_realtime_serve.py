"""Acceptance of SPEC §13 real time against a real `jicai serve` (HTTP, separate processes, a SQLite file):
`jicai import receipts` in another process; within 1 s the institution's progress fact in
/api/v1/facts/progress has moved by exactly the received quantity and the line's LATE_RECEIPT alert is
closed, with no `jicai monitor` run in between (the serve's own `monitor --follow` child does it)."""

import os
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import pytest

from bench.serve import JICAI, ROOT, start_server

PORT = 8200
SETUP = """
import datetime as dt
import django
django.setup()
from tests.factories import build_world
from tests.monitoring.conftest import add_line, agreed
w = build_world()
agreed(w, w.hospital, 1000)
received = add_line(w.hospital, w.product, 30, dt.date(2024, 5, 10), item=w.item, delivered=30,
                    delivered_on=dt.date(2024, 5, 11), accepted=30, received_on=dt.date(2024, 5, 12))
line = add_line(w.hospital, w.product, 10, dt.date(2024, 5, 20), item=w.item, delivered=10,
                delivered_on=dt.date(2024, 6, 1))
print(line.order.order_id)
"""


def _run(env, *args, **kw):
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True, **kw)


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(JICAI_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="jicai.settings", PYTHONPATH=str(ROOT))
    return env


def test_imported_receipt_reaches_facts_and_alerts_within_a_second(env, tmp_path):
    _run(env, JICAI, "migrate", "--no-input")
    order_id = _run(env, sys.executable, "-c", SETUP).stdout.strip().splitlines()[-1]
    _run(env, JICAI, "monitor", "--as-of", "2024-06-08")
    key = _run(env, JICAI, "token", "H37100200001").stdout.strip().splitlines()[-1]
    api = httpx.Client(base_url=f"http://127.0.0.1:{PORT}/api/v1", headers={"Authorization": f"Bearer {key}"})

    def purchased():
        rows = api.get("/facts/progress", params={"institution": "H37100200001"}).json()["results"]
        return Decimal(rows[0]["purchased_winning"])

    def late_receipt():
        rows = api.get("/alerts", params={"type": "LATE_RECEIPT"}).json()["results"]
        return [(a["order_id"], a["line_no"], a["status"]) for a in rows]

    server = start_server(env, PORT, ["--server", "waitress"])
    try:
        assert purchased() == Decimal("30")
        assert late_receipt() == [(order_id, 1, "open")]
        csv = tmp_path / "receipts.csv"
        csv.write_text(
            f"order_id,line_no,accepted_qty,rejected_qty,received_on,reason\n{order_id},1,10,0,2024-06-08,\n",
            encoding="utf-8",
        )
        _run(env, JICAI, "import", "receipts", str(csv))
        committed = time.monotonic()
        while purchased() != Decimal("40") and time.monotonic() - committed < 1.0:
            time.sleep(0.05)
        elapsed = time.monotonic() - committed
        assert purchased() == Decimal("40"), f"not moved after {elapsed:.2f} s"
        assert late_receipt() == [(order_id, 1, "closed")]
        assert elapsed < 1.0
    finally:
        server.terminate()
        server.wait(15)
