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

Date: the as_of of the latest monitoring run (the nightly run moves it forward), else today, so the
incremental path and the next full run of that date find the same facts and alerts.
"""

import datetime as dt
import logging
import time

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from jicai.monitoring.lock import MonitorBusy, monitor_lock
from jicai.monitoring.models import DirtyInstitution, MonitoringRun

log = logging.getLogger(__name__)
ALL = None  # a DirtyInstitution row without an institution: every institution


def realtime_as_of() -> dt.date:
    latest = MonitoringRun.objects.order_by("-started_at", "-id").values_list("as_of", flat=True).first()
    return latest or timezone.localdate()


def _take() -> set:
    table = connection.ops.quote_name(DirtyInstitution._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} RETURNING institution_id")
        return {row[0] for row in cursor.fetchall()}


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
