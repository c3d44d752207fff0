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

from jicai.accounts import access
from jicai.batches.models import ListingPrice
from jicai.compliance.models import ConsistencyExemption
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound
from jicai.policy.resolve import effective_policy
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


@dataclass
class Group:
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
    latest = (
        ListingPrice.objects.filter(province=province, product=OuterRef("pk"), valid_from__lte=on)
        .order_by("-valid_from")
        .values("price")[:1]
    )
    products = Product.objects.all()
    if names is not None:
        pairs = Q(pk__in=[])
        for generic_name, form_group in set(names):
            pairs |= Q(generic_name=generic_name, dosage_form_group=form_group)
        products = products.filter(pairs)
    rows = (
        products.annotate(price=Subquery(latest))
        .filter(price__isnull=False)
        .order_by("generic_name", "dosage_form_group", "code")
        .values_list(
            "pk",
            "code",
            "generic_name",
            "dosage_form_group",
            "spec",
            "manufacturer__name",
            "consistency_passed",
            "price",
        )
    )
    threshold = effective_policy(region=province).consistency_min_products
    exemptions = {e.generic_name: e for e in ConsistencyExemption.objects.filter(province=province)}
    result: dict[tuple[str, str], Group] = {}
    for pk, code, generic_name, form_group, spec, maker, passed, price in rows:
        group = result.get((generic_name, form_group))
        if group is None:
            group = result[(generic_name, form_group)] = Group(
                generic_name, form_group, threshold, exemptions.get(generic_name)
            )
        group.products.append(Listed(pk, code, f"{generic_name} {spec}", maker, passed, Decimal(price)))
    return list(result.values())


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
