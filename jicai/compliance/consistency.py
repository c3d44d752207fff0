"""Consistency-evaluation withdrawal (SPEC §4, Hubei 四(七), Yantai 七), derived on every read.

Per province and (generic name, dosage-form group), on a day: the listed products are those with a listing
price in force that day. When at least `consistency_min_products` of them passed consistency evaluation, the
group's non-passed products are withdrawn (撤网) unless the province bureau exempted the generic name; until
then a non-passed product's listing price may not exceed the lowest passed product's price (a listing check
shown on the page and in the API). Nothing is stored, so a new product, listing price or exemption changes
the answer at once."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from jicai.accounts import access
from jicai.batches.models import ListingPrice
from jicai.compliance.models import ConsistencyExemption
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Product, Region

NOT_FOUND = "未找到该记录，或您无权查看"


@dataclass(frozen=True)
class Listed:
    product_id: int
    code: str
    name: str
    manufacturer: str
    passed: bool
    price: Decimal
    valid_from: dt.date  # of the listing price in force


@dataclass
class Group:
    province_id: int
    generic_name: str
    dosage_form_group: str
    threshold: int
    exemption: ConsistencyExemption | None = None
    products: list[Listed] = field(default_factory=list)

    @property
    def passed(self) -> list[Listed]:
        return [p for p in self.products if p.passed]

    @property
    def not_passed(self) -> list[Listed]:
        return [p for p in self.products if not p.passed]

    @property
    def reached(self) -> bool:
        return len(self.passed) >= self.threshold

    @property
    def withdrawn(self) -> bool:
        return self.reached and self.exemption is None and bool(self.not_passed)

    @property
    def lowest_passed_price(self) -> Decimal | None:
        return min((p.price for p in self.passed), default=None)

    @property
    def over_cap(self) -> list[Listed]:
        """Non-passed products still listed above the lowest passed price (before withdrawal applies)."""
        low = self.lowest_passed_price
        if self.withdrawn or low is None:
            return []
        return [p for p in self.not_passed if p.price > low]

    @property
    def status(self) -> str:
        if self.withdrawn:
            return "撤网"
        if self.reached and self.exemption is not None:
            return "暂不撤网（豁免）"
        return "未达撤网条件"

    def message(self, product_code: str) -> str:
        return (
            f"产品 {product_code} 未通过一致性评价，已撤网：{self.generic_name}（{self.dosage_form_group}）"
            f"已有 {len(self.passed)} 个通过一致性评价的产品挂网（≥ {self.threshold}，Hubei 四(七)），"
            "未通过的产品不能在平台采购"
        )


def groups(province: Region, on: dt.date, *, names: Iterable[tuple[str, str]] | None = None) -> list[Group]:
    """Every (generic name, dosage-form group) with a listed product in the province on `on`, or only
    the given (generic name, dosage-form group) pairs."""
    return list(_groups([province], on, names).values())


def _groups(
    provinces: Iterable[Region], on: dt.date, names: Iterable[tuple[str, str]] | None = None
) -> dict[tuple[int, str, str], Group]:
    """{(province id, generic name, form group): Group} for several provinces at once: one query for the
    listing prices in force (the latest of each product and province from on or before `on`), one for the
    exemptions and one for the policy profiles, whatever the number of provinces and products."""
    provinces = {p.pk: p for p in provinces}
    if not provinces:
        return {}
    in_force = (
        ListingPrice.objects.filter(
            province=OuterRef("province"), product=OuterRef("product"), valid_from__lte=on
        )
        .order_by("-valid_from")
        .values("valid_from")[:1]
    )
    listings = ListingPrice.objects.filter(province_id__in=list(provinces), valid_from=Subquery(in_force))
    if names is not None:
        pairs = Q(pk__in=[])
        for generic_name, form_group in set(names):
            pairs |= Q(product__generic_name=generic_name, product__dosage_form_group=form_group)
        listings = listings.filter(pairs)
    rows = listings.order_by(
        "province_id", "product__generic_name", "product__dosage_form_group", "product__code"
    ).values_list(
        "province_id",
        "product_id",
        "product__code",
        "product__generic_name",
        "product__dosage_form_group",
        "product__spec",
        "product__manufacturer__name",
        "product__consistency_passed",
        "price",
        "valid_from",
    )
    resolver = PolicyResolver.load()
    threshold = {pk: resolver.resolve(p, None).consistency_min_products for pk, p in provinces.items()}
    exemptions = {
        (e.province_id, e.generic_name): e
        for e in ConsistencyExemption.objects.filter(province_id__in=list(provinces))
    }
    result: dict[tuple[int, str, str], Group] = {}
    for province_id, pk, code, generic_name, form_group, spec, maker, passed, price, valid_from in rows:
        key = (province_id, generic_name, form_group)
        group = result.get(key)
        if group is None:
            group = result[key] = Group(
                province_id,
                generic_name,
                form_group,
                threshold[province_id],
                exemptions.get((province_id, generic_name)),
            )
        group.products.append(
            Listed(pk, code, f"{generic_name} {spec}", maker, passed, Decimal(price), valid_from)
        )
    return result


def withdrawn_products(province: Region, on: dt.date, products: Iterable[Product]) -> dict[int, Group]:
    """{product id: its group} for the given products that are withdrawn in the province on `on`."""
    products = list(products)
    if not products or all(p.consistency_passed for p in products):
        return {}
    wanted = {p.pk for p in products if not p.consistency_passed}
    found = {}
    for group in groups(province, on, names=[(p.generic_name, p.dosage_form_group) for p in products]):
        if group.withdrawn:
            found.update({p.product_id: group for p in group.not_passed if p.product_id in wanted})
    return found


def withdrawn_ids(province: Region, on: dt.date) -> set[int]:
    return {p.product_id for g in groups(province, on) if g.withdrawn for p in g.not_passed}


# ---- listing pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingFlag:
    """How a non-passed product's listing in force stands under SPEC §4: withdrawn (撤网), or still listed
    above the lowest passed price of its group while the group is below the withdrawal threshold."""

    state: str  # "withdrawn" / "above_lowest_passed" (the API's words, as in /consistency)
    lowest_passed_price: Decimal | None
    valid_from: dt.date  # of the listing price in force it is about

    @property
    def withdrawn(self) -> bool:
        return self.state == "withdrawn"

    @property
    def label(self) -> str:
        if self.withdrawn:
            return "撤网"
        return f"高于最低通过价 {self.lowest_passed_price}（未通过一致性评价）"


def listing_flags(
    products_by_province: dict[Region, set[int]], on: dt.date
) -> dict[tuple[int, int], ListingFlag]:
    """{(province id, product id): flag} for those of the given products that are withdrawn or listed above
    the lowest passed price in their province on `on`; products with nothing to flag are left out. Queries
    only the products' own (generic name, form group) pairs, in one go for all the provinces."""
    wanted = {(region.pk, pk) for region, ids in products_by_province.items() for pk in ids}
    if not wanted:
        return {}
    names = Product.objects.filter(pk__in={pk for _, pk in wanted}, consistency_passed=False).values_list(
        "generic_name", "dosage_form_group"
    )
    names = set(names)
    if not names:
        return {}
    flags = {}
    for group in _groups(products_by_province, on, names).values():
        over = {p.product_id for p in group.over_cap}
        for p in group.not_passed:
            if (group.province_id, p.product_id) not in wanted:
                continue
            if group.withdrawn:
                state = "withdrawn"
            elif p.product_id in over:
                state = "above_lowest_passed"
            else:
                continue
            flags[(group.province_id, p.product_id)] = ListingFlag(
                state, group.lowest_passed_price, p.valid_from
            )
    return flags


