"""One monitoring run at a time per database (issue 15): two `jicai monitor` runs would interleave their fact
and alert writes. PostgreSQL: a session-level advisory lock (released by the server when the process or
its connection dies). SQLite: an exclusive `flock` on a file beside the database file (released by the
kernel when the process dies). The second run learns who holds the lock and stops with that in its message.
"""

import datetime as dt
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

# Any fixed 64-bit number: it names "the monitoring run" among PostgreSQL's advisory locks.
ADVISORY_KEY = 0x4A49_4341_494D_4F4E  # "JICAIMON"
LABEL_PREFIX = "jicai monitor"


class MonitorBusy(Exception):
    """Another monitoring run holds the lock; the message says which."""


def _label(as_of: dt.date) -> str:
    started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"{LABEL_PREFIX} 进程 {os.getpid()}@{socket.gethostname()}，监测日期 {as_of}，开始于 {started}"


def _busy(holder: str) -> MonitorBusy:
    holder = holder or "（未知进程）"
    return MonitorBusy(f"另一个监测正在运行：{holder}。本次未运行，请等它结束后再试")


@contextmanager
def monitor_lock(as_of: dt.date):
    """Hold the monitoring lock for the block, or raise MonitorBusy at once (never wait)."""
    if connection.vendor == "postgresql":
        with _advisory_lock(as_of):
            yield
    else:
        with _file_lock(as_of):
            yield


@contextmanager
def _advisory_lock(as_of: dt.date):
    # application_name holds 63 bytes: plain ASCII, so no Chinese character is cut in half.
    label = f"{LABEL_PREFIX} {os.getpid()}@{socket.gethostname()} as-of {as_of}"[:63]
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
    """Beside the SQLite database file, so every process using that database meets the same lock;
    an in-memory database (tests) falls back to the data folder."""
    name = str(connection.settings_dict["NAME"])
    if name and name != ":memory:" and not name.startswith("file:"):
        return Path(name).with_name(Path(name).name + ".monitor.lock")
    return Path(settings.DATA_DIR) / "monitor.lock"


@contextmanager
def _file_lock(as_of: dt.date):
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
        handle.write(_label(as_of))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
