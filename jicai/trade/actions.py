"""Every write of supply (SPEC §6): ordering, supplier response, delivery, receipt, payment, supply
blocks, price exceptions and supplier monthly reports. Keyword-only, atomic, audited.

Running totals on OrderLine (delivered/accepted/rejected qty, paid amount) change only through
conditional UPDATEs with F() expressions ("… WHERE paid_amount + x <= amount"), backed by the model's
check constraints, so two concurrent writes can never together exceed a line (SPEC §9)."""

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import DateField, F, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Organisation
from jicai.accounts.notify import notify
from jicai.batches.models import SUPPLY_ROLES, Item, Winner
from jicai.compliance import consistency, overlaps
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound
from jicai.core.fields import money_value
from jicai.core.money import amount as line_amount
from jicai.core.money import money, parse_qty
from jicai.core.money import price as quantise_price
from jicai.registry.models import Company, Institution, Product
from jicai.trade import queries, rules
from jicai.trade.models import (
    Delivery,
    LineStatus,
    Order,
    OrderLine,
    Payment,
    PriceException,
    Receipt,
    SupplierMonthlyReport,
    SupplyBlock,
)

NOT_FOUND = "未找到该记录，或您无权查看"


def today() -> dt.date:
    return timezone.localdate()


def _latest(field: str, day: dt.date):
    """GREATEST(COALESCE(field, day), day): keeps the latest date without reading the row first."""
    value = Value(day, output_field=DateField())
    return Greatest(Coalesce(F(field), value), value, output_field=DateField())


def _company_orgs(*companies) -> list[Organisation]:
    ids = [c.pk for c in companies if c is not None]
    return list(Organisation.objects.filter(company_id__in=ids))


def _institution_orgs(*institutions) -> list[Organisation]:
    return list(Organisation.objects.filter(institution_id__in=[i.pk for i in institutions]))


# ---- ordering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    product: Product
    qty: int
    unit_price: Decimal | None = None  # None → the listing price in force


