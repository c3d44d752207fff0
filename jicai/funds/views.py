"""Money pages (SPEC §12): the payment-standards table (with XLSX/CSV export for the settlement system) and
the settlement calculator. Thin: parse, call funds.standards with the signed-in user, render."""

import csv
import datetime as dt
import io
from decimal import Decimal
from urllib.parse import urlencode

import xlsxwriter
from django.contrib import messages
from django.db.models import F, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from jicai.accounts import access
from jicai.batches.models import Batch
from jicai.core.errors import DomainError, NotFound
from jicai.funds import assessment, clearance, exemptions, prepayment, standards
from jicai.funds.forms import DisbursementForm, ExemptionForm, QuoteForm, RefundForm
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


# ---- prepayment ledger ---------------------------------------------------------------------------

TRANCHE_STATES = [
    ("unpaid", "未拨付"),
    ("partial", "部分拨付"),
    ("paid", "已拨付"),
    ("overdue", "逾期未拨付"),
]


def _tranche_url(t) -> str:
    return reverse("funds:tranche", args=[t.pk])


TRANCHE_COLUMNS = [
    Column(
        "机构代码",
        lambda t: t.institution.code,
        lambda t: reverse("funds:ledger_institution", args=[t.institution.code]),
        width=14,
    ),
    Column("机构名称", lambda t: t.institution.name, width=26),
    Column("批次", lambda t: t.agreement_year.batch.code, width=14),
    Column("协议年度", lambda t: t.agreement_year.number, numeric=True, width=8),
    Column("预付款", lambda t: t.label, _tranche_url, width=14),
    Column("应预付金额（元）", lambda t: t.amount, numeric=True, width=14),
    Column("触发日期", lambda t: t.triggered_on, width=12),
    Column("应拨付日期", lambda t: t.due_on, width=12),
    Column("已拨付金额（元）", lambda t: t.paid_amount, numeric=True, width=14),
    Column("未拨付金额（元）", lambda t: t.unpaid, numeric=True, width=14),
    Column("最近拨付日期", lambda t: t.paid_on, width=12),
    Column(
        "清算单",
        lambda t: "查看",
        lambda t: reverse(
            "funds:clearance", args=[t.institution.code, t.agreement_year.batch.code, t.agreement_year.number]
        ),
        width=8,
    ),
]


def _filter_state(qs, state: str):
    today = timezone.localdate()
    if state == "unpaid":
        return qs.filter(paid_amount=0)
    if state == "partial":
        return qs.filter(paid_amount__gt=0, paid_amount__lt=F("amount"))
    if state == "paid":
        return qs.filter(paid_amount=F("amount"))
    if state == "overdue":
        return qs.filter(paid_amount__lt=F("amount"), due_on__lt=today)
    return qs


def _ledger_chart(qs, by_institution: bool) -> dict:
    """Amount due and paid, summed in SQL: per institution (region ledger, the 20 largest) or per tranche."""
    if by_institution:
        rows = list(
            qs.values("institution__name")
            .annotate(due=Sum("amount"), paid=Sum("paid_amount"))
            .order_by("-due", "institution__name")[:20]
        )
        labels = [r["institution__name"] for r in rows]
    else:
        rows = list(
            qs.values("agreement_year__batch__code", "agreement_year__number", "tranche")
            .annotate(due=Sum("amount"), paid=Sum("paid_amount"))
            .order_by("agreement_year__batch__code", "agreement_year__number", "tranche")[:40]
        )
        labels = [
            f"{r['agreement_year__batch__code']} 第{r['agreement_year__number']}年 {r['tranche']}"
            for r in rows
        ]
    return {
        "labels": labels,
        "series": [
            {"name": "应预付（元）", "values": [float(r["due"] or 0) for r in rows]},
            {"name": "已拨付（元）", "values": [float(r["paid"] or 0) for r in rows]},
        ],
    }


