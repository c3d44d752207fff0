"""Batch pages: batches, items, winners, substitutes and listing prices (lists with XLSX export, details)."""

from django.shortcuts import render
from django.urls import reverse

from jicai.batches import queries
from jicai.batches.models import BatchKind, SubstituteDegree, WinnerRole
from jicai.registry.views import company_url, product_url
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list


def batch_url(code: str) -> str:
    return reverse("batches:batch", args=[code])


def item_url(batch_code: str, item_code: str) -> str:
    return reverse("batches:item", args=[batch_code, item_code])


def _province_choices(provinces) -> list[tuple[str, str]]:
    return [(p.code, p.name) for p in provinces]


def _default_province_code(actor) -> str:
    province = queries.default_province(actor)
    return province.code if province else ""


# ---- batches -------------------------------------------------------------------------------------

BATCH_FILTERS = [Filter("kind", "类型", BatchKind.choices)]
BATCH_COLUMNS = [
    Column("批次编码", lambda b: b.code, lambda b: batch_url(b.code), width=16),
    Column("名称", lambda b: b.name, width=30),
    Column("类型", lambda b: b.get_kind_display(), width=10),
    Column("采购周期开始", lambda b: b.cycle_start, width=12),
    Column("采购周期结束", lambda b: b.cycle_end, width=12),
    Column("品种数", lambda b: b.item_count, numeric=True, width=8),
]


@scoped_page
def batch_list(request):
    values = filter_values(request, BATCH_FILTERS)
    qs = queries.list_batches(request.user, q=values["q"], kind=values["kind"])
    page = ListPage("集采批次", BATCH_COLUMNS, BATCH_FILTERS, "批次编码或名称", "集采批次")
    return render_list(request, page, qs, values)


BATCH_ITEMS_SHOWN = 50


@scoped_page
def batch_detail(request, code):
    batch = queries.get_batch(request.user, code)
    items = queries.batch_items(request.user, batch)
    return render(
        request,
        "batches/batch_detail.html",
        {
            "batch": batch,
            "years": list(batch.agreement_years.all()),
            "items": list(items[:BATCH_ITEMS_SHOWN]),
            "item_count": items.count(),
            "breadcrumbs": [("集采批次", reverse("batches:batches")), (batch.code, None)],
        },
    )


# ---- items of a batch ----------------------------------------------------------------------------

ITEM_COLUMNS = [
    Column("品种编码", lambda i: i.item_code, lambda i: item_url(i.batch.code, i.item_code), width=14),
    Column("通用名", lambda i: i.generic_name, width=20),
    Column("剂型组", lambda i: i.dosage_form_group, width=14),
    Column("中选企业数", lambda i: i.winner_count, numeric=True, width=10),
]


def _batch_page_context(batch, label: str) -> dict:
    return {
        "batch": batch,
        "breadcrumbs": [
            ("集采批次", reverse("batches:batches")),
            (batch.code, batch_url(batch.code)),
            (label, None),
        ],
    }


@scoped_page
def item_list(request, code):
    batch = queries.get_batch(request.user, code)
    values = filter_values(request, [])
    qs = queries.list_items(request.user, batch=batch.code, q=values["q"])
    page = ListPage(
        f"{batch.code} 采购品种",
        ITEM_COLUMNS,
        [],
        "品种编码或通用名",
        f"{batch.code}_采购品种",
        context=_batch_page_context(batch, "采购品种"),
    )
    return render_list(request, page, qs, values)


@scoped_page
def item_detail(request, code, item_code):
    actor = request.user
    item = queries.get_item(actor, code, item_code)
    provinces = list(queries.winner_provinces(actor, item=item))
    wanted = request.GET.get("province") or _default_province_code(actor)
    province = next((p for p in provinces if p.code == wanted), None) or (provinces[0] if provinces else None)
    return render(
        request,
        "batches/item_detail.html",
        {
            "item": item,
            "winners": list(queries.item_winners(actor, item)),
            "provinces": provinces,
            "province": province,
            "non_winning": list(queries.non_winning_products(actor, item, province)) if province else [],
            "substitutes": list(queries.list_substitutes(actor, batch=item.batch.code, item=item.item_code)),
            "breadcrumbs": [
                ("集采批次", reverse("batches:batches")),
                (item.batch.code, batch_url(item.batch.code)),
                (f"{item.generic_name}（{item.item_code}）", None),
            ],
        },
    )


# ---- winners of a batch --------------------------------------------------------------------------

WINNER_COLUMNS = [
    Column(
        "品种编码",
        lambda w: w.item.item_code,
        lambda w: item_url(w.item.batch.code, w.item.item_code),
        width=12,
    ),
    Column("通用名", lambda w: w.item.generic_name, width=18),
    Column("省份", lambda w: w.province.name, width=10),
    Column("角色", lambda w: w.get_role_display(), width=10),
    Column("产品编码", lambda w: w.product.code, lambda w: product_url(w.product.code), width=28),
    Column("规格", lambda w: w.product.spec),
    Column(
        "生产企业",
        lambda w: w.product.manufacturer.name,
        lambda w: company_url(w.product.manufacturer.code),
        width=28,
    ),
    Column("中选价（元）", lambda w: w.winning_price, numeric=True, width=12),
]


