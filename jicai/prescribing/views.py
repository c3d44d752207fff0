"""Pages of SPEC §11 prescribing: the substitute catalogue (add/remove with a reason), quarterly limits
(proposals, confirm/edit/dismiss) and the prompts with outcomes and reasons — per doctor for 处方点评
feedback. Thin: parse, call one action or query, render; lists export with ?export=xlsx."""

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse

from jicai.accounts import access
from jicai.core.errors import DomainError, NotFound
from jicai.prescribing import catalogue
from jicai.prescribing.models import Outcome
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list


def _act(request, fn, success: str, target: str):
    try:
        fn()
        messages.success(request, success)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, exc.message)
    return redirect(target)


CATALOGUE_COLUMNS = (
    Column("品种", lambda e: f"{e.item.generic_name}（{e.item.item_code}）"),
    Column("产品编码", lambda e: e.product.code),
    Column("通用名", lambda e: e.product.generic_name),
    Column("规格", lambda e: e.product.spec),
    Column("生产企业", lambda e: e.product.manufacturer.name),
    Column("状态", lambda e: "在目录中" if e.active else "已移出"),
    Column("来源", lambda e: "批次可替代清单" if e.from_batch else "本院增加"),
    Column("原因", lambda e: e.reason),
)


@scoped_page
def catalogue_page(request):
    if request.method == "POST":
        return _act(
            request,
            lambda: catalogue.set_entry(
                actor=request.user,
                item_code=request.POST.get("item", "").strip(),
                product_code=request.POST.get("product", "").strip(),
                active=request.POST.get("action") != "remove",
                reason=request.POST.get("reason", ""),
            ),  # fmt: skip
            "可替代药品目录已更新",
            reverse("prescribing:catalogue"),
        )
    values = filter_values(request, [])
    qs = catalogue.entries(request.user).order_by("item__item_code", "product__code")
    if values["q"]:
        qs = qs.filter(
            Q(product__code__icontains=values["q"]) | Q(product__generic_name__icontains=values["q"])
        )
    page = ListPage(
        title="本院可替代药品目录",
        columns=CATALOGUE_COLUMNS,
        export_name="可替代药品目录",
        template="prescribing/catalogue.html",
    )
    return render_list(request, page, qs, values)


LIMIT_COLUMNS = (
    Column("适用季度", lambda r: r.quarter),
    Column("品种", lambda r: r.item.item_code),
    Column("产品", lambda r: f"{r.product.generic_name} {r.product.spec}（{r.product.code}）"),
    Column("上年同季度用量", lambda r: r.last_year_qty, numeric=True),
    Column("建议", lambda r: "暂停" if r.proposed_suspend else f"限量 {r.proposed_qty}"),
    Column("状态", lambda r: r.get_status_display()),
    Column("执行", lambda r: catalogue.describe(r) if r.status != "proposed" else "—"),
    Column("说明", lambda r: r.note),
)


@scoped_page
def limits_page(request):
    target = reverse("prescribing:limits")
    if request.method == "POST":
        if request.POST.get("propose"):
            quarter = request.POST.get("quarter", "").strip().upper()
            return _act(
                request,
                lambda: catalogue.propose(
                    actor=request.user, institution=catalogue.require_pharmacy(request.user), quarter=quarter
                ),
                f"已生成 {quarter} 季末限量建议",
                target,
            )
        try:
            pk = int(request.POST.get("limit", ""))
        except ValueError:
            raise NotFound(catalogue.NOT_FOUND) from None
        return _act(
            request,
            lambda: catalogue.decide(
                actor=request.user,
                pk=pk,
                decision=request.POST.get("decision", ""),
                limit_qty=request.POST.get("limit_qty"),
                suspended=request.POST.get("suspended") == "on",
                note=request.POST.get("note", ""),
            ),  # fmt: skip
            "限量建议已处理",
            target,
        )
    values = filter_values(request, [Filter("quarter", "季度")])
    qs = catalogue.limits(request.user).order_by("-quarter", "product__code")
    if values["quarter"]:
        qs = qs.filter(quarter=values["quarter"].upper())
    if values["q"]:
        qs = qs.filter(
            Q(product__code__icontains=values["q"]) | Q(product__generic_name__icontains=values["q"])
        )
    page = ListPage(
        title="可替代药品限量与暂停",
        columns=LIMIT_COLUMNS,
        filters=[Filter("quarter", "季度", placeholder="如 2025Q2")],
        export_name="可替代药品限量",
        template="prescribing/limits.html",
        context={"proposed": list(qs.filter(status="proposed")[:200])},
    )
    return render_list(request, page, qs, values)


PROMPT_COLUMNS = (
    Column("时间", lambda p: p.created_at),
    Column(
        "医师", lambda p: p.doctor_code, link=lambda p: reverse("prescribing:doctor", args=[p.doctor_code])
    ),
    Column("品种", lambda p: f"{p.item.generic_name}（{p.item.item_code}）"),
    Column("处方药品", lambda p: f"{p.product.generic_name} {p.product.spec}（{p.product.code}）"),
    Column("数量", lambda p: p.qty, numeric=True),
    Column("级别", lambda p: p.get_level_display()),
    Column("结果", lambda p: p.get_outcome_display()),
    Column("理由", lambda p: p.get_reason_display() if p.reason else ""),
    Column("理由说明", lambda p: p.reason_text),
)
OUTCOME_FILTER = Filter("outcome", "结果", choices=[("pending", "未反馈"), *Outcome.choices[1:]])


def _prompt_list(request, qs, title: str):
    values = filter_values(request, [OUTCOME_FILTER])
    qs = qs.select_related("item", "product").order_by("-created_at", "-id")
    if values["outcome"]:
        qs = qs.filter(outcome="" if values["outcome"] == "pending" else values["outcome"])
    if values["q"]:
        qs = qs.filter(Q(product__code__icontains=values["q"]) | Q(doctor_code__icontains=values["q"]))
    page = ListPage(title=title, columns=PROMPT_COLUMNS, filters=[OUTCOME_FILTER], export_name=title)
    return render_list(request, page, qs, values)


@scoped_page
def prompt_list(request):
    return _prompt_list(request, access.visible_prompts(request.user), "处方提醒记录")


@scoped_page
def doctor_prompts(request, doctor_code: str):
    doctor = access.visible_prompt_doctors(request.user).filter(code=doctor_code).first()
    if doctor is None:
        raise NotFound(catalogue.NOT_FOUND)
    qs = access.visible_prompts(request.user).filter(doctor_code=doctor_code)
    return _prompt_list(request, qs, f"处方点评：{doctor.name}（{doctor.code}）的处方提醒")
