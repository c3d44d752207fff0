"""API for supply (SPEC §6, §10): orders, order lines with supplier response, delivery, receipt and
payment, invoice payments, payables, agreed/purchased/remaining, supply blocks, price exceptions,
supplier monthly reports and usage. Thin: same actions and scoped queries as the web pages; anything
outside the caller's scope answers 404. Bulk imports live under /imports/{kind} (jicai.ingest)."""

import datetime as dt
from typing import Literal

from ninja import Field, Query, Router, Schema

from jicai.api.pagination import (
    PageParams,
    decimal_str,
    optional_related,
    page_of,
    paginate,
    with_errors,
)
from jicai.api.types import Id, Money, PositiveQty, Price, Qty
from jicai.batches.models import Item
from jicai.core.errors import DomainError, NotFound
from jicai.registry.models import Company, Product
from jicai.trade import actions, queries, rules

router = Router()

NOT_FOUND = "未找到该记录，或您无权查看"
DerivedStatus = Literal[tuple(rules.STATUS_LABELS)]  # type: ignore[valid-type]


# ---- schemas -------------------------------------------------------------------------------------


class OrderLineOut(Schema):
    order_id: str = Field(..., alias="order.order_id")
    line_no: int
    institution_code: str = Field(..., alias="institution.code")
    supplier_code: str = Field(..., alias="supplier.code")
    product_code: str = Field(..., alias="product.code")
    item_code: str | None = Field(..., description="产品所属采购品种编码；不属于任何品种为 null")
    qty: int
    unit_price: str
    amount: str
    ordered_on: dt.date
    status: str = Field(..., description="发送方状态 open/cancelled/rejected")
    derived_status: str = Field(
        ..., description="由数量推导的状态：" + "、".join(f"{k}={v}" for k, v in rules.STATUS_LABELS.items())
    )
    status_label: str
    accepted_by_supplier: bool | None
    reject_reason: str
    delivered_qty: int
    accepted_qty: int
    rejected_qty: int
    paid_amount: str
    outstanding: str = Field(..., description="验收合格金额 − 已付款（不为负）")
    payment_due_on: dt.date | None

    resolve_item_code = optional_related("item.item_code")

    @staticmethod
    def resolve_unit_price(obj):
        return decimal_str(obj.unit_price, 4)

    @staticmethod
    def resolve_amount(obj):
        return decimal_str(obj.amount, 2)

    @staticmethod
    def resolve_paid_amount(obj):
        return decimal_str(obj.paid_amount, 2)

    @staticmethod
    def resolve_outstanding(obj):
        return decimal_str(obj.outstanding, 2)

    @staticmethod
    def resolve_status_label(obj):
        return rules.STATUS_LABELS[obj.derived_status]


class OrderOut(Schema):
    order_id: str
    institution_code: str
    supplier_code: str
    distributor_code: str | None
    ordered_on: dt.date
    source: str
    routing_reason: str
    status: str
    status_label: str
    lines: list[OrderLineOut]


def _order_out(actor, order) -> dict:
    lines = queries.order_lines(actor, order)
    status = rules.order_status(line.derived_status for line in lines)
    for line in lines:
        line.order = order
    return {
        "order_id": order.order_id,
        "institution_code": order.institution.code,
        "supplier_code": order.supplier.code,
        "distributor_code": order.distributor.code if order.distributor_id else None,
        "ordered_on": order.ordered_on,
        "source": order.source,
        "routing_reason": order.routing_reason,
        "status": status,
        "status_label": rules.STATUS_LABELS[status],
        "lines": lines,
    }


class OrderSummaryOut(Schema):
    order_id: str
    institution_code: str = Field(..., alias="institution.code")
    supplier_code: str = Field(..., alias="supplier.code")
    distributor_code: str | None
    ordered_on: dt.date
    routing_reason: str
    line_count: int
    total_amount: str

    resolve_distributor_code = optional_related("distributor.code")

    @staticmethod
    def resolve_total_amount(obj):
        return decimal_str(obj.total_amount, 2)


