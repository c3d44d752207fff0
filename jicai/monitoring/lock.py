"""One monitoring run at a time per database (issue 15): two `jicai monitor` runs would interleave their fact
and alert writes. PostgreSQL: a session-level advisory lock (released by the server when the process or
its connection dies). SQLite: an exclusive `flock` on a file beside the database file (released by the
kernel when the process dies). The second run learns who holds the lock and stops with that in its message —
except when the holder is a real-time drain (realtime.py), which lasts well under a second: a full run waits
for it (up to DRAIN_WAIT_SECONDS) instead of failing because a receipt was just confirmed.
"""

import datetime as dt
import os
import socket
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from django.db import connection

# Any fixed 64-bit number: it names "the monitoring run" among PostgreSQL's advisory locks.
ADVISORY_KEY = 0x4A49_4341_494D_4F4E  # "JICAIMON"
LABEL_PREFIX = "jicai monitor"
DRAIN_PREFIX = "jicai realtime"  # the holder's label when a real-time drain holds the lock
DRAIN_WAIT_SECONDS = 30.0
RETRY_SECONDS = 0.05


class MonitorBusy(Exception):
    """Another monitoring run holds the lock; the message says which."""

    def __init__(self, message: str, *, drain: bool = False):
        super().__init__(message)
        self.drain = drain  # the holder is a real-time drain (or was just released): worth a short wait


def _label(as_of: dt.date, prefix: str) -> str:
    started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"{prefix} 进程 {os.getpid()}@{socket.gethostname()}，监测日期 {as_of}，开始于 {started}"


def _busy(holder: str) -> MonitorBusy:
    # No holder to be found means the lock was released between our try and our look (its label is
    # cleared just before the unlock): as worth waiting for as a drain.
    return MonitorBusy(
        f"另一个监测正在运行：{holder or '（未知进程）'}。本次未运行，请等它结束后再试",
        drain=not holder or holder.startswith(DRAIN_PREFIX),
    )


@contextmanager
def monitor_lock(as_of: dt.date, *, drain: bool = False):
    """Hold the monitoring lock for the block. A real-time drain (`drain=True`) raises MonitorBusy at once
    when the lock is taken (it retries on its next tick); a full run does too when another full run holds it,
    and waits up to DRAIN_WAIT_SECONDS when a drain does."""
    prefix = DRAIN_PREFIX if drain else LABEL_PREFIX
    deadline = time.monotonic() + DRAIN_WAIT_SECONDS
    with ExitStack() as stack:
        while True:
            try:
                lock = _advisory_lock if connection.vendor == "postgresql" else _file_lock
                stack.enter_context(lock(as_of, prefix))
                break
            except MonitorBusy as exc:
                if drain or not exc.drain or time.monotonic() >= deadline:
                    raise
                time.sleep(RETRY_SECONDS)
        yield


@contextmanager
def _advisory_lock(as_of: dt.date, prefix: str):
    # application_name holds 63 bytes: plain ASCII, so no Chinese character is cut in half.
    label = f"{prefix} {os.getpid()}@{socket.gethostname()} as-of {as_of}"[:63]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
        if not cursor.fetchone()[0]:
            raise _busy(_advisory_holder(cursor))
        # The holder shows itself through application_name, which the second run reads back.
        cursor.execute("SELECT set_config('application_name', %s, false)", [label])
    try:
        yield
    finally:
        # A connection that is gone took the lock with it (the server releases a dead session's locks).
        if connection.connection is not None and connection.is_usable():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
                cursor.execute("SELECT set_config('application_name', '', false)")


def _advisory_holder(cursor) -> str:
    # A bigint advisory key is stored as two 32-bit halves (classid high, objid low).
    cursor.execute(
        """
        SELECT a.application_name, a.pid, a.backend_start
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
            SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = %s AND l.objid = %s AND l.objsubid = 1
        """,
        [(ADVISORY_KEY >> 32) & 0xFFFFFFFF, ADVISORY_KEY & 0xFFFFFFFF],
    )
    row = cursor.fetchone()
    if row is None:
        return ""
    name, backend_pid, started = row
    since = started.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"{name or '未命名进程'}（数据库会话 {backend_pid}，连接于 {since}）"


def lock_file_path() -> Path:
    """Beside the SQLite database file, so every process using that database meets the same lock. An
    in-memory database (tests) belongs to one process, so its lock does too: a shared file in the data
    folder made parallel test workers, each with its own database, refuse each other's runs."""
    name = str(connection.settings_dict["NAME"])
    if name and name != ":memory:" and not name.startswith("file:"):
        return Path(name).with_name(Path(name).name + ".monitor.lock")
    return Path(tempfile.gettempdir()) / f"jicai-monitor-{os.getpid()}.lock"


@contextmanager
def _file_lock(as_of: dt.date, prefix: str):
    import fcntl

    path = lock_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held open for the whole run)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise _busy(handle.read().strip()) from None
        handle.seek(0)
        handle.truncate()
        handle.write(_label(as_of, prefix))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
