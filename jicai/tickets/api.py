"""API for supply tickets (SPEC §8, §10): list/get scoped like the web pages, open, reply, confirm, reopen,
bureau supervision, verified supply problems, attachments (multipart upload, download) and per-supplier
figures. Thin: the same actions and queries as the pages; anything outside the caller's scope answers 404."""

import datetime as dt
from typing import Literal

from django.http import FileResponse
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile

from jicai.api.pagination import (
    ErrorOut,
    PageParams,
    decimal_str,
    optional_related,
    page_of,
    paginate,
    with_errors,
)
from jicai.api.types import Id, StrictInt
from jicai.batches.models import Item
from jicai.core.errors import DomainError, NotFound
from jicai.registry.models import Company, Product
from jicai.tickets import actions, queries
from jicai.tickets.models import BUREAU_ACTIONS, Category, Ticket
from jicai.trade.models import OrderLine

router = Router()

NOT_FOUND = queries.NOT_FOUND
CategoryCode = Literal[tuple(Category.values)]  # type: ignore[valid-type]
BureauActionKind = Literal[tuple(str(k) for k in BUREAU_ACTIONS)]  # type: ignore[valid-type]


class TicketOut(Schema):
    id: int
    institution_code: str = Field(..., alias="institution.code")
    institution_name: str = Field(..., alias="institution.name")
    supplier_code: str = Field(..., alias="supplier.code")
    supplier_name: str = Field(..., alias="supplier.name")
    distributor_code: str | None
    order_id: str | None
    line_no: int | None
    product_code: str | None
    batch_code: str | None
    item_code: str | None
    category: str
    description: str
    status: str = Field(..., description="open/reopened/replied/fixed/closed")
    status_label: str
    opened_on: dt.date
    reply_due: dt.date
    reply_due_provisional: bool = Field(..., description="该年度无节假日数据时按周一至周五计算的暂定期限")
    replied_on: dt.date | None
    reply_text: str
    promised_fix_date: dt.date | None
    fix_due: dt.date | None
    fix_due_provisional: bool
    fixed_on: dt.date | None
    workdays_to_fix: int | None
    overdue: str | None = Field(..., description="reply / fix：今日已逾期的期限类型；未逾期为 null")
    escalated_to: str | None = Field(..., description="督办医保局所在地区代码")
    escalation_level: str | None
    interviewed_on: dt.date | None
    closed_on: dt.date | None
    supply_block_id: int | None
    supply_block_active: bool

    resolve_distributor_code = optional_related("distributor.code")

    resolve_order_id = optional_related("order_line.order.order_id")

    resolve_line_no = optional_related("order_line.line_no")

    resolve_product_code = optional_related("product.code")

    resolve_batch_code = optional_related("item.batch.code")

    resolve_item_code = optional_related("item.item_code")

    @staticmethod
    def resolve_status_label(obj):
        return obj.get_status_display()

    @staticmethod
    def resolve_overdue(obj):
        return getattr(obj, "overdue_now", "") or None

    resolve_escalated_to = optional_related("escalated_to.code")

    @staticmethod
    def resolve_escalation_level(obj):
        return obj.escalation_level or None

    @staticmethod
    def resolve_supply_block_active(obj):
        return obj.supply_block_id is not None and obj.supply_block.lifted_at is None


class TicketEventOut(Schema):
    action: str
    action_label: str
    on: dt.date
    at: dt.datetime
    actor: str
    from_status: str
    to_status: str
    text: str
    data: dict
    attachment_ids: list[int]

    @staticmethod
    def resolve_action_label(obj):
        return obj.get_action_display()

    @staticmethod
    def resolve_actor(obj):
        return obj.actor_label

    @staticmethod
    def resolve_attachment_ids(obj):
        return [a.pk for a in obj.attachments.all()]


class AttachmentOut(Schema):
    id: int
    original_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: dt.datetime


class TicketDetailOut(TicketOut):
    events: list[TicketEventOut]
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_events(obj):
        return obj.event_list

    @staticmethod
    def resolve_attachments(obj):
        return obj.attachment_list


class TicketIn(Schema):
    supplier_code: str = Field(..., min_length=1, max_length=64)
    category: CategoryCode
    description: str = Field(..., min_length=1, max_length=4000)
    distributor_code: str | None = None
    order_id: str | None = Field(None, description="本机构订单号（与 line_no 一起指定订单行）")
    line_no: StrictInt | None = Field(None, ge=1, le=1_000_000)
    product_code: str | None = None
    batch_code: str | None = Field(None, description="与 item_code 一起指定采购品种")
    item_code: str | None = None


