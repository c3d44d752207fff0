"""Pages of SPEC §4 consistency withdrawal and §14 (delivery ratings, post-cycle demand review, certificates).
Thin: parse, call the compliance modules with the signed-in user, render; out-of-scope answers 404."""

import datetime as dt

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Organisation, Role
from jicai.batches.models import AgreementYear
from jicai.compliance import consistency, overlaps, ratings, review, signing
from jicai.core.errors import DomainError
from jicai.monitoring.notices import quarter_of
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list, xlsx_response

CONSISTENCY_COLUMNS = [
    Column("通用名", lambda r: r[0].generic_name, width=18),
    Column("剂型组", lambda r: r[0].dosage_form_group, width=14),
    Column("通过一致性评价产品数", lambda r: len(r[0].passed), numeric=True),
    Column("撤网阈值", lambda r: r[0].threshold, numeric=True, width=10),
    Column("状态", lambda r: r[0].status, width=14),
    Column("产品编码", lambda r: r[1].code, width=26),
    Column("产品", lambda r: r[1].name, width=20),
    Column("生产企业", lambda r: r[1].manufacturer, width=24),
    Column("通过一致性评价", lambda r: r[1].passed, width=10),
    Column("挂网价（元）", lambda r: r[1].price, numeric=True, width=12),
    Column("最低通过价（元）", lambda r: r[0].lowest_passed_price, numeric=True, width=14),
    Column("挂网状态", lambda r: product_state(*r), width=16),
]


def product_state(group, product) -> str:
    if product.passed:
        return "挂网"
    if group.withdrawn:
        return "撤网"
    if product in group.over_cap:
        return "挂网（高于最低通过价）"
    return "挂网"


def _on(request) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("on", ""))
    except ValueError:
        return timezone.localdate()


@scoped_page
def consistency_page(request):
    actor = request.user
    province = consistency.province_for(actor, request.GET.get("province", "").strip())
    on = _on(request)
    if request.method == "POST":
        try:
            if request.POST.get("delete", "").isdigit():
                consistency.delete_exemption(actor=actor, exemption_id=int(request.POST["delete"]))
                messages.success(request, "已撤销暂不撤网")
            else:
                consistency.save_exemption(
                    actor=actor,
                    province=province,
                    generic_name=request.POST.get("generic_name", ""),
                    reason=request.POST.get("reason", ""),
                )
                messages.success(request, "已保存暂不撤网")
        except DomainError as exc:
            if exc.status == 404:
                raise Http404(exc.message) from exc
            messages.error(request, exc.message)
        return redirect(request.get_full_path())
    q = request.GET.get("q", "").strip()
    groups = [g for g in consistency.groups(province, on) if not q or q in g.generic_name]
    rows = [(g, p) for g in groups for p in g.products]
    if request.GET.get("export") == "xlsx":
        return xlsx_response(f"一致性评价撤网_{province.code}_{on:%Y%m%d}", CONSISTENCY_COLUMNS, rows)
    from jicai.compliance.models import ConsistencyExemption

    return render(
        request,
        "compliance/consistency.html",
        {
            "province": province,
            "on": on,
            "q": q,
            "groups": groups,
            "exemptions": ConsistencyExemption.objects.filter(province=province),
            "can_edit": access.is_admin(actor) or access.bureau_region(actor) == province,
            "breadcrumbs": [("一致性评价撤网", None)],
        },
    )


# ---- delivery ratings ------------------------------------------------------------------------------------


def _month(request) -> dt.date:
    raw = request.GET.get("month", "")
    try:
        return ratings.parse_month(raw) if raw else timezone.localdate().replace(day=1)
    except DomainError:
        return timezone.localdate().replace(day=1)


@scoped_page
def ratings_page(request):
    actor = request.user
    if access.is_doctor(actor):
        raise Http404
    month = _month(request)
    is_rater = access.institution_of(actor) is not None and actor.role == Role.INSTITUTION
    if request.method == "POST":
        if not is_rater:
            raise Http404
        try:
            ratings.save_rating(
                actor=actor,
                supplier_code=request.POST.get("supplier", ""),
                distributor_code=request.POST.get("distributor", ""),
                month=ratings.parse_month(request.POST.get("month", "")),
                timeliness=request.POST.get("timeliness", ""),
                completeness=request.POST.get("completeness", ""),
                service=request.POST.get("service", ""),
                comment=request.POST.get("comment", ""),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "已保存配送评价")
        return redirect(f"{reverse('compliance:ratings')}?month={request.POST.get('month', '')}")
    visible = ratings.visible_ratings(actor)
    pairs = []
    if is_rater:
        from jicai.registry.models import Company

        served = ratings.served_pairs(access.institution_of(actor).pk, month)
        done = {(r.supplier_id, r.distributor_id): r for r in visible.filter(month=month)}
        companies = Company.objects.in_bulk({c for pair in served for c in pair})
        pairs = [
            {"supplier": companies[s], "distributor": companies[d], "rating": done.get((s, d))}
            for s, d in sorted(served)
        ]
    quarter = quarter_of(month)
    avgs = ratings.averages(visible, quarter.start, quarter.end)
    from jicai.registry.models import Company

    names = Company.objects.in_bulk(list(avgs))
    return render(
        request,
        "compliance/ratings.html",
        {
            "month": month,
            "editable_until": ratings.editable_until(month),
            "open": month <= timezone.localdate() <= ratings.editable_until(month),
            "is_rater": is_rater,
            "pairs": pairs,
            "ratings": visible.filter(month=month)[:500],
            "quarter": quarter,
            "averages": [(names[k], v) for k, v in sorted(avgs.items())],
            "scores": range(1, 6),
            "breadcrumbs": [("配送评价", None)],
        },
    )


