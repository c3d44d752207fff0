"""Two concurrent `jicai monitor` runs do not interleave (issue 15): the second finds the lock held by the
first — another process — says which in Chinese and exits non-zero; once the first ends, a run succeeds."""

import io
import json
import os
import subprocess
import sys

from django.core.management import call_command
from django.db import connection

HOLD = """
import datetime as dt, sys, django
django.setup()
from jicai.monitoring.lock import monitor_lock
with monitor_lock(dt.date(2024, 6, 8)):
    print("locked", flush=True)
    sys.stdin.read()  # hold the lock until the test closes our stdin
print("released", flush=True)
"""


def database_url(tmp_path) -> str:
    """The database the test runs on, as another process reaches it: PostgreSQL's test database by name;
    for SQLite (an in-memory test database) a database file of its own, since the lock lives beside it."""
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        host = settings["HOST"] or "127.0.0.1"
        port = settings["PORT"] or 5432
        return f"postgres://{settings['USER']}@{host}:{port}/{settings['NAME']}"
    return f"sqlite:///{tmp_path / 'monitor.sqlite3'}"


def test_second_concurrent_run_says_who_holds_the_lock_and_exits_non_zero(mworld, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(tmp_path),
        "DJANGO_SETTINGS_MODULE": "jicai.settings",
        "JICAI_DATA_DIR": str(tmp_path),
    }
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"  # deterministic: the lock is held from here on
        second = subprocess.run(
            [sys.executable, "-m", "jicai.cli", "monitor", "--as-of", "2024-06-08"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 3
        assert "另一个监测正在运行" in second.stderr and "本次未运行" in second.stderr
        assert f"{holder.pid}@" in second.stderr  # names the running process
        assert second.stdout == ""  # printed no alerts, ran nothing
    finally:
        holder.stdin.close()
        assert holder.stdout.readline().strip() == "released"
        holder.wait(timeout=30)
    assert holder.returncode == 0
    # The lock is free again: a run now goes through and prints its JSON.
    out = io.StringIO()
    call_command("monitor", "--as-of", "2024-06-08", stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue())["as_of"] == "2024-06-08"


def test_lock_is_released_after_a_run_so_runs_in_a_row_succeed(mworld):
    for _ in range(2):
        out = io.StringIO()
        call_command("monitor", "--as-of", "2024-06-08", stdout=out, stderr=io.StringIO())
        assert json.loads(out.getvalue())["as_of"] == "2024-06-08"


DRAIN = """
import datetime as dt, sys, time, django
django.setup()
from jicai.monitoring.lock import monitor_lock
with monitor_lock(dt.date(2024, 6, 8), drain=True):
    print("locked", flush=True)
    time.sleep(4)  # a (very long) real-time drain: longer than the full run takes to start
print("released", flush=True)
"""


def test_a_full_run_waits_for_a_real_time_drain_instead_of_failing(mworld, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(tmp_path),
        "DJANGO_SETTINGS_MODULE": "jicai.settings",
        "JICAI_DATA_DIR": str(tmp_path),
    }
    if connection.vendor != "postgresql":
        subprocess.run(
            [sys.executable, "-m", "jicai.cli", "migrate"], env=env, check=True, capture_output=True
        )
    drain = subprocess.Popen([sys.executable, "-c", DRAIN], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert drain.stdout.readline().strip() == "locked"
        run = subprocess.run(
            [sys.executable, "-m", "jicai.cli", "monitor", "--as-of", "2024-06-08"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        # It waited for the drain (the drain released first) and then ran.
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["as_of"] == "2024-06-08"
    finally:
        assert drain.stdout.readline().strip() == "released"
        drain.wait(timeout=30)
        forget_committed_runs(env["DATABASE_URL"])
    assert drain.returncode == 0


def forget_committed_runs(url: str) -> None:
    """On PostgreSQL the other processes wrote to the test database itself and committed (this test's own
    transaction cannot roll that back): remove their monitoring runs, so later tests in this worker (e.g. a
    home page that says no run has happened yet) do not see them. SQLite: they wrote to a file of their own."""
    if connection.vendor != "postgresql":
        return
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as other:
        other.execute("DELETE FROM monitoring_monitoringrun WHERE as_of = '2024-06-08'")
