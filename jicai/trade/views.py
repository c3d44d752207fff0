"""Supply pages (SPEC §6): ordering with agreed/purchased/remaining, order and line lists, supplier
response and delivery, receipt, payment, payables, supply blocks, price exceptions, supplier monthly
reports and usage. Thin: parse a form, call one action or query, render or redirect."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from jicai.accounts import access
from jicai.batches.models import SUPPLY_ROLES, Item
from jicai.core.errors import DomainError, NotFound
from jicai.core.errors import PermissionDenied as DomainPermissionDenied
from jicai.core.money import money
from jicai.registry.models import Company, Product
from jicai.registry.views import company_url, institution_url, product_url
from jicai.trade import actions, forms, queries, rules
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list


def order_url(order_id: str) -> str:
    return reverse("trade:order", args=[order_id])


def _status_label(obj) -> str:
    return rules.STATUS_LABELS[obj.derived_status]


def _form_error(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label or field if field in form.fields else ""
        messages.error(
            request, f"{label}：{'；'.join(errors)}" if label and field != "__all__" else "；".join(errors)
        )


def _guard(view):
    """Turns a refused rule into a message on the page the user came from; 403 for a wrong role."""

    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except DomainPermissionDenied as exc:
            raise PermissionDenied(exc.message) from exc
        except NotFound:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
            # Back to the page the form was on (POST-only URLs have no page of their own).
            target = order_url(kwargs["order_id"]) if "order_id" in kwargs else reverse("trade:supply_blocks")
            return redirect(target)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


# ---- ordering ------------------------------------------------------------------------------------


@scoped_page
@require_http_methods(["GET", "POST"])
def order_new(request):
    """The institution's ordering page: agreed / purchased / remaining per item for the current agreement
    year, and for a chosen item the product choice with the proposed (backup-routed) supplier."""
    actor = request.user
    if not queries.can_buy(actor):
        raise PermissionDenied("只有医疗机构采购人员可以下单")
    today = actions.today()
    item = (
        queries.orderable_item(actor, int(request.GET["item"]))
        if request.GET.get("item", "").isdigit()
        else None
    )
    options = queries.order_options(actor, item, today) if item else None
    form = forms.OrderForm()
    if request.method == "POST":
        if item is None:
            raise NotFound("未找到该记录，或您无权查看")
        form = forms.OrderForm(request.POST)
        if form.is_valid():
            allowed = {o.product.pk: o.product for o in options.options}
            product = allowed.get(form.cleaned_data["product"])
            if product is None:
                raise NotFound("未找到该记录，或您无权查看")
            try:
                order = actions.place_order(
                    actor=actor,
                    lines=[
                        actions.LineInput(product, form.cleaned_data["qty"], form.cleaned_data["unit_price"])
                    ],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"订单 {order.order_id} 已提交给 {order.supplier.name}。")
                return redirect(order_url(order.order_id))
    return render(
        request,
        "trade/order_new.html",
        {
            "progress": queries.item_progress(actor, today),
            "item": item,
            "options": options,
            "form": form,
            "today": today,
            "breadcrumbs": [("订单", reverse("trade:orders")), ("采购下单", None)],
        },
        status=400 if form.errors else 200,
    )


# ---- orders and lines ----------------------------------------------------------------------------

ORDER_FILTERS = [
    Filter("supplier", "企业信用代码", placeholder="18 位代码"),
    Filter("institution", "机构代码", placeholder="12 位代码"),
    Filter("date_from", "下单日期起", placeholder="YYYY-MM-DD"),
    Filter("date_to", "下单日期止", placeholder="YYYY-MM-DD"),
]
ORDER_COLUMNS = [
    Column("订单号", lambda o: o.order_id, lambda o: order_url(o.order_id), width=30),
    Column("下单日期", lambda o: o.ordered_on, width=12),
    Column("医疗机构", lambda o: o.institution.name, lambda o: institution_url(o.institution.code), width=28),
    Column("生产企业", lambda o: o.supplier.name, lambda o: company_url(o.supplier.code), width=24),
    Column("配送企业", lambda o: o.distributor.name if o.distributor else None, width=24),
    Column("行数", lambda o: o.line_count, numeric=True, width=6),
    Column("金额（元）", lambda o: o.total_amount, numeric=True, width=12),
    Column("状态", lambda o: o.status_label, width=14),
    Column("转备供原因", lambda o: o.routing_reason, width=30),
]


@scoped_page
def order_list(request):
    values = filter_values(request, ORDER_FILTERS)
    qs = queries.list_orders(
        request.user, **{k: values[k] for k in ("q", "supplier", "institution", "date_from", "date_to")}
    )
    page = ListPage(
        "订单",
        ORDER_COLUMNS,
        ORDER_FILTERS,
        "订单号、机构或企业名称",
        "订单",
        prepare=queries.attach_order_statuses,
        template="trade/order_list.html",
        context={"can_buy": queries.can_buy(request.user)},
    )
    return render_list(request, page, qs, values)


LINE_FILTERS = [
    Filter("status", "状态", rules.STATUS_CHOICES),
    Filter("supplier", "企业信用代码", placeholder="18 位代码"),
    Filter("institution", "机构代码", placeholder="12 位代码"),
    Filter("batch", "批次编码", placeholder="如 GY-YD2023-1"),
    Filter("item", "品种编码", placeholder="批次内品种编码"),
    Filter("date_from", "下单日期起", placeholder="YYYY-MM-DD"),
    Filter("date_to", "下单日期止", placeholder="YYYY-MM-DD"),
]
LINE_COLUMNS = [
    Column("订单号", lambda line: line.order.order_id, lambda line: order_url(line.order.order_id), width=30),
    Column("行号", lambda line: line.line_no, numeric=True, width=6),
    Column("下单日期", lambda line: line.ordered_on, width=12),
    Column("医疗机构", lambda line: line.institution.name, width=28),
    Column("生产企业", lambda line: line.supplier.name, width=24),
    Column("产品编码", lambda line: line.product.code, lambda line: product_url(line.product.code), width=28),
    Column("通用名", lambda line: line.product.generic_name, width=16),
    Column("订购数量", lambda line: line.qty, numeric=True, width=10),
    Column("单价（元）", lambda line: line.unit_price, numeric=True, width=10),
    Column("金额（元）", lambda line: line.amount, numeric=True, width=12),
    Column("已配送", lambda line: line.delivered_qty, numeric=True, width=8),
    Column("验收合格", lambda line: line.accepted_qty, numeric=True, width=8),
    Column("拒收", lambda line: line.rejected_qty, numeric=True, width=6),
    Column("已付款（元）", lambda line: line.paid_amount, numeric=True, width=12),
    Column("未付（元）", lambda line: money(line.outstanding), numeric=True, width=12),
    Column("应付款日期", lambda line: line.payment_due_on, width=12),
    Column("状态", _status_label, width=14),
]


@scoped_page
def line_list(request):
    values = filter_values(request, LINE_FILTERS)
    overdue = request.GET.get("overdue") == "1"
    qs = queries.list_lines(
        request.user,
        **{
            k: values[k]
            for k in ("q", "status", "supplier", "institution", "batch", "item", "date_from", "date_to")
        },
        overdue_on=actions.today() if overdue else None,
    )
    title = "逾期未付款订单明细" if overdue else "订单明细"
    page = ListPage(title, LINE_COLUMNS, LINE_FILTERS, "订单号、产品、机构或企业", title)
    return render_list(request, page, qs, values)


@scoped_page
def order_detail(request, order_id):
    actor = request.user
    order = queries.get_order(actor, order_id)
    lines = queries.order_lines(actor, order)
    supplier_side = set(queries.supplier_side_lines(actor).filter(order=order).values_list("pk", flat=True))
    buyer = queries.can_buy(actor) and access.institution_of(actor).pk == order.institution_id
    for line in lines:
        line.status_label = rules.STATUS_LABELS[line.derived_status]
        line.can_respond = line.pk in supplier_side and line.derived_status == rules.PENDING
        line.can_deliver = (
            line.pk in supplier_side
            and line.delivered_qty < line.qty
            and line.derived_status not in (rules.REJECTED, rules.CANCELLED)
        )
        line.undelivered = line.qty - line.delivered_qty
        line.receivable = rules.receivable_qty(
            delivered_qty=line.delivered_qty, accepted_qty=line.accepted_qty, rejected_qty=line.rejected_qty
        )
        line.can_receive = buyer and line.receivable > 0
        line.can_pay = (
            buyer
            and line.paid_amount < line.amount
            and line.derived_status not in (rules.REJECTED, rules.CANCELLED)
        )
        line.history = queries.line_history(actor, line)
    status = rules.order_status(line.derived_status for line in lines)
    return render(
        request,
        "trade/order_detail.html",
        {
            "order": order,
            "lines": lines,
            "status_label": rules.STATUS_LABELS[status],
            "today": actions.today(),
            "breadcrumbs": [("订单", reverse("trade:orders")), (order.order_id, None)],
        },
    )


def _line_step(request, order_id, line_no, form_class, perform):
    """One step on an order line from the order page: find the line in the actor's scope (404 outside),
    validate the form, run `perform(line, cleaned_data)` (it returns the success message), go back."""
    line = queries.get_line(request.user, order_id, line_no)
    form = form_class(request.POST)
    if not form.is_valid():
        _form_error(request, form)
    else:
        messages.success(request, perform(line, form.cleaned_data))
    return redirect(order_url(order_id))


@scoped_page
@require_POST
@_guard
def line_respond(request, order_id, line_no):
    def perform(line, data):
        accept = data["decision"] == "accept"
        actions.respond_to_line(actor=request.user, line=line, accept=accept, reason=data["reason"])
        return f"第{line.line_no}行已{'确认' if accept else '拒绝'}。"

    return _line_step(request, order_id, line_no, forms.RespondForm, perform)


@scoped_page
@require_POST
@_guard
def line_deliver(request, order_id, line_no):
    def perform(line, data):
        actions.record_delivery(actor=request.user, line=line, **data)
        return f"第{line.line_no}行已登记配送 {data['qty']}。"

    return _line_step(request, order_id, line_no, forms.DeliveryForm, perform)


@scoped_page
@require_POST
@_guard
def line_receive(request, order_id, line_no):
    def perform(line, data):
        actions.confirm_receipt(
            actor=request.user,
            line=line,
            accepted_qty=data["accepted_qty"],
            rejected_qty=data["rejected_qty"] or 0,
            received_on=data["received_on"],
            reason=data["reason"],
        )
        return f"第{line.line_no}行已确认入库。"

    return _line_step(request, order_id, line_no, forms.ReceiptForm, perform)


@scoped_page
@require_POST
@_guard
def line_pay(request, order_id, line_no):
    def perform(line, data):
        actions.record_payment(actor=request.user, line=line, **data)
        return f"第{line.line_no}行已登记付款 {data['amount']} 元。"

    return _line_step(request, order_id, line_no, forms.PaymentForm, perform)


# ---- deliveries, receipts, payments --------------------------------------------------------------

DATE_FILTERS = [
    Filter("date_from", "日期起", placeholder="YYYY-MM-DD"),
    Filter("date_to", "日期止", placeholder="YYYY-MM-DD"),
]


def _line_columns(extra):
    return [
        Column(
            "订单号", lambda r: r.line.order.order_id, lambda r: order_url(r.line.order.order_id), width=30
        ),
        Column("行号", lambda r: r.line.line_no, numeric=True, width=6),
        Column("医疗机构", lambda r: r.line.institution.name, width=28),
        Column("生产企业", lambda r: r.line.supplier.name, width=24),
        Column("产品编码", lambda r: r.line.product.code, width=28),
        *extra,
    ]


DELIVERY_COLUMNS = _line_columns(
    [
        Column("配送日期", lambda d: d.delivered_on, width=12),
        Column("配送数量", lambda d: d.qty, numeric=True, width=10),
    ]
)
RECEIPT_COLUMNS = _line_columns(
    [
        Column("入库日期", lambda r: r.received_on, width=12),
        Column("验收合格", lambda r: r.accepted_qty, numeric=True, width=10),
        Column("拒收", lambda r: r.rejected_qty, numeric=True, width=8),
        Column("拒收原因", lambda r: r.reason, width=24),
    ]
)
PAYMENT_COLUMNS = _line_columns(
    [
        Column("付款日期", lambda p: p.paid_on, width=12),
        Column("金额（元）", lambda p: p.amount, numeric=True, width=12),
        Column("发票号", lambda p: p.invoice_no, width=16),
    ]
)


def _dated_list(request, title, columns, query):
    values = filter_values(request, DATE_FILTERS)
    qs = query(request.user, q=values["q"], date_from=values["date_from"], date_to=values["date_to"])
    return render_list(request, ListPage(title, columns, DATE_FILTERS, "订单号或机构名称", title), qs, values)


@scoped_page
def delivery_list(request):
    return _dated_list(request, "配送记录", DELIVERY_COLUMNS, queries.list_deliveries)


@scoped_page
def receipt_list(request):
    return _dated_list(request, "入库验收", RECEIPT_COLUMNS, queries.list_receipts)


@scoped_page
def payment_list(request):
    return _dated_list(request, "付款记录", PAYMENT_COLUMNS, queries.list_payments)


# ---- payables ------------------------------------------------------------------------------------


@scoped_page
@require_http_methods(["GET", "POST"])
def payables(request):
    """Outstanding and overdue amounts per institution and per supplier; an institution pays an invoice
    over several lines here."""
    actor = request.user
    today = actions.today()
    open_lines = (
        list(queries.open_lines_for_payment(actor, as_of=today)[:200]) if queries.can_buy(actor) else []
    )
    choices = [(str(line.pk), str(line)) for line in open_lines]
    form = forms.InvoicePaymentForm(line_choices=choices)
    if request.method == "POST":
        if not queries.can_buy(actor):
            raise PermissionDenied("只有医疗机构采购人员可以付款")
        form = forms.InvoicePaymentForm(request.POST, line_choices=choices)
        if form.is_valid():
            chosen = [line for line in open_lines if str(line.pk) in set(form.cleaned_data["lines"])]
            try:
                paid = actions.record_invoice_payment(
                    actor=actor,
                    lines=chosen,
                    amount=form.cleaned_data["amount"],
                    paid_on=form.cleaned_data["paid_on"],
                    invoice_no=form.cleaned_data["invoice_no"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, f"发票 {form.cleaned_data['invoice_no']} 已分摊到 {len(paid)} 个订单行。"
                )
                return redirect("trade:payables")
    for line in open_lines:
        line.status_label = rules.STATUS_LABELS[line.derived_status]
    return render(
        request,
        "trade/payables.html",
        {
            "by_institution": queries.payables(actor, by="institution", as_of=today, limit=200),
            "by_supplier": queries.payables(actor, by="supplier", as_of=today, limit=200),
            "open_lines": open_lines,
            "form": form,
            "today": today,
            "breadcrumbs": [("订单", reverse("trade:orders")), ("应付与逾期", None)],
        },
        status=400 if form.errors else 200,
    )


# ---- bureau-only forms on list pages -------------------------------------------------------------


def _governed_form(request, form_class, governs: bool, denied: str, apply):
    """The POST half of a list page whose form only a bureau may use. Validates the form, finds the named
    institution inside the caller's jurisdiction and calls `apply(actor, institution, data)`, which does
    the work and returns the success message. Returns (form, done): done means redirect back to the page;
    otherwise the form (blank on GET) carries any errors for the page to show."""
    if request.method != "POST":
        return form_class(), False
    if not governs:
        raise PermissionDenied(denied)
    form = form_class(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            institution = queries.governed_institution(request.user, data["institution"])
            message = apply(request.user, institution, data)
        except NotFound:
            form.add_error("institution", "未找到该机构，或不在您的辖区内")
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, message)
            return form, True
    return form, False


def _render_list_with_form(request, page, qs, values, form):
    """render_list, answering 400 when the page's form came back with errors."""
    response = render_list(request, page, qs, values)
    if form.errors:
        response.status_code = 400
    return response


