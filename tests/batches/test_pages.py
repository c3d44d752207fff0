"""Batch pages: list, detail with agreement years, items, item detail, winners, substitutes, listing prices."""

import datetime as dt
from decimal import Decimal

import pytest

from jicai.batches.models import Item, ListingPrice, Substitute, Winner
from jicai.policy.models import PolicyProfile
from tests import factories
from tests.web.helpers import assert_csp_clean, html, table_rows, xlsx_rows

pytestmark = pytest.mark.django_db
BATCH = "/batches/GY-YD2023-1"


def test_batch_list_search_and_kind_filter(world, client_for):
    factories.batch(code="SD-2025-1", kind="provincial", start=dt.date(2025, 7, 1), end=dt.date(2027, 6, 30))
    client = client_for(world.pharmacist)
    assert [r[0] for r in table_rows(client.get("/batches/"))] == ["SD-2025-1", "GY-YD2023-1"]
    assert [r[0] for r in table_rows(client.get("/batches/", {"kind": "national"}))] == ["GY-YD2023-1"]
    assert [r[0] for r in table_rows(client.get("/batches/", {"q": "SD-"}))] == ["SD-2025-1"]
    rows = xlsx_rows(client.get("/batches/", {"kind": "national", "export": "xlsx"}))
    assert rows[0] == ("批次编码", "名称", "类型", "采购周期开始", "采购周期结束", "品种数")
    assert rows[1][0] == "GY-YD2023-1" and rows[1][3].date().isoformat() == "2024-03-01" and rows[1][5] == 1


def test_batch_detail_shows_agreement_years_and_items(world, client_for):
    response = client_for(world.manufacturer).get(f"{BATCH}/")
    assert response.status_code == 200
    assert table_rows(response, "agreement-years") == [
        ["第 1 年", "2024-03-01", "2025-02-28"],
        ["第 2 年", "2025-03-01", "2026-02-28"],
        ["第 3 年", "2026-03-01", "2027-02-28"],
    ]
    assert table_rows(response, "batch-items") == [["GY7-001", "阿托伐他汀钙", "口服常释剂型", "1"]]
    assert_csp_clean(response)


def test_unknown_batch_is_404_on_every_batch_page(world, client_for):
    client = client_for(world.province_bureau)
    for suffix in ["", "items/", "winners/", "substitutes/", "items/GY7-001/"]:
        assert client.get(f"/batches/NOPE/{suffix}").status_code == 404
    assert client.get(f"{BATCH}/items/GY7-999/").status_code == 404


def add_second_winner(world, role="backup", price="0.2000"):
    Winner.objects.create(
        item=world.item,
        product=world.other_product,
        province=world.province,
        role=role,
        winning_price=Decimal(price),
    )


def test_item_list_counts_distinct_winning_companies(world, client_for):
    add_second_winner(world)
    Item.objects.create(
        batch=world.batch, item_code="GY7-002", generic_name="氨氯地平", dosage_form_group="口服常释剂型"
    )
    response = client_for(world.doctor).get(f"{BATCH}/items/")
    assert table_rows(response) == [
        ["GY7-001", "阿托伐他汀钙", "口服常释剂型", "2"],
        ["GY7-002", "氨氯地平", "口服常释剂型", "0"],
    ]
    assert [r[0] for r in table_rows(client_for(world.doctor).get(f"{BATCH}/items/", {"q": "氨氯"}))] == [
        "GY7-002"
    ]


