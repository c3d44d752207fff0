"""API for dashboard series, quarterly notices, supplier scorecards and credit records (SPEC §7, §10).
Thin: the same scoped functions as the pages; anything outside the caller's scope answers 404.
Rates are decimal strings (6 places) or null for "no data"."""

import datetime as dt
from typing import Literal

from ninja import Field, Query, Router, Schema

from jicai.accounts import access
from jicai.api.pagination import PageParams, decimal_str, page_of, paginate, paginate_rows, with_errors
from jicai.core.errors import DomainError, NotFound
from jicai.monitoring import dashboards, notices, scorecards
from jicai.monitoring.dashboards import NOT_FOUND

router = Router()


def today() -> dt.date:
    from jicai.monitoring import views_reports

    return views_reports.today()


# ---- schemas -------------------------------------------------------------------------------------


class ProgressRowOut(Schema):
    kind: str = Field(..., description="region（下级地区）或 institution（本级医疗机构）")
    code: str
    name: str
    institutions: int
    pairs: int = Field(..., description="机构×品种数")
    agreed_qty: int
    purchased_winning: str = Field(..., description="约定量 > 0 的机构×品种的中选产品采购量")
    purchased_nonwinning: str
    purchased_substitute: str
    completion: str | None
    time_progress: str | None
    winning_share: str | None = Field(..., description="W/(W+N)")
    lagging_items: int


class DeliveryRowOut(Schema):
    supplier_code: str
    supplier_name: str
    ordered_qty: int
    delivered_qty: int
    rate: str | None
    rate_by_level: dict[str, str | None]


class TrendOut(Schema):
    basis: str
    months: list[str]
    this_year: list[str]
    last_year: list[str]


class AlertSeriesOut(Schema):
    type: str
    name: str
    values: list[int]


class AlertCountsOut(Schema):
    months: list[str]
    series: list[AlertSeriesOut]


class YearOut(Schema):
    batch: str | None
    agreement_year: int | None
    start: dt.date | None
    end: dt.date | None
    as_of: dt.date | None


class RegionDashboardOut(Schema):
    region: str
    name: str
    facts: YearOut
    total: ProgressRowOut | None
    rows: list[ProgressRowOut]
    delivery: list[DeliveryRowOut]
    substitute_trend: TrendOut | None
    alert_counts: AlertCountsOut


class ItemRowOut(Schema):
    item_code: str
    generic_name: str
    reported_qty: int | None
    agreed_qty: int
    purchased_winning: str
    purchased_nonwinning: str
    purchased_substitute: str
    substitute_same_days_last_year: str
    completion: str | None
    time_progress: str
    winning_share: str | None
    lagging: bool


class InstitutionDashboardOut(Schema):
    institution: str
    name: str
    facts: YearOut
    items: list[ItemRowOut]
    delivery: list[DeliveryRowOut]


class NoticeAlertOut(Schema):
    type: str
    type_label: str
    institution: str | None
    institution_name: str | None
    supplier: str | None
    item: str | None
    product: str | None
    order_id: str | None
    line_no: int | None
    value: str | None
    threshold: str | None
    tier: int | None
    status: str
    escalation: str
    first_seen_on: dt.date
    last_seen_on: dt.date
    closed_on: dt.date | None


class NoticeGroupOut(Schema):
    number: str
    title: str
    types: list[str]
    count: int = Field(..., description="本组问题总数（全部页）")
    institutions: int = Field(..., description="涉及医疗机构数")
    suppliers: int = Field(..., description="涉及企业数")
    has_more: bool = Field(..., description="本组在本页之后还有问题")
    alerts: list[NoticeAlertOut] = Field(..., description="本组第 page 页的问题（每页 page_size 条）")


class NoticeOut(Schema):
    region: str
    quarter: str
    start: dt.date
    end: dt.date
    title: str
    total: int
    page: int
    page_size: int
    groups: list[NoticeGroupOut]


class MetricOut(Schema):
    metric: str
    label: str
    rate: str | None
    tier: int | None = Field(..., description="null 暂无数据；0 未触发；1/2/3 分档")
    recommendation: str
    numerator: int | None
    denominator: int | None
    decision: str | None = Field(..., description="confirmed / dismissed / null")


