"""/api/v1 endpoints of SPEC §11 for HIS without FHIR and for the pharmacy: plain JSON prompts and
outcomes, the substitute catalogue and its quarterly limits. Everything is scoped to the caller's own
institution: another institution's prompt, entry or limit answers 404 and nothing changes."""

import datetime as dt
import uuid

from ninja import Field, Query, Router, Schema

from jicai.accounts import access
from jicai.api.pagination import PageParams, page_of, paginate, with_errors
from jicai.core.errors import NotFound
from jicai.prescribing import catalogue, service
from jicai.prescribing.models import CatalogueEntry, Prompt, SubstituteLimit

router = Router()


class PromptIn(Schema):
    institution_code: str
    doctor_code: str = ""
    product_code: str
    qty: int = Field(0, ge=0)


class AlternativeOut(Schema):
    product_code: str
    name: str
    spec: str
    maker: str
    price: str
    role: str


class ReasonOut(Schema):
    code: str
    display: str


class PromptAnswer(Schema):
    prompt: str | None
    level: str
    message: str
    alternatives: list[AlternativeOut]
    limit: dict | None
    doctor_target: dict | None
    reasons: list[ReasonOut]


class OutcomeIn(Schema):
    outcome: str = Field(..., description="accepted / overridden")
    reason: str = Field("", description="condition / allergy / shortage / patient / other")
    reason_text: str = ""


class PromptOut(Schema):
    prompt: uuid.UUID = Field(..., alias="uuid")
    institution: str = Field(..., alias="institution.code")
    doctor_code: str
    product: str = Field(..., alias="product.code")
    item: str = Field(..., alias="item.item_code")
    qty: int
    level: str
    source: str
    created_at: dt.datetime
    outcome: str
    reason: str
    reason_text: str


def _institution(request):
    institution = access.institution_of(request.actor)
    if institution is None:
        raise NotFound(catalogue.NOT_FOUND)
    return institution


@router.post("/prompts", response=with_errors(PromptAnswer, 400, 404), summary="处方提醒（非 FHIR 的 HIS）")
def create_prompt(request, body: PromptIn):
    institution = _institution(request)
    if body.institution_code != institution.code:
        raise NotFound(catalogue.NOT_FOUND)
    answer = service.prompt(
        institution_code=institution.code, doctor_code=body.doctor_code, product_code=body.product_code,
        qty=body.qty, source=Prompt.Source.JSON,
    )  # fmt: skip
    return service.answer_json(answer)


def _prompts(request):
    return access.visible_prompts(request.actor).select_related("institution", "product", "item")


@router.get("/prompts", response=with_errors(page_of(PromptOut)), summary="处方提醒记录")
def list_prompts(request, paging: Query[PageParams], doctor: str = ""):
    qs = _prompts(request)
    if doctor:
        qs = qs.filter(doctor_code=doctor)
    return paginate(qs.order_by("-created_at", "-id"), paging)


@router.get("/prompts/{prompt_id}", response=with_errors(PromptOut, 400, 404), summary="一条处方提醒")
def get_prompt(request, prompt_id: str):
    return service.prompt_for(_institution(request).pk, prompt_id)


@router.post(
    "/prompts/{prompt_id}/outcome", response=with_errors(PromptOut, 400, 404), summary="记录医师处理结果"
)
def prompt_outcome(request, prompt_id: str, body: OutcomeIn):
    row = service.record_outcome(
        institution_id=_institution(request).pk, key=prompt_id, outcome=body.outcome, reason=body.reason,
        text=body.reason_text,
    )  # fmt: skip
    return _prompts(request).get(pk=row.pk)


# ---- catalogue and limits ---------------------------------------------------------------------------


class EntryOut(Schema):
    item: str = Field(..., alias="item.item_code")
    product: str = Field(..., alias="product.code")
    name: str = Field(..., alias="product.generic_name")
    active: bool
    from_batch: bool
    reason: str


class EntryIn(Schema):
    item: str
    product: str
    action: str = Field(..., description="add / remove")
    reason: str


class LimitOut(Schema):
    id: int
    quarter: str
    item: str = Field(..., alias="item.item_code")
    product: str = Field(..., alias="product.code")
    last_year_qty: int
    proposed_qty: int | None
    proposed_suspend: bool
    limit_qty: int | None
    suspended: bool
    status: str
    note: str


class ProposeIn(Schema):
    quarter: str = Field(..., description="刚结束的季度，如 2025Q1；建议适用于下一季度")


class DecisionIn(Schema):
    decision: str = Field(..., description="confirm / edit / dismiss")
    limit_qty: int | None = None
    suspended: bool = False
    note: str = ""


@router.get("/substitute-catalogue", response=with_errors(page_of(EntryOut)), summary="本院可替代药品目录")
def list_catalogue(request, paging: Query[PageParams]):
    if not access.is_pharmacy(request.actor):
        return paginate(CatalogueEntry.objects.none(), paging)
    return paginate(catalogue.entries(request.actor).order_by("item__item_code", "product__code"), paging)


@router.post(
    "/substitute-catalogue", response=with_errors(EntryOut, 400, 404), summary="增加或移除可替代药品"
)
def change_catalogue(request, body: EntryIn):
    if body.action not in ("add", "remove"):
        from jicai.core.errors import DomainError

        raise DomainError("action 应为 add 或 remove", code="invalid_action")
    return catalogue.set_entry(
        actor=request.actor, item_code=body.item, product_code=body.product, active=body.action == "add",
        reason=body.reason,
    )  # fmt: skip


@router.get("/substitute-limits", response=with_errors(page_of(LimitOut)), summary="可替代药品限量与暂停")
def list_limits(request, paging: Query[PageParams], quarter: str = ""):
    if not access.is_pharmacy(request.actor):
        return paginate(SubstituteLimit.objects.none(), paging)
    qs = catalogue.limits(request.actor)
    if quarter:
        qs = qs.filter(quarter=quarter.strip().upper())
    return paginate(qs.order_by("-quarter", "product__code"), paging)


@router.post(
    "/substitute-limits/proposals", response=with_errors(list[LimitOut], 400, 404), summary="生成季末限量建议"
)
def propose_limits(request, body: ProposeIn):
    institution = catalogue.require_pharmacy(request.actor)
    return catalogue.propose(actor=request.actor, institution=institution, quarter=body.quarter)


@router.post(
    "/substitute-limits/{limit_id}",
    response=with_errors(LimitOut, 400, 404),
    summary="确认、修改或驳回限量建议",
)
def decide_limit(request, limit_id: int, body: DecisionIn):
    return catalogue.decide(
        actor=request.actor, pk=limit_id, decision=body.decision, limit_qty=body.limit_qty,
        suspended=body.suspended, note=body.note,
    )  # fmt: skip