# ---- supply blocks -------------------------------------------------------------------------------

BLOCK_FILTERS = [Filter("active", "状态", [("yes", "生效中"), ("no", "已解除")])]
BLOCK_COLUMNS = [
    Column("生产企业", lambda b: b.supplier.name, lambda b: company_url(b.supplier.code), width=24),
    Column("医疗机构", lambda b: b.institution.name, lambda b: institution_url(b.institution.code), width=28),
    Column("品种", lambda b: f"{b.item.generic_name}（{b.item.batch.code} {b.item.item_code}）", width=30),
    Column("原因", lambda b: b.reason, width=30),
    Column("来源", lambda b: "医保局" if b.source == "bureau" else f"诉求 {b.source_ref}", width=10),
    Column("标记时间", lambda b: b.created_at, width=16),
    Column("解除时间", lambda b: b.lifted_at, width=16),
]


def _set_block(actor, institution, data) -> str:
    supplier = Company.objects.filter(code=data["supplier"]).first()
    item = Item.objects.filter(pk=data["item"]).first()
    if supplier is None or item is None:
        raise DomainError("企业或品种不存在")
    actions.set_supply_block(
        actor=actor, institution=institution, supplier=supplier, item=item, reason=data["reason"]
    )
    return f"已标记 {supplier.name} 无法供应 {institution.name} 的 {item.generic_name}。"


