"""Batches that overlap (SPEC §15, Yantai 七). A national item and a provincial item with the same generic
name and dosage-form group whose cycles overlap are detected on import (and by `detect_overlaps`); the
bureau sees them and confirms them (logged). From the national cycle's start a confirmed overlap
supersedes the provincial item: `superseded_items` answers which provincial items are superseded on a day
(item resolution of orders, trade.queries and the orders import, maps them to the national item; the
monitoring engine stops their progress facts and item findings), and a company that won both items is held to its national winning price when ordering (`national_cap`)."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from jicai.accounts import access
from jicai.batches.models import BatchKind, Item, Winner
from jicai.compliance.models import BatchOverlap
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound

NOT_FOUND = "未找到该记录，或您无权查看"


def detect_overlaps() -> int:
    """Insert every not yet recorded overlap; returns how many were new. One query for the pairs."""
    pairs = (
        Item.objects.filter(batch__kind=BatchKind.PROVINCIAL)
        .filter(
            Q(
                generic_name__in=Item.objects.filter(batch__kind=BatchKind.NATIONAL).values("generic_name"),
            )
        )
        .values_list("pk", "generic_name", "dosage_form_group", "batch__cycle_start", "batch__cycle_end")
    )
    national = {}
    for pk, g, f, start, end in Item.objects.filter(batch__kind=BatchKind.NATIONAL).values_list(
        "pk", "generic_name", "dosage_form_group", "batch__cycle_start", "batch__cycle_end"
    ):
        national.setdefault((g, f), []).append((pk, start, end))
    known = set(BatchOverlap.objects.values_list("national_item_id", "provincial_item_id"))
    new = []
    for pk, g, f, start, end in pairs:
        for n_pk, n_start, n_end in national.get((g, f), []):
            if n_start <= end and start <= n_end and (n_pk, pk) not in known:
                new.append(BatchOverlap(national_item_id=n_pk, provincial_item_id=pk, applies_from=n_start))
    BatchOverlap.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def visible_overlaps(actor):
    """Admin: all. A bureau: overlaps whose provincial item has winners in its province. Others: 404."""
    qs = BatchOverlap.objects.select_related("national_item__batch", "provincial_item__batch", "confirmed_by")
    if access.is_admin(actor):
        return qs
    region = access.bureau_region(actor)
    if region is None:
        raise NotFound(NOT_FOUND)
    return qs.filter(provincial_item__winners__province__code=region.province_code).distinct()


@transaction.atomic
def confirm(*, actor, overlap_id: int) -> BatchOverlap:
    overlap = visible_overlaps(actor).filter(pk=overlap_id).first()
    if overlap is None:
        raise NotFound(NOT_FOUND)
    if not access.can_manage_batches(actor):  # province bureaus and admins
        raise NotFound(NOT_FOUND)
    if overlap.confirmed_at is not None:
        raise DomainError("该重叠已确认", code="already_confirmed")
    overlap.confirmed_at, overlap.confirmed_by = timezone.now(), audit._user(actor)
    overlap.save(update_fields=["confirmed_at", "confirmed_by"])
    audit.record(
        actor=actor,
        action="compliance.overlap_confirmed",
        obj=overlap,
        summary=f"确认 {overlap.provincial_item.batch.code}/{overlap.provincial_item.item_code} 自 "
        f"{overlap.applies_from} 起由国家集采 {overlap.national_item.batch.code}/{overlap.national_item.item_code} 替代",
        changes={"applies_from": overlap.applies_from.isoformat()},
    )
    return overlap


def superseded_items(on: dt.date) -> dict[int, int]:
    """{provincial item id: national item id} of confirmed overlaps in force on `on` (on ≥ national start)."""
    return dict(
        BatchOverlap.objects.filter(confirmed_at__isnull=False, applies_from__lte=on).values_list(
            "provincial_item_id", "national_item_id"
        )
    )


def confirmed_overlaps() -> dict[int, tuple[int, dt.date]]:
    """{provincial item id: (national item id, national start)} of every confirmed overlap, for callers
    that resolve items of many days at once (the orders import); `superseding` reads it."""
    return {
        provincial: (national, start)
        for provincial, national, start in BatchOverlap.objects.filter(
            confirmed_at__isnull=False
        ).values_list("provincial_item_id", "national_item_id", "applies_from")
    }


def superseding(item_id: int | None, day: dt.date, confirmed: dict[int, tuple[int, dt.date]]) -> int | None:
    """The item a product resolved to `item_id` counts for on `day`: the national item from the national
    start of a confirmed overlap (the product is then N of it), else `item_id` itself."""
    national = confirmed.get(item_id)
    return national[0] if national is not None and national[1] <= day else item_id


def national_cap(product, province, on: dt.date) -> Decimal | None:
    """The national winning price a company that won both items is held to for `product` in the province,
    or None when no confirmed overlap applies to it on `on`."""
    superseded = superseded_items(on)
    if not superseded:
        return None
    provincial = Winner.objects.filter(
        product=product, province=province, item_id__in=list(superseded)
    ).values_list("item_id", flat=True)
    national_ids = [superseded[i] for i in provincial]
    if not national_ids:
        return None
    return Winner.objects.filter(
        item_id__in=national_ids, province=province, product__manufacturer_id=product.manufacturer_id
    ).aggregate(p=Min(F("winning_price")))["p"]
