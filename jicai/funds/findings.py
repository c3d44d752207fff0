"""What the money rules add to a monitoring run (SPEC §12): PREPAYMENT_OVERDUE and NOT_ADMITTED findings for
the institutions of the run's scope. monitoring.evaluate inserts them with its other findings, so the alerts
open, update and close with the same run (and `jicai monitor` prints them)."""

import datetime as dt
from collections.abc import Iterable

from django.db.models import ExpressionWrapper, F, Max

from jicai.agreements.models import AgreementStatus, PurchaseAgreement
from jicai.batches.models import SUPPLY_ROLES, Batch, Winner
from jicai.core.fields import MoneyField
from jicai.funds.models import PrepaymentTranche
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Institution, Region
from jicai.trade.models import LineStatus, OrderLine


def prepayment_overdue(as_of: dt.date, region_ids: Iterable[int]) -> list[dict]:
    """One row per tranche unpaid after its due date (SPEC §12: PREPAYMENT_OVERDUE per institution and
    tranche), with its unpaid rest as the alert's value."""
    return list(
        PrepaymentTranche.objects.filter(
            institution__region_id__in=list(region_ids), due_on__lt=as_of, paid_amount__lt=F("amount")
        )
        .annotate(unpaid=ExpressionWrapper(F("amount") - F("paid_amount"), output_field=MoneyField()))
        .values(
            "institution_id",
            "institution__region_id",
            "agreement_year_id",
            "agreement_year__batch_id",
            "tranche",
            "unpaid",
        )
        .order_by()
    )


def _month_number(start: dt.date, day: dt.date) -> int:
    """Which month of the agreement year `day` falls in (1 = the month starting on `start`)."""
    months = (day.year - start.year) * 12 + day.month - start.month
    return months + (1 if day.day >= start.day else 0)


def not_admitted(as_of: dt.date, region_ids: Iterable[int]) -> list[dict]:
    """Effective agreements of running agreement years, from month `admission_check_month` on, whose
    institution has ordered no W product of the item (main/backup winner in its province) in the year so far."""
    agreements = list(
        PurchaseAgreement.objects.filter(
            status=AgreementStatus.EFFECTIVE,
            institution__region_id__in=list(region_ids),
            agreement_year__start__lte=as_of,
            agreement_year__end__gte=as_of,
        ).values(
            "institution_id",
            "institution__region_id",
            "item_id",
            "agreement_year_id",
            "agreement_year__batch_id",
            "agreement_year__start",
        )
    )
    if not agreements:
        return []
    item_ids = {a["item_id"] for a in agreements}
    start = min(a["agreement_year__start"] for a in agreements)
    # The latest order per (institution, item, product), grouped in SQL; whether the product is a W product of
    # the item in the institution's province is then a set lookup. (A correlated EXISTS per order line was
    # 20 M probes at province scale: 98 s against this grouping's few seconds.)
    winning = set(
        Winner.objects.filter(item_id__in=item_ids, role__in=SUPPLY_ROLES).values_list(
            "item_id", "product_id", "province__code"
        )
    )
    province_of = {
        pk: path[:6]
        for pk, path in Institution.objects.filter(region_id__in=list(region_ids)).values_list(
            "pk", "region__path"
        )
    }
    latest = (
        OrderLine.objects.filter(
            institution__region_id__in=list(region_ids),
            item_id__in=item_ids,
            ordered_on__gte=start,
            ordered_on__lte=as_of,
        )
        .exclude(status__in=[LineStatus.CANCELLED, LineStatus.REJECTED])
        .values("institution_id", "item_id", "product_id")
        .annotate(last=Max("ordered_on"))
        .values_list("institution_id", "item_id", "product_id", "last")
        .order_by()
    )
    # The latest purchase per (institution, item): the agreement's year runs to as_of, so a latest purchase on
    # or after the year's start means the item was bought this year.
    last_purchase: dict[tuple[int, int], dt.date] = {}
    for inst, item, product, day in latest:
        if (item, product, province_of.get(inst)) not in winning:
            continue
        key = (inst, item)
        if key not in last_purchase or day > last_purchase[key]:
            last_purchase[key] = day
    resolver = PolicyResolver.load()
    regions = Region.objects.in_bulk({a["institution__region_id"] for a in agreements})
    batches = Batch.objects.in_bulk({a["agreement_year__batch_id"] for a in agreements})
    out = []
    for a in agreements:
        policy = resolver.resolve(
            regions[a["institution__region_id"]], batches[a["agreement_year__batch_id"]]
        )
        month = _month_number(a["agreement_year__start"], as_of)
        if month < policy.admission_check_month:
            continue
        last = last_purchase.get((a["institution_id"], a["item_id"]))
        if last is not None and last >= a["agreement_year__start"]:
            continue
        out.append({**a, "month": month, "threshold": policy.admission_check_month})
    return out
