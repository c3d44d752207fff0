"""API for agreed volumes, purchase agreements and delivery relationships (SPEC §5.6, §6, §10).

Thin: reads through jicai.agreements.queries (scoped like the web pages), writes through
jicai.agreements.actions. Out-of-scope objects answer 404 exactly like missing ones; prices and amounts
are exact decimal strings."""

import datetime as dt

from ninja import Field, Query, Router, Schema

from jicai.agreements import actions, queries
from jicai.api.pagination import PageParams, decimal_str, optional_related, page_of, paginate, with_errors
from jicai.api.types import Id, Qty
from jicai.batches.models import Batch
from jicai.core.errors import NotFound

router = Router()

PROBLEMS_SHOWN = 200


# ---- schemas -----------------------------------------------------------------------------------------


class AgreedVolumeOut(Schema):
    id: int
    batch_code: str = Field(..., alias="agreement_year.batch.code")
    agreement_year: int = Field(..., alias="agreement_year.number")
    institution_code: str = Field(..., alias="institution.code")
    item_code: str = Field(..., alias="item.item_code")
    reported_qty: int
    ratio: str | None = Field(
        ..., description="约定比例（精确十进制字符串）；导入时直接给定约定采购量则为 null"
    )
    agreed_qty: int
    supplier_code: str | None = Field(..., description="本省主供企业信用代码；无主供企业时为 null")
    source: str = Field(..., description="computed 按比例计算 / imported 导入 / carried 沿用上一年度")
    adjusted: bool = Field(..., description="医保局已调整（重新计算不会覆盖）")

    @staticmethod
    def resolve_ratio(obj) -> str | None:
        return decimal_str(obj.ratio)

    resolve_supplier_code = optional_related("supplier.code")


class AdjustmentOut(Schema):
    at: dt.datetime
    old_qty: int
    new_qty: int
    reason: str


class AgreedVolumeDetailOut(AgreedVolumeOut):
    adjustments: list[AdjustmentOut]

    @staticmethod
    def resolve_adjustments(obj) -> list:
        return list(obj.adjustments.order_by("at", "id"))


class AdjustIn(Schema):
    agreed_qty: Qty = Field(..., description="新的约定采购量")
    reason: str = Field(..., min_length=1, description="调整原因（必填）")


class RunIn(Schema):
    batch_code: str
    agreement_year: int = Field(1, ge=1)


class ProblemOut(Schema):
    institution_id: int
    item_id: int
    reason: str


class RunOut(Schema):
    created: int
    updated: int
    unchanged: int
    kept: int = Field(..., description="医保局调整过（或导入、已签订）而保持不变的行数")
    problem_count: int
    problems: list[ProblemOut] = Field(
        ..., description=f"前 {PROBLEMS_SHOWN} 个问题（无主供企业、无配送关系等）"
    )

    @staticmethod
    def resolve_problems(obj) -> list:
        return obj.problems[:PROBLEMS_SHOWN]


class AgreementOut(Schema):
    id: int
    batch_code: str = Field(..., alias="agreement_year.batch.code")
    agreement_year: int = Field(..., alias="agreement_year.number")
    institution_code: str = Field(..., alias="institution.code")
    item_code: str = Field(..., alias="item.item_code")
    supplier_code: str = Field(..., alias="supplier.code")
    distributor_code: str | None
    agreed_qty: int
    winning_price: str = Field(..., description="中选价，元/最小单位，4 位小数字符串")
    budget: str = Field(..., description="预算金额 = 约定采购量 × 中选价，2 位小数字符串（四舍五入）")
    status: str = Field(..., description="draft / institution_signed / supplier_signed / effective")
    due_date: dt.date | None
    institution_signed_at: dt.datetime | None
    supplier_signed_at: dt.datetime | None
    effective_at: dt.datetime | None

    resolve_distributor_code = optional_related("distributor.code")

    @staticmethod
    def resolve_winning_price(obj) -> str:
        return decimal_str(obj.winning_price, 4)

    @staticmethod
    def resolve_budget(obj) -> str:
        return decimal_str(obj.budget, 2)


class SignIn(Schema):
    ids: list[Id] = Field(
        ..., min_length=1, max_length=1000, description="要签订的协议 id（全部成功或全部不签）"
    )


class RelationshipOut(Schema):
    supplier_code: str = Field(..., alias="supplier.code")
    region_code: str = Field(..., alias="region.code")
    distributor_code: str = Field(..., alias="distributor.code")


class RelationshipIn(Schema):
    region_code: str = Field(..., description="省、市或县（区）的行政区划代码")
    distributor_code: str = Field(..., description="配送企业统一社会信用代码")


def _batch(code: str) -> Batch:
    batch = Batch.objects.filter(code=code).first()
    if batch is None:
        raise NotFound("未找到该记录，或您无权查看")
    return batch


# ---- agreed volumes -----------------------------------------------------------------------------------


