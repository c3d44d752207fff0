"""Bulk loading of millions of rows into a few tables: drop what makes each row expensive, load, rebuild.

Inside `bulk_load(*models)` the tables keep their primary key and check constraints but lose:

* their secondary indexes (both databases) — rebuilding an index afterwards sorts once, while keeping it
  costs a random B-tree insert per row;
* on PostgreSQL also their foreign keys and unique constraints. Django declares foreign keys DEFERRABLE
  INITIALLY DEFERRED, so every inserted row queues a trigger that runs a parent lookup at COMMIT (80 M
  queued checks took over 11 minutes in the province demo); re-adding the constraint validates the whole
  table with one join instead. Unique constraints are re-added the same way, so a duplicate still fails.

On leaving, everything is recreated from the definitions the database itself reported (pg_get_*def,
sqlite_master), so nothing is lost if the models change, and PostgreSQL tables are ANALYZEd so the next
queries are planned on real row counts. If the load raises, the surrounding transaction rolls the DDL back
(DDL is transactional on both databases).

SQLite keeps foreign keys: they cannot be dropped without rebuilding the table, and its deferred check is a
primary-key lookup per row, cheap next to the insert itself. Its inline UNIQUE constraints (automatic
indexes) stay as well; loading rows in key order keeps them append-only.
"""

import re
import threading
from contextlib import contextmanager

from django.db import connection, transaction


def _tables(models) -> list[str]:
    return [m._meta.db_table for m in models]