@scoped_page
@require_http_methods(["GET", "POST"])
def supply_blocks(request):
    actor = request.user
    governs = access.is_admin(actor) or access.is_bureau(actor)
    form, done = _governed_form(
        request, forms.SupplyBlockForm, governs, "只有医保局可以标记无法供应", _set_block
    )
    if done:
        return redirect("trade:supply_blocks")
    values = filter_values(request, BLOCK_FILTERS, defaults={"active": "yes"})
    qs = queries.list_supply_blocks(actor, q=values["q"], active=values["active"])
    items = []
    if governs:
        region = access.bureau_region(actor)
        items_qs = Item.objects.filter(winners__role__in=SUPPLY_ROLES).select_related("batch")
        if region is not None:
            items_qs = items_qs.filter(winners__province__code=region.province_code)
        items = list(items_qs.distinct().order_by("batch__code", "item_code")[:500])
    page = ListPage(
        "无法供应标记",
        BLOCK_COLUMNS,
        BLOCK_FILTERS,
        "企业、机构或品种",
        "无法供应标记",
        template="trade/supply_blocks.html",
        context={
            "form": form,
            "governs": governs,
            "items": items,
            "active_blocks": list(
                queries.governed_blocks(actor)
                .filter(lifted_at__isnull=True)
                .select_related("supplier", "institution", "item")[:200]
            )
            if governs
            else [],
        },
    )
    return _render_list_with_form(request, page, qs, values, form)