class OrderLineIn(Schema):
    product_code: str
    qty: PositiveQty
    unit_price: Price | None = Field(None, description="留空 = 下单日有效的挂网价")


class OrderIn(Schema):
    lines: list[OrderLineIn] = Field(..., min_length=1)
    order_id: str = Field("", max_length=64, description="发送方订单号；留空由平台生成")
    ordered_on: dt.date | None = None


class RespondIn(Schema):
    accept: bool
    reason: str = ""


class DeliveryIn(Schema):
    qty: PositiveQty
    delivered_on: dt.date


class ReceiptIn(Schema):
    accepted_qty: Qty
    rejected_qty: Qty = 0
    received_on: dt.date
    reason: str = ""


class PaymentIn(Schema):
    amount: Money = Field(..., gt=0)
    paid_on: dt.date
    invoice_no: str = ""


class InvoiceLineRef(Schema):
    order_id: str
    line_no: int


class InvoicePaymentIn(Schema):
    invoice_no: str = Field(..., min_length=1, max_length=64)
    amount: Money = Field(..., gt=0)
    paid_on: dt.date
    lines: list[InvoiceLineRef] = Field(..., min_length=1)


class PaymentOut(Schema):
    order_id: str = Field(..., alias="line.order.order_id")
    line_no: int = Field(..., alias="line.line_no")
    amount: str
    paid_on: dt.date
    invoice_no: str

    @staticmethod
    def resolve_amount(obj):
        return decimal_str(obj.amount, 2)


class PayableOut(Schema):
    code: str
    name: str
    line_count: int
    ordered_amount: str
    payable_amount: str
    paid: str
    outstanding: str
    overdue: str


class ProgressOut(Schema):
    batch_code: str
    item_code: str
    generic_name: str
    agreement_year: int
    basis: str
    agreed_qty: int | None
    purchased: str
    remaining: str | None


class SupplyBlockOut(Schema):
    id: int
    supplier_code: str = Field(..., alias="supplier.code")
    institution_code: str = Field(..., alias="institution.code")
    batch_code: str = Field(..., alias="item.batch.code")
    item_code: str = Field(..., alias="item.item_code")
    reason: str
    source: str
    source_ref: str
    created_at: dt.datetime
    lifted_at: dt.datetime | None


class SupplyBlockIn(Schema):
    institution_code: str
    supplier_code: str
    batch_code: str
    item_code: str
    reason: str = Field(..., min_length=1, max_length=255)


class PriceExceptionOut(Schema):
    id: int
    institution_code: str = Field(..., alias="institution.code")
    product_code: str = Field(..., alias="product.code")
    unit_price: str
    valid_from: dt.date
    valid_to: dt.date
    reason: str

    @staticmethod
    def resolve_unit_price(obj):
        return decimal_str(obj.unit_price, 4)


class PriceExceptionIn(Schema):
    institution_code: str
    product_code: str
    unit_price: Price
    valid_from: dt.date
    valid_to: dt.date
    reason: str = Field(..., min_length=1, max_length=255)


class MonthlyReportOut(Schema):
    company_code: str = Field(..., alias="company.code")
    batch_code: str = Field(..., alias="item.batch.code")
    item_code: str = Field(..., alias="item.item_code")
    month: str = Field(..., description="YYYY-MM")
    production_qty: int
    supply_qty: int
    inventory_qty: int
    payment_received: str

    @staticmethod
    def resolve_month(obj):
        return f"{obj.month:%Y-%m}"

    @staticmethod
    def resolve_payment_received(obj):
        return decimal_str(obj.payment_received, 2)


class MonthlyReportIn(Schema):
    batch_code: str
    item_code: str
    month: str = Field(..., pattern=r"^\d{4}-\d{2}$")
    production_qty: Qty
    supply_qty: Qty
    inventory_qty: Qty
    payment_received: Money