# ---- demand review ------------------------------------------------------------------------------------

REVIEW_COLUMNS = [
    Column("机构代码", lambda r: r.institution.code, width=16),
    Column("机构名称", lambda r: r.institution.name, width=28),
    Column("品种编码", lambda r: r.item_code, width=12),
    Column("品种", lambda r: r.item_name, width=20),
    Column("历史采购量", lambda r: r.history, numeric=True),
    Column("报量", lambda r: r.reported, numeric=True),
    Column("实际采购量", lambda r: r.purchased, numeric=True),
    Column("偏差比例", lambda r: r.deviation, numeric=True),
    Column("阈值", lambda r: r.threshold, numeric=True, width=8),
    Column("抽查原因", lambda r: r.flag_text, width=30),
]


@scoped_page
def review_page(request):
    actor = request.user
    filters = [Filter("batch", "批次编码"), Filter("year", "协议年度", placeholder="1")]
    values = filter_values(request, filters)
    rows, error, year = [], "", None
    if not values["batch"] and (access.is_admin(actor) or access.is_bureau(actor)):
        # Default: the agreement year that ended last (the review is only possible after a year's end).
        latest = (
            AgreementYear.objects.filter(end__lt=timezone.localdate())
            .select_related("batch")
            .order_by("-end", "batch__code")
            .first()
        )
        if latest is not None:
            values["batch"], values["year"] = latest.batch.code, str(latest.number)
    run, note = None, ""
    if values["batch"]:
        year = review.get_year(actor, values["batch"], values["year"] or 1)
        try:
            rows, run, note = review.listing(actor, year, q=values["q"])
        except DomainError as exc:
            error = exc.message
    elif not (access.is_admin(actor) or access.is_bureau(actor)):
        raise Http404
    if run is not None:
        computed = timezone.localtime(run.computed_at).strftime("%Y-%m-%d %H:%M")
        note = (
            f"抽查名单计算于 {computed}（共 {run.rows_count} 条）；重新计算：{review.store_command(year)}。"
        )
    title = f"{year} 报量复核（抽查名单）" if year else "报量复核（抽查名单）"
    page = ListPage(
        title,
        REVIEW_COLUMNS,
        filters,
        "机构代码或名称",
        f"报量复核_{year.batch.code}_{year.number}" if year else "报量复核",
        context={
            "breadcrumbs": [("报量复核", None)],
            "list_note": error
            or note
            + "协议年度结束后：有历史采购但未报量，或 |实际采购量 − 报量| ÷ 报量 超过 report_deviation_threshold 的机构列入抽查。"
            "实际采购量含中选与非中选产品（按折算系数折算，按 progress_basis 口径）。",
        },
    )
    return render_list(request, page, rows, values)


# ---- certificates (admin) ----------------------------------------------------------------------------------


@scoped_page
def certificates_page(request):
    actor = request.user
    keys = signing.visible_keys(actor)  # 404 for anyone but an admin
    if request.method == "POST":
        org = Organisation.objects.filter(pk=request.POST.get("organisation") or 0).first()
        try:
            if org is None:
                raise DomainError("请选择机构")
            if request.POST.get("action") == "demo":
                signing.issue_demo_certificate(actor=actor, organisation=org)
            else:
                signing.register_certificate(
                    actor=actor,
                    organisation=org,
                    certificate_pem=request.POST.get("certificate_pem", ""),
                    private_key_pem=request.POST.get("private_key_pem", ""),
                    password=request.POST.get("password", ""),
                )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已为 {org} 登记数字证书")
        return redirect(reverse("compliance:certificates"))
    return render(
        request,
        "compliance/certificates.html",
        {
            "keys": keys,
            "organisations": Organisation.objects.filter(kind__in=["institution", "company"]).order_by("pk")[
                :2000
            ],
            "breadcrumbs": [("数字证书", None)],
        },
    )


# ---- overlapping batches ---------------------------------------------------------------------------------


@scoped_page
def overlaps_page(request):
    actor = request.user
    rows = overlaps.visible_overlaps(actor)  # 404 for anyone but bureaus and admins
    if request.method == "POST":
        try:
            overlaps.confirm(actor=actor, overlap_id=int(request.POST.get("confirm") or 0))
        except DomainError as exc:
            if exc.status == 404:
                raise Http404(exc.message) from exc
            messages.error(request, exc.message)
        else:
            messages.success(request, "已确认批次重叠")
        return redirect(reverse("compliance:overlaps"))
    return render(
        request,
        "compliance/overlaps.html",
        {"rows": rows, "can_confirm": access.can_manage_batches(actor), "breadcrumbs": [("批次重叠", None)]},
    )