@transaction.atomic
def place_order(
    *,
    actor,
    lines: list[LineInput],
    ordered_on: dt.date | None = None,
    order_id: str = "",
    distributor: Company | None = None,
    source: str = Order.Source.WEB,
) -> Order:
    """An institution orders products of one supplier at the listing price valid on the order date (or a
    price a bureau PriceException allows). Winning products of a supplier marked unable to supply are
    refused; when the order goes to a backup because the main supplier is blocked, the reason is kept."""
    queries.require(queries.can_buy(actor), "只有医疗机构采购人员可以下单")
    institution = access.institution_of(actor)
    ordered_on = ordered_on or today()
    if ordered_on > today():
        raise DomainError("下单日期不能晚于今天")
    if not lines:
        raise DomainError("订单至少需要一行")
    suppliers = {line.product.manufacturer_id for line in lines}
    if len(suppliers) != 1:
        raise DomainError("一个订单只能包含同一家生产企业的产品，请分别下单")
    supplier = Company.objects.get(pk=suppliers.pop())
    province = queries.province_of(institution)
    item_of = queries.items_for_products([line.product.pk for line in lines], ordered_on, province)
    withdrawn = consistency.withdrawn_products(province, ordered_on, [line.product for line in lines])

    prepared = []
    for n, line in enumerate(lines, start=1):
        try:
            qty = parse_qty(line.qty, allow_zero=False)
        except ValueError as exc:
            raise DomainError(f"第{n}行：{exc}") from None
        listing = queries.listing_price_on(line.product, province, ordered_on)
        if listing is None:
            raise DomainError(
                f"第{n}行：产品 {line.product.code} 在{province.name}没有 {ordered_on} 有效的挂网价，不能下单",
                code="not_listed",
            )
        if line.product.pk in withdrawn:
            raise DomainError(
                f"第{n}行：{withdrawn[line.product.pk].message(line.product.code)}", code="withdrawn"
            )
        unit_price = listing if line.unit_price is None else quantise_price(line.unit_price)
        cap = overlaps.national_cap(line.product, province, ordered_on)
        if cap is not None and unit_price > cap:
            raise DomainError(
                f"第{n}行：单价 {unit_price} 高于本企业国家集采中选价 {cap}（省级集采品种已由国家集采替代，SPEC §15）",
                code="above_national_price",
            )
        if unit_price != listing and not queries.allowed_exception_price(
            institution, line.product, ordered_on, unit_price
        ):
            raise DomainError(
                f"第{n}行：单价 {unit_price} 与挂网价 {listing} 不一致，且医保局未批准价格例外",
                code="price_not_listing",
            )
        prepared.append((n, line.product, qty, unit_price, item_of.get(line.product.pk)))

    # SPEC §11: the hospital's confirmed substitute limits and suspensions (refused before any write).
    from jicai.prescribing.catalogue import check_order

    check_order(institution, [(n, product, qty) for n, product, qty, _p, _i in prepared], ordered_on)

    routing_reason = _routing_reason(
        institution, province, supplier, {p[4] for p in prepared if p[4]}, prepared
    )
    if distributor is None:
        distributor = queries.distributor_for(supplier, institution)
    order = Order.objects.create(
        order_id=order_id or f"{institution.code}-{ordered_on:%Y%m%d}-{secrets.token_hex(3).upper()}",
        institution=institution,
        supplier=supplier,
        distributor=distributor,
        ordered_on=ordered_on,
        source=source,
        routing_reason=routing_reason,
        created_by=audit._user(actor),
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                line_no=n,
                institution=institution,
                supplier=supplier,
                ordered_on=ordered_on,
                product=product,
                item_id=item_id,
                qty=qty,
                unit_price=unit_price,
                amount=line_amount(qty, unit_price),
            )
            for n, product, qty, unit_price, item_id in prepared
        ]
    )
    total = sum((line_amount(q, p) for _, _, q, p, _ in prepared), Decimal("0.00"))
    audit.record(
        actor=actor,
        action="trade.place_order",
        obj=order,
        summary=f"{institution.name} 向 {supplier.name} 下单 {len(prepared)} 行，金额 {total}",
        changes={
            "order_id": order.order_id,
            "lines": len(prepared),
            "amount": str(total),
            "routing_reason": routing_reason,
        },
    )
    link = reverse("trade:order", args=[order.order_id])
    transaction.on_commit(
        lambda: notify(
            organisations=_company_orgs(supplier, distributor),
            kind="trade.order",
            title=f"新订单 {order.order_id}（{institution.name}）",
            link=link,
        )
    )
    return order


def _routing_reason(
    institution: Institution, province, supplier: Company, item_ids: set[int], prepared
) -> str:
    """Refuses lines of a supply winner marked unable to supply; returns why the order went to a backup."""
    reasons = []
    winner_items = set(
        Winner.objects.filter(
            item_id__in=item_ids,
            province=province,
            role__in=SUPPLY_ROLES,
            product__manufacturer=supplier,
            product_id__in=[p[1].pk for p in prepared],
        ).values_list("item_id", flat=True)
    )
    for item in Item.objects.filter(pk__in=winner_items).order_by("item_code"):
        blocks = queries.active_blocks(institution, item)
        if supplier.pk in blocks:
            raise DomainError(
                f"{supplier.name} 已被标记为无法向本机构供应 {item.generic_name}（{blocks[supplier.pk]}），请向备供企业下单",
                code="supplier_blocked",
            )
        try:
            routing = queries.route(institution, item)
        except rules.NoSupplierAvailable:
            continue
        if routing.reason and routing.candidate.supplier_id == supplier.pk:
            reasons.append(f"{item.generic_name}：{routing.reason}")
    return "；".join(reasons)[:255]


# ---- supplier side -------------------------------------------------------------------------------


def _supplier_line(actor, line: OrderLine) -> OrderLine:
    # The line must name the actor's company as supplier or distributor; anything else is not found.
    if not queries.supplier_side_lines(actor).filter(pk=line.pk).exists():
        raise NotFound(NOT_FOUND)
    return line


def _institution_line(actor, line: OrderLine) -> OrderLine:
    if not queries.institution_side_lines(actor).filter(pk=line.pk).exists():
        raise NotFound(NOT_FOUND)
    queries.require(queries.can_buy(actor), "只有医疗机构采购人员可以确认收货和付款")
    return line