def test_item_detail_lists_winners_nonwinning_products_and_substitutes(world, client_for):
    substitute = factories.product(
        "XC10AAA002A001010100003", world.other_maker, generic_name="瑞舒伐他汀钙", spec="10mg"
    )
    Substitute.objects.create(item=world.item, product=substitute, degree="most")
    response = client_for(world.pharmacist).get(f"{BATCH}/items/GY7-001/")
    assert table_rows(response, "item-winners") == [
        ["山东省", "主供", "XC10AAA001A001010100001", "20mg", "齐鲁制药有限公司", "0.1200"]
    ]
    # The other maker's atorvastatin has no winner row in 山东省: non-winning there.
    assert table_rows(response, "item-nonwinning") == [
        ["XC10AAA001A001010100002", "片剂", "20mg", "华北制药股份有限公司"]
    ]
    assert table_rows(response, "item-substitutes") == [
        ["XC10AAA002A001010100003", "瑞舒伐他汀钙", "10mg", "华北制药股份有限公司", "大部分替代"]
    ]


def test_item_detail_nonwinning_is_per_province(world, client_for):
    beijing = factories.region("110000", "北京市")
    Winner.objects.create(
        item=world.item,
        product=world.other_product,
        province=beijing,
        role="main",
        winning_price=Decimal("0.1500"),
    )
    client = client_for(world.manufacturer)
    in_beijing = client.get(f"{BATCH}/items/GY7-001/", {"province": "110000"})
    assert table_rows(in_beijing, "item-nonwinning") == [
        ["XC10AAA001A001010100001", "片剂", "20mg", "齐鲁制药有限公司"]
    ]
    # Without a choice the manufacturer (no home province) sees the first province with winners: 北京市.
    assert "非中选产品（北京市）" in html(client.get(f"{BATCH}/items/GY7-001/"))
    # A Shandong bureau defaults to its own province.
    assert "非中选产品（山东省）" in html(client_for(world.county_bureau).get(f"{BATCH}/items/GY7-001/"))


def test_winner_list_filters_by_province_and_role_and_defaults_bureau_to_its_province(world, client_for):
    add_second_winner(world)
    beijing = factories.region("110000", "北京市")
    Winner.objects.create(
        item=world.item,
        product=world.other_product,
        province=beijing,
        role="main",
        winning_price=Decimal("0.2000"),
    )
    bureau = client_for(world.city_bureau)
    rows = table_rows(bureau.get(f"{BATCH}/winners/"))
    assert [(r[2], r[3]) for r in rows] == [("山东省", "备供"), ("山东省", "主供")]
    everywhere = table_rows(bureau.get(f"{BATCH}/winners/", {"province": ""}))
    assert len(everywhere) == 3
    assert [r[4] for r in table_rows(bureau.get(f"{BATCH}/winners/", {"role": "main"}))] == [
        "XC10AAA001A001010100001"
    ]
    assert [r[2] for r in table_rows(bureau.get(f"{BATCH}/winners/", {"province": "110000"}))] == ["北京市"]
    assert [r[6] for r in table_rows(bureau.get(f"{BATCH}/winners/", {"province": "", "q": "华北"}))] == [
        "华北制药股份有限公司",
        "华北制药股份有限公司",
    ]


def test_winner_xlsx_export(world, client_for):
    add_second_winner(world)
    rows = xlsx_rows(client_for(world.admin).get(f"{BATCH}/winners/", {"role": "backup", "export": "xlsx"}))
    assert rows == [
        ("品种编码", "通用名", "省份", "角色", "产品编码", "规格", "生产企业", "中选价（元）"),
        (
            "GY7-001",
            "阿托伐他汀钙",
            "山东省",
            "备供",
            "XC10AAA001A001010100002",
            "20mg",
            "华北制药股份有限公司",
            0.2,
        ),
    ]


def test_substitute_list_filter_and_export(world, client_for):
    a = factories.product(
        "XC10AAA002A001010100003", world.other_maker, generic_name="瑞舒伐他汀钙", spec="10mg"
    )
    b = factories.product("XC10AAA003A001010100004", world.maker, generic_name="辛伐他汀", spec="20mg")
    Substitute.objects.bulk_create(
        [
            Substitute(item=world.item, product=a, degree="full"),
            Substitute(item=world.item, product=b, degree="partial"),
        ]
    )
    client = client_for(world.pharmacist)
    assert [r[2] for r in table_rows(client.get(f"{BATCH}/substitutes/"))] == [a.code, b.code]
    assert [r[2] for r in table_rows(client.get(f"{BATCH}/substitutes/", {"degree": "partial"}))] == [b.code]
    assert [r[2] for r in table_rows(client.get(f"{BATCH}/substitutes/", {"q": "瑞舒"}))] == [a.code]
    rows = xlsx_rows(client.get(f"{BATCH}/substitutes/", {"export": "xlsx"}))
    assert rows[0][-1] == "替代程度" and [r[-1] for r in rows[1:]] == ["完全替代", "部分替代"]


