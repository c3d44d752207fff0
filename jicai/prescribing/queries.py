"""Reads of the prescribing app used by other apps and pages (SPEC §11)."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum

from jicai.prescribing.models import Outcome, Prompt


def explained_qty(
    *, institution_ids: Iterable[int], item_ids: Iterable[int], start: dt.date, end: dt.date
) -> dict[tuple[int, int, str], Decimal]:
    """{(institution id, item id, doctor code): Σ qty of the doctor's prompts for the item in [start, end]
    that ended overridden with a reason} — the "explained" part of the interview list (one grouped query)."""
    rows = (
        Prompt.objects.filter(
            institution_id__in=list(institution_ids),
            item_id__in=list(item_ids),
            created_at__date__range=(start, end),
            outcome=Outcome.OVERRIDDEN,
        )
        .exclude(reason="")
        .values("institution_id", "item_id", "doctor_code")
        .annotate(q=Sum("qty"))
        .values_list("institution_id", "item_id", "doctor_code", "q")
    )
    return {(i, g, d): Decimal(q or 0) for i, g, d, q in rows}
