"""PostgreSQL planner and executor settings for a few statements (nothing on SQLite)."""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def local_settings(cursor, **values):
    """Apply `values` (e.g. work_mem="256MB", enable_nestloop="off") to the statements inside the block,
    then restore the transaction's own values. Must run inside a transaction (set_config(…, true) lasts
    to its end); no finally: a failed statement aborts the transaction, and its settings with it."""
    if connection.vendor != "postgresql":
        yield
        return
    previous = {}
    for name, value in values.items():
        cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
        previous[name] = cursor.fetchone()[0]
    yield
    for name, value in previous.items():
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
