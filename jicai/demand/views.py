"""Demand reporting pages (thin: parse, call one query or action, render). Scope misses are 404 through
queries (scoped_page); rule refusals are shown as messages and change nothing."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from jicai.accounts import access
from jicai.accounts.models import Role
from jicai.batches import queries as batch_queries
from jicai.core.errors import DomainError, PermissionDenied
from jicai.demand import actions, queries, spreadsheet
from jicai.demand.forms import WindowForm, parse_line_post
from jicai.demand.models import ReportStatus
from jicai.registry.models import Institution
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list

STATUS_BADGES = {
    ReportStatus.DRAFT: "secondary",
    ReportStatus.SUBMITTED: "primary",
    ReportStatus.APPROVED: "success",
    ReportStatus.RETURNED: "danger",
}


def window_url(w) -> str:
    return reverse("demand:window", args=[w.pk])


def report_url(r) -> str:
    return reverse("demand:report", args=[r.pk])


def _error_text(exc: DomainError) -> str:
    return exc.message


# ---- windows ------------------------------------------------------------------------------------

WINDOW_COLUMNS = [
    Column("名称", lambda w: w.title, window_url, width=30),
    Column("批次", lambda w: w.batch.code, width=16),
    Column("协议年度", lambda w: w.agreement_year, numeric=True, width=8),
    Column("发起单位", lambda w: w.bureau.name, width=22),
    Column("范围", lambda w: w.get_scope_display(), width=14),
    Column("开始日期", lambda w: w.opens_on, width=12),
    Column("截止日期", lambda w: w.deadline, width=12),
]


@scoped_page
def window_list(request):
    values = filter_values(request, [Filter("batch", "批次编码")])
    qs = queries.list_windows(request.user, q=values["q"], batch=values["batch"])
    page = ListPage(
        "报量窗口",
        WINDOW_COLUMNS,
        [Filter("batch", "批次编码")],
        "名称或批次编码",
        "报量窗口",
        template="demand/window_list.html",
        context={"can_open": _can_open(request.user)},
    )
    return render_list(request, page, qs, values)


def _can_open(user) -> bool:
    return access.is_bureau(user) and getattr(user, "role", None) == Role.BUREAU


@scoped_page
def window_create(request):
    if not _can_open(request.user):
        raise Http404("未找到该页面")
    batches = batch_queries.list_batches(request.user)
    form = WindowForm(request.POST or None, batches=batches)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        institutions = None
        if data["scope"] == "institutions":
            found = {
                i.code: i for i in Institution.objects.filter(code__in=data["codes"]).select_related("region")
            }
            unknown = [c for c in data["codes"] if c not in found]
            if unknown:
                form.add_error("institution_codes", f"机构不存在：{'、'.join(unknown)}")
            institutions = list(found.values())
        if form.is_valid():
            try:
                window = actions.open_window(
                    actor=request.user,
                    batch=data["batch"],
                    title=data["title"],
                    opens_on=data["opens_on"],
                    deadline=data["deadline"],
                    agreement_year=data["agreement_year"],
                    institutions=institutions,
                )
            except DomainError as exc:
                form.add_error(None, _error_text(exc))
            else:
                messages.success(request, f"已发起报量：{window.title}（{window.reports.count()} 家机构）")
                return redirect(window_url(window))
    return render(
        request,
        "demand/window_form.html",
        {
            "form": form,
            "breadcrumbs": [("报量窗口", reverse("demand:windows")), ("发起报量", None)],
        },
    )


@scoped_page
def window_detail(request, pk):
    window = queries.get_window(request.user, pk)
    context = {
        "window": window,
        "breadcrumbs": [("报量窗口", reverse("demand:windows")), (window.title, None)],
        "today": timezone.localdate(),
    }
    if access.is_bureau(request.user) or access.is_admin(request.user):
        context["completion"] = queries.completion(
            request.user, window, region_code=request.GET.get("region", "")
        )
        context["can_remind"] = _can_open(request.user)
    own = access.institution_of(request.user)
    if own is not None:
        reports = queries.consortium_reports(request.user, window)
        context["own_reports"] = reports
        context["files_for_others"] = any(r.institution_id != own.pk for r in reports)
        context["can_submit_all"] = getattr(request.user, "role", None) == Role.INSTITUTION and any(
            actions.can_edit(request.user, r) for r in reports
        )
    return render(request, "demand/window_detail.html", context)


@require_POST
@scoped_page
def window_remind(request, pk):
    window = queries.get_window(request.user, pk)
    region = request.POST.get("region", "")
    count = actions.send_reminders(actor=request.user, window=window, region_code=region)
    messages.success(
        request, f"已向 {count} 份未提交报量的机构发送催报通知" if count else "没有需要催报的机构"
    )
    suffix = f"?region={region}" if region else ""
    return redirect(window_url(window) + suffix)


@require_POST
@scoped_page
def window_submit_all(request, pk):
    window = queries.get_window(request.user, pk)
    try:
        count = actions.submit_consortium_reports(actor=request.user, window=window)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"已提交 {count} 份报量")
    return redirect(window_url(window))


# ---- reports ------------------------------------------------------------------------------------

REPORT_FILTERS = [
    Filter("status", "状态", ReportStatus.choices),
    Filter("window", "窗口编号"),
    Filter("region", "地区代码（含下级）", placeholder="如 371000"),
    Filter("flagged", "需关注", (("1", "有需关注明细"),)),
]
REPORT_COLUMNS = [
    Column("机构代码", lambda r: r.institution.code, report_url),
    Column("机构名称", lambda r: r.institution.name, width=30),
    Column("所在地区", lambda r: r.institution.region.name),
    Column("报量窗口", lambda r: r.window.title, lambda r: window_url(r.window), width=26),
    Column("填报单位", lambda r: r.filed_by.name if r.filed_by_id else "本机构", width=20),
    Column("状态", lambda r: r.get_status_display(), width=10),
    Column("需关注明细", lambda r: r.flagged_lines, numeric=True, width=10),
    Column("提交时间", lambda r: r.submitted_at, width=18),
]


@scoped_page
def report_list(request):
    values = filter_values(request, REPORT_FILTERS)
    qs = queries.list_reports(
        request.user,
        window=values["window"],
        status=values["status"],
        q=values["q"],
        region=values["region"],
        flagged=values["flagged"] == "1",
    )
    page = ListPage("报量", REPORT_COLUMNS, REPORT_FILTERS, "机构代码或名称", "报量")
    return render_list(request, page, qs, values)


@scoped_page
def review_queue(request):
    if not access.is_bureau(request.user):
        raise Http404("未找到该页面")
    values = filter_values(request, [Filter("window", "窗口编号")])
    qs = queries.review_queue(request.user, window=values["window"], q=values["q"])
    page = ListPage(
        "待审核报量",
        REPORT_COLUMNS,
        [Filter("window", "窗口编号")],
        "机构代码或名称",
        "待审核报量",
        context={"list_note": "需关注明细（低于历史采购量、有历史未报量）多的报量排在前面。"},
    )
    return render_list(request, page, qs, values)


def _report_context(request, report, *, form_values=None):
    lines = list(queries.report_lines(report))
    editable = actions.can_edit(request.user, report)
    reviewer = (
        report.status == ReportStatus.SUBMITTED
        and queries.is_reviewer(request.user, report)
        and (getattr(request.user, "role", None) == Role.BUREAU)
    )
    threshold = actions.drop_threshold(report)
    if form_values:
        posted = {entry.item_code: entry for entry in form_values}
        for line in lines:
            entry = posted.get(line.item.item_code)
            if entry is not None:
                line.reported_qty, line.explanation = entry.reported_qty, entry.explanation
    return {
        "report": report,
        "lines": lines,
        "log": list(queries.report_log(report)),
        "editable": editable,
        "reviewer": reviewer,
        "threshold": threshold,
        "threshold_share": f"{((1 - threshold) * 100).normalize():f}%",
        "badge": STATUS_BADGES.get(report.status, "secondary"),
        "filled": sum(1 for line in lines if line.reported_qty is not None),
        "breadcrumbs": [
            ("报量", reverse("demand:reports")),
            (report.window.title, window_url(report.window)),
            (report.institution.name, None),
        ],
    }


@scoped_page
def report_detail(request, pk):
    report = queries.get_report(request.user, pk)
    if request.method != "POST":
        return render(request, "demand/report_detail.html", _report_context(request, report))
    codes = list(queries.report_lines(report).values_list("item__item_code", flat=True))
    inputs, cell_errors = parse_line_post(request.POST, codes)
    if cell_errors:
        messages.error(request, "未保存：" + "；".join(cell_errors))
        return render(
            request,
            "demand/report_detail.html",
            _report_context(request, report, form_values=inputs),
            status=400,
        )
    try:
        report = actions.save_report_lines(actor=request.user, report=report, lines=inputs)
        if request.POST.get("action") == "submit":
            report = actions.submit_report(actor=request.user, report=report)
            messages.success(request, "报量已提交，等待医保局审核")
        else:
            messages.success(request, "草稿已保存")
    except PermissionDenied as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        report = queries.get_report(request.user, pk)
        return render(
            request,
            "demand/report_detail.html",
            _report_context(request, report, form_values=inputs),
            status=400,
        )
    return redirect(report_url(report))


@scoped_page
def report_xlsx(request, pk):
    report = queries.get_report(request.user, pk)
    content = spreadsheet.report_workbook(report, queries.report_lines(report))
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''report_{report.institution.code}_{report.window_id}.xlsx"
    )
    return response


@require_POST
@scoped_page
def report_upload(request, pk):
    report = queries.get_report(request.user, pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "请选择要上传的 Excel 文件")
        return redirect(report_url(report))
    try:
        inputs = spreadsheet.parse_upload(upload.read(), upload.name)
        actions.save_report_lines(actor=request.user, report=report, lines=inputs, complete=True)
    except PermissionDenied as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        details = exc.details if isinstance(exc.details, list) else []
        messages.error(request, spreadsheet.upload_message(details) if details else exc.message)
    else:
        messages.success(request, f"已从文件导入 {len(inputs)} 行，请核对后提交")
    return redirect(report_url(report))


@require_POST
@scoped_page
def report_approve(request, pk):
    report = queries.get_report(request.user, pk)
    try:
        actions.approve_report(actor=request.user, report=report)
    except PermissionDenied as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, "已审核通过")
    return redirect(report_url(report))


@require_POST
@scoped_page
def report_return(request, pk):
    report = queries.get_report(request.user, pk)
    line_reasons = {
        key.removeprefix("reason-"): value for key, value in request.POST.items() if key.startswith("reason-")
    }
    try:
        actions.return_report(
            actor=request.user,
            report=report,
            reason=request.POST.get("reason", ""),
            line_reasons=line_reasons,
        )
    except PermissionDenied as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, "已退回，机构修改后可重新提交")
    return redirect(report_url(report))
