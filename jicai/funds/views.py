"""Money pages (SPEC §12): the payment-standards table (with XLSX/CSV export for the settlement system) and
the settlement calculator. Thin: parse, call funds.standards with the signed-in user, render."""

import csv
import datetime as dt
import io

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from jicai.accounts import access
from jicai.core.errors import DomainError
from jicai.funds import standards
from jicai.funds.forms import QuoteForm
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list

STANDARD_COLUMNS = [
    Column("产品编码", lambda r: r.product_code, width=28),
    Column("通用名/规格", lambda r: r.product_name, width=22),
    Column("生产企业", lambda r: r.manufacturer, width=26),
    Column("批次", lambda r: r.batch_code, width=14),
    Column("品种编码", lambda r: r.item_code, width=12),
    Column("中选身份", lambda r: r.role_display, width=10),
    Column("折算系数", lambda r: r.item_factor, numeric=True, width=10),
    Column("中选支付标准（元）", lambda r: r.winning_standard, numeric=True, width=14),
    Column("挂网价（元）", lambda r: r.product_price, numeric=True, width=12),
    Column("集采前价格（元）", lambda r: r.pre_vbp_price, numeric=True, width=14),
    Column("过渡期", lambda r: r.gliding, width=8),
    Column("执行支付标准（元）", lambda r: r.standard, numeric=True, width=14),
    Column("生效日期", lambda r: r.valid_from, width=12),
]

# The settlement system's file: the columns SPEC §12 names (product code, standard, valid from) plus province.
CSV_HEADER = ["product_code", "province_code", "standard", "valid_from"]


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@scoped_page
def standard_list(request):
    actor = request.user
    filters = [Filter("on", "执行日期", placeholder="YYYY-MM-DD"), Filter("batch", "批次编码")]
    if access.is_admin(actor):
        filters.append(Filter("province", "省份代码", placeholder="如 370000"))
    values = filter_values(request, filters)
    on = _date(values["on"])
    province, rows = standards.list_standards(
        actor, province_code=values.get("province", ""), on=on, batch_code=values["batch"], q=values["q"]
    )
    if request.GET.get("export") == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for r in rows:
            writer.writerow([r.product_code, r.province_code, f"{r.standard:.4f}", r.valid_from.isoformat()])
        response = HttpResponse(
            ("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="payment_standards_{province.code}_{on:%Y%m%d}.csv"'
        )
        return response
    page = ListPage(
        f"{province.name} 医保支付标准（{on}）",
        STANDARD_COLUMNS,
        filters,
        "产品编码、通用名或品种编码",
        f"医保支付标准_{province.code}_{on:%Y%m%d}",
        context={
            "breadcrumbs": [("医保支付标准", None)],
            "list_note": "支付标准 = 主供中选价 ÷ 主供折算系数 × 本品折算系数；价格高于标准一定倍数的产品按过渡期逐年降至中选支付标准。"
            "结算系统可下载 CSV：?export=csv。",
        },
    )
    return render_list(request, page, rows, values)


@scoped_page
def calculator(request):
    # Suppliers see nothing of the money pages: the same 404 as a missing page.
    is_admin = access.is_admin(request.user)
    if not is_admin:
        standards.standard_province(request.user)
    form = QuoteForm(request.POST or None)
    result = row = None
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            row, result = standards.quote(
                request.user,
                product_code=data["product_code"].strip(),
                qty=data["qty"],
                unit_price=data["unit_price"],
                on=data["on"] or timezone.localdate(),
                province_code=request.POST.get("province_code", "").strip(),
                selfpay_ratio=data["selfpay_ratio"] or 0,
                fund_ratio=data["fund_ratio"],
            )
        except DomainError as exc:
            if exc.status == 404 and not is_admin:
                raise
            error = exc.message
    return render(
        request,
        "funds/calculator.html",
        {
            "form": form,
            "row": row,
            "result": result,
            "error": error,
            "is_admin": is_admin,
            "breadcrumbs": [("结算试算", None)],
        },
    )