class ScorecardOut(Schema):
    supplier: str
    supplier_name: str
    batch: str
    quarter: str
    region: str
    as_of: dt.date
    # When the delivery figures come from a stored run (a scope above scorecards.LIVE_LIMIT institutions):
    # when it was computed; null when computed for this request.
    computed_at: dt.datetime | None
    tier: int | None
    recommendation: str
    metrics: list[MetricOut]
    tickets: dict | None


# The shared page shape (jicai.api.pagination: count, count_exact, has_more, page, page_size, results).
ScorecardPage = page_of(ScorecardOut)


class DecisionIn(Schema):
    metric: str = Field(..., description="delivery_rate / delivery_rate_<level> / ticket_reply / ticket_fix")
    decision: Literal["confirm", "dismiss"]
    reason: str


class DecisionOut(Schema):
    supplier: str = Field(..., alias="supplier.code")
    batch: str = Field(..., alias="batch.code")
    region: str = Field(..., alias="region.code")
    quarter: str
    metric: str
    rate: str | None
    tier: int
    recommendation: str
    status: str
    reason: str
    decided_at: dt.datetime

    @staticmethod
    def resolve_rate(obj):
        return decimal_str(obj.rate, 6)

    @staticmethod
    def resolve_recommendation(obj):
        return obj.get_tier_display()


# ---- converters ----------------------------------------------------------------------------------


def _rate(value):
    return decimal_str(value, 6)


def _qty(value):
    return decimal_str(value, 4)


def _row(r: dashboards.ProgressRow) -> dict:
    return {
        "kind": r.kind,
        "code": r.code,
        "name": r.name,
        "institutions": r.institutions,
        "pairs": r.pairs,
        "agreed_qty": r.agreed,
        "purchased_winning": _qty(r.purchased),
        "purchased_nonwinning": _qty(r.nonwinning),
        "purchased_substitute": _qty(r.substitute),
        "completion": _rate(r.completion),
        "time_progress": _rate(r.time_progress),
        "winning_share": _rate(r.winning_share),
        "lagging_items": r.lagging,
    }


def _delivery(rows) -> list[dict]:
    return [
        {
            "supplier_code": d.code,
            "supplier_name": d.name,
            "ordered_qty": d.ordered,
            "delivered_qty": d.delivered,
            "rate": _rate(d.rate),
            "rate_by_level": {level: _rate(d.level_rate(level)) for level in dashboards.LEVEL_ORDER},
        }
        for d in rows
    ]


def _year(batch, year) -> dict:
    ay = year.agreement_year if year is not None else None
    return {
        "batch": batch.code if batch else None,
        "agreement_year": ay.number if ay else None,
        "start": ay.start if ay else None,
        "end": ay.end if ay else None,
        "as_of": year.as_of if year is not None else None,
    }


def _card(card: scorecards.Scorecard) -> dict:
    return {
        "supplier": card.supplier.code,
        "supplier_name": card.supplier.name,
        "batch": card.batch.code,
        "quarter": card.quarter.code,
        "region": card.region.code,
        "as_of": card.as_of,
        "computed_at": card.run.computed_at if card.run else None,
        "tier": card.tier,
        "recommendation": card.recommendation,
        "metrics": [
            {
                "metric": m.key,
                "label": m.label,
                "rate": _rate(m.rate),
                "tier": m.tier,
                "recommendation": m.recommendation,
                "numerator": m.numerator,
                "denominator": m.denominator,
                "decision": card.decisions[m.key].status if m.key in card.decisions else None,
            }
            for m in card.metrics
        ],
        "tickets": {
            k: (str(v) if v is not None and not isinstance(v, int) else v) for k, v in card.tickets.items()
        }
        if card.tickets is not None
        else None,
    }


def _quarter(text: str) -> notices.Quarter:
    try:
        return notices.parse_quarter(text)
    except DomainError as exc:
        raise NotFound(exc.message) from exc


# ---- dashboards ------------------------------------------------------------------------------------