@scoped_page
def ledger(request, institution_code: str = ""):
    actor = request.user
    if not (access.is_bureau(actor) or access.is_admin(actor) or access.institution_of(actor)):
        raise NotFound("未找到该记录，或您无权查看")  # suppliers see nothing of the fund's money
    qs = prepayment.visible_tranches(actor)
    institution = None
    if institution_code:
        institution = access.get_visible_or_404(access.visible_institutions(actor), code=institution_code)
        qs = qs.filter(institution=institution)
    elif not (access.is_bureau(actor) or access.is_admin(actor)):
        institution = access.institution_of(actor)
    filters = [Filter("batch", "批次编码"), Filter("state", "拨付状态", TRANCHE_STATES)]
    values = filter_values(request, filters)
    if values["batch"]:
        qs = qs.filter(agreement_year__batch__code=values["batch"])
    if values["q"]:
        qs = qs.filter(
            Q(institution__code__contains=values["q"]) | Q(institution__name__contains=values["q"])
        )
    qs = _filter_state(qs, values["state"]).order_by(
        "institution__code",
        "agreement_year__batch__code",
        "agreement_year__number",
        "triggered_on",
        "tranche",
    )
    totals = qs.aggregate(due=Sum("amount"), paid=Sum("paid_amount"))
    title = f"{institution.name} 医保基金预付台账" if institution else "医保基金预付台账（辖区）"
    page = ListPage(
        title,
        TRANCHE_COLUMNS,
        filters,
        "机构代码或名称",
        f"预付台账_{institution.code if institution else 'region'}",
        template="funds/ledger.html",
        context={
            "breadcrumbs": [("预付台账", reverse("funds:ledger") if institution_code else None)]
            + ([(institution.name, None)] if institution_code else []),
            "chart": _ledger_chart(qs, by_institution=institution is None),
            "total_due": totals["due"] or Decimal("0.00"),
            "total_paid": totals["paid"] or Decimal("0.00"),
        },
    )
    return render_list(request, page, qs, values)


@scoped_page
def tranche_detail(request, pk: int):
    actor = request.user
    tranche = prepayment.get_tranche(actor, pk)
    can_record = access.is_bureau(actor) or access.is_admin(actor)
    form = DisbursementForm(request.POST or None)
    if request.method == "POST":
        if not can_record:
            raise Http404("未找到该记录，或您无权查看")
        if form.is_valid():
            try:
                prepayment.record_disbursement(
                    actor=actor,
                    tranche_id=tranche.pk,
                    amount=form.cleaned_data["amount"],
                    paid_on=form.cleaned_data["paid_on"],
                )
            except DomainError as exc:
                if exc.status == 404:
                    raise
                form.add_error(None, exc.message)
            else:
                messages.success(request, "已记录拨付")
                return redirect("funds:tranche", pk=tranche.pk)
    return render(
        request,
        "funds/tranche.html",
        {
            "tranche": tranche,
            "disbursements": tranche.disbursements.all(),
            "form": form,
            "can_record": can_record,
            "overdue": tranche.unpaid > 0 and tranche.due_on < timezone.localdate(),
            "breadcrumbs": [
                ("预付台账", reverse("funds:ledger")),
                (
                    tranche.institution.name,
                    reverse("funds:ledger_institution", args=[tranche.institution.code]),
                ),
                (tranche.label, None),
            ],
        },
    )


# ---- assessment ----------------------------------------------------------------------------------


def _assessment_params(request):
    """Batch code, year number and as-of date from the query string (defaults: the newest national batch's
    year 1, today)."""
    batch_code = request.GET.get("batch", "").strip()
    if not batch_code:
        batch_code = (
            Batch.objects.filter(kind="national")
            .order_by("-cycle_start")
            .values_list("code", flat=True)
            .first()
            or ""
        )
    try:
        number = int(request.GET.get("year", "1") or 1)
    except ValueError:
        number = 1
    return batch_code, number, _date(request.GET.get("as_of", "").strip())


def _ranking_source(request, year, as_of):
    """(as_of, stored run or None): the ranking reads the stored run of the asked date, or without a date the
    newest stored run of the year (its date); with neither it computes live as of `as_of` (today)."""
    asked = request.GET.get("as_of", "").strip()
    run = assessment.latest_run(year, as_of if asked else None)
    return (run.as_of if run else as_of), run


