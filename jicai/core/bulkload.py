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

from contextlib import contextmanager

from django.db import connection


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
            return _pg_drop(cursor, tables)
        return _sqlite_drop(cursor, tables)


def rebuild(restore: list[str], *models, progress=None, validate: bool = True) -> None:
    """Run the statements drop_for_load returned, then ANALYZE the tables on PostgreSQL.

    validate=False re-adds foreign keys as NOT VALID: enforced for every row written from then on, but the
    loaded rows are not re-checked (one anti-join per key over tens of millions of rows took minutes in the
    province demo). Only for loads whose keys are correct by construction; `ALTER TABLE … VALIDATE
    CONSTRAINT` checks them later without blocking writers."""
    if progress:
        progress(f"重建索引与约束（{len(restore)} 项）…")
    postgres = connection.vendor == "postgresql"
    if postgres and not validate:
        restore = [
            f"{sql} NOT VALID" if " FOREIGN KEY " in sql and not sql.endswith(" NOT VALID") else sql
            for sql in restore
        ]
    with connection.cursor() as cursor:
        if postgres and connection.in_atomic_block:
            # Index builds sort in memory when they can; parallel workers help on two cores.
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for sql in restore:
            cursor.execute(sql)
        if postgres:
            for table in _tables(models):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


@contextmanager
def bulk_load(*models, progress=None):
    """Load rows into the tables of `models` without per-row index and foreign-key work (see module doc).
    Must run inside a transaction. `progress(message)` is told when the rebuild starts."""
    restore = drop_for_load(*models)
    # No try/finally: if the load fails the surrounding transaction is rolled back, DDL included.
    yield
    rebuild(restore, *models, progress=progress)