@router.get(
    "/dashboards/regions/{code}",
    response=with_errors(RegionDashboardOut, 404),
    summary="地区监测看板数据：下钻、中选占比、可替代药品趋势、配送率、预警数量",
)
def region_dashboard(request, code: str, batch: str = ""):
    actor = request.actor
    region = dashboards.dashboard_region(actor, code)
    chosen = dashboards.choose_batch(dashboards.batches_with_facts(), batch)
    year = dashboards.facts_year(chosen) if chosen else None
    q = dashboards.alerts_in_region_q(region)
    result = {
        "region": region.code,
        "name": region.name,
        "facts": _year(chosen, year),
        "total": None,
        "rows": [],
        "delivery": [],
        "substitute_trend": None,
    }
    if year is not None and year.has_data:
        breakdown = dashboards.region_breakdown(region, year)
        trend = dashboards.substitute_trend(region, year)
        result.update(
            total=_row(breakdown.total),
            rows=[_row(r) for r in breakdown.rows],
            delivery=_delivery(dashboards.delivery_by_supplier(year, region=region)),
            substitute_trend={
                "basis": trend["basis"],
                "months": trend["months"],
                "this_year": [_qty(v) for v in trend["this_year"]],
                "last_year": [_qty(v) for v in trend["last_year"]],
            },
        )
    until = year.as_of if year is not None and year.has_data else today()
    result["alert_counts"] = dashboards.alert_counts_by_month(q, until=until)
    return result


@router.get(
    "/dashboards/institutions/{code}",
    response=with_errors(InstitutionDashboardOut, 404),
    summary="医疗机构监测看板数据：各品种完成率与序时进度、企业配送率",
)
def institution_dashboard(request, code: str, batch: str = ""):
    actor = request.actor
    institution = dashboards.dashboard_institution(actor, code)
    chosen = dashboards.choose_batch(dashboards.batches_with_facts(), batch)
    year = dashboards.facts_year(chosen) if chosen else None
    items, delivery = [], []
    if year is not None and year.has_data:
        for r in dashboards.institution_items(institution, year):
            f = r.fact
            items.append(
                {
                    "item_code": f.item.item_code,
                    "generic_name": f.item.generic_name,
                    "reported_qty": f.reported_qty,
                    "agreed_qty": f.agreed_qty,
                    "purchased_winning": _qty(f.purchased_winning),
                    "purchased_nonwinning": _qty(f.purchased_nonwinning),
                    "purchased_substitute": _qty(f.purchased_substitute),
                    "substitute_same_days_last_year": _qty(f.substitute_same_days_last_year),
                    "completion": _rate(f.completion),
                    "time_progress": _rate(f.time_progress),
                    "winning_share": _rate(r.winning_share),
                    "lagging": r.lagging,
                }
            )
        delivery = _delivery(dashboards.delivery_by_supplier(year, institution=institution))
    return {
        "institution": institution.code,
        "name": institution.name,
        "facts": _year(chosen, year),
        "items": items,
        "delivery": delivery,
    }


# ---- notices ---------------------------------------------------------------------------------------