@scoped_page
@require_POST
@_guard
def supply_block_lift(request, block_id):
    block = queries.get_supply_block(request.user, block_id)
    actions.lift_supply_block(actor=request.user, block=block, note=request.POST.get("note", ""))
    messages.success(request, f"已解除 {block.supplier} 对 {block.institution} 的无法供应标记。")
    return redirect("trade:supply_blocks")


# ---- price exceptions ----------------------------------------------------------------------------

EXCEPTION_COLUMNS = [
    Column("医疗机构", lambda e: e.institution.name, width=28),
    Column("产品编码", lambda e: e.product.code, lambda e: product_url(e.product.code), width=28),
    Column("允许单价（元）", lambda e: e.unit_price, numeric=True, width=12),
    Column("生效日期", lambda e: e.valid_from, width=12),
    Column("截止日期", lambda e: e.valid_to, width=12),
    Column("原因", lambda e: e.reason, width=30),
    Column("批准时间", lambda e: e.created_at, width=16),
]


def _grant_exception(actor, institution, data) -> str:
    product = Product.objects.filter(code=data["product"]).first()
    if product is None:
        raise DomainError("产品不存在")
    actions.grant_price_exception(
        actor=actor,
        institution=institution,
        product=product,
        unit_price=data["unit_price"],
        valid_from=data["valid_from"],
        valid_to=data["valid_to"],
        reason=data["reason"],
    )
    return "价格例外已批准。"