class MissingReportOut(Schema):
    company_code: str
    company_name: str
    batch_code: str
    item_code: str
    month: str
    due_on: dt.date


class UsageOut(Schema):
    institution_code: str = Field(..., alias="institution.code")
    product_code: str = Field(..., alias="product.code")
    department: str
    doctor_code: str
    qty: int
    used_on: dt.date


# ---- orders --------------------------------------------------------------------------------------


@router.get("/orders", response=with_errors(page_of(OrderSummaryOut)), summary="订单列表")
def list_orders(
    request,
    paging: Query[PageParams],
    q: str = "",
    supplier: str = "",
    institution: str = "",
    date_from: str = "",
    date_to: str = "",
):
    qs = queries.list_orders(
        request.actor, q=q, supplier=supplier, institution=institution, date_from=date_from, date_to=date_to
    )
    return paginate(qs, paging)


@router.post("/orders", response=with_errors(OrderOut, 400, 403, 404, 409, ok_status=201), summary="下单")
def place_order(request, payload: OrderIn):
    codes = {line.product_code for line in payload.lines}
    products = {p.code: p for p in Product.objects.filter(code__in=codes)}
    missing = sorted(codes - set(products))
    if missing:
        raise DomainError("产品不存在：" + "、".join(missing), code="unknown_product")
    order = actions.place_order(
        actor=request.actor,
        lines=[
            actions.LineInput(products[line.product_code], line.qty, line.unit_price)
            for line in payload.lines
        ],
        ordered_on=payload.ordered_on,
        order_id=payload.order_id,
        source="api",
    )
    return 201, _order_out(request.actor, queries.get_order(request.actor, order.order_id))


@router.get("/orders/{order_id}", response=with_errors(OrderOut, 404), summary="订单详情（含订单行）")
def get_order(request, order_id: str):
    return _order_out(request.actor, queries.get_order(request.actor, order_id))


@router.get("/order-lines", response=with_errors(page_of(OrderLineOut)), summary="订单明细列表")
def list_lines(
    request,
    paging: Query[PageParams],
    q: str = "",
    status: str = "",
    supplier: str = "",
    institution: str = "",
    date_from: str = "",
    date_to: str = "",
    batch: str = Query("", description="批次编码（与 item 一起使用）"),
    item: str = Query("", description="品种编码"),
    overdue: bool = Query(False, description="仅逾期未付款"),
):
    qs = queries.list_lines(
        request.actor,
        q=q,
        status=status,
        supplier=supplier,
        institution=institution,
        date_from=date_from,
        date_to=date_to,
        batch=batch,
        item=item,
        overdue_on=actions.today() if overdue else None,
    ).select_related("item")
    return paginate(qs, paging)


def _line(request, order_id: str, line_no: int):
    return queries.get_line(request.actor, order_id, line_no)


def _line_out(request, order_id: str, line_no: int):
    return (
        queries.list_lines(request.actor)
        .select_related("item")
        .get(order__order_id=order_id, line_no=line_no)
    )


LINE_WRITE = with_errors(OrderLineOut, 400, 403, 404)


@router.post("/order-lines/{order_id}/{line_no}/respond", response=LINE_WRITE, summary="企业确认或拒绝订单行")
def respond(request, order_id: str, line_no: int, payload: RespondIn):
    actions.respond_to_line(
        actor=request.actor,
        line=_line(request, order_id, line_no),
        accept=payload.accept,
        reason=payload.reason,
    )
    return _line_out(request, order_id, line_no)


@router.post(
    "/order-lines/{order_id}/{line_no}/deliveries", response=LINE_WRITE, summary="登记配送（可部分配送）"
)
def deliver(request, order_id: str, line_no: int, payload: DeliveryIn):
    actions.record_delivery(
        actor=request.actor,
        line=_line(request, order_id, line_no),
        qty=payload.qty,
        delivered_on=payload.delivered_on,
    )
    return _line_out(request, order_id, line_no)


