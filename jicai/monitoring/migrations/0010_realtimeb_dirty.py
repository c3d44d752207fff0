"""Real time (SPEC §13): the DirtyInstitution table and the triggers that fill it in the writer's
transaction, whatever the path (web, API, import, raw SQL). PostgreSQL: one statement-level trigger per
table and event over the statement's transition table (an import of 100,000 receipts adds one row per
institution per statement, not per receipt). SQLite: a row trigger that adds the institution only when it
is not already waiting (writers are serialised on SQLite, so the test and the insert cannot race)."""

from django.db import migrations, models

# table → SQL giving the institution of a changed row `r` (None: every institution)
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
EVENTS = ("INSERT", "UPDATE", "DELETE")
DIRTY = "monitoring_dirtyinstitution"


def _name(table, event=""):
    return f"jicai_rt_{table}_{event}".lower().rstrip("_")


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        for table, source in SOURCES.items():
            if vendor == "postgresql":
                cursor.execute(
                    f"""
                    CREATE OR REPLACE FUNCTION {_name(table)}() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        INSERT INTO {DIRTY} (institution_id) SELECT DISTINCT {source} FROM changed r;
                        RETURN NULL;
                    END $$
                    """
                )
                for event in EVENTS:
                    transition = "OLD" if event == "DELETE" else "NEW"
                    cursor.execute(
                        f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                        f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT "
                        f"EXECUTE FUNCTION {_name(table)}()"
                    )
            elif vendor == "sqlite":
                for event in EVENTS:
                    row = "OLD" if event == "DELETE" else "NEW"
                    value = source.replace("r.", f"{row}.")
                    cursor.execute(
                        f"""
                        CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} FOR EACH ROW
                        BEGIN
                            INSERT INTO {DIRTY} (institution_id) SELECT {value}
                            WHERE NOT EXISTS (SELECT 1 FROM {DIRTY} WHERE institution_id IS {value});
                        END
                        """
                    )


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        for table in SOURCES:
            for event in EVENTS:
                suffix = f" ON {table}" if vendor == "postgresql" else ""
                cursor.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)}{suffix}")
            if vendor == "postgresql":
                cursor.execute(f"DROP FUNCTION IF EXISTS {_name(table)}()")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0009_alert_tranche"),
        # The migrations that were the latest when this one was written. "__latest__" here made every later
        # migration of these apps a dependency of this (applied) one, so a database that had applied it
        # could not migrate past any new trade, agreements or batches migration.
        ("trade", "0011_line_list_order"),
        ("agreements", "0004_money_as_integers"),
        ("batches", "0003_prices_as_integers"),
    ]

    operations = [
        migrations.CreateModel(
            name="DirtyInstitution",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("institution_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
            ],
            options={"verbose_name": "待更新机构", "verbose_name_plural": "待更新机构"},
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
