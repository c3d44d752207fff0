"""Facts keep their date apart (issue 16): ProgressFact.as_of/time_progress and DeliveryFact.as_of move to
one FactDate row per (institution, agreement year), which the facts reach by their own key. Existing data is
converted by one set-based INSERT … SELECT … GROUP BY (every run wrote one as_of and one time progress for all
facts of an institution and year, so MAX picks that value); pairs that only have delivery facts get a NULL
time progress until their institution's next run. Dropping the columns is a catalogue change on PostgreSQL.

Backwards, the facts are emptied before their date columns come back (NOT NULL, and a fact without its date
has no meaning): facts are derived data, and the next `jicai monitor` rebuilds them."""

import django.db.models.deletion
from django.db import migrations, models

COPY = """
INSERT INTO monitoring_factdate (institution_id, agreement_year_id, as_of, time_progress)
SELECT institution_id, agreement_year_id, MAX(as_of), MAX(time_progress)
FROM (SELECT institution_id, agreement_year_id, as_of, time_progress FROM monitoring_progressfact
      UNION ALL
      SELECT institution_id, agreement_year_id, as_of, NULL FROM monitoring_deliveryfact) f
GROUP BY institution_id, agreement_year_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("batches", "0003_prices_as_integers"),
        ("monitoring", "0011_forecast"),
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="FactDate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("as_of", models.DateField()),
                ("time_progress", models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True)),
                (
                    "agreement_year",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="batches.agreementyear",
                    ),
                ),
                (
                    "institution",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="registry.institution",
                    ),
                ),
            ],
            options={
                "verbose_name": "事实监测日期",
                "verbose_name_plural": "事实监测日期",
                "constraints": [
                    models.UniqueConstraint(fields=("institution", "agreement_year"), name="fact_date_unique")
                ],
            },
        ),
        migrations.RunSQL(COPY, reverse_sql=migrations.RunSQL.noop),
        # Forwards nothing; backwards (run before the columns are re-added) the facts are emptied.
        migrations.RunSQL(
            migrations.RunSQL.noop,
            reverse_sql=["DELETE FROM monitoring_progressfact", "DELETE FROM monitoring_deliveryfact"],
        ),
        migrations.RemoveField(model_name="deliveryfact", name="as_of"),
        migrations.RemoveField(model_name="progressfact", name="as_of"),
        migrations.RemoveField(model_name="progressfact", name="time_progress"),
        # The relation to FactDate has no column: state only (SQLite would otherwise rebuild both tables).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="deliveryfact",
                    name="dated",
                    field=models.ForeignObject(
                        from_fields=["institution", "agreement_year"],
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="monitoring.factdate",
                        to_fields=["institution", "agreement_year"],
                    ),
                ),
                migrations.AddField(
                    model_name="progressfact",
                    name="dated",
                    field=models.ForeignObject(
                        from_fields=["institution", "agreement_year"],
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="monitoring.factdate",
                        to_fields=["institution", "agreement_year"],
                    ),
                ),
            ]
        ),
    ]