@router.post(
    "/order-lines/{order_id}/{line_no}/receipts", response=LINE_WRITE, summary="入库确认（验收合格/拒收）"
)
def receive(request, order_id: str, line_no: int, payload: ReceiptIn):
    actions.confirm_receipt(
        actor=request.actor,
        line=_line(request, order_id, line_no),
        accepted_qty=payload.accepted_qty,
        rejected_qty=payload.rejected_qty,
        received_on=payload.received_on,
        reason=payload.reason,
    )
    return _line_out(request, order_id, line_no)


@router.post("/order-lines/{order_id}/{line_no}/payments", response=LINE_WRITE, summary="按订单行付款")
def pay(request, order_id: str, line_no: int, payload: PaymentIn):
    actions.record_payment(
        actor=request.actor,
        line=_line(request, order_id, line_no),
        amount=payload.amount,
        paid_on=payload.paid_on,
        invoice_no=payload.invoice_no,
    )
    return _line_out(request, order_id, line_no)


@router.post(
    "/invoice-payments",
    response=with_errors(list[PaymentOut], 400, 403, 404, ok_status=201),
    summary="按发票付款（分摊到多个订单行）",
)
def pay_invoice(request, payload: InvoicePaymentIn):
    lines = [_line(request, ref.order_id, ref.line_no) for ref in payload.lines]
    payments = actions.record_invoice_payment(
        actor=request.actor,
        lines=lines,
        amount=payload.amount,
        paid_on=payload.paid_on,
        invoice_no=payload.invoice_no,
    )
    return 201, payments


@router.get("/payables", response=with_errors(list[PayableOut]), summary="应付与逾期金额（按机构或企业汇总）")
def payables(request, by: Literal["institution", "supplier"] = "institution"):
    rows = queries.payables(request.actor, by=by, as_of=actions.today())
    return [
        {
            "code": r[f"{by}__code"],
            "name": r[f"{by}__name"],
            "line_count": r["line_count"],
            **{
                k: decimal_str(r[k], 2)
                for k in ("ordered_amount", "payable_amount", "paid", "outstanding", "overdue")
            },
        }
        for r in rows
    ]


@router.get(
    "/order-progress", response=with_errors(list[ProgressOut]), summary="本协议年度各品种 约定/已采购/剩余"
)
def order_progress(request):
    return [
        {
            "batch_code": p.item.batch.code,
            "item_code": p.item.item_code,
            "generic_name": p.item.generic_name,
            "agreement_year": p.agreement_year.number,
            "basis": p.basis,
            "agreed_qty": p.agreed,
            "purchased": decimal_str(p.purchased),
            "remaining": decimal_str(p.remaining),
        }
        for p in queries.item_progress(request.actor, actions.today())
    ]


# ---- supply blocks and price exceptions ------------------------------------------------------------


@router.get("/supply-blocks", response=with_errors(page_of(SupplyBlockOut)), summary="无法供应标记列表")
def list_blocks(
    request,
    paging: Query[PageParams],
    q: str = "",
    active: Literal["yes", "no", ""] = Query("", description="yes 生效中 / no 已解除"),
):
    return paginate(queries.list_supply_blocks(request.actor, q=q, active=active), paging)


def _item(batch_code: str, item_code: str) -> Item:
    item = Item.objects.select_related("batch").filter(batch__code=batch_code, item_code=item_code).first()
    if item is None:
        raise DomainError(f"品种 {batch_code}/{item_code} 不存在", code="unknown_item")
    return item


@router.post(
    "/supply-blocks",
    response=with_errors(SupplyBlockOut, 400, 404, ok_status=201),
    summary="标记无法供应（医保局）",
)
def set_block(request, payload: SupplyBlockIn):
    institution = queries.governed_institution(request.actor, payload.institution_code)
    supplier = Company.objects.filter(code=payload.supplier_code).first()
    if supplier is None:
        raise DomainError(f"企业 {payload.supplier_code} 不存在", code="unknown_company")
    block = actions.set_supply_block(
        actor=request.actor,
        institution=institution,
        supplier=supplier,
        item=_item(payload.batch_code, payload.item_code),
        reason=payload.reason,
    )
    return 201, block


