"""Scoped reads of batches, items, winners, substitutes and listing prices.

Tender results are public, so every signed-in user may read them; a bureau's lists default to its own
province where a province applies (winners, listing prices)."""

from django.db.models import Count, Max, Q, QuerySet

from jicai.accounts import access
from jicai.batches.models import (
    Batch,
    BatchKind,
    Item,
    ItemFactor,
    ListingPrice,
    Substitute,
    Winner,
    WinnerRole,
)
from jicai.registry.models import Company, Product, Region


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
    qs = Item.objects.select_related("batch").annotate(
        winner_count=Count("winners__product__manufacturer", distinct=True)
    )
    if batch:
        qs = qs.filter(batch__code=batch)
    if q:
        qs = qs.filter(Q(item_code__icontains=q) | Q(generic_name__icontains=q))
    return qs.order_by("batch__code", "item_code")


def get_item(actor, batch: str, item_code: str) -> Item:
    return access.get_visible_or_404(
        Item.objects.select_related("batch"), batch__code=batch, item_code=item_code
    )


def list_winners(
    actor, *, batch: str = "", item: str = "", province: str = "", role: str = "", q: str = ""
) -> QuerySet[Winner]:
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


def list_listing_prices(
    actor, *, province: str = "", product: str = "", q: str = ""
) -> QuerySet[ListingPrice]:
    qs = ListingPrice.objects.select_related("product", "product__manufacturer", "province")
    if province:
        qs = qs.filter(province__code=province)
    if product:
        qs = qs.filter(product__code=product)
    if q:
        qs = qs.filter(Q(product__code__icontains=q) | Q(product__generic_name__icontains=q))
    return qs.order_by("product__code", "province__code", "-valid_from")


# ---- web pages (home, detail) ----------------------------------------------------------------------


def default_province(actor) -> Region | None:
    """The province an actor's pages default to: a bureau's or an institution's own province."""
    region = access.bureau_region(actor)
    if region is None:
        inst = access.institution_of(actor)
        region = inst.region if inst is not None else None
    if region is None:
        return None
    return Region.objects.filter(code=region.province_code).first()


def search_substitutes(
    actor, *, batch: str = "", item: str = "", q: str = "", degree: str = ""
) -> QuerySet[Substitute]:
    qs = list_substitutes(actor, batch=batch, item=item)
    if q:
        qs = qs.filter(
            Q(product__code__icontains=q)
            | Q(product__generic_name__icontains=q)
            | Q(item__item_code__icontains=q)
        )
    if degree:
        qs = qs.filter(degree=degree)
    return qs


def batch_items(actor, batch: Batch) -> QuerySet[Item]:
    """Items of a batch with `winner_count` (distinct winning companies, any province/role)."""
    return list_items(actor, batch=batch.code)


def winner_provinces(actor, *, batch: str = "", item: Item | None = None) -> QuerySet[Region]:
    """Provinces that have winner rows (in a batch, or for one item): the choices of province filters."""
    rows = Winner.objects.all()
    if item is not None:
        rows = rows.filter(item=item)
    elif batch:
        rows = rows.filter(item__batch__code=batch)
    return Region.objects.filter(pk__in=rows.values("province_id")).order_by("code")


def item_winners(actor, item: Item) -> QuerySet[Winner]:
    return list_winners(actor, batch=item.batch.code, item=item.item_code)


def item_products(actor, item: Item) -> QuerySet[Product]:
    """Every product of an item (same generic name and dosage-form group, SPEC §10)."""
    return Product.objects.filter(generic_name=item.generic_name, dosage_form_group=item.dosage_form_group)


def non_winning_products(actor, item: Item, province: Region) -> QuerySet[Product]:
    """Products of the item with no winner row for the province (SPEC §10: non-winning there)."""
    winners_here = Winner.objects.filter(item=item, province=province).values("product_id")
    return (
        item_products(actor, item)
        .exclude(pk__in=winners_here)
        .select_related("manufacturer")
        .order_by("code")
    )


def product_items(actor, product: Product) -> QuerySet[Item]:
    """Items the product belongs to, across batches."""
    return (
        Item.objects.filter(generic_name=product.generic_name, dosage_form_group=product.dosage_form_group)
        .select_related("batch")
        .order_by("batch__code", "item_code")
    )


def product_winner_rows(actor, product: Product) -> QuerySet[Winner]:
    return (
        Winner.objects.filter(product=product)
        .select_related("item", "item__batch", "province")
        .order_by("item__batch__code", "item__item_code", "province__code")
    )


def product_item_factors(actor, product: Product) -> QuerySet[ItemFactor]:
    return (
        ItemFactor.objects.filter(product=product)
        .select_related("item", "item__batch")
        .order_by("item__batch__code", "item__item_code")
    )


