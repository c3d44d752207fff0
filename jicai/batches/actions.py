"""Writes for batches and their agreement years."""

from django.db import transaction

from jicai.batches.models import AgreementYear, Batch
from jicai.batches.rules import agreement_years


@transaction.atomic
def sync_agreement_years(*, batch: Batch) -> list[AgreementYear]:
    """Make the batch's AgreementYear rows match its cycle (idempotent; rows already right are kept)."""
    wanted = {n: (s, e) for n, s, e in agreement_years(batch.cycle_start, batch.cycle_end)}
    existing = {y.number: y for y in AgreementYear.objects.filter(batch=batch)}
    AgreementYear.objects.filter(batch=batch).exclude(number__in=wanted).delete()
    changed = []
    for n, (start, end) in wanted.items():
        row = existing.get(n)
        if row is None:
            changed.append(AgreementYear(batch=batch, number=n, start=start, end=end))
        elif (row.start, row.end) != (start, end):
            row.start, row.end = start, end
            row.save(update_fields=["start", "end"])
    AgreementYear.objects.bulk_create(changed)
    return list(AgreementYear.objects.filter(batch=batch).order_by("number"))