@scoped_page
@require_http_methods(["GET", "POST"])
def price_exceptions(request):
    actor = request.user
    governs = access.is_admin(actor) or access.is_bureau(actor)
    form, done = _governed_form(
        request, forms.PriceExceptionForm, governs, "只有医保局可以批准价格例外", _grant_exception
    )
    if done:
        return redirect("trade:price_exceptions")
    values = filter_values(request, [])
    page = ListPage(
        "价格例外",
        EXCEPTION_COLUMNS,
        [],
        "机构名称或产品编码",
        "价格例外",
        template="trade/price_exceptions.html",
        context={"form": form, "governs": governs},
    )
    return _render_list_with_form(
        request, page, queries.list_price_exceptions(actor, q=values["q"]), values, form
    )


# ---- supplier monthly reports --------------------------------------------------------------------

REPORT_COLUMNS = [
    Column("月份", lambda r: f"{r.month:%Y-%m}", width=10),
    Column("企业", lambda r: r.company.name, lambda r: company_url(r.company.code), width=26),
    Column("品种", lambda r: f"{r.item.generic_name}（{r.item.item_code}）", width=26),
    Column("生产量", lambda r: r.production_qty, numeric=True, width=10),
    Column("供应量", lambda r: r.supply_qty, numeric=True, width=10),
    Column("库存量", lambda r: r.inventory_qty, numeric=True, width=10),
    Column("回款金额（元）", lambda r: r.payment_received, numeric=True, width=14),
    Column("报送时间", lambda r: r.submitted_at, width=16),
]
REPORT_FILTERS = [Filter("month", "月份", placeholder="YYYY-MM")]


