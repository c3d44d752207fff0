"""Scoped reads of batches, items, winners, substitutes and listing prices.

Tender results are public, so every signed-in user may read them; a bureau's lists default to its own
province where a province applies (winners, listing prices)."""

from django.db.models import Count, Q, QuerySet

from jicai.accounts import access
from jicai.batches.models import Batch, Item, ListingPrice, Substitute, Winner


def _province_code(actor) -> str:
    region = access.bureau_region(actor)
    return region.province_code if region is not None else ""


def list_batches(actor, *, q: str = "", kind: str = "") -> QuerySet[Batch]:
    qs = Batch.objects.annotate(item_count=Count("items", distinct=True))
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-cycle_start", "code")


def get_batch(actor, code: str) -> Batch:
    return access.get_visible_or_404(Batch.objects.prefetch_related("agreement_years"), code=code)


def list_items(actor, *, batch: str = "", q: str = "") -> QuerySet[Item]:
    qs = Item.objects.select_related("batch").annotate(winner_count=Count("winners__product__manufacturer", distinct=True))
    if batch:
        qs = qs.filter(batch__code=batch)
    if q:
        qs = qs.filter(Q(item_code__icontains=q) | Q(generic_name__icontains=q))
    return qs.order_by("batch__code", "item_code")


def get_item(actor, batch: str, item_code: str) -> Item:
    return access.get_visible_or_404(Item.objects.select_related("batch"), batch__code=batch, item_code=item_code)


def list_winners(actor, *, batch: str = "", item: str = "", province: str = "", role: str = "",
                 q: str = "") -> QuerySet[Winner]:
    qs = Winner.objects.select_related("item", "item__batch", "product", "product__manufacturer", "province")
    if batch:
        qs = qs.filter(item__batch__code=batch)
    if item:
        qs = qs.filter(item__item_code=item)
    if province:
        qs = qs.filter(province__code=province)
    if role:
        qs = qs.filter(role=role)
    if q:
        qs = qs.filter(Q(product__code__icontains=q) | Q(product__manufacturer__name__icontains=q))
    return qs.order_by("item__batch__code", "item__item_code", "province__code", "role")


def list_substitutes(actor, *, batch: str = "", item: str = "") -> QuerySet[Substitute]:
    qs = Substitute.objects.select_related("item", "item__batch", "product", "product__manufacturer")
    if batch:
        qs = qs.filter(item__batch__code=batch)
    if item:
        qs = qs.filter(item__item_code=item)
    return qs.order_by("item__batch__code", "item__item_code", "product__code")


def list_listing_prices(actor, *, province: str = "", product: str = "", q: str = "") -> QuerySet[ListingPrice]:
    qs = ListingPrice.objects.select_related("product", "product__manufacturer", "province")
    if province:
        qs = qs.filter(province__code=province)
    if product:
        qs = qs.filter(product__code=product)
    if q:
        qs = qs.filter(Q(product__code__icontains=q) | Q(product__generic_name__icontains=q))
    return qs.order_by("product__code", "province__code", "-valid_from")