RANKING_COLUMNS = [
    Column("排名", lambda r: r["rank"], numeric=True, width=6),
    Column(
        "机构代码",
        lambda r: r["institution"],
        lambda r: reverse("funds:assessment_institution", args=[r["institution"]]) + r["query"],
        width=14,
    ),
    Column("机构名称", lambda r: r["institution_name"], width=28),
    Column("得分", lambda r: r["score"], numeric=True, width=8),
    Column("等级", lambda r: r["grade"], width=6),
    Column("结余留用比例", lambda r: r["retention_rate"], numeric=True, width=12),
    Column("结余基数（元）", lambda r: r["saving_base"], numeric=True, width=14),
    Column("结余留用金额（元）", lambda r: r["retained"], numeric=True, width=16),
    Column("状态", lambda r: "已定稿" if r["finalised"] else "试算", width=8),
]


@scoped_page
def assessment_ranking(request):
    actor = request.user
    institutions = assessment.assessable_institutions(actor)
    batch_code, number, as_of = _assessment_params(request)
    year = assessment.get_year(batch_code, number)
    as_of, run = _ranking_source(request, year, as_of)
    query = f"?{urlencode({'batch': batch_code, 'year': number, 'as_of': as_of.isoformat()})}"
    filters = [
        Filter("batch", "批次编码"),
        Filter("year", "协议年度"),
        Filter("as_of", "计算日期", placeholder="YYYY-MM-DD"),
    ]
    values = filter_values(request, filters, defaults={"batch": batch_code, "year": str(number)})
    # A stored run without finalised rows in scope and without a search: ranked and paged in SQL.
    ranked = assessment.run_ranking(year, run, institutions) if run and not values["q"] else None
    prepare, no_stored_run = None, False
    if ranked is not None:
        rows = ranked

        def prepare(page_rows):
            assessment.ranking_rows(run, page_rows)
            for row in page_rows:
                row["query"] = query

        top = list(ranked[:30])
        prepare(top)
        can_finalise = access.is_bureau(actor) or access.is_admin(actor)
    else:
        no_stored_run = run is None and not assessment.live_allowed(institutions)
        if no_stored_run:
            # A scope too large to compute per request (assessment.LIVE_LIMIT) and no stored run: finalised
            # snapshots only, and the page says how to store a run.
            rows = assessment.finalised_results(year, institutions)
        else:
            rows = assessment.results(year, institutions, as_of, run=run)
        for rank, row in enumerate(rows, start=1):
            row["rank"], row["query"] = rank, query
        if values["q"]:
            rows = [
                r for r in rows if values["q"] in r["institution"] or values["q"] in r["institution_name"]
            ]
        top = rows[:30]
        can_finalise = (access.is_bureau(actor) or access.is_admin(actor)) and not all(
            r["finalised"] for r in rows
        )
    page = ListPage(
        f"{batch_code} 第{number}协议年度 集采执行考核排名",
        RANKING_COLUMNS,
        filters,
        "机构代码或名称",
        f"考核排名_{batch_code}_第{number}年",
        template="funds/ranking.html",
        prepare=prepare,
        context={
            "breadcrumbs": [("集采执行考核", None)],
            "chart": {
                "labels": [r["institution_name"] for r in top],
                "series": [{"name": "得分", "values": [float(r["score"]) for r in top]}],
                "max": 100,
            },
            "can_finalise": can_finalise and bool(top),
            "year": year,
            "as_of": as_of,
            "store_command": assessment.store_command(year, as_of) if no_stored_run else "",
            "list_note": (
                f"计算日期 {as_of.isoformat()} 的试算结果存储于 "
                f"{timezone.localtime(run.computed_at):%Y-%m-%d %H:%M}（jicai assess --store），"
                "之后的数据变更在下次存储时计入。"
                if run
                else ""
            )
            + "得分 = 100 × Σ(约定金额 × 完成率) / Σ 约定金额；结余基数 = Σ max(0, 约定量 × 集采前参考价 − 约定内中选采购量 × 中选价) × 基金支付比例。"
            "定稿后结果冻结，不随后续数据变化。",
        },
    )
    return render_list(request, page, rows, values)