def _pg_drop(cursor, tables: list[str]) -> list[str]:
    """Drop FKs, unique constraints and secondary indexes of the tables; return the SQL that restores them."""
    quote = connection.ops.quote_name
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.conrelid = ANY (%s::regclass[]) AND c.contype IN ('f', 'u')
        ORDER BY c.contype DESC, c.conname
        """,
        [tables],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY (%s::regclass[]) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        [tables],
    )
    indexes = cursor.fetchall()
    restore = [definition for _, definition in indexes]
    # Unique constraints before foreign keys (contype 'u' > 'f' sorts them first in `constraints`).
    restore += [f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {d}" for table, name, _, d in constraints]
    for table, name, _, _ in constraints:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return restore


# Real-time triggers (monitoring migration 0010: names start with this prefix) note each written row's
# institution in this table. A bulk load sets them aside like an index and leaves one NULL key ("every
# institution") instead, so the follow worker (or the next full run) recomputes everything once.
REALTIME_PREFIX = "jicai_rt_"
REALTIME_DIRTY = "monitoring_dirtyinstitution"
MARK_ALL = f"INSERT INTO {REALTIME_DIRTY} (institution_id) VALUES (NULL)"


def _pg_triggers(cursor, tables: list[str]) -> list[str]:
    cursor.execute(
        "SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t"
        " WHERE t.tgrelid = ANY (%s::regclass[]) AND NOT t.tgisinternal AND t.tgname LIKE %s ORDER BY 2",
        [tables, REALTIME_PREFIX + "%"],
    )
    triggers = cursor.fetchall()
    for table, name, _ in triggers:
        cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)} ON {table}")
    return [definition for _, _, definition in triggers] + ([MARK_ALL] if triggers else [])


def _sqlite_triggers(cursor, tables: list[str]) -> list[str]:
    marks = ", ".join(["%s"] * len(tables))
    cursor.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s AND tbl_name IN ({marks})"
        " ORDER BY name",
        [REALTIME_PREFIX + "%", *tables],
    )
    triggers = cursor.fetchall()
    for name, _ in triggers:
        cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
    return [sql for _, sql in triggers] + ([MARK_ALL] if triggers else [])


def _sqlite_drop(cursor, tables: list[str]) -> list[str]:
    marks = ", ".join(["%s"] * len(tables))
    cursor.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})"
        " ORDER BY name",
        tables,
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return [sql for _, sql in indexes]


def drop_for_load(*models) -> list[str]:
    """Drop what bulk_load drops and return the statements that restore it (for callers that load from
    several connections and so need the drop committed first: PostgreSQL's ALTER TABLE locks the table)."""
    tables = _tables(models)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE refuses tables with deferred FK checks still queued in this transaction (rows written
            # earlier in it, as in tests): run those checks now.
            connection.check_constraints()
            return _pg_drop(cursor, tables) + _pg_triggers(cursor, tables)
        return _sqlite_drop(cursor, tables) + _sqlite_triggers(cursor, tables)


def rebuild(restore: list[str], *models, progress=None, validate: bool = True, connections: int = 1) -> None:
    """Run the statements drop_for_load returned, then ANALYZE the tables on PostgreSQL.

    validate=False re-adds foreign keys as NOT VALID: enforced for every row written from then on, but the
    loaded rows are not re-checked (one anti-join per key over tens of millions of rows took minutes in the
    province demo). Only for loads whose keys are correct by construction; `ALTER TABLE … VALIDATE
    CONSTRAINT` checks them later without blocking writers.

    connections > 1 (PostgreSQL, outside a transaction, for loads already committed from several
    connections): the indexes are built by that many connections at once, see _build_indexes_in_parallel."""
    if progress:
        progress(f"重建索引与约束（{len(restore)} 项）…")
    postgres = connection.vendor == "postgresql"
    if postgres and not validate:
        restore = [
            f"{sql} NOT VALID" if " FOREIGN KEY " in sql and not sql.endswith(" NOT VALID") else sql
            for sql in restore
        ]
    if postgres and connections > 1 and not connection.in_atomic_block:
        builds, restore = _index_builds(restore)
        _build_indexes_in_parallel(builds, _tables(models), connections)
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # Index builds sort in memory when they can; parallel workers help on two cores.
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for sql in restore:
            cursor.execute(sql)
        if postgres:
            for table in _tables(models):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


_UNIQUE = re.compile(r"^ALTER TABLE (\S+) ADD CONSTRAINT (\S+) UNIQUE (\(.*\))$")


def _index_builds(restore: list[str]) -> tuple[list[str], list[str]]:
    """Split the restore statements into index builds, which may run side by side (CREATE INDEX takes a
    SHARE lock, which does not conflict with itself), and the rest. A unique constraint becomes the build of
    its index plus `ADD CONSTRAINT … UNIQUE USING INDEX`, which only attaches the built index."""
    builds, rest = [], []
    for sql in restore:
        unique = _UNIQUE.match(sql)
        if sql.startswith(("CREATE INDEX ", "CREATE UNIQUE INDEX ")):
            builds.append(sql)
        elif unique:
            table, name, columns = unique.groups()
            builds.append(f"CREATE UNIQUE INDEX {name} ON {table} {columns}")
            rest.insert(0, f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}")
        else:
            rest.append(sql)
    return builds, rest


def _build_indexes_in_parallel(builds: list[str], tables: list[str], connections: int) -> None:
    """Run the index builds over `connections` connections (threads), each in its own transaction, taking
    the next build from a shared queue, largest tables first. Each build then runs in one process
    (no parallel workers): two single-process builds side by side use two cores better than one build's
    parallel sort followed by its single-process merge and write (measured on the province demo's order
    lines: 35 s for four indexes against 52 s one after the other)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c WHERE c.oid = ANY (%s::regclass[])",
            [tables],
        )
        size = dict(cursor.fetchall())
    # The table a build is on: pg_get_indexdef names it with its schema ("ON public.trade_orderline").
    on = re.compile(r' ON (?:ONLY )?(?:\S+\.)?"?([^".\s]+)"? ')
    queue = sorted(builds, key=lambda sql: -size.get(on.search(sql).group(1), 0))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                cursor.execute("SET LOCAL max_parallel_maintenance_workers = 0")
                while not errors:
                    with lock:
                        if not queue:
                            return
                        sql = queue.pop(0)
                    cursor.execute(sql)
        except BaseException as exc:  # reported by the calling thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(min(connections, len(queue)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@contextmanager
def bulk_load(*models, progress=None):
    """Load rows into the tables of `models` without per-row index and foreign-key work (see module doc).
    Must run inside a transaction. `progress(message)` is told when the rebuild starts."""
    restore = drop_for_load(*models)
    # No try/finally: if the load fails the surrounding transaction is rolled back, DDL included.
    yield
    rebuild(restore, *models, progress=progress)