class ReplyIn(Schema):
    text: str = Field(..., min_length=1, max_length=4000)
    promised_fix_date: dt.date | None = Field(
        None, description="不得晚于答复日后 ticket_fix_max_workdays 个工作日"
    )


class TextIn(Schema):
    text: str = Field("", max_length=4000)


class RequiredTextIn(Schema):
    text: str = Field(..., min_length=1, max_length=4000)


class BureauActionIn(Schema):
    kind: BureauActionKind
    text: str = Field(..., min_length=1, max_length=4000)


class FiguresOut(Schema):
    supplier_code: str = Field(..., alias="supplier.code")
    supplier_name: str = Field(..., alias="supplier.name")
    tickets: int
    replied_on_time: int
    on_time_reply_rate: str | None = Field(..., description="4 位小数；没有诉求为 null（不是 100%）")
    fixed: int
    fixed_on_time: int
    timely_fix_rate: str | None
    mean_workdays_to_fix: str | None

    @staticmethod
    def resolve_on_time_reply_rate(obj):
        return decimal_str(obj.on_time_reply_rate, 4)

    @staticmethod
    def resolve_timely_fix_rate(obj):
        return decimal_str(obj.timely_fix_rate, 4)

    @staticmethod
    def resolve_mean_workdays_to_fix(obj):
        return decimal_str(obj.mean_workdays_to_fix, 2)


def _detail(actor, ticket_id: int) -> Ticket:
    ticket = queries.get_ticket(actor, ticket_id)
    ticket.event_list = queries.ticket_events(ticket)
    ticket.attachment_list = queries.ticket_attachments(ticket)
    return ticket


def _company(code: str | None, label: str) -> Company | None:
    if not code:
        return None
    company = Company.objects.filter(code=code).first()
    if company is None:
        raise DomainError(f"{label}不存在：{code}", code="unknown_company")
    return company


@router.get("/tickets", response=with_errors(page_of(TicketOut)), summary="诉求列表")
def list_tickets(
    request,
    paging: Query[PageParams],
    q: str = "",
    status: str = "",
    overdue: str = Query("", description="1 = 今日已逾期，0 = 未逾期"),
    supplier: str = "",
    item: str = "",
    region: str = "",
    category: str = "",
    escalation: str = Query("", description="none / county / city / province"),
    institution: str = "",
):
    qs = queries.list_tickets(
        request.actor,
        q=q,
        status=status,
        overdue=overdue,
        supplier=supplier,
        item=item,
        region=region,
        category=category,
        escalation=escalation,
        institution=institution,
    ).select_related("order_line", "order_line__order")
    return paginate(qs, paging)


@router.post(
    "/tickets", response=with_errors(TicketDetailOut, 400, 403, 404, ok_status=201), summary="提出诉求"
)
def open_ticket(request, payload: TicketIn):
    actor = request.actor
    supplier = _company(payload.supplier_code, "生产企业")
    distributor = _company(payload.distributor_code, "配送企业")
    order_line = None
    if payload.order_id or payload.line_no:
        if not (payload.order_id and payload.line_no):
            raise DomainError("指定订单行时请同时提供 order_id 和 line_no")
        institution = getattr(actor.organisation, "institution", None)
        order_line = (
            OrderLine.objects.select_related("order", "order__distributor", "product", "item")
            .filter(order__order_id=payload.order_id, line_no=payload.line_no, institution=institution)
            .first()
        )
        if order_line is None:
            raise NotFound(NOT_FOUND)
    product = None
    if payload.product_code:
        product = Product.objects.filter(code=payload.product_code).first()
        if product is None:
            raise DomainError(f"产品不存在：{payload.product_code}", code="unknown_product")
    item = None
    if payload.item_code:
        item = (
            Item.objects.select_related("batch")
            .filter(batch__code=payload.batch_code or "", item_code=payload.item_code)
            .first()
        )
        if item is None:
            raise DomainError("采购品种不存在（请同时提供 batch_code 和 item_code）", code="unknown_item")
    ticket = actions.open_ticket(
        actor=actor,
        supplier=supplier,
        category=payload.category,
        description=payload.description,
        distributor=distributor,
        order_line=order_line,
        product=product,
        item=item,
    )
    return 201, _detail(actor, ticket.pk)


@router.get(
    "/tickets/{ticket_id}", response=with_errors(TicketDetailOut, 404), summary="诉求详情（含处理记录）"
)
def get_ticket(request, ticket_id: Id):
    return _detail(request.actor, ticket_id)


