"""Master-data pages: lists (search, filters, pagination, XLSX), details, scope (404) and query counts."""

import pytest

from jicai.batches.models import ItemFactor, ListingPrice, Substitute
from jicai.registry.models import Institution, Product
from tests.web.helpers import assert_csp_clean, html, make_consortium, table_rows, xlsx_rows

pytestmark = pytest.mark.django_db


def codes(response) -> list[str]:
    return [row[0] for row in table_rows(response)]


# ---- regions -------------------------------------------------------------------------------------


def test_region_list_for_province_bureau_shows_whole_province(world, client_for):
    response = client_for(world.province_bureau).get("/registry/regions/")
    assert codes(response) == ["370000", "370200", "370202", "371000", "371002"]
    assert_csp_clean(response)


def test_region_list_for_city_bureau_shows_only_its_subtree(world, client_for):
    response = client_for(world.city_bureau).get("/registry/regions/")
    assert codes(response) == ["371000", "371002"]


def test_region_list_search_and_level_filter(world, client_for):
    client = client_for(world.admin)
    assert codes(client.get("/registry/regions/", {"q": "青岛"})) == ["370200"]
    assert codes(client.get("/registry/regions/", {"q": "3710"})) == ["371000", "371002"]
    assert codes(client.get("/registry/regions/", {"level": "county"})) == ["370202", "371002"]
    assert codes(client.get("/registry/regions/", {"parent": "370000"})) == ["370200", "371000"]


def test_region_detail_lists_children_with_institution_counts(world, client_for):
    response = client_for(world.province_bureau).get("/registry/regions/370000/")
    assert response.status_code == 200
    assert table_rows(response, "children") == [
        ["370200", "青岛市", "市", "1"],
        ["371000", "威海市", "市", "2"],
    ]
    assert 'data-testid="institution-count">3<' in html(response)
    assert table_rows(response, "level-counts") == [["1", "1", "0", "1"]]


@pytest.mark.parametrize(
    "persona, code",
    [
        ("city_bureau", "370200"),
        ("city_bureau", "370000"),
        ("county_bureau", "371000"),
        ("other_city_bureau", "371002"),
    ],
)
def test_region_outside_bureau_subtree_is_404(world, client_for, persona, code):
    assert client_for(getattr(world, persona)).get(f"/registry/regions/{code}/").status_code == 404


def test_region_xlsx_export_has_chinese_headers_and_all_filtered_rows(world, client_for):
    response = client_for(world.admin).get("/registry/regions/", {"level": "city", "export": "xlsx"})
    rows = xlsx_rows(response)
    assert rows[0] == ("行政区划代码", "名称", "级别", "上级区划代码", "上级名称")
    assert rows[1:] == [
        ("370200", "青岛市", "市", "370000", "山东省"),
        ("371000", "威海市", "市", "370000", "山东省"),
    ]


# ---- institutions --------------------------------------------------------------------------------


def test_institution_list_is_scoped(world, client_for):
    assert codes(client_for(world.pharmacist).get("/registry/institutions/")) == ["H37100200001"]
    assert codes(client_for(world.city_bureau).get("/registry/institutions/")) == [
        "H37100200001",
        "H37100200002",
    ]
    assert codes(client_for(world.other_city_bureau).get("/registry/institutions/")) == ["H37020200001"]
    assert codes(client_for(world.distributor_user).get("/registry/institutions/")) == []


def test_institution_list_filters(world, client_for):
    client = client_for(world.province_bureau)
    assert codes(client.get("/registry/institutions/", {"level": "grassroots"})) == ["H37100200002"]
    assert codes(client.get("/registry/institutions/", {"region": "370200"})) == ["H37020200001"]
    assert codes(client.get("/registry/institutions/", {"q": "社区"})) == ["H37100200002"]
    assert codes(client.get("/registry/institutions/", {"region": "371000", "level": "secondary"})) == [
        "H37100200001"
    ]


def test_institution_detail_for_own_institution(world, client_for):
    response = client_for(world.pharmacist).get("/registry/institutions/H37100200001/")
    body = html(response)
    assert response.status_code == 200
    assert "威海市环翠区人民医院" in body and "环翠区" in body and "二级" in body and "未加入医共体" in body


@pytest.mark.parametrize(
    "persona, code",
    [
        ("pharmacist", "H37020200001"),
        ("doctor", "H37020200001"),
        ("other_pharmacist", "H37100200001"),
        ("city_bureau", "H37020200001"),
        ("county_bureau", "H37020200001"),
        ("distributor_user", "H37100200001"),
        ("other_manufacturer", "H37100200001"),
    ],
)
def test_other_organisations_institution_detail_is_404(world, client_for, persona, code):
    response = client_for(getattr(world, persona)).get(f"/registry/institutions/{code}/")
    assert response.status_code == 404
    assert "未找到该页面或记录" in html(response)