@transaction.atomic
def respond_to_line(*, actor, line: OrderLine, accept: bool, reason: str = "") -> OrderLine:
    """The supplier (or its distributor) accepts or rejects an unanswered open line; rejecting needs a reason."""
    _supplier_line(actor, line)
    reason = (reason or "").strip()
    if not accept and not reason:
        raise DomainError("拒绝订单行必须填写原因")
    values = {"accepted_by_supplier": accept}
    if not accept:
        values.update(status=LineStatus.REJECTED, reject_reason=reason[:255])
    updated = OrderLine.objects.filter(
        pk=line.pk, status=LineStatus.OPEN, accepted_by_supplier__isnull=True, delivered_qty=0
    ).update(**values)
    if not updated:
        raise DomainError("该订单行已确认、已拒绝、已撤销或已配送，不能再次答复", code="already_answered")
    audit.record(
        actor=actor,
        action="trade.accept_line" if accept else "trade.reject_line",
        obj=line,
        summary=f"{line} {'确认' if accept else '拒绝'}" + (f"：{reason}" if reason else ""),
        changes={"accepted_by_supplier": accept, "reason": reason},
    )
    if not accept:
        order = line.order
        transaction.on_commit(
            lambda: notify(
                organisations=_institution_orgs(line.institution),
                kind="trade.line_rejected",
                title=f"订单 {order.order_id} 第{line.line_no}行被企业拒绝",
                body=reason,
                link=reverse("trade:order", args=[order.order_id]),
            )
        )
    line.refresh_from_db()
    return line


@transaction.atomic
def record_delivery(*, actor, line: OrderLine, qty: int, delivered_on: dt.date) -> Delivery:
    """Partial deliveries allowed; the delivered total can never exceed the ordered qty."""
    _supplier_line(actor, line)
    try:
        qty = parse_qty(qty, allow_zero=False)
    except ValueError as exc:
        raise DomainError(f"配送数量：{exc}") from None
    if delivered_on < line.ordered_on or delivered_on > today():
        raise DomainError(f"配送日期应在下单日期 {line.ordered_on} 与今天之间")
    updated = (
        OrderLine.objects.filter(pk=line.pk, status=LineStatus.OPEN, delivered_qty__lte=F("qty") - qty)
        .exclude(accepted_by_supplier=False)
        .update(
            delivered_qty=F("delivered_qty") + qty,
            accepted_by_supplier=True,
            last_delivered_on=_latest("last_delivered_on", delivered_on),
        )
    )
    if not updated:
        current = OrderLine.objects.get(pk=line.pk)
        if current.status != LineStatus.OPEN or current.accepted_by_supplier is False:
            raise DomainError("该订单行已拒绝或已撤销，不能配送")
        raise DomainError(
            f"配送数量 {qty} 超过未配送数量 {current.qty - current.delivered_qty}",
            code="delivery_exceeds_ordered",
        )
    if Delivery.objects.filter(line=line, delivered_on=delivered_on).update(qty=F("qty") + qty):
        # One row per line and day (the import key): a second delivery on the same day adds to it.
        delivery = Delivery.objects.get(line=line, delivered_on=delivered_on)
    else:
        delivery = Delivery.objects.create(line=line, qty=qty, delivered_on=delivered_on)
    audit.record(
        actor=actor,
        action="trade.record_delivery",
        obj=delivery,
        summary=f"{line} 配送 {qty}（{delivered_on}）",
        changes={"qty": qty, "delivered_on": str(delivered_on)},
    )
    return delivery


# ---- institution side ----------------------------------------------------------------------------


