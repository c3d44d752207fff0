"""API for master data (SPEC §10): regions, institutions, consortia, companies, products.

Thin: every read goes through registry.queries (scoped by accounts.access); field names are the CSV
columns of the bulk import so a client can round-trip rows."""

from collections import defaultdict
from typing import Literal

from ninja import Field, Query, Router, Schema

from jicai.accounts import access
from jicai.api.pagination import PageParams, optional_related, page_of, paginate, with_errors
from jicai.registry import queries

router = Router()

RegionLevel = Literal["province", "city", "county"]
InstitutionLevel = Literal["tertiary", "secondary", "primary", "grassroots"]
Ownership = Literal["public", "private", "military"]
CompanyKind = Literal["manufacturer", "distributor", "both"]
ProductCategory = Literal["western", "chinese", "consumable"]


# ---- schemas -----------------------------------------------------------------------------------


class RegionOut(Schema):
    code: str = Field(..., description="6 位行政区划代码")
    name: str
    parent_code: str | None = Field(..., description="上级区划代码；省级为 null")
    level: RegionLevel

    resolve_parent_code = optional_related("parent.code")


class InstitutionOut(Schema):
    code: str = Field(..., description="12 位机构代码 ^[HP]\\d{11}$")
    name: str
    region_code: str = Field(..., alias="region.code")
    level: InstitutionLevel
    ownership: Ownership
    consortium_code: str | None = Field(..., description="所属紧密型医共体代码（牵头机构代码）；无则 null")

    resolve_consortium_code = optional_related("consortium.code")


class ConsortiumOut(Schema):
    code: str = Field(..., description="医共体代码 = 牵头机构代码")
    name: str
    lead_code: str | None
    member_codes: list[str] = Field(..., description="成员机构代码（仅含您可见的机构），按代码排序")
    member_count: int

    resolve_lead_code = optional_related("lead.code")

    @staticmethod
    def resolve_member_codes(obj) -> list[str]:
        return obj.visible_member_codes

    @staticmethod
    def resolve_member_count(obj) -> int:
        return len(obj.visible_member_codes)


class CompanyOut(Schema):
    code: str = Field(..., description="18 位统一社会信用代码")
    name: str
    kind: CompanyKind


class ProductOut(Schema):
    code: str = Field(..., description="国家医保编码（西药 23 位 X…，中成药 20 位 Z…，耗材 27 位 C…）")
    generic_name: str
    dosage_form: str
    spec: str
    pack: str
    unit: str = Field(..., description="最小制剂单位")
    units_per_pack: int
    manufacturer_code: str = Field(..., alias="manufacturer.code")
    category: ProductCategory
    consistency_passed: bool
    originator: bool
    dosage_form_group: str


# ---- helpers -----------------------------------------------------------------------------------


def _attach_visible_members(consortia, actor) -> None:
    """In place: each consortium's `visible_member_codes`, the codes of its members the actor may see, in
    code order; one query for the whole page, reading (consortium, code) pairs rather than an Institution
    object per member (a province's page of 50 consortia has about 1,300 members)."""
    codes = defaultdict(list)
    members = access.visible_institutions(actor).filter(consortium_id__in=[c.pk for c in consortia])
    for consortium_id, code in members.order_by("code").values_list("consortium_id", "code"):
        codes[consortium_id].append(code)
    for consortium in consortia:
        consortium.visible_member_codes = codes[consortium.pk]


# ---- regions -----------------------------------------------------------------------------------


@router.get("/regions", response=with_errors(page_of(RegionOut)), summary="行政区划列表")
def list_regions(
    request,
    paging: Query[PageParams],
    q: str = Query("", description="代码前缀或名称包含"),
    level: RegionLevel | None = None,
    parent: str = Query("", description="上级区划代码"),
):
    return paginate(queries.list_regions(request.actor, q=q, level=level or "", parent=parent), paging)


@router.get("/regions/{code}", response=with_errors(RegionOut, 404), summary="行政区划详情")
def get_region(request, code: str):
    return queries.get_region(request.actor, code)


# ---- institutions ------------------------------------------------------------------------------


@router.get("/institutions", response=with_errors(page_of(InstitutionOut)), summary="医疗机构列表")
def list_institutions(
    request,
    paging: Query[PageParams],
    q: str = Query("", description="代码或名称包含"),
    region: str = Query("", description="区划代码（含下级区划）"),
    level: InstitutionLevel | None = None,
    ownership: Ownership | None = None,
    consortium: str = Query("", description="医共体代码"),
):
    qs = queries.list_institutions(
        request.actor, q=q, region=region, level=level or "", ownership=ownership or "", consortium=consortium
    )
    return paginate(qs, paging)


@router.get("/institutions/{code}", response=with_errors(InstitutionOut, 404), summary="医疗机构详情")
def get_institution(request, code: str):
    return queries.get_institution(request.actor, code)


# ---- consortia ---------------------------------------------------------------------------------


@router.get("/consortia", response=with_errors(page_of(ConsortiumOut)), summary="紧密型医共体列表")
def list_consortia(request, paging: Query[PageParams], q: str = Query("", description="代码或名称包含")):
    page = paginate(queries.list_consortia(request.actor, q=q), paging)
    _attach_visible_members(page["results"], request.actor)
    return page


@router.get(
    "/consortia/{code}", response=with_errors(ConsortiumOut, 404), summary="紧密型医共体详情（含成员）"
)
def get_consortium(request, code: str):
    consortium = queries.get_consortium(request.actor, code)
    _attach_visible_members([consortium], request.actor)
    return consortium


# ---- companies ---------------------------------------------------------------------------------


@router.get("/companies", response=with_errors(page_of(CompanyOut)), summary="企业列表")
def list_companies(
    request,
    paging: Query[PageParams],
    q: str = Query("", description="信用代码或名称包含"),
    kind: CompanyKind | None = None,
):
    return paginate(queries.list_companies(request.actor, q=q, kind=kind or ""), paging)


@router.get("/companies/{code}", response=with_errors(CompanyOut, 404), summary="企业详情")
def get_company(request, code: str):
    return queries.get_company(request.actor, code)


# ---- products ----------------------------------------------------------------------------------


@router.get("/products", response=with_errors(page_of(ProductOut)), summary="产品列表")
def list_products(
    request,
    paging: Query[PageParams],
    q: str = Query("", description="医保编码、通用名或规格包含"),
    category: ProductCategory | None = None,
    manufacturer: str = Query("", description="生产企业信用代码"),
    dosage_form_group: str = Query("", description="剂型组，如 口服常释剂型"),
):
    qs = queries.list_products(
        request.actor,
        q=q,
        category=category or "",
        manufacturer=manufacturer,
        dosage_form_group=dosage_form_group,
    )
    return paginate(qs, paging)


@router.get("/products/{code}", response=with_errors(ProductOut, 404), summary="产品详情")
def get_product(request, code: str):
    return queries.get_product(request.actor, code)