def test_lead_institution_detail_lists_members_and_member_sees_only_itself(world, client_for):
    make_consortium(world)
    response = client_for(world.pharmacist).get("/registry/institutions/H37100200001/")
    assert [r[0] for r in table_rows(response, "members")] == ["H37100200001", "H37100200002"]
    # The lead sees its member's page too (access.visible_institutions).
    assert client_for(world.pharmacist).get("/registry/institutions/H37100200002/").status_code == 200


# ---- consortia -----------------------------------------------------------------------------------


def test_consortium_list_and_detail(world, client_for):
    make_consortium(world)
    client = client_for(world.city_bureau)
    assert table_rows(client.get("/registry/consortia/")) == [
        ["H37100200001", "环翠区医共体", "威海市环翠区人民医院", "环翠区", "2"]
    ]
    detail = client.get(f"/registry/consortia/{world.hospital.code}/")
    assert [r[1] for r in table_rows(detail, "members")] == [
        "威海市环翠区人民医院",
        "环翠区竹岛街道社区卫生服务中心",
    ]


def test_consortium_of_another_region_is_404(world, client_for):
    make_consortium(world)
    assert (
        client_for(world.other_city_bureau).get(f"/registry/consortia/{world.hospital.code}/").status_code
        == 404
    )
    assert (
        client_for(world.other_pharmacist).get(f"/registry/consortia/{world.hospital.code}/").status_code
        == 404
    )
    response = client_for(world.other_city_bureau).get("/registry/consortia/")
    assert table_rows(response) == [] and "没有符合条件的记录" in html(response)


# ---- companies and products ----------------------------------------------------------------------


def test_company_list_filter_and_detail(world, client_for):
    client = client_for(world.doctor)
    rows = table_rows(client.get("/registry/companies/", {"kind": "distributor"}))
    assert rows == [[world.distributor.code, "国药控股山东有限公司", "配送企业"]]
    detail = client.get(f"/registry/companies/{world.maker.code}/")
    assert [r[0] for r in table_rows(detail, "products")] == ["XC10AAA001A001010100001"]
    assert client.get("/registry/companies/91370000MA0000000X/").status_code == 404


def test_product_detail_shows_items_winners_factors_and_listing_prices(world, client_for):
    ItemFactor.objects.create(item=world.item, product=world.product, factor="0.5")
    ListingPrice.objects.create(
        product=world.product, province=world.province, price="0.1200", valid_from="2024-03-01"
    )
    response = client_for(world.pharmacist).get(f"/registry/products/{world.product.code}/")
    assert table_rows(response, "product-items") == [
        ["GY-YD2023-1", "GY7-001", "阿托伐他汀钙", "口服常释剂型"]
    ]
    assert table_rows(response, "product-winners") == [["GY-YD2023-1", "GY7-001", "山东省", "主供", "0.1200"]]
    assert table_rows(response, "product-factors") == [["GY-YD2023-1", "GY7-001", "0.5"]]
    assert table_rows(response, "product-listing-prices") == [
        ["山东省", "0.1200", "2024-03-01", "0.1200", "按中选价挂网"]
    ]


def test_unknown_product_is_404(world, client_for):
    assert client_for(world.admin).get("/registry/products/XC10AAA001A001010199999/").status_code == 404


def make_products(world, n: int, prefix="XC10BBB001A0010101"):
    Product.objects.bulk_create(
        [
            Product(
                code=f"{prefix}{i:05d}",
                generic_name="氨氯地平",
                dosage_form="片剂",
                dosage_form_group="口服常释剂型",
                spec=f"{i}mg",
                unit="片",
                units_per_pack=7,
                manufacturer=world.other_maker,
                category="western",
            )
            for i in range(n)
        ]
    )


def test_product_list_paginates_by_fifty_and_page_links_keep_filters(world, client_for):
    make_products(world, 120)
    client = client_for(world.manufacturer)
    first = client.get("/registry/products/", {"q": "氨氯地平"})
    assert len(table_rows(first)) == 50
    assert "共 120 条，第 1/3 页" in html(first)
    assert "?q=%E6%B0%A8%E6%B0%AF%E5%9C%B0%E5%B9%B3&amp;page=2" in html(first)
    third = client.get("/registry/products/", {"q": "氨氯地平", "page": 3})
    assert len(table_rows(third)) == 20
    assert table_rows(third)[-1][0] == "XC10BBB001A001010100119"
    # An out-of-range page shows the last page rather than an error.
    assert (
        table_rows(client.get("/registry/products/", {"q": "氨氯地平", "page": 99}))[-1][0]
        == "XC10BBB001A001010100119"
    )


def test_product_list_count_stops_at_the_cap_and_says_so(world, client_for, monkeypatch):
    """120 products, cap 100: "100+" rows, 2 pages reachable (rows 1–100), a note pointing to filters and
    the export; the export itself still has all 120 rows."""
    monkeypatch.setattr("jicai.core.counts.COUNT_CAP", 100)
    make_products(world, 120)
    client = client_for(world.manufacturer)
    first = client.get("/registry/products/", {"q": "氨氯地平"})
    page = html(first)
    assert "共 100+ 条，第 1/2+ 页" in page
    assert "超过 100 条：分页只列出前 100 条" in page
    assert "导出 Excel（全部 100+ 条）" in page
    second = client.get("/registry/products/", {"q": "氨氯地平", "page": 2})
    assert len(table_rows(second)) == 50
    assert table_rows(second)[-1][0] == "XC10BBB001A001010100099"
    export = client.get("/registry/products/", {"q": "氨氯地平", "export": "xlsx"})
    assert len(xlsx_rows(export)) == 121
    # Below the cap nothing changes: exact count, no note.
    few = client.get("/registry/products/", {"q": "XC10BBB001A00101010000"})
    assert "共 10 条" in html(few) and "超过" not in html(few)


