"""PostgreSQL: the per-line ledger sums the monitoring pass needs for lines straddling a window edge, as
PARALLEL SAFE SQL functions.

The one pass over order lines (facts._line_totals) reads a line's Receipt/Delivery rows only for the few
lines whose life straddles a window edge. Written as a correlated sub-query, that read is a SubPlan, which
PostgreSQL treats as parallel-restricted: the whole aggregation (every CASE of every line) then runs in the
leader process after a Gather, single-threaded. The same read behind a function declared PARALLEL SAFE lets
each worker aggregate its share of the lines (Partial Aggregate → Finalize Aggregate). SQLite has no
parallel query and keeps the inline sub-query."""

from django.db import migrations

FUNCTIONS = {
    "jicai_line_received": (
        "line bigint, a date, b date",
        "SELECT COALESCE(SUM(accepted_qty), 0)::bigint FROM {receipt} "
        "WHERE line_id = line AND received_on >= a AND received_on <= b",
    ),
    "jicai_line_delivered_by": (
        "line bigint, d date",
        "SELECT COALESCE(SUM(qty), 0)::bigint FROM {delivery} WHERE line_id = line AND delivered_on <= d",
    ),
}


def create_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    tables = {
        "receipt": apps.get_model("trade", "Receipt")._meta.db_table,
        "delivery": apps.get_model("trade", "Delivery")._meta.db_table,
    }
    for name, (arguments, body) in FUNCTIONS.items():
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION {name}({arguments}) RETURNS bigint "
            f"LANGUAGE sql STABLE PARALLEL SAFE AS $${body.format(**tables)}$$"
        )


def drop_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (arguments, _) in FUNCTIONS.items():
        types = ", ".join(argument.split()[1] for argument in arguments.split(", "))
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}({types})")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0003_lean_indexes"),
        ("trade", "0006_orderline_drop_item_institution_index"),
    ]

    operations = [migrations.RunPython(create_functions, drop_functions)]
