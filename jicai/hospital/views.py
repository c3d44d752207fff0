"""Pages of SPEC §11: targets and real-time completion (pharmacy → department → doctor drill-down),
department and doctor target edits with their log, departments, doctors and the interview list. Thin:
parse, call one action or query, render. Lists export to XLSX with ?export=xlsx."""

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from jicai.accounts import access
from jicai.core.errors import DomainError, NotFound
from jicai.hospital import actions, queries
from jicai.hospital.models import InterviewAction
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list


def _as_of(request) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("as_of", ""))
    except ValueError:
        return timezone.localdate()


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


QUOTA_COLUMNS = (
    Column("医疗机构", lambda r: r.institution_name),
    Column(
        "品种",
        lambda r: f"{r.item_name}（{r.item}）",
        link=lambda r: reverse("hospital:volume", args=[r.volume_id]),
    ),
    Column("协议年度", lambda r: r.agreement_year, numeric=True),
    Column("科室", lambda r: r.department or "全院"),
    Column("医师", lambda r: f"{r.doctor_name}（{r.doctor}）" if r.doctor else "—"),
    Column("目标使用量", lambda r: r.target, numeric=True),
    Column("计划进度量", lambda r: r.plan_to_date, numeric=True),
    Column("已使用量", lambda r: r.used, numeric=True),
    Column("剩余量", lambda r: r.remaining, numeric=True),
    Column("完成率", lambda r: _pct(r.completion), numeric=True),
    Column("状态", lambda r: "进度滞后" if r.lag else "正常"),
)


@scoped_page
def quota_list(request):
    """Every target row the user may see, as of today (or ?as_of=), straight from the usage lines."""
    as_of = _as_of(request)
    values = filter_values(request, [Filter("as_of", "统计日期")], {"as_of": as_of.isoformat()})
    q = values.get("q", "")
    if access.is_bureau(request.user):
        return _total_list(request, as_of, values)
    rows = queries.quota_rows(request.user, as_of)
    if q:
        rows = [
            r
            for r in rows
            if q in r.item or q in r.item_name or q in (r.department or "") or q in (r.doctor or "")
        ]
    page = ListPage(
        title=f"院内目标与完成情况（截至 {as_of}）",
        columns=QUOTA_COLUMNS,
        filters=[Filter("as_of", "统计日期", placeholder="YYYY-MM-DD")],
        search_placeholder="品种、科室或医师编码",
        export_name="院内目标与完成情况",
    )
    return render_list(request, page, rows, values)


def _total_list(request, as_of: dt.date, values: dict):
    """A bureau's list: institution totals only, paged over the agreed volumes in SQL; the figures of the
    page's volumes are computed for that page alone (usage lines aggregated for 50 volumes, not a
    province's million)."""
    volumes = queries.total_volumes(request.user, as_of, values.get("q", ""))

    def prepare(page: list) -> None:
        rows = queries.quota_rows(request.user, as_of, volume_ids=[v.pk for v in page])
        totals = {r.volume_id: r for r in rows if r.department is None}
        for volume in page:
            volume.quota = totals[volume.pk]

    columns = [
        Column(c.header, lambda v, c=c: c.value(v.quota), link=c.link and (lambda v, c=c: c.link(v.quota)),
               numeric=c.numeric, width=c.width)
        for c in QUOTA_COLUMNS
    ]  # fmt: skip
    page = ListPage(
        title=f"院内目标与完成情况（截至 {as_of}）",
        columns=columns,
        filters=[Filter("as_of", "统计日期", placeholder="YYYY-MM-DD")],
        search_placeholder="品种编码或名称、医疗机构",
        export_name="院内目标与完成情况",
        prepare=prepare,
    )
    return render_list(request, page, volumes, values)


@scoped_page
def volume_detail(request, volume_id: int):
    """One item's split: institution total, departments, doctors, a chart of target vs used vs plan, the
    edit forms the user may use and the change log."""
    as_of = _as_of(request)
    rows = queries.quota_rows(request.user, as_of, volume_id=volume_id)
    if not rows and not queries.quota_volume_visible(request.user, volume_id):
        raise NotFound("未找到该记录，或您无权查看")
    if request.method == "POST":
        return _post_edit(request, volume_id)
    total = next((r for r in rows if r.department is None), None)
    departments = [r for r in rows if r.department is not None and r.doctor is None]
    doctors = [r for r in rows if r.doctor is not None]
    by_department = {d.department: [r for r in doctors if r.department == d.department] for d in departments}
    if not departments and doctors:  # a doctor: only their own rows
        by_department = {}
    chart_rows = departments or doctors
    chart = {
        "labels": [r.department_name or r.doctor_name or r.department for r in chart_rows],
        "target": [r.target for r in chart_rows],
        "used": [float(r.used) for r in chart_rows],
        "plan": [float(r.plan_to_date) for r in chart_rows],
    }
    first = rows[0] if rows else None
    monthly = None
    if doctors and len(doctors) == 1 and not departments:
        monthly = queries.doctor_monthly(request.user, volume_id, as_of)
    return render(
        request,
        "hospital/volume.html",
        {
            "as_of": as_of,
            "volume_id": volume_id,
            "first": first,
            "total": total,
            "departments": departments,
            "department_groups": [(d, by_department.get(d.department, [])) for d in departments],
            "doctors_only": doctors if not departments else [],
            "chart": chart,
            "monthly": monthly,
            "can_edit_departments": access.is_pharmacy(request.user) and total is not None,
            "can_edit_doctors": request.user.role in ("institution", "department_head"),
            "changes": list(queries.target_changes(request.user, volume_id)),
        },
    )


