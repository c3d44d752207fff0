"""history_qty of demand lines (SPEC §5.2): an institution's purchases of an item (all its products, qty ×
item_factor) in the 12 months before the window opens — from platform data when the platform holds any
purchase of that item by that institution in the period, else the imported value, else 0.

The platform sums run in SQL once per window (grouped by institution and product, integers, so exact);
only the Decimal item factors are applied in Python, per (institution, product) group, never per order line.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import QuerySet, Sum

from jicai.batches.models import Item, ItemFactor
from jicai.core.money import round_half_up
from jicai.demand.models import DemandLine

PLATFORM = DemandLine.HistorySource.PLATFORM
IMPORTED = DemandLine.HistorySource.IMPORTED
NONE = DemandLine.HistorySource.NONE


def history_period(opens_on: dt.date) -> tuple[dt.date, dt.date]:
    """The 12 months before the window opens, both ends inclusive: 2025-01-01 → 2024-01-01 … 2024-12-31.
    A window opening on 29 February starts the period on 1 March of the previous year (no 29th there)."""
    try:
        start = opens_on.replace(year=opens_on.year - 1)
    except ValueError:
        start = dt.date(opens_on.year - 1, 3, 1)
    return start, opens_on - dt.timedelta(days=1)


def _item_keys(items: list[Item]) -> dict[tuple[str, str], list[Item]]:
    """(generic name, dosage-form group) → items: a product belongs to an item when both match (SPEC §10)."""
    keys: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in items:
        keys[(item.generic_name, item.dosage_form_group)].append(item)
    return keys


def platform_history(
    *, institutions: QuerySet, items: list[Item], start: dt.date, end: dt.date, basis: str
) -> dict[tuple[int, int], int]:
    """{(institution id, item id): qty} for the pairs with platform purchases in [start, end].

    basis `received`: accepted receipt qty by receipt date; `ordered`: non-cancelled order qty by order date
    (policy `progress_basis`). `institutions` is a queryset, used as a subquery (no id list is sent)."""
    from jicai.trade.models import LineStatus, OrderLine, Receipt

    if not items:
        return {}
    keys = _item_keys(items)
    names = {k[0] for k in keys}
    groups = {k[1] for k in keys}
    if basis == "ordered":
        qs = (
            OrderLine.objects.filter(
                institution_id__in=institutions.values("pk"),
                ordered_on__range=(start, end),
                product__generic_name__in=names,
                product__dosage_form_group__in=groups,
            )
            .exclude(status=LineStatus.CANCELLED)
            .values_list(
                "institution_id", "product_id", "product__generic_name", "product__dosage_form_group"
            )
            .annotate(total=Sum("qty"))
        )
    else:
        qs = (
            Receipt.objects.filter(
                line__institution_id__in=institutions.values("pk"),
                received_on__range=(start, end),
                line__product__generic_name__in=names,
                line__product__dosage_form_group__in=groups,
            )
            .values_list(
                "line__institution_id",
                "line__product_id",
                "line__product__generic_name",
                "line__product__dosage_form_group",
            )
            .annotate(total=Sum("accepted_qty"))
        )
    rows = list(qs.order_by())
    factors = {
        (f.item_id, f.product_id): f.factor
        for f in ItemFactor.objects.filter(
            item__in=[i.pk for i in items], product_id__in={r[1] for r in rows}
        )
    }
    totals: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for institution_id, product_id, generic_name, group, total in rows:
        for item in keys.get((generic_name, group), ()):
            factor = factors.get((item.pk, product_id), Decimal(1))
            totals[(institution_id, item.pk)] += Decimal(total or 0) * factor
    return {key: round_half_up(value) for key, value in totals.items()}