# ---- listing prices ------------------------------------------------------------------------------


@pytest.fixture
def listing_world(world):
    """Hand-worked SPEC §4 cases. Item GY7-001: 齐鲁 main in 山东 at 0.1200, 华北 backup in 山东 at 0.2000,
    so the item's highest winning price is 0.2000. 北京 is a non-supply province for both."""
    add_second_winner(world)
    w = world
    w.beijing = factories.region("110000", "北京市")
    w.other_spec = factories.product("XC10AAA001A001010100005", w.maker, spec="10mg")  # 齐鲁, never a winner
    w.third_maker = factories.company(4, "石药集团欧意药业有限公司")
    w.loser = factories.product("XC10AAA001A001010100006", w.third_maker)  # another maker, never a winner
    rows = [
        (w.product, w.province, "0.1200", "2024-03-01"),  # main at its winning price
        (w.product, w.province, "0.1500", "2025-01-01"),  # main above its winning price
        (w.product, w.beijing, "0.1900", "2024-03-01"),  # non-supply: cap max(1.5×0.12, 0.20) = 0.2000
        (w.product, w.beijing, "0.2100", "2025-01-01"),  # above that cap
        (w.other_spec, w.province, "0.0800", "2024-03-01"),  # other spec of a winner → suspended
        (w.loser, w.province, "0.0900", "2024-03-01"),  # plain non-winning
    ]
    ListingPrice.objects.bulk_create(
        [ListingPrice(product=p, province=r, price=Decimal(price), valid_from=d) for p, r, price, d in rows]
    )
    return w


def listing_statuses(response):
    return [(r[0], r[4], r[5], r[7], r[8]) for r in table_rows(response)]


def test_listing_prices_show_status_and_cap_per_spec_rules(listing_world, client_for):
    w = listing_world
    response = client_for(w.admin).get("/batches/listing-prices/")
    assert listing_statuses(response) == [
        (w.product.code, "北京市", "0.2100", "0.2000", "非供应省份挂网价超限"),
        (w.product.code, "北京市", "0.1900", "0.2000", "非供应省份挂网（未超限价）"),
        (w.product.code, "山东省", "0.1500", "0.1200", "挂网价与中选价不一致"),
        (w.product.code, "山东省", "0.1200", "0.1200", "按中选价挂网"),
        (w.other_spec.code, "山东省", "0.0800", "—", "暂停挂网（中选企业未列入供应清单的规格）"),
        (w.loser.code, "山东省", "0.0900", "—", "非中选产品"),
    ]
    assert_csp_clean(response)


def test_listing_cap_multiple_comes_from_the_province_policy(listing_world, client_for):
    w = listing_world
    # 北京 raises the multiple to 2: cap = max(2 × 0.12, 0.20) = 0.2400, so 0.2100 is within it.
    PolicyProfile.objects.create(region=w.beijing, values={"listing_cap_multiple": "2"})
    response = client_for(w.admin).get("/batches/listing-prices/", {"province": "110000"})
    assert listing_statuses(response) == [
        (w.product.code, "北京市", "0.2100", "0.2400", "非供应省份挂网（未超限价）"),
        (w.product.code, "北京市", "0.1900", "0.2400", "非供应省份挂网（未超限价）"),
    ]