@scoped_page
def winner_list(request, code):
    actor = request.user
    batch = queries.get_batch(actor, code)
    filters = [
        Filter("province", "省份", _province_choices(queries.winner_provinces(actor, batch=batch.code))),
        Filter("role", "角色", WinnerRole.choices),
    ]
    values = filter_values(request, filters, defaults={"province": _default_province_code(actor)})
    qs = queries.list_winners(
        actor, batch=batch.code, province=values["province"], role=values["role"], q=values["q"]
    )
    page = ListPage(
        f"{batch.code} 中选结果",
        WINNER_COLUMNS,
        filters,
        "产品编码或企业名称",
        f"{batch.code}_中选结果",
        context=_batch_page_context(batch, "中选结果"),
    )
    return render_list(request, page, qs, values)


# ---- substitutes of a batch ----------------------------------------------------------------------

SUBSTITUTE_COLUMNS = [
    Column(
        "品种编码",
        lambda s: s.item.item_code,
        lambda s: item_url(s.item.batch.code, s.item.item_code),
        width=12,
    ),
    Column("品种通用名", lambda s: s.item.generic_name, width=18),
    Column("可替代产品编码", lambda s: s.product.code, lambda s: product_url(s.product.code), width=28),
    Column("可替代产品通用名", lambda s: s.product.generic_name, width=18),
    Column("规格", lambda s: s.product.spec),
    Column("生产企业", lambda s: s.product.manufacturer.name, width=28),
    Column("替代程度", lambda s: s.get_degree_display(), width=10),
]
SUBSTITUTE_FILTERS = [Filter("degree", "替代程度", SubstituteDegree.choices)]


@scoped_page
def substitute_list(request, code):
    batch = queries.get_batch(request.user, code)
    values = filter_values(request, SUBSTITUTE_FILTERS)
    qs = queries.search_substitutes(request.user, batch=batch.code, q=values["q"], degree=values["degree"])
    page = ListPage(
        f"{batch.code} 可替代药品",
        SUBSTITUTE_COLUMNS,
        SUBSTITUTE_FILTERS,
        "产品编码、通用名或品种编码",
        f"{batch.code}_可替代药品",
        context=_batch_page_context(batch, "可替代药品"),
    )
    return render_list(request, page, qs, values)


# ---- listing prices ------------------------------------------------------------------------------

LISTING_COLUMNS = [
    Column("产品编码", lambda lp: lp.product.code, lambda lp: product_url(lp.product.code), width=28),
    Column("通用名", lambda lp: lp.product.generic_name, width=18),
    Column("规格", lambda lp: lp.product.spec),
    Column(
        "生产企业",
        lambda lp: lp.product.manufacturer.name,
        lambda lp: company_url(lp.product.manufacturer.code),
        width=28,
    ),
    Column("省份", lambda lp: lp.province.name, width=10),
    Column("挂网价（元）", lambda lp: lp.price, numeric=True, width=12),
    Column("生效日期", lambda lp: lp.valid_from, width=12),
    Column("限价（元）", lambda lp: lp.verdict.cap, numeric=True, width=12),
    Column("挂网状态", lambda lp: lp.verdict.label, width=30),
    Column("一致性评价", lambda lp: lp.consistency.label if lp.consistency else "", width=30),
]


@scoped_page
def listing_price_list(request):
    actor = request.user
    filters = [
        Filter("province", "省份", _province_choices(queries.listing_provinces(actor))),
        Filter("product", "产品编码", placeholder="医保编码"),
    ]
    values = filter_values(request, filters, defaults={"province": _default_province_code(actor)})
    qs = queries.list_listing_prices(
        actor, province=values["province"], product=values["product"], q=values["q"]
    )
    page = ListPage(
        "挂网价格",
        LISTING_COLUMNS,
        filters,
        "产品编码或通用名",
        "挂网价格",
        prepare=lambda rows: queries.attach_listing_verdicts(actor, rows),
        context={
            "breadcrumbs": [("挂网价格", None)],
            "list_note": "挂网状态按 SPEC §4 规则计算：供应省份按中选价挂网；中选但非本省供应的产品挂网价不得高于"
            "max(倍数 × 本产品中选价, 品种最高中选价)，倍数取自政策参数“listing_cap_multiple”；"
            "中选企业未列入供应清单的其他规格暂停挂网。一致性评价：同通用名、剂型组通过一致性评价的产品达到"
            "“consistency_min_products”个时，未通过的产品撤网；此前未通过产品的挂网价不得高于最低通过价（按当日生效的挂网价）。",
        },
    )
    return render_list(request, page, qs, values)