def company_winner_rows(actor, company: Company) -> QuerySet[Winner]:
    """A manufacturer's winning roles per province and batch."""
    return (
        Winner.objects.filter(product__manufacturer=company)
        .select_related("item", "item__batch", "product", "province")
        .order_by("item__batch__code", "item__item_code", "province__code", "product__code")
    )


def company_role_counts(actor, company: Company) -> list[tuple[str, str, int]]:
    """[(role, label, winner rows)] of a manufacturer, every role listed in order."""
    counts = dict(
        Winner.objects.filter(product__manufacturer=company)
        .order_by()
        .values_list("role")
        .annotate(n=Count("id"))
    )
    return [(value, label, counts.get(value, 0)) for value, label in WinnerRole.choices]


# ---- listing-price verdicts ----------------------------------------------------------------------

# When a product holds several winner rows in one province (e.g. two batches), the supplying role decides.
_ROLE_PRIORITY = {WinnerRole.MAIN: 0, WinnerRole.BACKUP: 1, WinnerRole.BACKUP2: 2, WinnerRole.NONSUPPLY: 3}


def attach_listing_verdicts(actor, listing_prices: list[ListingPrice]) -> None:
    """Set `.verdict` (policy.rules.ListingVerdict), `.multiple` and `.consistency` (compliance.consistency
    .ListingFlag or None) on each row, in eight queries whatever
    the number of rows: winner rows of the products, highest winning price per item, winner (generic name,
    form group, maker) triples, the batches involved, and the policy profiles; for the consistency flags
    the listings in force of the rows' groups, their exemptions and the policy profiles.

    Inputs per SPEC §4 / Yantai 一: role = the product's winner role in the row's province; own winning
    price = its price in that province when it has a row there, else its lowest national-batch winning
    price (national prices are uniform; the lower one is the stricter cap); highest = highest winning price
    of that item; other_spec_of_winner = never a winner, but same generic name, form group and maker as one.
    """
    from jicai.policy.resolve import PolicyResolver
    from jicai.policy.rules import listing_verdict

    if not listing_prices:
        return
    from jicai.compliance.consistency import attach_listing_flags

    attach_listing_flags(listing_prices)  # SPEC §4 consistency evaluation: .consistency (撤网 / above lowest)
    product_ids = {lp.product_id for lp in listing_prices}
    rows = list(
        Winner.objects.filter(product_id__in=product_ids).values(
            "product_id",
            "province_id",
            "role",
            "winning_price",
            "item_id",
            "item__batch_id",
            "item__batch__kind",
        )
    )
    highest = dict(
        Winner.objects.filter(item_id__in={r["item_id"] for r in rows})
        .order_by()
        .values_list("item_id")
        .annotate(top=Max("winning_price"))
    )
    winner_products = {r["product_id"] for r in rows}
    loners = [lp.product for lp in listing_prices if lp.product_id not in winner_products]
    winner_triples = set()
    if loners:
        winner_triples = set(
            Winner.objects.filter(
                product__generic_name__in={p.generic_name for p in loners},
                product__manufacturer_id__in={p.manufacturer_id for p in loners},
            )
            .values_list("product__generic_name", "product__dosage_form_group", "product__manufacturer_id")
            .distinct()
        )
    batches = Batch.objects.in_bulk({r["item__batch_id"] for r in rows})
    resolver = PolicyResolver.load()

    by_product: dict[int, list[dict]] = {}
    for r in rows:
        by_product.setdefault(r["product_id"], []).append(r)
    for lp in listing_prices:
        mine = by_product.get(lp.product_id, [])
        here = sorted(
            (r for r in mine if r["province_id"] == lp.province_id), key=lambda r: _ROLE_PRIORITY[r["role"]]
        )
        national = sorted(
            (r for r in mine if r["item__batch__kind"] == BatchKind.NATIONAL),
            key=lambda r: r["winning_price"],
        )
        chosen = here[0] if here else (national[0] if national else None)
        own_price = chosen["winning_price"] if chosen else None
        product = lp.product
        other_spec = (
            not mine
            and (product.generic_name, product.dosage_form_group, product.manufacturer_id) in winner_triples
        )
        batch = batches.get(chosen["item__batch_id"]) if chosen else None
        lp.multiple = resolver.resolve(lp.province, batch).listing_cap_multiple
        lp.verdict = listing_verdict(
            price=lp.price,
            role=here[0]["role"] if here else None,
            own_winning_price=own_price,
            highest_winning_price=highest.get(chosen["item_id"]) if chosen else None,
            multiple=lp.multiple,
            other_spec_of_winner=other_spec,
        )


def listing_provinces(actor) -> QuerySet[Region]:
    """Provinces that have listing prices: the choices of the province filter."""
    return Region.objects.filter(pk__in=ListingPrice.objects.values("province_id")).order_by("code")