def _post_edit(request, volume_id: int):
    post = request.POST
    targets = {
        key.removeprefix("t_"): value.strip()
        for key, value in post.items()
        if key.startswith("t_") and value.strip()
    }
    try:
        if post.get("form") == "departments":
            actions.set_department_targets(
                actor=request.user, volume_id=volume_id, targets=targets, reason=post.get("reason", "")
            )
            messages.success(request, "科室目标已调整")
        else:
            actions.set_doctor_targets(
                actor=request.user,
                department_target_id=int(post.get("department_target", "0") or 0),
                targets=targets,
                reason=post.get("reason", ""),
            )
            messages.success(request, "医师目标已调整")
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    # Back to the same page, keeping its statistics date.
    query = request.GET.urlencode()
    return redirect(reverse("hospital:volume", args=[volume_id]) + (f"?{query}" if query else ""))


DEPARTMENT_COLUMNS = (
    Column("医疗机构", lambda d: d.institution.name),
    Column("科室编码", lambda d: d.code),
    Column("科室名称", lambda d: d.name),
    Column("上级科室", lambda d: d.parent.name if d.parent_id else "—"),
    Column("医师数", lambda d: d.doctor_count, numeric=True),
)

DOCTOR_COLUMNS = (
    Column("医疗机构", lambda d: d.institution.name),
    Column("医师编码", lambda d: d.code),
    Column("姓名", lambda d: d.name),
    Column("科室", lambda d: f"{d.department.name}（{d.department.code}）"),
    Column("状态", lambda d: d.get_status_display()),
)


@scoped_page
def department_list(request):
    from django.db.models import Count, Q

    values = filter_values(request, [])
    qs = access.visible_departments(request.user).select_related("institution", "parent")
    qs = qs.annotate(doctor_count=Count("doctors")).order_by("institution__code", "code")
    if values["q"]:
        qs = qs.filter(Q(code__icontains=values["q"]) | Q(name__icontains=values["q"]))
    page = ListPage(title="科室", columns=DEPARTMENT_COLUMNS, export_name="科室")
    return render_list(request, page, qs, values)


@scoped_page
def doctor_list(request):
    from django.db.models import Q

    values = filter_values(request, [])
    qs = (
        access.visible_doctors(request.user)
        .select_related("institution", "department")
        .order_by("institution__code", "code")
    )
    if values["q"]:
        qs = qs.filter(Q(code__icontains=values["q"]) | Q(name__icontains=values["q"]))
    page = ListPage(title="医师", columns=DOCTOR_COLUMNS, export_name="医师")
    return render_list(request, page, qs, values)


def _default_quarter(today: dt.date) -> str:
    """The last finished quarter."""
    q = (today.month - 1) // 3
    return f"{today.year - 1}Q4" if q == 0 else f"{today.year}Q{q}"


INTERVIEW_COLUMNS = (
    Column("类型", lambda r: "医师" if r.kind == "doctor" else "科室"),
    Column("品种", lambda r: f"{r.item_name}（{r.item}）"),
    Column("科室", lambda r: f"{r.department_name}（{r.department}）"),
    Column("医师", lambda r: f"{r.doctor_name}（{r.doctor}）" if r.doctor else "—"),
    Column("原因", lambda r: r.reason),
    Column("中选使用量", lambda r: r.used_winning, numeric=True),
    Column("非中选/可替代使用量", lambda r: r.used_other, numeric=True),
    Column("未说明量", lambda r: r.unexplained, numeric=True),
    Column("目标", lambda r: r.target, numeric=True),
    Column("计划进度量", lambda r: r.plan_to_date, numeric=True),
    Column("处理措施", lambda r: "、".join(a.get_action_display() for a in r.actions) or "未处理"),
)


@scoped_page
def interview_list(request):
    quarter = request.GET.get("quarter", "").strip() or _default_quarter(timezone.localdate())
    if request.method == "POST":
        # The page's form sends one "item|department|doctor" choice; other clients may send the three fields.
        parts = (request.POST.get("target", "") + "||").split("|")
        item_code = request.POST.get("item_code") or parts[0]
        department = request.POST.get("department") or parts[1]
        doctor = request.POST.get("doctor") or parts[2]
        try:
            item = queries.item_by_code(request.user, item_code)
            actions.record_interview_action(
                actor=request.user, item_id=item.pk, quarter=quarter.upper(),
                department_code=department, doctor_code=doctor,
                action=request.POST.get("action", ""), note=request.POST.get("note", ""),
            )  # fmt: skip
            messages.success(request, "处理措施已登记")
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            messages.error(request, exc.message)
        return redirect(f"{reverse('hospital:interviews')}?quarter={quarter}")
    try:
        rows = queries.interview_list(request.user, quarter)
    except DomainError as exc:
        messages.error(request, exc.message)
        rows = []
    values = filter_values(request, [Filter("quarter", "季度")], {"quarter": quarter})
    page = ListPage(
        title=f"约谈名单（{quarter}）",
        columns=INTERVIEW_COLUMNS,
        filters=[Filter("quarter", "季度", placeholder="如 2024Q2")],
        export_name="约谈名单",
        template="hospital/interviews.html",
        context={
            "interview_rows": rows,
            "actions": InterviewAction.choices,
            "quarter": quarter,
            "can_act": access.is_pharmacy(request.user),
        },
    )
    return render_list(request, page, rows, values)