@scoped_page
@require_http_methods(["GET", "POST"])
def monthly_reports(request):
    actor = request.user
    company = access.company_of(actor)
    items = list(queries.reportable_items(actor)) if company else []
    form = forms.MonthlyReportForm(initial={"month": f"{rules.previous_month(actions.today()):%Y-%m}"})
    if request.method == "POST":
        if company is None:
            raise PermissionDenied("只有中选企业报送月报")
        form = forms.MonthlyReportForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            item = next((i for i in items if i.pk == data.pop("item")), None)
            if item is None:
                raise NotFound("未找到该记录，或您无权查看")
            try:
                actions.file_monthly_report(actor=actor, item=item, **data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{item.generic_name} {data['month']:%Y-%m} 月报已报送。")
                return redirect("trade:monthly_reports")
    values = filter_values(request, REPORT_FILTERS)
    page = ListPage(
        "企业月报",
        REPORT_COLUMNS,
        REPORT_FILTERS,
        "企业或品种",
        "企业月报",
        template="trade/monthly_reports.html",
        context={
            "form": form,
            "items": items,
            "is_company": company is not None,
            "is_bureau": access.is_bureau(actor) or access.is_admin(actor),
        },
    )
    qs = queries.list_monthly_reports(actor, q=values["q"], month=values["month"])
    return _render_list_with_form(request, page, qs, values, form)


@scoped_page
def missing_reports(request):
    actor = request.user
    if not (access.is_bureau(actor) or access.is_admin(actor)):
        raise PermissionDenied("只有医保局可以查看未报送月报的企业")
    return render(
        request,
        "trade/missing_reports.html",
        {
            "missing": queries.missing_monthly_reports(actor, actions.today()),
            "breadcrumbs": [("企业月报", reverse("trade:monthly_reports")), ("未按时报送", None)],
        },
    )


# ---- usage ---------------------------------------------------------------------------------------

USAGE_FILTERS = [
    Filter("institution", "机构代码", placeholder="12 位代码"),
    Filter("department", "科室"),
    Filter("date_from", "使用日期起", placeholder="YYYY-MM-DD"),
    Filter("date_to", "使用日期止", placeholder="YYYY-MM-DD"),
]
USAGE_COLUMNS = [
    Column("使用日期", lambda u: u.used_on, width=12),
    Column("医疗机构", lambda u: u.institution.name, lambda u: institution_url(u.institution.code), width=28),
    Column("科室", lambda u: u.department, width=12),
    Column("医师编码", lambda u: u.doctor_code, width=12),
    Column("产品编码", lambda u: u.product.code, lambda u: product_url(u.product.code), width=28),
    Column("通用名", lambda u: u.product.generic_name, width=16),
    Column("规格", lambda u: u.product.spec, width=12),
    Column("数量", lambda u: u.qty, numeric=True, width=10),
]


@scoped_page
def usage_list(request):
    values = filter_values(request, USAGE_FILTERS)
    qs = queries.list_usage(request.user, **values)
    return render_list(
        request,
        ListPage("使用数据", USAGE_COLUMNS, USAGE_FILTERS, "产品编码、通用名或医师编码", "使用数据"),
        qs,
        values,
    )
