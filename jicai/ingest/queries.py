"""Reads for the import pages and API: import jobs visible to an actor, and the downloadable templates."""

import csv
import io

from django.db.models import Q, QuerySet

from jicai.accounts import access
from jicai.ingest.models import ImportJob
from jicai.ingest.schemas.base import Schema


def list_jobs(actor) -> QuerySet[ImportJob]:
    """The actor's organisation's jobs; platform admins also see the command-line (system) runs."""
    q = Q(organisation_id=actor.organisation_id) if getattr(actor, "organisation_id", None) else Q(pk__in=[])
    if access.is_admin(actor):
        q |= Q(organisation_id__isnull=True, source="cli")
    return ImportJob.objects.filter(q).select_related("actor").order_by("-started_at", "-id")


def template_csv(schema: Schema) -> bytes:
    """Header + one example row, UTF-8 with a BOM so Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(schema.column_names())
    writer.writerow([schema.example.get(name, "") for name in schema.column_names()])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx(schema: Schema) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet(schema.kind[:31])
    bold = workbook.add_format({"bold": True})
    text_format = workbook.add_format({"num_format": "@"})
    for index, column in enumerate(schema.columns):
        sheet.write_string(0, index, column.name, bold)
        # Codes must stay text in Excel (leading zeros, 18-digit credit codes).
        sheet.write_string(1, index, schema.example.get(column.name, ""), text_format)
        sheet.set_column(index, index, max(14, len(schema.example.get(column.name, "")) + 4), text_format)
        sheet.write_comment(0, index, column.label)
    workbook.close()
    return buffer.getvalue()