@scoped_page
def assessment_finalise(request):
    if request.method != "POST":
        return redirect("funds:assessment")
    actor = request.user
    if not (access.is_bureau(actor) or access.is_admin(actor)):
        raise Http404("未找到该记录，或您无权查看")
    number = request.POST.get("year", "")
    year = assessment.get_year(request.POST.get("batch", ""), int(number) if number.isdigit() else 0)
    try:
        created = assessment.finalise(actor=actor, year=year, as_of=timezone.localdate())
    except DomainError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已定稿 {len(created)} 家机构的考核结果")
    return redirect(
        reverse("funds:assessment") + f"?{urlencode({'batch': year.batch.code, 'year': year.number})}"
    )


ITEM_COLUMNS = [
    Column("品种编码", lambda i: i["item"], width=12),
    Column("约定采购量", lambda i: i["agreed"], numeric=True, width=12),
    Column("中选产品采购量", lambda i: i["purchased"], numeric=True, width=14),
    Column("完成率", lambda i: i["completion"], numeric=True, width=10),
    Column(
        "豁免",
        lambda i: {"exclude": "不纳入考核", "share": "按中选占比考核"}.get(i["exempt"] or "", ""),
        width=14,
    ),
]


@scoped_page
def assessment_institution(request, institution_code: str):
    actor = request.user
    institutions = assessment.assessable_institutions(actor)
    institution = access.get_visible_or_404(institutions, code=institution_code)
    batch_code, number, as_of = _assessment_params(request)
    year = assessment.get_year(batch_code, number)
    rows = assessment.results(year, institutions.filter(pk=institution.pk), as_of)
    if not rows:
        raise NotFound("该机构在此协议年度没有约定采购量")
    row = rows[0]
    page = ListPage(
        f"{institution.name} {batch_code} 第{number}协议年度 考核报告",
        ITEM_COLUMNS,
        (),
        "品种编码",
        f"考核报告_{institution.code}_{batch_code}_第{number}年",
        template="funds/assessment_report.html",
        context={
            "breadcrumbs": [("集采执行考核", reverse("funds:assessment")), (institution.name, None)],
            "result": row,
            "chart": {
                "labels": [i["item"] for i in row["items"]],
                "series": [
                    {
                        "name": "完成率（%）",
                        "values": [round((i["completion"] or 0) * 100, 2) for i in row["items"]],
                    }
                ],
                "max": 100,
            },
        },
    )
    return render_list(request, page, row["items"], {"q": ""})


@scoped_page
def exemption_list(request):
    actor = request.user
    batch_code, number, _ = _assessment_params(request)
    year = assessment.get_year(batch_code, number)
    rows = exemptions.visible_exemptions(actor, year)
    form = ExemptionForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get("delete"):
            target = request.POST["delete"]
            exemptions.delete_exemption(
                actor=actor, exemption_id=int(target) if target.isdigit() else 0, year=year
            )
            messages.success(request, "已撤销豁免")
            return redirect(request.get_full_path())
        if form.is_valid():
            data = form.cleaned_data
            try:
                exemptions.save_exemption(actor=actor, year=year, **data)
            except DomainError as exc:
                if exc.status == 404:
                    raise
                form.add_error(None, exc.message)
            else:
                messages.success(request, "已保存豁免")
                return redirect(request.get_full_path())
    return render(
        request,
        "funds/exemptions.html",
        {
            "year": year,
            "rows": rows,
            "form": form,
            "breadcrumbs": [("集采执行考核", reverse("funds:assessment")), ("考核豁免", None)],
        },
    )


# ---- clearance list and statement ---------------------------------------------------------------


def _statement_url(r: dict) -> str:
    return reverse(
        "funds:clearance",
        args=[r["institution__code"], r["agreement_year__batch__code"], r["agreement_year__number"]],
    )


CLEARANCE_COLUMNS = [
    Column("机构代码", lambda r: r["institution__code"], _statement_url, width=14),
    Column("机构名称", lambda r: r["institution__name"], width=26),
    Column("批次", lambda r: r["agreement_year__batch__code"], width=14),
    Column("协议年度", lambda r: r["agreement_year__number"], numeric=True, width=8),
    Column("清算起始日", lambda r: r["opens_on"], width=12),
    Column("已预付（元）", lambda r: r["prepaid"], numeric=True, width=14),
    Column("已使用（元）", lambda r: r["used"], numeric=True, width=14),
    Column("应退回（元）", lambda r: r["refund_due"], numeric=True, width=14),
    Column("已退回（元）", lambda r: r["refunded"], numeric=True, width=14),
    Column("尚未退回（元）", lambda r: r["outstanding"], numeric=True, width=14),
    Column("预付款余额（元）", lambda r: r["balance"], numeric=True, width=14),
    Column("清算状态", lambda r: r["state_display"], width=10),
    Column("清算单", lambda r: "查看", _statement_url, width=8),
]