@router.post(
    "/tickets/{ticket_id}/reply", response=with_errors(TicketDetailOut, 400, 403, 404), summary="企业答复"
)
def reply(request, ticket_id: Id, payload: ReplyIn):
    actions.reply_ticket(
        actor=request.actor, ticket=ticket_id, text=payload.text, promised_fix_date=payload.promised_fix_date
    )
    return _detail(request.actor, ticket_id)


@router.post(
    "/tickets/{ticket_id}/confirm",
    response=with_errors(TicketDetailOut, 400, 403, 404),
    summary="机构确认已解决",
)
def confirm(request, ticket_id: Id, payload: TextIn):
    actions.confirm_fix(actor=request.actor, ticket=ticket_id, text=payload.text)
    return _detail(request.actor, ticket_id)


@router.post(
    "/tickets/{ticket_id}/reopen", response=with_errors(TicketDetailOut, 400, 403, 404), summary="重新打开"
)
def reopen(request, ticket_id: Id, payload: RequiredTextIn):
    actions.reopen_ticket(actor=request.actor, ticket=ticket_id, text=payload.text)
    return _detail(request.actor, ticket_id)


@router.post(
    "/tickets/{ticket_id}/escalate",
    response=with_errors(TicketDetailOut, 400, 403, 404),
    summary="上报上级医保局",
)
def escalate(request, ticket_id: Id, payload: RequiredTextIn):
    actions.escalate_ticket(actor=request.actor, ticket=ticket_id, text=payload.text)
    return _detail(request.actor, ticket_id)


@router.post(
    "/tickets/{ticket_id}/actions",
    response=with_errors(TicketDetailOut, 400, 403, 404),
    summary="记录督办措施（约谈、督促提醒、通报、其他）",
)
def bureau_action(request, ticket_id: Id, payload: BureauActionIn):
    actions.record_bureau_action(actor=request.actor, ticket=ticket_id, kind=payload.kind, text=payload.text)
    return _detail(request.actor, ticket_id)


@router.post(
    "/tickets/{ticket_id}/close", response=with_errors(TicketDetailOut, 400, 403, 404), summary="办结"
)
def close(request, ticket_id: Id, payload: RequiredTextIn):
    actions.close_ticket(actor=request.actor, ticket=ticket_id, text=payload.text)
    return _detail(request.actor, ticket_id)


@router.post(
    "/tickets/{ticket_id}/verify",
    response=with_errors(TicketDetailOut, 400, 403, 404),
    summary="认定供应问题（标记企业对该机构该品种无法供应）",
)
def verify(request, ticket_id: Id, payload: RequiredTextIn):
    actions.verify_supply_problem(actor=request.actor, ticket=ticket_id, reason=payload.text)
    return _detail(request.actor, ticket_id)


@router.post(
    "/tickets/{ticket_id}/lift-block",
    response=with_errors(TicketDetailOut, 400, 403, 404),
    summary="解除诉求认定的无法供应标记",
)
def lift_block(request, ticket_id: Id, payload: TextIn):
    actions.lift_ticket_block(actor=request.actor, ticket=ticket_id, note=payload.text)
    return _detail(request.actor, ticket_id)


@router.post(
    "/tickets/{ticket_id}/attachments",
    response=with_errors(list[AttachmentOut], 400, 403, 404, ok_status=201),
    summary="上传附件（multipart，字段名 files；PDF/PNG/JPG/XLSX/DOCX，单个不超过 10 MB）",
)
def upload_attachments(request, ticket_id: Id, files: File[list[UploadedFile]], text: str = ""):
    rows = actions.add_attachments(actor=request.actor, ticket=ticket_id, files=files, text=text)
    return 201, rows


@router.get(
    "/tickets/{ticket_id}/attachments/{attachment_id}",
    response={401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    # The file itself is returned as-is (FileResponse), so its 200 is documented by hand.
    openapi_extra={
        "responses": {"200": {"description": "附件文件", "content": {"application/octet-stream": {}}}}
    },
    summary="下载附件（总是以附件形式下载）",
)
def download_attachment(request, ticket_id: Id, attachment_id: Id):
    attachment = queries.get_attachment(request.actor, ticket_id, attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise NotFound("附件文件不存在") from exc
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@router.get("/ticket-figures", response=with_errors(list[FiguresOut], 400), summary="企业诉求处理指标")
def figures(request, start: dt.date, end: dt.date, supplier: str = "", region: str = ""):
    if end < start:
        raise DomainError("结束日期不能早于开始日期")
    return queries.figures_for(request.actor, start=start, end=end, supplier=supplier, region=region)