@router.get("/agreed-volumes", response=with_errors(page_of(AgreedVolumeOut)), summary="约定采购量列表")
def list_agreed_volumes(
    request,
    paging: Query[PageParams],
    batch: str = Query("", description="批次编码"),
    agreement_year: int | None = Query(None, ge=1, le=100, description="协议年度"),
    item: str = Query("", description="品种编码"),
    institution: str = Query("", description="机构代码"),
    region: str = Query("", description="地区代码（含下级）"),
    q: str = Query("", description="机构或品种包含"),
):
    qs = queries.list_volumes(
        request.actor,
        q=q,
        batch=batch,
        year=agreement_year or "",
        item=item,
        institution=institution,
        region=region,
    )
    return paginate(qs, paging)


@router.get(
    "/agreed-volumes/{int:volume_id}",
    response=with_errors(AgreedVolumeDetailOut, 404),
    summary="约定采购量详情（含调整记录）",
)
def get_agreed_volume(request, volume_id: Id):
    return queries.get_volume(request.actor, volume_id)


@router.post(
    "/agreed-volumes/{int:volume_id}/adjust",
    response=with_errors(AgreedVolumeDetailOut, 400, 404),
    summary="医保局调整约定采购量（须填原因）",
)
def adjust_agreed_volume(request, volume_id: Id, payload: AdjustIn):
    actions.adjust_agreed_volume(
        actor=request.actor, volume_id=volume_id, agreed_qty=payload.agreed_qty, reason=payload.reason
    )
    return queries.get_volume(request.actor, volume_id)


@router.post(
    "/agreed-volumes/compute", response=with_errors(RunOut, 400, 403, 404), summary="按报量计算约定采购量"
)
def compute_agreed_volumes(request, payload: RunIn):
    return actions.compute_agreed_volumes(
        actor=request.actor, batch=_batch(payload.batch_code), agreement_year=payload.agreement_year
    )


# ---- agreements -----------------------------------------------------------------------------------------


@router.get("/agreements", response=with_errors(page_of(AgreementOut)), summary="购销协议列表")
def list_agreements(
    request,
    paging: Query[PageParams],
    status: str = Query("", description="draft / institution_signed / supplier_signed / effective"),
    batch: str = Query("", description="批次编码"),
    agreement_year: int | None = Query(None, ge=1, le=100, description="协议年度"),
    item: str = Query("", description="品种编码"),
    institution: str = Query("", description="机构代码"),
    supplier: str = Query("", description="供应企业信用代码"),
    q: str = Query("", description="机构、品种或供应企业包含"),
):
    qs = queries.list_agreements(
        request.actor,
        q=q,
        status=status,
        batch=batch,
        year=agreement_year or "",
        item=item,
        institution=institution,
        supplier=supplier,
    )
    return paginate(qs, paging)


@router.get("/agreements/{int:agreement_id}", response=with_errors(AgreementOut, 404), summary="购销协议详情")
def get_agreement(request, agreement_id: Id):
    return queries.get_agreement(request.actor, agreement_id)


@router.post(
    "/agreements/{int:agreement_id}/sign",
    response=with_errors(AgreementOut, 400, 403, 404),
    summary="签订购销协议",
)
def sign_agreement(request, agreement_id: Id):
    actions.sign_agreement(actor=request.actor, agreement_id=agreement_id)
    return queries.get_agreement(request.actor, agreement_id)


@router.post(
    "/agreements/sign", response=with_errors(list[AgreementOut], 400, 403, 404), summary="批量签订购销协议"
)
def sign_agreements(request, payload: SignIn):
    signed = actions.sign_agreements(actor=request.actor, agreement_ids=payload.ids)
    return list(queries.list_agreements(request.actor).filter(pk__in=[a.pk for a in signed]))


@router.post(
    "/agreements/generate", response=with_errors(RunOut, 400, 403, 404), summary="按约定采购量生成购销协议"
)
def generate_agreements(request, payload: RunIn):
    return actions.generate_agreements(
        actor=request.actor, batch=_batch(payload.batch_code), agreement_year=payload.agreement_year
    )


# ---- delivery relationships -----------------------------------------------------------------------------


@router.get("/delivery-relationships", response=with_errors(page_of(RelationshipOut)), summary="配送关系列表")
def list_relationships(
    request,
    paging: Query[PageParams],
    supplier: str = Query("", description="供应企业信用代码"),
    region: str = Query("", description="地区代码"),
):
    return paginate(queries.list_relationships(request.actor, supplier=supplier, region=region), paging)


@router.put(
    "/delivery-relationships",
    response=with_errors(RelationshipOut, 400, 403),
    summary="设置本企业某地区的配送企业",
)
def set_relationship(request, payload: RelationshipIn):
    rel = actions.set_delivery_relationship(
        actor=request.actor, region_code=payload.region_code, distributor_code=payload.distributor_code
    )
    return queries.get_relationship(
        request.actor, supplier_code=rel.supplier.code, region_code=rel.region.code
    )


@router.delete(
    "/delivery-relationships/{region_code}",
    response=with_errors(None, 403, 404, ok_status=204),
    summary="删除本企业某地区的配送关系",
)
def remove_relationship(request, region_code: str):
    actions.remove_delivery_relationship(actor=request.actor, region_code=region_code)
    return 204, None
