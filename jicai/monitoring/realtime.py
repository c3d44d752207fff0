"""Real time (SPEC §13): facts and alerts of the institutions touched by committed writes, recomputed within
a second, with the very SQL of the full run restricted to those institutions (compute_facts/evaluate with
`institutions=`), so there is one definition of every indicator.

Where keys are collected: database triggers (migration 0010_realtimeb_dirty) add the institution of every
changed order, order line, delivery, receipt, payment, usage line, agreed volume, agreement and supply block
to DirtyInstitution in the writer's own transaction; a winner change adds None (every institution). Nothing
in Python has to remember to do it, and an import of 100,000 receipts adds one row per institution.

Who drains them: `drain()` takes the waiting rows (DELETE … RETURNING, in its own transaction, so rows
committed meanwhile wait for the next pass), and runs the restricted run once for all of them, under the
monitoring lock (lock.py): while a full `jicai monitor` runs, the drain waits for the next tick. `follow()`
drains every `interval` seconds; `jicai serve` starts it as a child process (`jicai monitor --follow`), and
a larger installation runs that command on its own instead (`jicai serve --no-realtime`).

Bulk inserts on SQLite: its triggers fire per row, and the row trigger's look-up cost an import about 20 µs
per row (1 M order lines: 158.7 s against 123.3 s without triggers, bench/RESULTS.md). `bulk_insert(table)`
sets the table's INSERT trigger aside for the statement's duration and marks the inserted rows' institutions
once, set-based, with the same source expression the trigger uses (SOURCES). Writers are serialised on SQLite
and the drop, the insert, the mark and the re-creation are one transaction, so no other writer can slip a row
past the missing trigger. PostgreSQL's triggers are per statement already, and dropping one there would lock
the table against readers, so it is left alone.

Date: the as_of of the latest monitoring run (the nightly run moves it forward), else today, so the
incremental path and the next full run of that date find the same facts and alerts.
"""

import datetime as dt
import logging
import time
from contextlib import contextmanager

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from jicai.monitoring.lock import MonitorBusy, monitor_lock
from jicai.monitoring.models import DirtyInstitution, MonitoringRun

log = logging.getLogger(__name__)
ALL = None  # a DirtyInstitution row without an institution: every institution
TRIGGER_PREFIX = "jicai_rt_"
# table → SQL giving the institution of a changed row `r` (NULL: every institution). The triggers of migration
# 0010 were created from a frozen copy of this mapping; bulk_insert marks rows with it.
SOURCES = {
    "trade_orderline": "r.institution_id",
    "trade_order": "r.institution_id",
    "trade_usageline": "r.institution_id",
    "trade_supplyblock": "r.institution_id",
    "agreements_agreedvolume": "r.institution_id",
    "agreements_purchaseagreement": "r.institution_id",
    "trade_delivery": "(SELECT l.institution_id FROM trade_orderline l WHERE l.id = r.line_id)",
    "trade_receipt": "(SELECT l.institution_id FROM trade_orderline l WHERE l.id = r.line_id)",
    "trade_payment": "(SELECT l.institution_id FROM trade_orderline l WHERE l.id = r.line_id)",
    "batches_winner": "CAST(NULL AS BIGINT)",
}


def realtime_as_of() -> dt.date:
    latest = MonitoringRun.objects.order_by("-started_at", "-id").values_list("as_of", flat=True).first()
    return latest or timezone.localdate()


def _take() -> set:
    table = connection.ops.quote_name(DirtyInstitution._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} RETURNING institution_id")
        return {row[0] for row in cursor.fetchall()}


@contextmanager
def bulk_insert(table: str):
    """Around a many-row INSERT into `table` (ids increasing, as SQLite's AUTOINCREMENT gives them): on SQLite,
    the row trigger set aside and the new rows' institutions marked once afterwards; elsewhere nothing."""
    if connection.vendor != "sqlite" or table not in SOURCES:
        yield
        return
    name = f"{TRIGGER_PREFIX}{table}_insert"
    dirty = connection.ops.quote_name(DirtyInstitution._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name])
        found = cursor.fetchone()
        if found is None:  # set aside already (core.bulkload) or never created
            yield
            return
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        before = cursor.fetchone()[0]
        cursor.execute(f"DROP TRIGGER {name}")
        yield
        cursor.execute(found[0])
        cursor.execute(
            f"INSERT INTO {dirty} (institution_id) SELECT DISTINCT k FROM"
            f" (SELECT {SOURCES[table]} AS k FROM {table} r WHERE r.id > %s) AS new"
            f" WHERE NOT EXISTS (SELECT 1 FROM {dirty} d WHERE d.institution_id IS new.k)",
            [before],
        )


def drain(as_of: dt.date | None = None) -> dict | None:
    """Recompute the facts and alerts of the waiting institutions once. Returns what it did ({"institutions":
    n, "seconds": s, …}), None when nothing waited; raises MonitorBusy while another run holds the lock."""
    from jicai.monitoring.evaluate import run_monitoring

    if not DirtyInstitution.objects.exists():
        return None
    started = time.perf_counter()
    as_of = as_of or realtime_as_of()
    with monitor_lock(as_of, drain=True), transaction.atomic():
        keys = _take()
        if not keys:
            return None
        institutions = None if ALL in keys else frozenset(keys)
        outcome = run_monitoring(as_of, sla=False, institutions=institutions)
    return {
        "as_of": as_of.isoformat(),
        "institutions": "all" if institutions is None else len(institutions),
        "opened": outcome.opened,
        "reopened": outcome.reopened,
        "closed": outcome.closed,
        "seconds": round(time.perf_counter() - started, 3),
    }


def follow(interval: float = 0.2, as_of: dt.date | None = None, stop=None, report=None) -> None:
    """Drain every `interval` seconds until `stop()` is true (forever by default)."""
    while not (stop and stop()):
        try:
            done = drain(as_of)
            if done and report:
                report(done)
        except MonitorBusy:
            time.sleep(1)
        except Exception:  # a failed pass leaves its rows waiting (rolled back) and is retried
            log.exception("realtime drain failed")
            close_old_connections()
            time.sleep(1)
        time.sleep(interval)