def attach_listing_flags(listing_prices, on: dt.date | None = None) -> None:
    """Set `.consistency` (a ListingFlag or None) on each ListingPrice row: the flag of its product in its
    province when the row is the listing in force on `on` (default today); older and future rows get None."""
    on = on or timezone.localdate()
    by_province: dict[Region, set[int]] = {}
    for lp in listing_prices:
        by_province.setdefault(lp.province, set()).add(lp.product_id)
    flags = listing_flags(by_province, on)
    for lp in listing_prices:
        flag = flags.get((lp.province_id, lp.product_id))
        lp.consistency = flag if flag is not None and flag.valid_from == lp.valid_from else None


# ---- the bureau's view and exemptions ---------------------------------------------------------------


def province_for(actor, code: str = "") -> Region:
    """The province the actor looks at: a bureau's own province (any level of bureau may look; only a
    province bureau edits), an admin's chosen one (default: the first province)."""
    if access.is_admin(actor):
        qs = Region.objects.filter(level="province")
        province = qs.filter(code=code).first() if code else qs.order_by("code").first()
    elif access.is_bureau(actor):
        own = access.bureau_region(actor)
        province = Region.objects.get(code=own.province_code)
        if code and code != province.code:
            province = None
    else:
        province = None
    if province is None:
        raise NotFound(NOT_FOUND)
    return province


def _require_editor(actor, province: Region) -> None:
    if access.is_admin(actor):
        return
    own = access.bureau_region(actor)
    if own is None or own.pk != province.pk:
        raise NotFound(NOT_FOUND)


@transaction.atomic
def save_exemption(*, actor, province: Region, generic_name: str, reason: str) -> ConsistencyExemption:
    _require_editor(actor, province)
    generic_name, reason = generic_name.strip(), reason.strip()
    if not generic_name:
        raise DomainError("请填写通用名")
    if not reason:
        raise DomainError("请填写暂不撤网的原因")
    if not Product.objects.filter(generic_name=generic_name).exists():
        raise DomainError(f"没有通用名为“{generic_name}”的产品")
    exemption, created = ConsistencyExemption.objects.update_or_create(
        province=province,
        generic_name=generic_name,
        defaults={"reason": reason, "created_by": audit._user(actor)},
    )
    audit.record(
        actor=actor,
        action="compliance.consistency_exemption",
        obj=exemption,
        summary=f"{province.name} {generic_name} 暂不撤网：{reason}",
        changes={
            "province": province.code,
            "generic_name": generic_name,
            "reason": reason,
            "created": created,
        },
    )
    return exemption


@transaction.atomic
def delete_exemption(*, actor, exemption_id: int) -> None:
    exemption = ConsistencyExemption.objects.select_related("province").filter(pk=exemption_id).first()
    if exemption is None:
        raise NotFound(NOT_FOUND)
    _require_editor(actor, exemption.province)
    audit.record(
        actor=actor,
        action="compliance.consistency_exemption_removed",
        obj=exemption,
        summary=f"{exemption.province.name} {exemption.generic_name} 撤销暂不撤网",
        changes={"province": exemption.province.code, "generic_name": exemption.generic_name},
    )
    exemption.delete()