@transaction.atomic
def confirm_receipt(
    *,
    actor,
    line: OrderLine,
    accepted_qty: int,
    rejected_qty: int = 0,
    received_on: dt.date,
    reason: str = "",
) -> Receipt:
    """入库确认: accepted + rejected ≤ delivered − previously received; rejects need a reason. Sets the
    line's payment due date from the latest receipt date under the policy."""
    _institution_line(actor, line)
    try:
        accepted = parse_qty(accepted_qty)
        rejected = parse_qty(rejected_qty)
    except ValueError as exc:
        raise DomainError(f"入库数量：{exc}") from None
    reason = (reason or "").strip()
    if accepted + rejected == 0:
        raise DomainError("验收合格数量与拒收数量不能同时为 0")
    if rejected and not reason:
        raise DomainError("有拒收数量时必须填写拒收原因")
    if received_on < line.ordered_on or received_on > today():
        raise DomainError(f"入库日期应在下单日期 {line.ordered_on} 与今天之间")
    updated = OrderLine.objects.filter(
        pk=line.pk, delivered_qty__gte=F("accepted_qty") + F("rejected_qty") + (accepted + rejected)
    ).update(
        accepted_qty=F("accepted_qty") + accepted,
        rejected_qty=F("rejected_qty") + rejected,
        last_received_on=_latest("last_received_on", received_on),
    )
    if not updated:
        current = OrderLine.objects.get(pk=line.pk)
        open_qty = rules.receivable_qty(
            delivered_qty=current.delivered_qty,
            accepted_qty=current.accepted_qty,
            rejected_qty=current.rejected_qty,
        )
        raise DomainError(
            f"验收合格 {accepted} + 拒收 {rejected} 超过待入库数量 {open_qty}（已配送 − 已入库）",
            code="receipt_exceeds_delivered",
        )
    # Our UPDATE holds the row lock until commit, so this read sees the final latest receipt date.
    current = OrderLine.objects.select_related("institution__region", "item__batch").get(pk=line.pk)
    policy = queries.payment_policy(current.institution, current.item)
    due = rules.payment_due_date(
        current.last_received_on, days=policy.payment_due_days, rule=policy.payment_due_rule
    )
    OrderLine.objects.filter(pk=line.pk).update(payment_due_on=due)
    existing = Receipt.objects.filter(line=line, received_on=received_on).first()
    if existing is not None:
        # One row per line and day (the import key): a second confirmation that day adds to it.
        Receipt.objects.filter(pk=existing.pk).update(
            accepted_qty=F("accepted_qty") + accepted,
            rejected_qty=F("rejected_qty") + rejected,
            reason="；".join(r for r in (existing.reason, reason) if r)[:255],
        )
        receipt = Receipt.objects.get(pk=existing.pk)
    else:
        receipt = Receipt.objects.create(
            line=line,
            accepted_qty=accepted,
            rejected_qty=rejected,
            received_on=received_on,
            reason=reason[:255],
        )
    audit.record(
        actor=actor,
        action="trade.confirm_receipt",
        obj=receipt,
        summary=f"{line} 入库 {accepted}，拒收 {rejected}（{received_on}）",
        changes={
            "accepted_qty": accepted,
            "rejected_qty": rejected,
            "received_on": str(received_on),
            "reason": reason,
            "payment_due_on": str(due),
        },
    )
    return receipt


def _pay_line(line: OrderLine, pay: Decimal, paid_on: dt.date, invoice_no: str) -> Payment:
    # The conditional UPDATE is the guard: on PostgreSQL a concurrent payment waits for our row lock and
    # then re-checks "paid_amount + x <= amount" against the committed total, so it cannot overshoot.
    updated = (
        OrderLine.objects.filter(pk=line.pk, paid_amount__lte=F("amount") - money_value(pay))
        .exclude(status__in=[LineStatus.CANCELLED, LineStatus.REJECTED])
        .update(
            paid_amount=F("paid_amount") + money_value(pay), last_paid_on=_latest("last_paid_on", paid_on)
        )
    )
    if not updated:
        current = OrderLine.objects.get(pk=line.pk)
        if current.status != LineStatus.OPEN:
            raise DomainError(f"{line} 已拒绝或已撤销，不能付款")
        raise DomainError(
            f"{line}：付款 {pay} 后累计 {current.paid_amount + pay} 将超过订单行金额 {current.amount}"
            f"（尚可付款 {current.amount - current.paid_amount}）",
            code="payment_exceeds_amount",
        )
    if Payment.objects.filter(line=line, paid_on=paid_on, invoice_no=invoice_no).update(
        amount=F("amount") + money_value(pay)
    ):
        return Payment.objects.get(line=line, paid_on=paid_on, invoice_no=invoice_no)
    return Payment.objects.create(line=line, amount=pay, paid_on=paid_on, invoice_no=invoice_no)


