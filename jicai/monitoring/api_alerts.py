"""Alerts and monitoring facts API (SPEC §7, §10): /alerts, /alerts/{id}, explain, escalate, resolve,
/facts/progress, /facts/delivery. Thin, scoped like the web pages; out of scope answers 404."""

import datetime as dt

from ninja import Query, Router, Schema

from jicai.api.pagination import PageParams, decimal_str, page_of, paginate, with_errors
from jicai.api.types import Id
from jicai.monitoring import actions, queries

router = Router()


class AlertOut(Schema):
    id: int
    key: str
    type: str
    type_label: str
    institution: str | None
    item: str | None
    supplier: str | None
    product: str | None
    order_id: str | None
    line_no: int | None
    ticket_id: int | None
    value: str | None
    threshold: str | None
    tier: int | None
    agreement_year: int | None
    status: str
    escalation: str
    explanation: str
    first_seen_on: dt.date
    last_seen_on: dt.date
    closed_on: dt.date | None


class AlertEventOut(Schema):
    at: dt.datetime
    actor: str | None
    action: str
    from_value: str
    to_value: str
    reason: str


class AlertDetailOut(AlertOut):
    events: list[AlertEventOut]


# Fact lists follow the facts' unique keys, so the unique index hands out a page; ordering by the joined
# codes sorted a supplier's or the province's facts first (66 ms for the province bureau at province scale).
PROGRESS_FACT_ORDER = ("institution_id", "item_id", "agreement_year_id")
DELIVERY_FACT_ORDER = ("supplier_id", "institution_id", "agreement_year_id")


def _alert(a) -> dict:
    return {
        "id": a.pk,
        "key": a.key,
        "type": a.type,
        "type_label": a.get_type_display(),
        "institution": a.institution.code if a.institution_id else None,
        "item": a.item.item_code if a.item_id else None,
        "supplier": a.supplier.code if a.supplier_id else None,
        "product": a.product.code if a.product_id else None,
        "order_id": a.order_id or None,
        "line_no": a.line_no,
        "ticket_id": a.ticket_id,
        "value": decimal_str(a.value),
        "threshold": decimal_str(a.threshold),
        "tier": a.tier,
        "agreement_year": a.agreement_year.number if a.agreement_year_id else None,
        "status": a.status,
        "escalation": a.escalation,
        "explanation": a.explanation,
        "first_seen_on": a.first_seen_on,
        "last_seen_on": a.last_seen_on,
        "closed_on": a.closed_on,
    }


def _detail(a) -> dict:
    events = [
        {
            "at": e.at,
            "actor": e.actor.username if e.actor_id else None,
            "action": e.action,
            "from_value": e.from_value,
            "to_value": e.to_value,
            "reason": e.reason,
        }
        for e in queries.alert_events(a)
    ]
    return {**_alert(a), "events": events}


class AlertFilters(Schema):
    type: str = ""
    status: str = ""
    escalation: str = ""
    region: str = ""
    supplier: str = ""
    item: str = ""
    q: str = ""


@router.get("/alerts", response=with_errors(page_of(AlertOut)))
def list_alerts(request, filters: Query[AlertFilters], paging: Query[PageParams]):
    page = paginate(queries.list_alerts(request.actor, **filters.dict()), paging)
    page["results"] = [_alert(a) for a in page["results"]]
    return page


@router.get("/alerts/{alert_id}", response=with_errors(AlertDetailOut, 404))
def get_alert(request, alert_id: Id):
    return _detail(queries.get_alert(request.actor, alert_id))


class ReasonIn(Schema):
    reason: str


class EscalateIn(Schema):
    step: str
    reason: str


@router.post("/alerts/{alert_id}/explain", response=with_errors(AlertDetailOut, 400, 403, 404))
def explain(request, alert_id: Id, body: ReasonIn):
    actions.explain_alert(actor=request.actor, alert_id=alert_id, reason=body.reason)
    return _detail(queries.get_alert(request.actor, alert_id))


@router.post("/alerts/{alert_id}/resolve", response=with_errors(AlertDetailOut, 400, 403, 404))
def resolve(request, alert_id: Id, body: ReasonIn):
    actions.resolve_alert(actor=request.actor, alert_id=alert_id, reason=body.reason)
    return _detail(queries.get_alert(request.actor, alert_id))


@router.post("/alerts/{alert_id}/escalate", response=with_errors(AlertDetailOut, 400, 403, 404))
def escalate(request, alert_id: Id, body: EscalateIn):
    actions.escalate_alert(actor=request.actor, alert_id=alert_id, step=body.step, reason=body.reason)
    return _detail(queries.get_alert(request.actor, alert_id))


class ProgressFactOut(Schema):
    as_of: dt.date
    institution: str
    item: str
    agreement_year: int
    agreed_qty: int
    reported_qty: int | None
    purchased_winning: str
    purchased_nonwinning: str
    purchased_substitute: str
    substitute_last_year: str
    substitute_same_days_last_year: str
    time_progress: str
    completion: str | None


class DeliveryFactOut(Schema):
    as_of: dt.date
    supplier: str
    institution: str
    agreement_year: int
    ordered_qty: int
    delivered_qty: int
    rate: str | None


@router.get("/facts/progress", response=with_errors(page_of(ProgressFactOut)))
def progress_facts(request, paging: Query[PageParams], institution: str = "", item: str = ""):
    qs = queries.visible_progress_facts(request.actor).order_by(*PROGRESS_FACT_ORDER)
    if institution:
        qs = qs.filter(institution__code=institution)
    if item:
        qs = qs.filter(item__item_code=item)
    page = paginate(qs, paging)
    page["results"] = [
        {
            "as_of": f.as_of,
            "institution": f.institution.code,
            "item": f.item.item_code,
            "agreement_year": f.agreement_year.number,
            "agreed_qty": f.agreed_qty,
            "reported_qty": f.reported_qty,
            **{
                k: decimal_str(getattr(f, k))
                for k in (
                    "purchased_winning",
                    "purchased_nonwinning",
                    "purchased_substitute",
                    "substitute_last_year",
                    "substitute_same_days_last_year",
                    "time_progress",
                    "completion",
                )
            },
        }
        for f in page["results"]
    ]
    return page


@router.get("/facts/delivery", response=with_errors(page_of(DeliveryFactOut)))
def delivery_facts(request, paging: Query[PageParams], supplier: str = "", institution: str = ""):
    qs = queries.visible_delivery_facts(request.actor).order_by(*DELIVERY_FACT_ORDER)
    if supplier:
        qs = qs.filter(supplier__code=supplier)
    if institution:
        qs = qs.filter(institution__code=institution)
    page = paginate(qs, paging)
    page["results"] = [
        {
            "as_of": f.as_of,
            "supplier": f.supplier.code,
            "institution": f.institution.code,
            "agreement_year": f.agreement_year.number,
            "ordered_qty": f.ordered_qty,
            "delivered_qty": f.delivered_qty,
            "rate": decimal_str(f.rate),
        }
        for f in page["results"]
    ]
    return page
