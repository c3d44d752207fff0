"""Master-data pages: lists with search, filters, pagination and XLSX export; scoped detail pages."""

from django.shortcuts import render
from django.urls import reverse

from jicai.batches import queries as batch_queries
from jicai.registry import queries
from jicai.registry.dosage_forms import KNOWN_GROUPS
from jicai.registry.models import CompanyKind, InstitutionLevel, Ownership, ProductCategory, RegionLevel
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list


def region_url(code: str | None) -> str | None:
    return reverse("registry:region", args=[code]) if code else None


def institution_url(code: str | None) -> str | None:
    return reverse("registry:institution", args=[code]) if code else None


def consortium_url(code: str | None) -> str | None:
    return reverse("registry:consortium", args=[code]) if code else None


def company_url(code: str | None) -> str | None:
    return reverse("registry:company", args=[code]) if code else None


def product_url(code: str | None) -> str | None:
    return reverse("registry:product", args=[code]) if code else None


# ---- regions -------------------------------------------------------------------------------------

REGION_FILTERS = [
    Filter("level", "级别", RegionLevel.choices),
    Filter("parent", "上级区划代码", placeholder="如 370000"),
]
REGION_COLUMNS = [
    Column("行政区划代码", lambda r: r.code, lambda r: region_url(r.code)),
    Column("名称", lambda r: r.name, width=20),
    Column("级别", lambda r: r.get_level_display(), width=8),
    Column(
        "上级区划代码",
        lambda r: r.parent.code if r.parent else None,
        lambda r: region_url(r.parent and r.parent.code),
    ),
    Column("上级名称", lambda r: r.parent.name if r.parent else None, width=20),
]


@scoped_page
def region_list(request):
    values = filter_values(request, REGION_FILTERS)
    qs = queries.list_regions(request.user, q=values["q"], level=values["level"], parent=values["parent"])
    page = ListPage("行政区划", REGION_COLUMNS, REGION_FILTERS, "代码前缀或名称", "行政区划")
    return render_list(request, page, qs, values)


@scoped_page
def region_detail(request, code):
    region = queries.get_region(request.user, code)
    children = list(queries.child_regions_with_counts(request.user, region))
    return render(
        request,
        "registry/region_detail.html",
        {
            "region": region,
            "children": children,
            "institution_count": queries.region_institution_count(request.user, region),
            "level_counts": queries.institution_level_counts(request.user, region=region),
            "breadcrumbs": [("行政区划", reverse("registry:regions")), (region.name, None)],
        },
    )


# ---- institutions --------------------------------------------------------------------------------

INSTITUTION_FILTERS = [
    Filter("region", "地区代码（含下级）", placeholder="如 371000"),
    Filter("level", "等级", InstitutionLevel.choices),
    Filter("ownership", "性质", Ownership.choices),
    Filter("consortium", "医共体代码", placeholder="牵头机构代码"),
]
INSTITUTION_COLUMNS = [
    Column("机构代码", lambda i: i.code, lambda i: institution_url(i.code)),
    Column("名称", lambda i: i.name, width=32),
    Column("所在地区", lambda i: i.region.name, lambda i: region_url(i.region.code)),
    Column("地区代码", lambda i: i.region.code, width=10),
    Column("等级", lambda i: i.get_level_display(), width=8),
    Column("性质", lambda i: i.get_ownership_display(), width=8),
    Column(
        "医共体",
        lambda i: i.consortium.name if i.consortium else None,
        lambda i: consortium_url(i.consortium and i.consortium.code),
        width=24,
    ),
]


@scoped_page
def institution_list(request):
    values = filter_values(request, INSTITUTION_FILTERS)
    qs = queries.list_institutions(
        request.user,
        q=values["q"],
        region=values["region"],
        level=values["level"],
        ownership=values["ownership"],
        consortium=values["consortium"],
    )
    page = ListPage("医疗机构", INSTITUTION_COLUMNS, INSTITUTION_FILTERS, "机构代码或名称", "医疗机构")
    return render_list(request, page, qs, values)


@scoped_page
def institution_detail(request, code):
    institution = queries.get_institution(request.user, code)
    led = queries.consortium_of_lead(request.user, institution)
    members = list(queries.consortium_members(request.user, led)) if led else []
    return render(
        request,
        "registry/institution_detail.html",
        {
            "institution": institution,
            "led_consortium": led,
            "members": members,
            "breadcrumbs": [("医疗机构", reverse("registry:institutions")), (institution.name, None)],
        },
    )


# ---- consortia -----------------------------------------------------------------------------------