def _check_payment(amount_value, paid_on: dt.date) -> Decimal:
    try:
        pay = money(amount_value)
    except ValueError as exc:
        raise DomainError(f"付款金额：{exc}") from None
    if pay <= 0:
        raise DomainError("付款金额必须大于 0")
    if paid_on > today():
        raise DomainError("付款日期不能晚于今天")
    return pay


@transaction.atomic
def record_payment(
    *, actor, line: OrderLine, amount: Decimal, paid_on: dt.date, invoice_no: str = ""
) -> Payment:
    """A payment for one line; the paid total can never exceed the line amount."""
    _institution_line(actor, line)
    pay = _check_payment(amount, paid_on)
    invoice_no = (invoice_no or "").strip()[:64]
    payment = _pay_line(line, pay, paid_on, invoice_no)
    audit.record(
        actor=actor,
        action="trade.record_payment",
        obj=payment,
        summary=f"{line} 付款 {pay}（{paid_on}）",
        changes={"amount": str(pay), "paid_on": str(paid_on), "invoice_no": invoice_no},
    )
    return payment


@transaction.atomic
def record_invoice_payment(
    *, actor, lines: list[OrderLine], amount: Decimal, paid_on: dt.date, invoice_no: str
) -> list[Payment]:
    """One invoice paid over several lines: spread oldest due first, each line up to its unpaid amount."""
    invoice_no = (invoice_no or "").strip()[:64]
    if not invoice_no:
        raise DomainError("按发票付款必须填写发票号")
    if not lines:
        raise DomainError("请选择发票对应的订单行")
    for line in lines:
        _institution_line(actor, line)
    pay = _check_payment(amount, paid_on)
    fresh = list(
        OrderLine.objects.filter(pk__in=[line.pk for line in lines])
        .select_related("order")
        .order_by(F("payment_due_on").asc(nulls_last=True), "ordered_on", "id")
    )
    shares = rules.spread_payment(pay, [(line, line.amount - line.paid_amount) for line in fresh])
    payments = [_pay_line(line, share, paid_on, invoice_no) for line, share in shares]
    audit.record(
        actor=actor,
        action="trade.record_invoice_payment",
        object_type="trade.invoice",
        object_id=invoice_no,
        summary=f"发票 {invoice_no} 付款 {pay}，分摊到 {len(payments)} 行",
        changes={
            "amount": str(pay),
            "paid_on": str(paid_on),
            "shares": {str(line): str(share) for line, share in shares},
        },
    )
    return payments


# ---- bureau: supply blocks and price exceptions ----------------------------------------------------


@transaction.atomic
def set_supply_block(
    *,
    actor,
    institution: Institution,
    supplier: Company,
    item: Item,
    reason: str,
    source: str = "bureau",
    source_ref: str = "",
) -> SupplyBlock:
    """Mark a supplier unable to supply an institution with an item; orders then route to the backup."""
    if not queries.can_govern(actor, institution):
        raise NotFound(NOT_FOUND)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写无法供应的原因")
    province = queries.province_of(institution)
    if not Winner.objects.filter(
        item=item, province=province, role__in=SUPPLY_ROLES, product__manufacturer=supplier
    ).exists():
        raise DomainError(f"{supplier.name} 不是 {item.generic_name} 在{province.name}的主供或备供企业")
    try:
        with transaction.atomic():
            block = SupplyBlock.objects.create(
                supplier=supplier,
                institution=institution,
                item=item,
                reason=reason[:255],
                source=source,
                source_ref=source_ref,
                created_by=audit._user(actor),
            )
    except IntegrityError:
        raise DomainError("该企业对该机构该品种已有生效中的无法供应标记", code="already_blocked") from None
    audit.record(
        actor=actor,
        action="trade.set_supply_block",
        obj=block,
        summary=f"{supplier.name} 无法供应 {institution.name} {item.generic_name}：{reason}",
        changes={
            "supplier": supplier.code,
            "institution": institution.code,
            "item": item.item_code,
            "reason": reason,
            "source": source,
            "source_ref": source_ref,
        },
    )
    transaction.on_commit(
        lambda: notify(
            organisations=_company_orgs(supplier) + _institution_orgs(institution),
            kind="trade.supply_block",
            title=f"{supplier.name} 被标记为无法供应 {institution.name} 的 {item.generic_name}",
            body=reason,
            link=reverse("trade:supply_blocks"),
        )
    )
    return block


