"""API for batches (SPEC §10): batches with agreement years, items, winners, substitutes, listing prices.

Thin: reads go through batches.queries. Prices are exact decimal strings (4 decimals), never floats."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.db.models import DecimalField, OuterRef, Subquery
from ninja import Field, Query, Router, Schema

from jicai.accounts import access
from jicai.api.pagination import PageParams, decimal_str, page_of, paginate, with_errors
from jicai.batches import queries
from jicai.batches.models import ItemFactor
from jicai.compliance import consistency

router = Router()

BatchKind = Literal["national", "provincial", "alliance"]
WinnerRole = Literal["main", "backup", "backup2", "nonsupply"]
SubstituteDegree = Literal["full", "most", "partial"]

PRICE_DESCRIPTION = (
    "元/最小制剂单位，精确十进制字符串，固定 4 位小数（从不使用浮点数） / "
    "yuan per minimum unit as an exact decimal string with 4 decimals, never a float"
)


# ---- schemas -----------------------------------------------------------------------------------


class AgreementYearOut(Schema):
    number: int = Field(..., description="协议年度序号，从 1 开始")
    start: dt.date
    end: dt.date


class BatchOut(Schema):
    code: str
    name: str
    kind: BatchKind
    cycle_start: dt.date
    cycle_end: dt.date
    item_count: int
    agreement_years: list[AgreementYearOut] = Field(..., description="协议年度（每 12 个月一段，每年一签）")

    @staticmethod
    def resolve_agreement_years(obj) -> list:
        # Uses the prefetch cache; ordering follows AgreementYear.Meta (batch, number).
        return list(obj.agreement_years.all())


class ItemOut(Schema):
    batch_code: str = Field(..., alias="batch.code")
    item_code: str
    generic_name: str
    dosage_form_group: str
    winner_count: int = Field(..., description="中选企业数（任一省份、任一角色的不同生产企业）")


class WinnerOut(Schema):
    batch_code: str = Field(..., alias="item.batch.code")
    item_code: str = Field(..., alias="item.item_code")
    product_code: str = Field(..., alias="product.code")
    province_code: str = Field(..., alias="province.code")
    role: WinnerRole
    winning_price: str = Field(..., description=PRICE_DESCRIPTION, examples=["0.1200"])
    item_factor: str = Field(
        ...,
        description="折算系数（未设置时为 1），精确十进制字符串（从不使用浮点数） / exact decimal string",
        examples=["1", "0.5"],
    )

    @staticmethod
    def resolve_winning_price(obj) -> str:
        return decimal_str(obj.winning_price, 4)

    @staticmethod
    def resolve_item_factor(obj) -> str:
        factor = obj.item_factor_value
        return decimal_str(factor if factor is not None else Decimal(1))


class SubstituteOut(Schema):
    batch_code: str = Field(..., alias="item.batch.code")
    item_code: str = Field(..., alias="item.item_code")
    product_code: str = Field(..., alias="product.code")
    degree: SubstituteDegree


class ListingPriceOut(Schema):
    product_code: str = Field(..., alias="product.code")
    province_code: str = Field(..., alias="province.code")
    price: str = Field(..., description=PRICE_DESCRIPTION, examples=["0.1200"])
    valid_from: dt.date
    consistency_state: str | None = Field(
        None,
        description="一致性评价（SPEC §4，当日生效的挂网价）：withdrawn（撤网）/ above_lowest_passed"
        "（未达撤网条件时高于最低通过价）；null 为无",
    )
    lowest_passed_price: str | None = Field(
        None, description="同组通过一致性评价产品的最低挂网价（有标记时）"
    )

    @staticmethod
    def resolve_price(obj) -> str:
        return decimal_str(obj.price, 4)

    @staticmethod
    def resolve_consistency_state(obj) -> str | None:
        return obj.consistency.state if obj.consistency else None

    @staticmethod
    def resolve_lowest_passed_price(obj) -> str | None:
        return decimal_str(obj.consistency.lowest_passed_price, 4) if obj.consistency else None


# ---- batches -----------------------------------------------------------------------------------


def _batches(actor, **filters):
    return queries.list_batches(actor, **filters).prefetch_related("agreement_years")


@router.get("/batches", response=with_errors(page_of(BatchOut)), summary="集采批次列表")
def list_batches(
    request,
    paging: Query[PageParams],
    q: str = Query("", description="编码或名称包含"),
    kind: BatchKind | None = None,
):
    return paginate(_batches(request.actor, q=q, kind=kind or ""), paging)


@router.get("/batches/{code}", response=with_errors(BatchOut, 404), summary="集采批次详情（含协议年度）")
def get_batch(request, code: str):
    # list_batches carries the item_count annotation; get_visible_or_404 gives the one 404 body.
    return access.get_visible_or_404(_batches(request.actor), code=code)


@router.get("/batches/{code}/items", response=with_errors(page_of(ItemOut), 404), summary="批次采购品种列表")
def list_items(
    request, code: str, paging: Query[PageParams], q: str = Query("", description="品种编码或通用名包含")
):
    # A missing batch is a 404, not an empty list.
    queries.get_batch(request.actor, code)
    return paginate(queries.list_items(request.actor, batch=code, q=q), paging)


@router.get("/batches/{code}/items/{item_code}", response=with_errors(ItemOut, 404), summary="采购品种详情")
def get_item(request, code: str, item_code: str):
    return access.get_visible_or_404(queries.list_items(request.actor, batch=code), item_code=item_code)


# ---- winners, substitutes, listing prices ------------------------------------------------------


@router.get("/winners", response=with_errors(page_of(WinnerOut)), summary="中选结果列表")
def list_winners(
    request,
    paging: Query[PageParams],
    batch: str = Query("", description="批次编码"),
    item: str = Query("", description="品种编码"),
    province: str = Query("", description="省份代码"),
    role: WinnerRole | None = None,
    q: str = Query("", description="产品编码或生产企业名称包含"),
):
    qs = queries.list_winners(request.actor, batch=batch, item=item, province=province, role=role or "", q=q)
    # item_factor lives in ItemFactor (item, product); one correlated subquery instead of a lookup per row.
    factor = ItemFactor.objects.filter(item_id=OuterRef("item_id"), product_id=OuterRef("product_id")).values(
        "factor"
    )
    qs = qs.annotate(
        item_factor_value=Subquery(factor[:1], output_field=DecimalField(max_digits=12, decimal_places=6))
    )
    return paginate(qs, paging)


@router.get("/substitutes", response=with_errors(page_of(SubstituteOut)), summary="可替代药品列表")
def list_substitutes(
    request,
    paging: Query[PageParams],
    batch: str = Query("", description="批次编码"),
    item: str = Query("", description="品种编码"),
):
    return paginate(queries.list_substitutes(request.actor, batch=batch, item=item), paging)


@router.get("/listing-prices", response=with_errors(page_of(ListingPriceOut)), summary="挂网价格列表")
def list_listing_prices(
    request,
    paging: Query[PageParams],
    province: str = Query("", description="省份代码"),
    product: str = Query("", description="产品医保编码"),
    q: str = Query("", description="产品编码或通用名包含"),
):
    page = paginate(
        queries.list_listing_prices(request.actor, province=province, product=product, q=q), paging
    )
    consistency.attach_listing_flags(page["results"])
    return page