def test_listing_prices_default_to_bureau_province_and_filter_by_product(listing_world, client_for):
    w = listing_world
    bureau = client_for(w.city_bureau)
    assert {r[4] for r in table_rows(bureau.get("/batches/listing-prices/"))} == {"山东省"}
    assert len(table_rows(bureau.get("/batches/listing-prices/", {"province": ""}))) == 6
    rows = table_rows(bureau.get("/batches/listing-prices/", {"province": "", "product": w.loser.code}))
    assert [r[0] for r in rows] == [w.loser.code]


def test_listing_price_xlsx_has_status_column(listing_world, client_for):
    w = listing_world
    rows = xlsx_rows(
        client_for(w.admin).get("/batches/listing-prices/", {"province": "110000", "export": "xlsx"})
    )
    assert rows[0] == (
        "产品编码",
        "通用名",
        "规格",
        "生产企业",
        "省份",
        "挂网价（元）",
        "生效日期",
        "限价（元）",
        "挂网状态",
        "一致性评价",
    )
    assert [(r[5], r[7], r[8]) for r in rows[1:]] == [
        (0.21, 0.2, "非供应省份挂网价超限"),
        (0.19, 0.2, "非供应省份挂网（未超限价）"),
    ]


def make_listing_prices(world, n: int, start: int):
    """n products with a listing price each; every fifth is never a winner, the rest win in a cycle of roles."""
    products = [
        factories.product(
            f"XC10FFF001A0010101{start + i:05d}",
            world.maker if i % 2 else world.other_maker,
            spec=f"{start + i}mg",
        )
        for i in range(n)
    ]
    ListingPrice.objects.bulk_create(
        [
            ListingPrice(product=p, province=world.province, price=Decimal("0.3000"), valid_from="2024-03-01")
            for p in products
        ]
    )
    roles = ["main", "backup", "backup2", "nonsupply"]
    Winner.objects.bulk_create(
        [
            Winner(
                item=world.item,
                product=p,
                province=world.province,
                role=roles[i % 4],
                winning_price=Decimal("0.1"),
            )
            for i, p in enumerate(products)
            if i % 5
        ]
    )


@pytest.mark.parametrize(
    "url",
    [
        "/batches/listing-prices/",
        f"{BATCH}/winners/",
        f"{BATCH}/items/",
        f"{BATCH}/substitutes/",
        "/batches/",
    ],
)
def test_batch_list_query_count_does_not_grow_with_rows(
    world, client_for, django_assert_max_num_queries, url
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def grow(n, start):
        make_listing_prices(world, n, start)
        Item.objects.bulk_create(
            [
                Item(
                    batch=world.batch,
                    item_code=f"X{start + i}",
                    generic_name=f"药{start + i}",
                    dosage_form_group="注射剂",
                )
                for i in range(n)
            ]
        )
        Substitute.objects.bulk_create(
            [
                Substitute(item=world.item, product=p, degree="full")
                for p in factories.Product.objects.filter(spec__endswith="mg").exclude(
                    substitute_rows__isnull=False
                )[:n]
            ]
        )
        for i in range(n):
            factories.batch(code=f"B{start + i}")

    client = client_for(world.province_bureau)
    grow(12, 100)
    with CaptureQueriesContext(connection) as small:
        assert len(table_rows(client.get(url))) >= 10
    grow(90, 200)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(table_rows(client.get(url))) == 50


def test_item_export_lists_every_item_of_the_batch(world, client_for):
    Item.objects.bulk_create(
        [
            Item(
                batch=world.batch,
                item_code=f"GY7-{i:03d}",
                generic_name=f"药品{i}",
                dosage_form_group="注射剂",
            )
            for i in range(2, 62)
        ]
    )
    rows = xlsx_rows(client_for(world.doctor).get(f"{BATCH}/items/", {"export": "xlsx"}))
    assert rows[0] == ("品种编码", "通用名", "剂型组", "中选企业数")
    assert (
        len(rows) == 62
        and rows[1] == ("GY7-001", "阿托伐他汀钙", "口服常释剂型", 1)
        and rows[-1][0] == "GY7-061"
    )