@transaction.atomic
def lift_supply_block(*, actor, block: SupplyBlock, note: str = "") -> SupplyBlock:
    if not queries.governed_blocks(actor).filter(pk=block.pk).exists():
        raise NotFound(NOT_FOUND)
    now = timezone.now()
    updated = SupplyBlock.objects.filter(pk=block.pk, lifted_at__isnull=True).update(
        lifted_at=now, lifted_by=audit._user(actor)
    )
    if not updated:
        raise DomainError("该标记已解除", code="already_lifted")
    block.refresh_from_db()
    audit.record(
        actor=actor,
        action="trade.lift_supply_block",
        obj=block,
        summary=f"解除 {block.supplier} 对 {block.institution} 的无法供应标记",
        changes={"note": note},
    )
    return block


@transaction.atomic
def grant_price_exception(
    *,
    actor,
    institution: Institution,
    product: Product,
    unit_price: Decimal,
    valid_from: dt.date,
    valid_to: dt.date,
    reason: str,
) -> PriceException:
    """A bureau allows an institution to order a product at a price other than the listing price."""
    if not queries.can_govern(actor, institution):
        raise NotFound(NOT_FOUND)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写价格例外的原因")
    if valid_to < valid_from:
        raise DomainError("结束日期不能早于开始日期")
    try:
        unit_price = quantise_price(unit_price)
    except ValueError as exc:
        raise DomainError(f"单价：{exc}") from None
    if unit_price < 0:
        raise DomainError("单价不能为负")
    exception = PriceException.objects.create(
        institution=institution,
        product=product,
        unit_price=unit_price,
        valid_from=valid_from,
        valid_to=valid_to,
        reason=reason[:255],
        created_by=audit._user(actor),
    )
    audit.record(
        actor=actor,
        action="trade.grant_price_exception",
        obj=exception,
        summary=f"{institution.name} {product.code} 允许单价 {unit_price}（{valid_from}～{valid_to}）",
        changes={
            "institution": institution.code,
            "product": product.code,
            "unit_price": str(unit_price),
            "valid_from": str(valid_from),
            "valid_to": str(valid_to),
            "reason": reason,
        },
    )
    return exception


# ---- supplier monthly reports --------------------------------------------------------------------


@transaction.atomic
def file_monthly_report(
    *,
    actor,
    item: Item,
    month: dt.date,
    production_qty: int,
    supply_qty: int,
    inventory_qty: int,
    payment_received: Decimal,
) -> SupplierMonthlyReport:
    """A supplier's monthly report per item for a past month; filing again corrects it (audited diff)."""
    company = access.company_of(actor)
    if company is None or not queries.reportable_items(actor).filter(pk=item.pk).exists():
        raise NotFound(NOT_FOUND)
    month = rules.month_start(month)
    if month > rules.previous_month(today()):
        raise DomainError("只能报送已结束月份的月报")
    try:
        values = {
            "production_qty": parse_qty(production_qty),
            "supply_qty": parse_qty(supply_qty),
            "inventory_qty": parse_qty(inventory_qty),
            "payment_received": money(payment_received),
        }
    except ValueError as exc:
        raise DomainError(str(exc)) from None
    if values["payment_received"] < 0:
        raise DomainError("回款金额不能为负")
    existing = (
        SupplierMonthlyReport.objects.select_for_update()
        .filter(company=company, item=item, month=month)
        .first()
    )
    if existing is None:
        report = SupplierMonthlyReport.objects.create(
            company=company, item=item, month=month, submitted_by=audit._user(actor), **values
        )
        changes = {k: str(v) for k, v in values.items()}
    else:
        changes = audit.diff(existing, values)
        for name, value in values.items():
            setattr(existing, name, value)
        existing.submitted_by = audit._user(actor)
        existing.save(update_fields=[*values, "submitted_by", "submitted_at"])
        report = existing
    audit.record(
        actor=actor,
        action="trade.file_monthly_report",
        obj=report,
        summary=f"{company.name} {item.generic_name} {month:%Y-%m} 月报",
        changes=changes,
    )
    return report
