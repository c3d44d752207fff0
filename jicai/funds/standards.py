"""Payment standards (医保支付标准, SPEC §12) derived from the tender results, and the settlement quote.

A standard is computed, never stored: per item and province the main winner's price / its item_factor,
times each product's factor, with the glide path for a product priced far above it. Every read takes the
actor: institutions and bureaus see their own province's standards, suppliers none (404 like a missing row).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from jicai.accounts import access
from jicai.batches.models import AgreementYear, Batch, Item, ItemFactor, ListingPrice, Winner, supplies
from jicai.core.errors import DomainError, NotFound
from jicai.funds import rules
from jicai.funds.models import ReferencePrice
from jicai.policy.resolve import PolicyResolver
from jicai.prescribing.cache import reference_version
from jicai.registry.models import Product, Region

ONE = Decimal(1)


@dataclass(frozen=True)
class StandardRow:
    batch_code: str
    item_code: str
    item_name: str
    province_code: str
    product_code: str
    product_name: str
    manufacturer: str
    role: str  # a winner role in the province (main/backup/backup2/nonsupply), or "" without a winners row
    item_factor: Decimal
    winning_standard: Decimal  # S = Sᵣ × item_factor
    product_price: Decimal | None  # the listing (or own winning) price the glide test looks at
    pre_vbp_price: Decimal | None  # p₀ = reference price × item_factor
    standard: Decimal  # what settlement uses on the date: S, or the glide path's step
    gliding: bool
    agreement_year: int
    valid_from: dt.date
    generic_name: str = ""  # the product's, for search

    @property
    def role_display(self) -> str:
        return {"main": "主供", "backup": "备供", "backup2": "第二备供", "nonsupply": "中选非供应"}.get(
            self.role, "非中选"
        )

    @property
    def non_winning(self) -> bool:
        """Not a supplying winner here (batches.models.supplies): also a `nonsupply` national winner."""
        return not supplies(self.role)


class _Winner(NamedTuple):
    product_id: int
    role: str
    winning_price: Decimal


class _Product(NamedTuple):
    pk: int
    code: str
    generic_name: str
    dosage_form_group: str
    spec: str
    manufacturer: str


def standard_province(actor, province_code: str | None = None) -> Region:
    """The province whose standards the actor may read: its own (bureau or institution); an admin names one.
    Suppliers, and anyone naming another province, get 404."""
    if access.is_admin(actor):
        region = Region.objects.filter(code=province_code or "", level="province").first()
        if region is None:
            raise NotFound("未找到该省份，或您无权查看")
        return region
    own = access.bureau_region(actor)
    if own is None:
        institution = access.institution_of(actor)
        own = institution.region if institution is not None else None
    if own is None:
        raise NotFound("未找到该记录，或您无权查看")
    province = Region.objects.get(code=own.province_code)
    if province_code and province_code != province.code:
        raise NotFound("未找到该省份，或您无权查看")
    return province


def _agreement_year(batch_id: int, on: dt.date, years: list[AgreementYear]) -> AgreementYear | None:
    for year in years:
        if year.batch_id == batch_id and year.start <= on <= year.end:
            return year
    return None


def items_filter(on: dt.date, province: Region, batch_code: str):
    """Ids of the items of batches whose cycle covers `on` with a main winner in the province."""
    ids = Winner.objects.filter(
        province=province, role="main", item__batch__cycle_start__lte=on, item__batch__cycle_end__gte=on
    )
    if batch_code:
        ids = ids.filter(item__batch__code=batch_code)
    return ids.values("item_id")


def compute_standards(*, province: Region, on: dt.date, batch_code: str = "") -> list[StandardRow]:
    """Every product's standard in `province` on `on`, for items of batches whose cycle covers `on` and
    that have a main winner there. A fixed number of queries whatever the number of items or products."""
    items = Item.objects.filter(pk__in=items_filter(on, province, batch_code)).select_related("batch")
    items = list(items.distinct())
    if not items:
        return []
    # The items' ids as a sub-query: hundreds of bound parameters cost more to prepare than the join.
    item_ids = Item.objects.filter(pk__in=items_filter(on, province, batch_code)).values("pk")
    # Value tuples, not model instances: a province has thousands of winners and products, and building
    # Django instances for them was most of this function's time.
    winners_by_item: dict[int, dict[int, _Winner]] = {}
    for item_id, product_id, role, price in Winner.objects.filter(
        item_id__in=item_ids, province=province
    ).values_list("item_id", "product_id", "role", "winning_price"):
        winners_by_item.setdefault(item_id, {})[product_id] = _Winner(product_id, role, price)
    names = {(i.generic_name, i.dosage_form_group) for i in items}
    # Two IN lists, then the exact (generic, group) pairs here: one OR branch per pair made a 65 KB
    # statement that took PostgreSQL 0.42 s to plan and run for a province's 644 items.
    products = Product.objects.filter(
        generic_name__in={generic for generic, _group in names},
        dosage_form_group__in={group for _generic, group in names},
    )
    winner_ids = {pid for ws in winners_by_item.values() for pid in ws}
    products = products | Product.objects.filter(pk__in=winner_ids)
    by_name: dict[tuple[str, str], list[_Product]] = {}
    by_id: dict[int, _Product] = {}
    for p in products.values_list(
        "pk", "code", "generic_name", "dosage_form_group", "spec", "manufacturer__name"
    ):
        product = by_id[p[0]] = _Product(*p)
        if (product.generic_name, product.dosage_form_group) in names:
            by_name.setdefault((product.generic_name, product.dosage_form_group), []).append(product)
    factors = {
        (i, p): f
        for i, p, f in ItemFactor.objects.filter(item_id__in=item_ids).values_list(
            "item_id", "product_id", "factor"
        )
    }
    references = dict(
        ReferencePrice.objects.filter(item_id__in=item_ids, province=province).values_list(
            "item_id", "reference_price"
        )
    )
    listing: dict[int, Decimal] = {}
    # Newest price valid on the date first; the first one seen per product wins.
    for row in (
        ListingPrice.objects.filter(province=province, valid_from__lte=on)
        .order_by("product_id", "-valid_from")
        .values_list("product_id", "price")
    ):
        if row[0] in by_id:
            listing.setdefault(row[0], row[1])
    years = list(AgreementYear.objects.filter(batch_id__in={i.batch_id for i in items}))
    resolver = PolicyResolver.load()

    rows: list[StandardRow] = []
    for item in sorted(items, key=lambda i: (i.batch.code, i.item_code)):
        item_winners = winners_by_item.get(item.pk, {})
        main = next((w for w in item_winners.values() if w.role == "main"), None)
        if main is None:
            continue
        policy = resolver.resolve(province, item.batch)
        per_unit = rules.reference_standard(main.winning_price, factors.get((item.pk, main.product_id), ONE))
        year = _agreement_year(item.batch_id, on, years)
        year_number = year.number if year else 1
        valid_from = year.start if year else item.batch.cycle_start
        candidates = {p.pk: p for p in by_name.get((item.generic_name, item.dosage_form_group), [])}
        for w in item_winners.values():
            if w.product_id in by_id:
                candidates.setdefault(w.product_id, by_id[w.product_id])
        for product in sorted(candidates.values(), key=lambda p: p.code):
            factor = factors.get((item.pk, product.pk), ONE)
            winning_standard = rules.product_standard(per_unit, factor)
            winner = item_winners.get(product.pk)
            role = winner.role if winner is not None else ""
            product_price = listing.get(product.pk)
            if product_price is None and winner is not None:
                product_price = winner.winning_price
            reference = references.get(item.pk)
            pre_vbp = rules.product_standard(reference, factor) if reference is not None else None
            gliding = (
                pre_vbp is not None
                and rules.glides(
                    product_price, winning_standard, policy.glide_price_multiple, policy.standard_glide_years
                )
                and pre_vbp > winning_standard
            )
            standard = (
                rules.glide_standard(pre_vbp, winning_standard, year_number, policy.standard_glide_years)
                if gliding
                else winning_standard
            )
            rows.append(
                StandardRow(
                    batch_code=item.batch.code,
                    item_code=item.item_code,
                    item_name=f"{item.generic_name} {item.dosage_form_group}",
                    province_code=province.code,
                    product_code=product.code,
                    product_name=f"{product.generic_name} {product.spec}",
                    manufacturer=product.manufacturer,
                    role=role,
                    item_factor=factor,
                    winning_standard=winning_standard,
                    product_price=product_price,
                    pre_vbp_price=pre_vbp,
                    standard=standard,
                    gliding=gliding,
                    agreement_year=year_number,
                    valid_from=valid_from,
                    generic_name=product.generic_name,
                )
            )
    return rows


# (province id, date, batch code) → (reference-data version, every row): a province's standards take ~0.2 s
# to compute at province scale and change only when winners, factors, prices or policy do, which moves the
# version (jicai.prescribing.cache). Bounded: dates and batch filters are few in practice.
_CACHE: dict[tuple[int, dt.date, str], tuple[int, list[StandardRow]]] = {}
_CACHE_SIZE = 64
reference_version.on_change(_CACHE.clear)


def cached_standards(province: Region, on: dt.date, batch_code: str = "") -> list[StandardRow]:
    """compute_standards for the whole province, from the in-process cache while reference data is unchanged."""
    version = reference_version.current()
    key = (province.pk, on, batch_code)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    rows = compute_standards(province=province, on=on, batch_code=batch_code)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[key] = (version, rows)
    return rows


def _matches(row: StandardRow, q: str) -> bool:
    return q in row.product_code or q in row.generic_name or q in row.item_code


def list_standards(actor, *, province_code: str = "", on: dt.date, batch_code: str = "", q: str = ""):
    province = standard_province(actor, province_code)
    rows = cached_standards(province, on, batch_code)
    return province, [r for r in rows if _matches(r, q)] if q else rows


def quote(
    actor,
    *,
    product_code: str,
    qty: int,
    unit_price: Decimal,
    on: dt.date,
    province_code: str = "",
    batch_code: str = "",
    selfpay_ratio: Decimal = Decimal(0),
    fund_ratio: Decimal | None = None,
) -> tuple[StandardRow, rules.Quote]:
    """Fund and patient amounts for one usage line (SPEC §12). The fund ratio defaults to the actor's
    region's `fund_payment_ratio` (a county may set its own)."""
    province = standard_province(actor, province_code)
    rows = [r for r in cached_standards(province, on, batch_code) if r.product_code == product_code]
    if not rows:
        raise DomainError(
            f"产品 {product_code} 在 {on} 没有医保支付标准（不属于执行中的集采品种）", code="no_standard"
        )
    # Overlapping batches (SPEC §15): the newest batch's standard applies.
    batches = {b.code: b for b in Batch.objects.filter(code__in={r.batch_code for r in rows})}
    row = max(rows, key=lambda r: (batches[r.batch_code].cycle_start, r.batch_code))
    # The acting institution's or bureau's own region may set its own fund ratio (a county can).
    institution = access.institution_of(actor)
    region = institution.region if institution is not None else access.bureau_region(actor) or province
    policy = PolicyResolver.load().resolve(region, batches[row.batch_code])
    if fund_ratio is None:
        fund_ratio = policy.fund_payment_ratio
    increase = policy.nonwinning_selfpay_increase
    result = rules.settlement_quote(
        unit_price=unit_price,
        qty=qty,
        standard=row.standard,
        fund_ratio=fund_ratio,
        selfpay_ratio=selfpay_ratio,
        non_winning=row.non_winning,
        nonwinning_increase=increase,
    )
    return row, result