def test_product_xlsx_export_contains_whole_filtered_list(world, client_for):
    make_products(world, 120)
    response = client_for(world.admin).get("/registry/products/", {"q": "氨氯地平", "export": "xlsx"})
    assert "attachment" in response["Content-Disposition"]
    rows = xlsx_rows(response)
    assert rows[0][:4] == ("医保编码", "通用名", "剂型", "剂型组")
    assert len(rows) == 121
    assert rows[1] == (
        "XC10BBB001A001010100000",
        "氨氯地平",
        "片剂",
        "口服常释剂型",
        "0mg",
        None,
        "片",
        7,
        "华北制药股份有限公司",
        "西药",
        "否",
        "否",
    )


def test_product_filters_by_manufacturer_and_category(world, client_for):
    client = client_for(world.admin)
    assert codes(client.get("/registry/products/", {"manufacturer": world.maker.code})) == [
        "XC10AAA001A001010100001"
    ]
    assert codes(client.get("/registry/products/", {"category": "consumable"})) == []


# ---- query counts --------------------------------------------------------------------------------


def grow(world, n: int, start: int):
    """n more rows of every master table, all inside the province bureau's scope."""
    from jicai.core.codes import make_uscc
    from jicai.registry.models import Company, Consortium, Region

    make_products(world, n, prefix=f"XC10E{start:02d}001A0010101"[:18])
    Institution.objects.bulk_create(
        [
            Institution(
                code=f"H371002{start * 100 + i:05d}",
                name=f"诊所{start}-{i}",
                region=world.county,
                level="primary",
                ownership="private",
            )
            for i in range(n)
        ]
    )
    Company.objects.bulk_create(
        [
            Company(code=make_uscc(f"91370000MB{start * 100 + i:07d}"), name=f"企业{start}-{i}", kind="both")
            for i in range(n)
        ]
    )
    Consortium.objects.bulk_create(
        [
            Consortium(
                code=f"H371002{start * 100 + i:05d}",
                name=f"医共体{start}-{i}",
                lead=Institution.objects.get(code=f"H371002{start * 100 + i:05d}"),
            )
            for i in range(n)
        ]
    )
    Region.objects.bulk_create(
        [
            Region(
                code=f"37{start:02d}{i:02d}",
                name=f"测试区{start}-{i}",
                parent=world.city,
                level="county",
                path=f"{world.city.path}37{start:02d}{i:02d}/",
            )
            for i in range(n)
        ]
    )


@pytest.mark.parametrize(
    "url",
    [
        "/registry/products/",
        "/registry/institutions/",
        "/registry/regions/",
        "/registry/companies/",
        "/registry/consortia/",
    ],
)
def test_list_query_count_does_not_grow_with_rows(world, client_for, django_assert_max_num_queries, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world.province_bureau)
    grow(world, 10, start=11)
    with CaptureQueriesContext(connection) as small:
        assert len(table_rows(client.get(url))) >= 10
    grow(world, 90, start=12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(table_rows(client.get(url))) == 50


def test_substitute_rows_do_not_break_product_detail(world, client_for):
    Substitute.objects.create(item=world.item, product=world.other_product, degree="full")
    assert client_for(world.admin).get(f"/registry/products/{world.other_product.code}/").status_code == 200


def test_institution_company_and_consortium_exports_follow_scope_and_filters(world, client_for):
    make_consortium(world)
    city = client_for(world.city_bureau)
    rows = xlsx_rows(city.get("/registry/institutions/", {"level": "grassroots", "export": "xlsx"}))
    assert rows == [
        ("机构代码", "名称", "所在地区", "地区代码", "等级", "性质", "医共体"),
        (
            "H37100200002",
            "环翠区竹岛街道社区卫生服务中心",
            "环翠区",
            "371002",
            "基层",
            "公立",
            "环翠区医共体",
        ),
    ]
    assert [
        r[0]
        for r in xlsx_rows(
            client_for(world.other_city_bureau).get("/registry/institutions/", {"export": "xlsx"})
        )[1:]
    ] == ["H37020200001"]
    assert xlsx_rows(city.get("/registry/consortia/", {"export": "xlsx"}))[1] == (
        "H37100200001",
        "环翠区医共体",
        "威海市环翠区人民医院",
        "环翠区",
        2,
    )
    companies = xlsx_rows(city.get("/registry/companies/", {"kind": "manufacturer", "export": "xlsx"}))
    assert [r[1] for r in companies[1:]] == ["齐鲁制药有限公司", "华北制药股份有限公司"]