@scoped_page
def clearance_list(request):
    """Clearance per (institution, agreement year) of the actor's scope (SPEC §12), paginated, XLSX export."""
    actor = request.user
    if not (access.is_bureau(actor) or access.is_admin(actor) or access.institution_of(actor)):
        raise NotFound("未找到该记录，或您无权查看")
    filters = [Filter("batch", "批次编码"), Filter("year", "协议年度", placeholder="如 1")]
    values = filter_values(request, filters)
    number = int(values["year"]) if values["year"].isdigit() else None
    qs = clearance.clearance_rows(actor, q=values["q"], batch_code=values["batch"], number=number)
    page = ListPage(
        "预付款清算（按机构与协议年度）",
        CLEARANCE_COLUMNS,
        filters,
        "机构代码或名称",
        "预付款清算",
        prepare=clearance.fill_clearance,
        context={"breadcrumbs": [("预付台账", reverse("funds:ledger")), ("清算", None)]},
    )
    return render_list(request, page, qs, values)


def _statement_xlsx(st) -> HttpResponse:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = workbook.add_worksheet("清算单")
    bold = workbook.add_format({"bold": True})
    money_fmt = workbook.add_format({"num_format": "#,##0.00"})
    ws.set_column(0, 0, 22)
    ws.set_column(1, 5, 16)
    ws.write(
        0,
        0,
        f"{st.institution.name} {st.year.batch.code} 第{st.year.number}协议年度 医保基金预付款清算单",
        bold,
    )
    ws.write_row(2, 0, ["预付款", "应预付金额（元）", "触发日期", "应拨付日期", "已拨付金额（元）"], bold)
    row = 3
    for t in st.tranches:
        ws.write(row, 0, t.label)
        ws.write_number(row, 1, float(t.amount), money_fmt)
        ws.write(row, 2, t.triggered_on.isoformat())
        ws.write(row, 3, t.due_on.isoformat())
        ws.write_number(row, 4, float(t.paid_amount), money_fmt)
        row += 1
    row += 1
    for label, value in (
        ("已预付合计（元）", st.prepaid),
        ("已使用（中选产品回款，元）", st.used),
        ("应退回（元）", st.refund_due),
        ("已退回（元）", st.refunded),
        ("尚需退回（元）", st.outstanding),
    ):
        ws.write(row, 0, label, bold)
        ws.write_number(row, 1, float(value), money_fmt)
        row += 1
    workbook.close()
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"clearance_{st.institution.code}_{st.year.batch.code}_{st.year.number}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@scoped_page
def clearance_statement(request, institution_code: str, batch_code: str, number: int):
    actor = request.user
    st = clearance.statement(actor, institution_code, batch_code, number)
    can_record = access.is_bureau(actor) or access.is_admin(actor)
    form = RefundForm(request.POST or None)
    if request.method == "POST":
        if not can_record:
            raise Http404("未找到该记录，或您无权查看")
        if form.is_valid():
            try:
                clearance.record_refund(
                    actor=actor,
                    institution_code=institution_code,
                    batch_code=batch_code,
                    number=number,
                    amount=form.cleaned_data["amount"],
                    refunded_on=form.cleaned_data["refunded_on"],
                )
            except DomainError as exc:
                if exc.status == 404:
                    raise
                form.add_error(None, exc.message)
            else:
                messages.success(request, "已记录清算退回")
                return redirect(request.path)
    if request.GET.get("export") == "xlsx":
        return _statement_xlsx(st)
    return render(
        request,
        "funds/statement.html",
        {
            "st": st,
            "form": form,
            "can_record": can_record,
            "breadcrumbs": [
                ("预付台账", reverse("funds:ledger")),
                (st.institution.name, reverse("funds:ledger_institution", args=[st.institution.code])),
                ("清算单", None),
            ],
        },
    )
