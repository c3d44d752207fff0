"""purchased(·, a, b) of SPEC §7 for the money rules, under a `progress_basis`: with `received` the accepted
receipt quantity by receipt date, with `ordered` the non-cancelled order quantity by order date. One grouped
query, rows keyed by the logical names asked for (so prepayment and the assessment read either basis alike)."""

import datetime as dt

from django.db.models import F, QuerySet, Sum

from jicai.trade.models import LineStatus, OrderLine, Receipt

# logical name → (path from a Receipt, path from an OrderLine)
_FIELDS = {
    "institution": ("line__institution_id", "institution_id"),
    "item": ("line__item_id", "item_id"),
    "product": ("line__product_id", "product_id"),
    "unit_price": ("line__unit_price", "unit_price"),
    "ordered_on": ("line__ordered_on", "ordered_on"),
    "day": ("received_on", "ordered_on"),  # the basis date
}


def purchased(
    basis: str, fields: tuple[str, ...], institution_ids, start: dt.date, end: dt.date, **line_filters
) -> QuerySet:
    """Σ qty grouped by `fields` (names of _FIELDS) for the institutions' lines with basis date in
    [start, end]; `line_filters` are OrderLine lookups (e.g. item_id__in=…)."""
    received = basis == "received"
    side = 0 if received else 1
    names = {f"g_{name}": F(_FIELDS[name][side]) for name in fields}
    if received:
        qs = Receipt.objects.filter(
            line__institution_id__in=list(institution_ids),
            received_on__gte=start,
            received_on__lte=end,
            **{f"line__{k}": v for k, v in line_filters.items()},
        )
        total = Sum("accepted_qty")
    else:
        qs = OrderLine.objects.filter(
            institution_id__in=list(institution_ids),
            ordered_on__gte=start,
            ordered_on__lte=end,
            **line_filters,
        ).exclude(status=LineStatus.CANCELLED)
        total = Sum("qty")
    return qs.values(**names).annotate(qty=total).values_list(*names, "qty").order_by()
