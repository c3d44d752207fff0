"""API of SPEC §4 consistency withdrawal and §14: /consistency, /consistency/exemptions, /delivery-ratings,
/delivery-ratings/averages, /demand-review and /agreements/{id}/signatures. Scoped like the pages:
out-of-scope answers 404 and writes nothing."""

import datetime as dt

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from jicai.agreements import queries as agreement_queries
from jicai.api.pagination import PageParams, decimal_str, page_of, paginate, paginate_rows, with_errors
from jicai.compliance import consistency, overlaps, ratings, review, signing
from jicai.core.errors import DomainError
from jicai.monitoring.notices import parse_quarter

router = Router()


class ListedOut(Schema):
    product_code: str
    passed: bool
    price: str
    state: str = Field(
        ..., description="listed（挂网）/ withdrawn（撤网）/ above_lowest_passed（高于最低通过价）"
    )


class GroupOut(Schema):
    generic_name: str
    dosage_form_group: str
    passed_count: int
    threshold: int
    withdrawn: bool
    exempted: bool
    exemption_reason: str
    lowest_passed_price: str | None
    products: list[ListedOut]


def _group(g: consistency.Group) -> dict:
    over = {p.product_id for p in g.over_cap}

    def state(p) -> str:
        if p.passed:
            return "listed"
        if g.withdrawn:
            return "withdrawn"
        return "above_lowest_passed" if p.product_id in over else "listed"

    return {
        "generic_name": g.generic_name,
        "dosage_form_group": g.dosage_form_group,
        "passed_count": len(g.passed),
        "threshold": g.threshold,
        "withdrawn": g.withdrawn,
        "exempted": g.exemption is not None,
        "exemption_reason": g.exemption.reason if g.exemption else "",
        "lowest_passed_price": decimal_str(g.lowest_passed_price, 4),
        "products": [
            {"product_code": p.code, "passed": p.passed, "price": decimal_str(p.price, 4), "state": state(p)}
            for p in g.products
        ],
    }


@router.get("/consistency", response=with_errors(page_of(GroupOut), 404), summary="一致性评价撤网情况")
def list_consistency(
    request,
    paging: Query[PageParams],
    province: str = Query("", description="省份代码（管理员；医保局为本省）"),
    on: dt.date | None = None,
    q: str = Query("", description="通用名包含"),
):
    region = consistency.province_for(request.actor, province.strip())
    groups = [
        g for g in consistency.groups(region, on or timezone.localdate()) if q.strip() in g.generic_name
    ]
    return paginate_rows(groups, paging, _group)


class ExemptionIn(Schema):
    generic_name: str
    reason: str
    province: str = Field("", description="省份代码（管理员必填；省级医保局为本省）")


class ExemptionOut(Schema):
    id: int
    province: str
    generic_name: str
    reason: str


def _exemption(e) -> dict:
    return {"id": e.pk, "province": e.province.code, "generic_name": e.generic_name, "reason": e.reason}


@router.post(
    "/consistency/exemptions",
    response=with_errors(ExemptionOut, 400, 404, ok_status=201),
    summary="一致性评价暂不撤网（按通用名）",
)
def save_exemption(request, payload: ExemptionIn):
    region = consistency.province_for(request.actor, payload.province.strip())
    row = consistency.save_exemption(
        actor=request.actor, province=region, generic_name=payload.generic_name, reason=payload.reason
    )
    return 201, _exemption(row)


@router.delete(
    "/consistency/exemptions/{int:exemption_id}",
    response=with_errors(None, 404, ok_status=204),
    summary="撤销暂不撤网",
)
def delete_exemption(request, exemption_id: int):
    consistency.delete_exemption(actor=request.actor, exemption_id=exemption_id)
    return 204, None


# ---- delivery ratings ------------------------------------------------------------------------------------


class RatingIn(Schema):
    supplier_code: str
    distributor_code: str
    month: str = Field(..., description="YYYY-MM")
    timeliness: int = Field(..., ge=1, le=5)
    completeness: int = Field(..., ge=1, le=5)
    service: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=500)


class RatingOut(Schema):
    id: int
    institution_code: str
    supplier_code: str
    distributor_code: str
    month: str
    timeliness: int
    completeness: int
    service: int
    comment: str


def _rating(r) -> dict:
    return {
        "id": r.pk,
        "institution_code": r.institution.code,
        "supplier_code": r.supplier.code,
        "distributor_code": r.distributor.code,
        "month": f"{r.month:%Y-%m}",
        "timeliness": r.timeliness,
        "completeness": r.completeness,
        "service": r.service,
        "comment": r.comment,
    }


@router.get("/delivery-ratings", response=with_errors(page_of(RatingOut), 400), summary="配送评价列表")
def list_ratings(request, paging: Query[PageParams], month: str = Query("", description="YYYY-MM")):
    qs = ratings.visible_ratings(request.actor)
    if month.strip():
        qs = qs.filter(month=ratings.parse_month(month))
    page = paginate(qs, paging)
    page["results"] = [_rating(r) for r in page["results"]]
    return page


