"""Faults survived (issue 15): a SIGKILLed import of 100,000 order lines leaves nothing behind and re-runs
cleanly, and a monitoring run whose database connection is dropped leaves the previous facts and alerts as
they were, the next run succeeding. The real CLI runs in a subprocess against the test database with its
data committed (transactional_db), so these need a database server other processes can reach."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.db import connection, connections

from jicai.batches.models import ListingPrice
from jicai.trade.models import Order, OrderLine

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs a database server: the SQLite test database lives in this process's memory",
    ),
]

LINES = 100_000
HEADER = "order_id,line_no,institution_code,supplier_code,distributor_code,product_code,qty,unit_price,ordered_on,status"


def subprocess_env() -> dict:
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "jicai.settings"}


@pytest.fixture
def big_orders(transactional_db, world, tmp_path):
    ListingPrice.objects.create(
        product=world.product,
        province=world.province,
        price=Decimal("0.1200"),
        valid_from=dt.date(2024, 3, 1),
    )
    fixed = f"H37100200001,{world.maker.code},{world.distributor.code},{world.product.code},10,0.1200,2025-02-01,open"
    path = tmp_path / "orders.csv"
    # 10,000 orders of 10 lines each, written in one go (well under a second).
    path.write_text(
        HEADER + "\n" + "".join(f"PO{i // 10:05d},{i % 10 + 1},{fixed}\n" for i in range(LINES)),
        encoding="utf-8",
    )
    return path


def test_sigkilled_cli_import_leaves_nothing_and_reruns_cleanly(big_orders):
    command = [sys.executable, "-m", "jicai.cli", "import", "orders", str(big_orders)]
    process = subprocess.Popen(
        command, env=subprocess_env(), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    # Mid-way, deterministically: the first progress line comes after 10,000 of the 100,000 lines were
    # checked and written inside the import's still-open transaction.
    first = process.stderr.readline()
    assert first.startswith("已校验 10000/"), first
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    connections.close_all()
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0
    rerun = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert rerun.stdout.startswith(f"已导入 orders：{LINES} 行（新增 {LINES}，")
    assert Order.objects.count() == 10_000 and OrderLine.objects.count() == LINES


MONITOR_AS_OF = "2024-06-08"


def _facts_and_alerts() -> dict:
    from jicai.monitoring.models import Alert

    tables = {"alerts": sorted(Alert.objects.values_list("pk", "status", "type"))}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table.startswith("monitoring_") and "fact" in table:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 (table names from the catalogue)
                tables[table] = cursor.fetchone()[0]
    return tables


def test_monitoring_run_whose_connection_is_dropped_changes_nothing_and_the_next_run_succeeds(
    transactional_db, world
):
    from jicai.batches.models import AgreementYear
    from tests.monitoring.conftest import agreed, received

    world.year1 = AgreementYear.objects.get(batch=world.batch, number=1)
    agreed(world, world.hospital, 365)
    received(world.hospital, world.product, 10, dt.date(2024, 4, 1), item=world.item)
    env = subprocess_env()
    command = [sys.executable, "-m", "jicai.cli", "monitor", "--as-of", MONITOR_AS_OF]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    before = _facts_and_alerts()
    assert before["alerts"], "the first run should have opened the progress-lag alert"

    # The second run holds the monitoring advisory lock on its connection for its whole life: as soon as
    # a backend holds it, the run is under way; that backend is then terminated from this connection.
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    from jicai.monitoring.lock import ADVISORY_KEY

    killed = None
    deadline = time.monotonic() + 60
    with connection.cursor() as cursor:
        while killed is None and time.monotonic() < deadline and process.poll() is None:
            # Its backend, once inside a transaction (the SLA pass or the facts/alerts transaction).
            cursor.execute(
                "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s"
                " AND a.xact_start IS NOT NULL",
                [(ADVISORY_KEY >> 32) & 0xFFFFFFFF, ADVISORY_KEY & 0xFFFFFFFF],
            )
            row = cursor.fetchone()
            if row:
                cursor.execute("SELECT pg_terminate_backend(%s)", [row[0]])
                killed = row[0]
            else:
                time.sleep(0.001)
    stdout, stderr = process.communicate(timeout=120)
    if killed is None:
        pytest.fail(f"the monitoring run finished before its connection could be dropped: {stderr}")
    assert process.returncode != 0  # the dropped run failed loudly …
    assert _facts_and_alerts() == before  # … and wrote nothing
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _facts_and_alerts()["alerts"] == before["alerts"]


def test_server_killed_during_a_bulk_api_import_leaves_nothing_and_a_resend_imports_all(big_orders, world):
    import socket
    import threading
    import urllib.request

    from jicai.accounts.actions import create_api_token

    _, key = create_api_token(
        actor=world.pharmacist, organisation=world.hospital_org, name="HIS", role="institution"
    )
    port = 8141
    env = {**subprocess_env(), "JICAI_SECRET_KEY": "f" * 60}

    def stop(server: subprocess.Popen) -> None:
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.wait()

    def start_server() -> subprocess.Popen:
        server = subprocess.Popen(
            [sys.executable, "-m", "jicai.cli", "serve", "--port", str(port), "--threads", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            # Its own process group: `jicai serve` is a gunicorn master with worker processes, and the fault
            # is the whole server dying (killing only the master would leave the worker finishing the request).
            start_new_session=True,
        )
        assert "集采平台已启动" in server.stdout.readline()
        for _ in range(200):  # the banner precedes the bind by a moment
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return server
            time.sleep(0.05)
        raise AssertionError("server did not listen")

    boundary = "jicaiboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="orders.csv"\r\n\r\n'
        ).encode()
        + big_orders.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def post() -> urllib.request.Request:
        return urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/imports/orders/file",
            data=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
            method="POST",
        )

    server = start_server()
    outcome = {}

    def send():
        try:
            outcome["status"] = urllib.request.urlopen(post(), timeout=300).status
        except Exception as exc:  # the server dies under the request: any transport error is expected
            outcome["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()
    try:
        # Mid-request, deterministically: another backend holds a write lock on the order lines table,
        # i.e. the import's transaction has begun inserting.
        deadline = time.monotonic() + 120
        writing = False
        with connection.cursor() as cursor:
            while not writing and time.monotonic() < deadline:
                cursor.execute(
                    "SELECT 1 FROM pg_locks WHERE relation = %s::regclass AND mode = 'RowExclusiveLock'"
                    " AND pid <> pg_backend_pid()",
                    [OrderLine._meta.db_table],
                )
                writing = cursor.fetchone() is not None
                if not writing:
                    time.sleep(0.002)
        assert writing, "the import never started writing"
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    finally:
        stop(server)
        sender.join(timeout=60)
    assert "status" not in outcome  # the client never got a success
    connections.close_all()
    # The killed server's backend is rolled back by PostgreSQL once it notices the closed socket.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM pg_locks WHERE relation = %s::regclass AND pid <> pg_backend_pid()",
                [OrderLine._meta.db_table],
            )
            if cursor.fetchone()[0] == 0:
                break
        time.sleep(0.05)
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0
    server = start_server()
    try:
        with urllib.request.urlopen(post(), timeout=600) as response:
            assert response.status == 200
            import json

            assert json.loads(response.read())["created"] == LINES
    finally:
        stop(server)
    assert Order.objects.count() == 10_000 and OrderLine.objects.count() == LINES
