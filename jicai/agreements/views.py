"""Pages of agreed volumes, delivery relationships and purchase agreements: thin wrappers around
jicai.agreements.queries (scoped reads) and jicai.agreements.actions (every write)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from jicai.accounts import access
from jicai.accounts.models import Role
from jicai.agreements import actions, queries
from jicai.agreements.models import AgreedVolume, AgreementStatus
from jicai.batches.models import Batch
from jicai.compliance import signing
from jicai.core.errors import DomainError, NotFound
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import (
    PAGE_SIZE,
    CappedPaginator,
    Column,
    Filter,
    ListPage,
    display,
    filter_values,
    render_list,
    xlsx_response,
)


def agreement_url(a) -> str:
    return reverse("agreements:detail", args=[a.pk])


def volume_url(v) -> str:
    return reverse("agreements:volume", args=[v.pk])


def _institution_url(code: str) -> str:
    return reverse("registry:institution", args=[code])


def _company_url(company) -> str | None:
    return reverse("registry:company", args=[company.code]) if company else None


def _back(request, fallback: str) -> HttpResponseRedirect:
    """Back to the list the form was posted from (same host only), else the fallback page."""
    target = request.POST.get("next", "")
    # Same-site paths only: "//host" and "/\\host" would leave the site.
    if not target.startswith("/") or target[1:2] in ("/", "\\"):
        target = fallback
    return HttpResponseRedirect(target)


# ---- purchase agreements -----------------------------------------------------------------------------

AGREEMENT_COLUMNS = [
    Column("协议编号", lambda a: a.pk, agreement_url, width=10),
    Column("批次", lambda a: a.agreement_year.batch.code, width=14),
    Column("协议年度", lambda a: a.agreement_year.number, numeric=True, width=8),
    Column("机构代码", lambda a: a.institution.code, lambda a: _institution_url(a.institution.code)),
    Column("医疗机构", lambda a: a.institution.name, width=28),
    Column("品种编码", lambda a: a.item.item_code, width=12),
    Column("品种", lambda a: f"{a.item.generic_name} {a.item.dosage_form_group}", width=24),
    Column("供应企业", lambda a: a.supplier.name, lambda a: _company_url(a.supplier), width=24),
    Column("配送企业", lambda a: a.distributor.name if a.distributor else None, width=24),
    Column("约定采购量", lambda a: a.agreed_qty, numeric=True, width=12),
    Column("中选价（元）", lambda a: a.winning_price, numeric=True, width=12),
    Column("预算金额（元）", lambda a: a.budget, numeric=True, width=14),
    Column("状态", lambda a: a.get_status_display(), width=12),
    Column("签订截止日期", lambda a: a.due_date, width=12),
]


def _agreement_filters(actor) -> list[Filter]:
    return [
        Filter("status", "状态", AgreementStatus.choices),
        Filter("batch", "批次", queries.batches_with_agreements(actor)),
        Filter("year", "协议年度", [(str(n), f"第{n}年度") for n in range(1, 6)]),
        Filter("item", "品种编码", placeholder="如 GY7-001"),
        Filter("institution", "机构代码", placeholder="12 位机构代码"),
        Filter("overdue", "逾期未签", [("1", "已过截止日期未生效")]),
    ]


def _can_sign(actor) -> bool:
    role = getattr(actor, "role", None)
    return (access.institution_of(actor) is not None and role == Role.INSTITUTION) or (
        access.company_of(actor) is not None and role == Role.MANUFACTURER
    )


@scoped_page
def agreement_list(request):
    actor = request.user
    filters = _agreement_filters(actor)
    values = filter_values(request, filters)
    qs = queries.list_agreements(
        actor,
        q=values["q"],
        status=values["status"],
        batch=values["batch"],
        year=values["year"],
        item=values["item"],
        institution=values["institution"],
        overdue_on=timezone.localdate() if values["overdue"] == "1" else None,
    )
    if request.GET.get("export") == "xlsx":
        return xlsx_response("购销协议", AGREEMENT_COLUMNS, qs)
    paginator = CappedPaginator(qs, PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    can_sign = _can_sign(actor)
    rows = [
        {
            "id": a.pk,
            "signable": can_sign and queries.signing_party(actor, a) is not None,
            "cells": [
                {
                    "text": display(col.value(a)),
                    "url": col.link(a) if col.link else None,
                    "numeric": col.numeric,
                }
                for col in AGREEMENT_COLUMNS
            ],
        }
        for a in current.object_list
    ]
    kept = {k: v for k, v in values.items() if v}
    return render(
        request,
        "agreements/agreement_list.html",
        {
            "title": "购销协议",
            "columns": AGREEMENT_COLUMNS,
            "rows": rows,
            "page_obj": current,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(current.number, on_each_side=2, on_ends=1),
            "querystring": urlencode(kept),
            "export_query": urlencode({**kept, "export": "xlsx"}),
            "q": values["q"],
            "search_placeholder": "机构、品种或供应企业",
            "filters": [
                {
                    "name": f.name,
                    "label": f.label,
                    "choices": f.choices,
                    "value": values.get(f.name, ""),
                    "placeholder": f.placeholder,
                }
                for f in filters
            ],
            "can_sign": can_sign and any(r["signable"] for r in rows),
            "next": request.get_full_path(),
            "can_generate": access.can_manage_batches(actor),
            "batches": Batch.objects.order_by("-cycle_start", "code")
            if access.can_manage_batches(actor)
            else [],
        },
    )


@scoped_page
def agreement_detail(request, pk: int):
    agreement = queries.get_agreement(request.user, pk)
    return render(
        request,
        "agreements/agreement_detail.html",
        {
            "agreement": agreement,
            "party": queries.signing_party(request.user, agreement),
            "overdue": agreement.due_date is not None
            and agreement.due_date < timezone.localdate()
            and agreement.status != AgreementStatus.EFFECTIVE,
            "breadcrumbs": [("购销协议", reverse("agreements:agreements")), (f"协议 {agreement.pk}", None)],
        },
    )


@scoped_page
def agreement_print(request, pk: int):
    agreement = queries.get_agreement(request.user, pk)
    return render(
        request,
        "agreements/agreement_print.html",
        {
            "agreement": agreement,
            "printed_on": timezone.localdate(),
            "verifications": signing.verifications(agreement),
        },
    )


@require_POST
@scoped_page
def agreement_sign(request, pk: int):
    try:
        actions.sign_agreement(actor=request.user, agreement_id=pk)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已签订协议 {pk}")
    return HttpResponseRedirect(reverse("agreements:detail", args=[pk]))


@require_POST
@scoped_page
def agreement_bulk_sign(request):
    ids = [i for i in request.POST.getlist("ids") if i.isdigit()]
    try:
        signed = actions.sign_agreements(actor=request.user, agreement_ids=ids)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已签订 {len(signed)} 份协议")
    return _back(request, reverse("agreements:agreements"))


def _batch_and_year(request) -> tuple[Batch, int]:
    batch = Batch.objects.filter(code=request.POST.get("batch", "")).first()
    if batch is None:
        raise DomainError("请选择批次")
    year = request.POST.get("agreement_year", "1")
    if not year.isdigit():
        raise DomainError("协议年度无效")
    return batch, int(year)


def _run_for_batch_year(request, action, done: str, kept: str, back: str):
    """Run a whole-batch step (generate agreements, compute volumes) for the posted batch and agreement
    year, and report its counts as a message; `kept` names the rows the step left as they were."""
    try:
        batch, year = _batch_and_year(request)
        result = action(actor=request.user, batch=batch, agreement_year=year)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{done}：新增 {result.created}，更新 {result.updated}，未变 {result.unchanged}，"
            f"{kept} {result.kept}，问题 {len(result.problems)} 条",
        )
    return _back(request, back)


@require_POST
@scoped_page
def agreement_generate(request):
    return _run_for_batch_year(
        request,
        actions.generate_agreements,
        "已生成购销协议",
        "已签保持不变",
        reverse("agreements:agreements"),
    )


# ---- agreed volumes ------------------------------------------------------------------------------------

VOLUME_COLUMNS = [
    Column("批次", lambda v: v.agreement_year.batch.code, width=14),
    Column("协议年度", lambda v: v.agreement_year.number, numeric=True, width=8),
    Column("机构代码", lambda v: v.institution.code, volume_url),
    Column("医疗机构", lambda v: v.institution.name, width=28),
    Column("品种编码", lambda v: v.item.item_code, width=12),
    Column("品种", lambda v: f"{v.item.generic_name} {v.item.dosage_form_group}", width=24),
    Column("报量", lambda v: v.reported_qty, numeric=True, width=10),
    Column("比例", lambda v: v.ratio, numeric=True, width=8),
    Column("约定采购量", lambda v: v.agreed_qty, numeric=True, width=12),
    Column("供应企业", lambda v: v.supplier.name if v.supplier else "无主供企业", width=24),
    Column("来源", lambda v: v.get_source_display(), width=10),
    Column("已调整", lambda v: v.adjusted, width=6),
]
VOLUME_SOURCES = [*AgreedVolume.Source.choices, ("adjusted", "医保局已调整")]


@scoped_page
def volume_list(request):
    actor = request.user
    filters = [
        Filter("batch", "批次编码", placeholder="如 GY-YD2024-1"),
        Filter("year", "协议年度", [(str(n), f"第{n}年度") for n in range(1, 6)]),
        Filter("item", "品种编码"),
        Filter("institution", "机构代码"),
        Filter("region", "地区代码（含下级）"),
        Filter("source", "来源", VOLUME_SOURCES),
        Filter("problem", "问题", [("no_supplier", "无主供企业")]),
    ]
    values = filter_values(request, filters)
    qs = queries.list_volumes(actor, **values)
    manager = access.can_manage_batches(actor)
    page = ListPage(
        "约定采购量",
        VOLUME_COLUMNS,
        filters,
        "机构或品种",
        "约定采购量",
        template="agreements/volume_list.html",
        context={
            "can_compute": manager,
            "batches": Batch.objects.order_by("-cycle_start", "code") if manager else [],
            "next": request.get_full_path(),
        },
    )
    return render_list(request, page, qs, values)


@scoped_page
def volume_detail(request, pk: int):
    volume = queries.get_volume(request.user, pk)
    return render(
        request,
        "agreements/volume_detail.html",
        {
            "volume": volume,
            "adjustments": list(queries.volume_adjustments(request.user, volume)),
            "can_adjust": queries.can_adjust(request.user, volume),
            "breadcrumbs": [("约定采购量", reverse("agreements:volumes")), (volume.institution.name, None)],
        },
    )


@require_POST
@scoped_page
def volume_adjust(request, pk: int):
    # Out of scope (or not a bureau above the institution) answers 404 from the action itself.
    try:
        actions.adjust_agreed_volume(
            actor=request.user,
            volume_id=pk,
            agreed_qty=request.POST.get("agreed_qty", ""),
            reason=request.POST.get("reason", ""),
        )
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "约定采购量已调整")
    return HttpResponseRedirect(reverse("agreements:volume", args=[pk]))


@require_POST
@scoped_page
def volume_compute(request):
    return _run_for_batch_year(
        request,
        actions.compute_agreed_volumes,
        "已计算约定采购量",
        "保留调整/导入值",
        reverse("agreements:volumes"),
    )


# ---- delivery relationships ---------------------------------------------------------------------------

RELATIONSHIP_COLUMNS = [
    Column("供应企业", lambda r: r.supplier.name, lambda r: _company_url(r.supplier), width=28),
    Column("地区代码", lambda r: r.region.code, width=10),
    Column("地区", lambda r: r.region.name, width=16),
    Column("级别", lambda r: r.region.get_level_display(), width=8),
    Column("配送企业", lambda r: r.distributor.name, lambda r: _company_url(r.distributor), width=28),
    Column("配送企业信用代码", lambda r: r.distributor.code, width=22),
]


@scoped_page
def relationship_list(request):
    actor = request.user
    filters = [Filter("region", "地区代码", placeholder="如 371000")]
    values = filter_values(request, filters)
    qs = queries.list_relationships(actor, q=values["q"], region=values["region"])
    is_supplier = access.company_of(actor) is not None and getattr(actor, "role", None) == Role.MANUFACTURER
    page = ListPage(
        "配送关系",
        RELATIONSHIP_COLUMNS,
        filters,
        "企业或地区名称",
        "配送关系",
        template="agreements/relationship_list.html",
        context={
            "is_supplier": is_supplier,
            "regions": list(queries.supplier_regions(actor)) if is_supplier else [],
            "distributors": list(queries.distributor_choices()) if is_supplier else [],
            "own": list(queries.list_relationships(actor, supplier=actor.organisation.company.code))
            if is_supplier
            else [],
        },
    )
    return render_list(request, page, qs, values)


@require_POST
@scoped_page
def relationship_set(request):
    try:
        rel = actions.set_delivery_relationship(
            actor=request.user,
            region_code=request.POST.get("region", ""),
            distributor_code=request.POST.get("distributor", ""),
        )
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已设置 {rel.region.name} 的配送企业：{rel.distributor.name}")
    return HttpResponseRedirect(reverse("agreements:delivery_relationships"))


@require_POST
@scoped_page
def relationship_remove(request, region_code: str):
    try:
        actions.remove_delivery_relationship(actor=request.user, region_code=region_code)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已删除配送关系")
    return HttpResponseRedirect(reverse("agreements:delivery_relationships"))