@router.post(
    "/delivery-ratings",
    response=with_errors(RatingOut, 400, 404, ok_status=201),
    summary="配送评价（新增或修改）",
)
def save_rating(request, payload: RatingIn):
    row = ratings.save_rating(
        actor=request.actor,
        supplier_code=payload.supplier_code,
        distributor_code=payload.distributor_code,
        month=ratings.parse_month(payload.month),
        timeliness=payload.timeliness,
        completeness=payload.completeness,
        service=payload.service,
        comment=payload.comment,
    )
    return 201, _rating(row)


class AverageOut(Schema):
    supplier_code: str
    ratings: int
    timeliness: str
    completeness: str
    service: str
    overall: str


@router.get(
    "/delivery-ratings/averages", response=with_errors(list[AverageOut], 400), summary="配送评价季度平均分"
)
def rating_averages(request, quarter: str = Query(..., description="如 2025Q2")):
    period = parse_quarter(quarter)
    from jicai.registry.models import Company

    avgs = ratings.averages(ratings.visible_ratings(request.actor), period.start, period.end)
    codes = dict(Company.objects.filter(pk__in=list(avgs)).values_list("pk", "code"))
    return [
        {
            "supplier_code": codes[k],
            "ratings": a.ratings,
            "timeliness": decimal_str(a.timeliness, 2),
            "completeness": decimal_str(a.completeness, 2),
            "service": decimal_str(a.service, 2),
            "overall": decimal_str(a.overall, 2),
        }
        for k, a in sorted(avgs.items(), key=lambda kv: codes[kv[0]])
    ]


# ---- demand review --------------------------------------------------------------------------------------


class ReviewOut(Schema):
    institution_code: str
    item_code: str
    history_qty: int
    reported_qty: int
    purchased_qty: str
    deviation: str | None = Field(None, description="|purchased − reported| / reported，4 位小数")
    threshold: str
    flags: list[str]


@router.get(
    "/demand-review",
    response=with_errors(page_of(ReviewOut), 400, 404),
    summary="周期结束后报量复核（抽查名单）",
)
def demand_review(request, paging: Query[PageParams], batch: str, year: int = 1):
    """The stored run of the year when there is one (its rows paged in SQL), else computed live for a scope
    of at most review.LIVE_LIMIT institutions; a larger scope without a stored run answers 400."""
    agreement_year = review.get_year(request.actor, batch, year)
    rows, run, note = review.listing(request.actor, agreement_year)
    if note:
        raise DomainError(note, code="review_not_stored")

    def convert(r) -> dict:
        return {
            "institution_code": r.institution.code,
            "item_code": r.item_code,
            "history_qty": r.history,
            "reported_qty": r.reported,
            "purchased_qty": decimal_str(r.purchased, 2),
            "deviation": decimal_str(r.deviation, 4),
            "threshold": decimal_str(r.threshold),
            "flags": r.flags,
        }

    if run is None:
        return paginate_rows(rows, paging, convert)
    page = paginate(rows, paging)
    page["results"] = [convert(r) for r in page["results"]]
    return page


# ---- signatures -----------------------------------------------------------------------------------------


class SignatureOut(Schema):
    party: str
    organisation: str
    signed_at: dt.datetime
    certificate_subject: str
    certificate_issuer: str
    certificate_fingerprint: str
    verified: bool
    reason: str


@router.get(
    "/agreements/{int:agreement_id}/signatures",
    response=with_errors(list[SignatureOut], 404),
    summary="购销协议电子签章及验证结果",
)
def agreement_signatures(request, agreement_id: int):
    agreement = agreement_queries.get_agreement(request.actor, agreement_id)
    return [
        {
            "party": v.signature.party,
            "organisation": str(v.signature.organisation),
            "signed_at": v.signature.signed_at,
            "certificate_subject": v.subject,
            "certificate_issuer": v.issuer,
            "certificate_fingerprint": v.fingerprint,
            "verified": v.ok,
            "reason": v.reason,
        }
        for v in signing.verifications(agreement)
    ]


# ---- overlapping batches ----------------------------------------------------------------------------------


class OverlapOut(Schema):
    id: int
    provincial_batch: str
    provincial_item: str
    national_batch: str
    national_item: str
    applies_from: dt.date
    confirmed: bool


def _overlap(o) -> dict:
    return {
        "id": o.pk,
        "provincial_batch": o.provincial_item.batch.code,
        "provincial_item": o.provincial_item.item_code,
        "national_batch": o.national_item.batch.code,
        "national_item": o.national_item.item_code,
        "applies_from": o.applies_from,
        "confirmed": o.confirmed_at is not None,
    }


@router.get("/batch-overlaps", response=with_errors(page_of(OverlapOut), 404), summary="国家与省级集采重叠")
def list_overlaps(request, paging: Query[PageParams]):
    page = paginate(overlaps.visible_overlaps(request.actor).order_by("pk"), paging)
    page["results"] = [_overlap(o) for o in page["results"]]
    return page


@router.post(
    "/batch-overlaps/{int:overlap_id}/confirm",
    response=with_errors(OverlapOut, 400, 404),
    summary="确认批次重叠",
)
def confirm_overlap(request, overlap_id: int):
    return _overlap(overlaps.confirm(actor=request.actor, overlap_id=overlap_id))