@router.get(
    "/notices/{code}/{quarter}",
    response=with_errors(NoticeOut, 404),
    summary="季度监测通报（按类别分组的问题清单）",
)
def notice(request, code: str, quarter: str, paging: Query[PageParams], group: str = ""):
    """Every group's figures and one page of its problems (`page`, `page_size`); `group` (一 … 十四) keeps
    one group, to page through it. The XLSX export of the page has every row."""
    region = notices.notice_region(request.actor, code)
    period = _quarter(quarter)
    if group and group not in notices.GROUP_BY_NUMBER:
        raise NotFound(f"没有编号为 {group} 的通报类别")
    offset = (paging.page - 1) * paging.page_size
    built = notices.build_notice(region, period, offset=offset, limit=paging.page_size, number=group)
    return {
        "region": region.code,
        "quarter": built.quarter.code,
        "start": built.quarter.start,
        "end": built.quarter.end,
        "title": built.title,
        "total": built.total,
        "page": paging.page,
        "page_size": paging.page_size,
        "groups": [
            {
                "number": g.spec.number,
                "title": g.spec.title,
                "types": list(g.spec.types),
                "count": g.count,
                "institutions": g.institution_count,
                "suppliers": g.supplier_count,
                "has_more": g.count > offset + len(g.alerts),
                "alerts": [
                    {
                        "type": a.type,
                        "type_label": a.get_type_display(),
                        "institution": a.institution.code if a.institution_id else None,
                        "institution_name": a.institution.name if a.institution_id else None,
                        "supplier": a.supplier.code if a.supplier_id else None,
                        "item": a.item.item_code if a.item_id else None,
                        "product": a.product.code if a.product_id else None,
                        "order_id": a.order_id or None,
                        "line_no": a.line_no,
                        "value": decimal_str(a.value),
                        "threshold": decimal_str(a.threshold),
                        "tier": a.tier,
                        "status": a.status,
                        "escalation": a.escalation,
                        "first_seen_on": a.first_seen_on,
                        "last_seen_on": a.last_seen_on,
                        "closed_on": a.closed_on,
                    }
                    for a in g.alerts
                ],
            }
            for g in built.groups
        ],
    }


# ---- scorecards ------------------------------------------------------------------------------------


@router.get(
    "/scorecards",
    response=with_errors(ScorecardPage, 400, 404),
    summary="企业履约评价列表（批次 × 季度；医保局看辖区全部企业，企业只看自己）",
)
def scorecard_list(request, paging: Query[PageParams], batch: str, quarter: str, region: str = ""):
    """Delivery figures of a scope above 100 institutions come from the newest stored run (`computed_at`);
    without one the answer is 400 `scorecards_not_stored`, naming the `jicai scorecards … --store` command."""
    actor = request.actor
    own = access.company_of(actor)
    if not scorecards.can_list_scorecards(actor) and own is None:
        raise NotFound(NOT_FOUND)
    the_batch = scorecards.scorecard_batch(batch)
    the_region = scorecards.scorecard_region(actor, region, supplier=own)
    cards = scorecards.build_scorecards(
        batch=the_batch,
        region=the_region,
        quarter=_quarter(quarter),
        today=today(),
        suppliers=[own] if own else None,
    )
    return paginate_rows(cards, paging, _card)


@router.get(
    "/scorecards/{supplier}/{batch}/{quarter}",
    response=with_errors(ScorecardOut, 400, 404),
    summary="一家企业的季度履约评价：配送率（总体、按机构等级）、诉求指标、分档与建议",
)
def scorecard(request, supplier: str, batch: str, quarter: str, region: str = ""):
    actor = request.actor
    company = scorecards.scorecard_supplier(actor, supplier)
    the_batch = scorecards.scorecard_batch(batch)
    the_region = scorecards.scorecard_region(actor, region, supplier=company)
    card = scorecards.build_scorecards(
        batch=the_batch, region=the_region, quarter=_quarter(quarter), today=today(), suppliers=[company]
    )[0]
    return _card(card)


@router.post(
    "/scorecards/{supplier}/{batch}/{quarter}/decisions",
    response=with_errors(DecisionOut, 400, 403, 404, ok_status=201),
    summary="医保局确认或驳回某指标的分档建议（须填写理由）",
)
def decide(request, supplier: str, batch: str, quarter: str, payload: DecisionIn):
    actor = request.actor
    company = scorecards.scorecard_supplier(actor, supplier)
    decision = scorecards.decide_sanction(
        actor=actor,
        supplier=company,
        batch=scorecards.scorecard_batch(batch),
        quarter=_quarter(quarter),
        metric=payload.metric,
        confirm=payload.decision == "confirm",
        reason=payload.reason,
        today=today(),
    )
    return 201, decision


@router.get(
    "/credit-records/{supplier}",
    response=with_errors(page_of(DecisionOut), 404),
    summary="企业招采信用评价记录（已确认的处理）",
)
def credit_record(request, supplier: str, paging: Query[PageParams]):
    company = scorecards.credit_supplier(request.actor, supplier)
    qs = scorecards.credit_record(request.actor, company).select_related("supplier")
    return paginate(qs, paging)