@router.post(
    "/supply-blocks/{block_id}/lift",
    response=with_errors(SupplyBlockOut, 400, 404),
    summary="解除无法供应标记",
)
def lift_block(request, block_id: Id):
    if not queries.governed_blocks(request.actor).filter(pk=block_id).exists():
        raise NotFound(NOT_FOUND)
    return actions.lift_supply_block(
        actor=request.actor, block=queries.get_supply_block(request.actor, block_id)
    )


@router.get("/price-exceptions", response=with_errors(page_of(PriceExceptionOut)), summary="价格例外列表")
def list_exceptions(request, paging: Query[PageParams], q: str = ""):
    return paginate(queries.list_price_exceptions(request.actor, q=q), paging)


@router.post(
    "/price-exceptions",
    response=with_errors(PriceExceptionOut, 400, 404, ok_status=201),
    summary="批准价格例外（医保局）",
)
def grant_exception(request, payload: PriceExceptionIn):
    institution = queries.governed_institution(request.actor, payload.institution_code)
    product = Product.objects.filter(code=payload.product_code).first()
    if product is None:
        raise DomainError(f"产品 {payload.product_code} 不存在", code="unknown_product")
    exception = actions.grant_price_exception(
        actor=request.actor,
        institution=institution,
        product=product,
        unit_price=payload.unit_price,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        reason=payload.reason,
    )
    return 201, exception


# ---- monthly reports and usage -------------------------------------------------------------------


@router.get("/monthly-reports", response=with_errors(page_of(MonthlyReportOut)), summary="企业月报列表")
def list_reports(
    request, paging: Query[PageParams], q: str = "", month: str = Query("", description="YYYY-MM")
):
    return paginate(queries.list_monthly_reports(request.actor, q=q, month=month), paging)


@router.post(
    "/monthly-reports",
    response=with_errors(MonthlyReportOut, 400, 404, ok_status=201),
    summary="报送企业月报",
)
def file_report(request, payload: MonthlyReportIn):
    year, month = (int(p) for p in payload.month.split("-"))
    try:
        first = dt.date(year, month, 1)
    except ValueError:
        raise DomainError(f"月份无效：{payload.month}") from None
    item = (
        Item.objects.select_related("batch")
        .filter(batch__code=payload.batch_code, item_code=payload.item_code)
        .first()
    )
    if item is None:
        raise NotFound(NOT_FOUND)
    report = actions.file_monthly_report(
        actor=request.actor,
        item=item,
        month=first,
        production_qty=payload.production_qty,
        supply_qty=payload.supply_qty,
        inventory_qty=payload.inventory_qty,
        payment_received=payload.payment_received,
    )
    return 201, report


@router.get(
    "/monthly-reports/missing",
    response=with_errors(list[MissingReportOut], 403),
    summary="未按时报送月报的企业（医保局）",
)
def missing_reports(request):
    return [
        {
            "company_code": m.company.code,
            "company_name": m.company.name,
            "batch_code": m.item.batch.code,
            "item_code": m.item.item_code,
            "month": f"{m.month:%Y-%m}",
            "due_on": m.due_on,
        }
        for m in queries.missing_monthly_reports(request.actor, actions.today())
    ]


@router.get("/usage", response=with_errors(page_of(UsageOut)), summary="使用数据（HIS/结算）列表")
def list_usage(
    request,
    paging: Query[PageParams],
    q: str = "",
    institution: str = "",
    department: str = "",
    date_from: str = "",
    date_to: str = "",
):
    return paginate(
        queries.list_usage(
            request.actor,
            q=q,
            institution=institution,
            department=department,
            date_from=date_from,
            date_to=date_to,
        ),
        paging,
    )