CONSORTIUM_COLUMNS = [
    Column("医共体代码", lambda c: c.code, lambda c: consortium_url(c.code)),
    Column("名称", lambda c: c.name, width=28),
    Column(
        "牵头机构",
        lambda c: c.lead.name if c.lead else None,
        lambda c: institution_url(c.lead and c.lead.code),
        width=28,
    ),
    Column("所在地区", lambda c: c.lead.region.name if c.lead else None),
    Column("成员数", lambda c: c.member_count, numeric=True, width=8),
]


@scoped_page
def consortium_list(request):
    values = filter_values(request, [])
    qs = queries.list_consortia(request.user, q=values["q"])
    page = ListPage("紧密型医共体", CONSORTIUM_COLUMNS, [], "代码或名称", "医共体")
    return render_list(request, page, qs, values)


@scoped_page
def consortium_detail(request, code):
    consortium = queries.get_consortium(request.user, code)
    return render(
        request,
        "registry/consortium_detail.html",
        {
            "consortium": consortium,
            "members": list(queries.consortium_members(request.user, consortium)),
            "breadcrumbs": [("医共体", reverse("registry:consortia")), (consortium.name, None)],
        },
    )


# ---- companies -----------------------------------------------------------------------------------

COMPANY_FILTERS = [Filter("kind", "类型", CompanyKind.choices)]
COMPANY_COLUMNS = [
    Column("统一社会信用代码", lambda c: c.code, lambda c: company_url(c.code), width=22),
    Column("名称", lambda c: c.name, width=30),
    Column("类型", lambda c: c.get_kind_display(), width=12),
]


@scoped_page
def company_list(request):
    values = filter_values(request, COMPANY_FILTERS)
    qs = queries.list_companies(request.user, q=values["q"], kind=values["kind"])
    page = ListPage("企业", COMPANY_COLUMNS, COMPANY_FILTERS, "信用代码或名称", "企业")
    return render_list(request, page, qs, values)


COMPANY_PRODUCTS_SHOWN = 50


@scoped_page
def company_detail(request, code):
    company = queries.get_company(request.user, code)
    products = queries.company_products(request.user, company)
    return render(
        request,
        "registry/company_detail.html",
        {
            "company": company,
            "products": list(products[:COMPANY_PRODUCTS_SHOWN]),
            "product_count": products.count(),
            "products_url": reverse("registry:products") + f"?manufacturer={company.code}",
            "breadcrumbs": [("企业", reverse("registry:companies")), (company.name, None)],
        },
    )


# ---- products ------------------------------------------------------------------------------------

PRODUCT_FILTERS = [
    Filter("category", "类别", ProductCategory.choices),
    Filter("dosage_form_group", "剂型组", [(g, g) for g in sorted(KNOWN_GROUPS)]),
    Filter("manufacturer", "生产企业信用代码", placeholder="18 位代码"),
]
PRODUCT_COLUMNS = [
    Column("医保编码", lambda p: p.code, lambda p: product_url(p.code), width=28),
    Column("通用名", lambda p: p.generic_name, width=18),
    Column("剂型", lambda p: p.dosage_form, width=10),
    Column("剂型组", lambda p: p.dosage_form_group, width=14),
    Column("规格", lambda p: p.spec),
    Column("包装", lambda p: p.pack),
    Column("最小制剂单位", lambda p: p.unit, width=8),
    Column("包装数量", lambda p: p.units_per_pack, numeric=True, width=8),
    Column("生产企业", lambda p: p.manufacturer.name, lambda p: company_url(p.manufacturer.code), width=28),
    Column("类别", lambda p: p.get_category_display(), width=8),
    Column("一致性评价", lambda p: p.consistency_passed, width=8),
    Column("原研", lambda p: p.originator, width=6),
]


@scoped_page
def product_list(request):
    values = filter_values(request, PRODUCT_FILTERS)
    qs = queries.list_products(
        request.user,
        q=values["q"],
        category=values["category"],
        manufacturer=values["manufacturer"],
        dosage_form_group=values["dosage_form_group"],
    )
    page = ListPage("产品", PRODUCT_COLUMNS, PRODUCT_FILTERS, "医保编码、通用名或规格", "产品")
    return render_list(request, page, qs, values)


@scoped_page
def product_detail(request, code):
    product = queries.get_product(request.user, code)
    actor = request.user
    listing_prices = list(batch_queries.list_listing_prices(actor, product=product.code))
    batch_queries.attach_listing_verdicts(actor, listing_prices)
    return render(
        request,
        "registry/product_detail.html",
        {
            "product": product,
            "items": list(batch_queries.product_items(actor, product)),
            "winner_rows": list(batch_queries.product_winner_rows(actor, product)),
            "factors": list(batch_queries.product_item_factors(actor, product)),
            "listing_prices": listing_prices,
            "breadcrumbs": [
                ("产品", reverse("registry:products")),
                (f"{product.generic_name} {product.spec}", None),
            ],
        },
    )
