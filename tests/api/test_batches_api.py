"""/batches, items, /winners, /substitutes, /listing-prices: shapes with exact decimals, filters, 404s."""

import datetime as dt
from decimal import Decimal

from jicai.batches.models import Item, ListingPrice, Winner
from tests import factories
from tests.api.conftest import get_json

BATCH = {
    "code": "GY-YD2023-1",
    "name": "GY-YD2023-1 集采",
    "kind": "national",
    "cycle_start": "2024-03-01",
    "cycle_end": "2027-02-28",
    "item_count": 1,
    "agreement_years": [
        {"number": 1, "start": "2024-03-01", "end": "2025-02-28"},
        {"number": 2, "start": "2025-03-01", "end": "2026-02-28"},
        {"number": 3, "start": "2026-03-01", "end": "2027-02-28"},
    ],
}
ITEM = {
    "batch_code": "GY-YD2023-1",
    "item_code": "GY7-001",
    "generic_name": "阿托伐他汀钙",
    "dosage_form_group": "口服常释剂型",
    "winner_count": 1,
}
MAIN_WINNER = {
    "batch_code": "GY-YD2023-1",
    "item_code": "GY7-001",
    "product_code": "XC10AAA001A001010100001",
    "province_code": "370000",
    "role": "main",
    "winning_price": "0.1200",
    "item_factor": "1",
}
BACKUP_WINNER = {
    "batch_code": "GY-YD2023-1",
    "item_code": "GY7-001",
    "product_code": "XC10AAA001A001010100002",
    "province_code": "370000",
    "role": "backup",
    "winning_price": "0.2350",
    "item_factor": "0.5",
}


def test_batch_list_and_detail_with_agreement_years(world, api_client_for):
    client = api_client_for(world.doctor)
    assert get_json(client, "/batches") == {
        "count": 1,
        "count_exact": True,
        "has_more": False,
        "page": 1,
        "page_size": 50,
        "results": [BATCH],
    }
    assert get_json(client, "/batches/GY-YD2023-1") == BATCH


def test_batch_filters_and_order_newest_cycle_first(world, api_client_for):
    factories.batch(code="SD-2025-1", start=dt.date(2025, 7, 1), end=dt.date(2026, 6, 30), kind="provincial")
    client = api_client_for(world.city_bureau)
    body = get_json(client, "/batches")
    assert [b["code"] for b in body["results"]] == ["SD-2025-1", "GY-YD2023-1"]
    provincial = body["results"][0]
    assert provincial["item_count"] == 0
    assert provincial["agreement_years"] == [{"number": 1, "start": "2025-07-01", "end": "2026-06-30"}]
    assert [b["code"] for b in get_json(client, "/batches?kind=national")["results"]] == ["GY-YD2023-1"]
    assert [b["code"] for b in get_json(client, "/batches?q=SD-")["results"]] == ["SD-2025-1"]


def test_missing_batch_is_404_for_detail_and_items(world, api_client_for, not_found_body):
    client = api_client_for(world.admin)
    assert get_json(client, "/batches/NOPE", 404) == not_found_body
    assert get_json(client, "/batches/NOPE/items", 404) == not_found_body
    assert get_json(client, "/batches/NOPE/items/GY7-001", 404) == not_found_body


def test_items_of_a_batch(world, api_client_for):
    Item.objects.create(
        batch=world.batch, item_code="GY7-002", generic_name="氨氯地平", dosage_form_group="口服常释剂型"
    )
    client = api_client_for(world.pharmacist)
    body = get_json(client, "/batches/GY-YD2023-1/items")
    assert body["count"] == 2
    assert body["results"][0] == ITEM
    assert body["results"][1] == {
        "batch_code": "GY-YD2023-1",
        "item_code": "GY7-002",
        "generic_name": "氨氯地平",
        "dosage_form_group": "口服常释剂型",
        "winner_count": 0,
    }
    assert [i["item_code"] for i in get_json(client, "/batches/GY-YD2023-1/items?q=氨氯")["results"]] == [
        "GY7-002"
    ]


def test_item_detail_counts_distinct_winning_companies(world, batch_extras, api_client_for, not_found_body):
    client = api_client_for(world.manufacturer)
    assert get_json(client, "/batches/GY-YD2023-1/items/GY7-001") == dict(ITEM, winner_count=2)
    assert get_json(client, "/batches/GY-YD2023-1/items/GY7-999", 404) == not_found_body


def test_item_of_another_batch_is_not_found_under_this_batch(world, api_client_for, not_found_body):
    other = factories.batch(code="SD-2025-1", start=dt.date(2025, 7, 1), end=dt.date(2026, 6, 30))
    Item.objects.create(
        batch=other, item_code="SD-001", generic_name="氨氯地平", dosage_form_group="口服常释剂型"
    )
    client = api_client_for(world.admin)
    assert get_json(client, "/batches/GY-YD2023-1/items/SD-001", 404) == not_found_body
    assert get_json(client, "/batches/SD-2025-1/items/SD-001")["item_code"] == "SD-001"


def test_winners_have_exact_decimal_strings_and_item_factor(world, batch_extras, api_client_for):
    body = get_json(api_client_for(world.pharmacist), "/winners")
    assert body == {
        "count": 2,
        "count_exact": True,
        "has_more": False,
        "page": 1,
        "page_size": 50,
        "results": [BACKUP_WINNER, MAIN_WINNER],
    }
    assert isinstance(body["results"][0]["winning_price"], str)


def test_winner_price_keeps_every_decimal_place(world, api_client_for):
    Winner.objects.filter(item=world.item).update(winning_price=Decimal("12345678.9876"))
    body = get_json(api_client_for(world.admin), "/winners")
    assert body["results"][0]["winning_price"] == "12345678.9876"


def test_winner_filters(world, batch_extras, jiangsu, api_client_for):
    client = api_client_for(world.admin)

    def products(query):
        return [
            (w["province_code"], w["product_code"][-1], w["role"])
            for w in get_json(client, f"/winners?{query}")["results"]
        ]

    assert products("role=main") == [("320000", "2", "main"), ("370000", "1", "main")]
    assert products("province=370000&role=backup") == [("370000", "2", "backup")]
    assert products("batch=GY-YD2023-1&item=GY7-001&province=320000") == [("320000", "2", "main")]
    assert products("item=GY7-999") == []
    assert products("batch=NOPE") == []
    assert get_json(client, "/winners?role=chief", 422)["error"]["details"][0]["loc"] == ["query", "role"]


def test_substitutes(world, batch_extras, api_client_for):
    client = api_client_for(world.other_pharmacist)
    expected = {
        "batch_code": "GY-YD2023-1",
        "item_code": "GY7-001",
        "product_code": "XC10AAA002A001010100003",
        "degree": "most",
    }
    assert get_json(client, "/substitutes") == {
        "count": 1,
        "count_exact": True,
        "has_more": False,
        "page": 1,
        "page_size": 50,
        "results": [expected],
    }
    assert get_json(client, "/substitutes?batch=GY-YD2023-1&item=GY7-001")["results"] == [expected]
    assert get_json(client, "/substitutes?item=GY7-002")["results"] == []


def test_listing_prices_and_filters(world, batch_extras, jiangsu, api_client_for):
    ListingPrice.objects.create(
        product=world.product,
        province=world.province,
        price=Decimal("0.1100"),
        valid_from=dt.date(2025, 3, 1),
    )
    ListingPrice.objects.create(
        product=world.product,
        province=jiangsu.region.parent.parent,
        price=Decimal("0.18"),
        valid_from=dt.date(2024, 5, 1),
    )
    client = api_client_for(world.distributor_user)
    body = get_json(client, "/listing-prices")
    assert body["count"] == 4
    assert body["results"] == [
        {
            "product_code": "XC10AAA001A001010100001",
            "province_code": "320000",
            "price": "0.1800",
            "valid_from": "2024-05-01",
            "consistency_state": None,
            "lowest_passed_price": None,
        },
        {
            "product_code": "XC10AAA001A001010100001",
            "province_code": "370000",
            "price": "0.1100",
            "valid_from": "2025-03-01",
            "consistency_state": None,
            "lowest_passed_price": None,
        },
        {
            "product_code": "XC10AAA001A001010100001",
            "province_code": "370000",
            "price": "0.1200",
            "valid_from": "2024-03-01",
            "consistency_state": None,
            "lowest_passed_price": None,
        },
        {
            "product_code": "XC10AAA001A001010100002",
            "province_code": "370000",
            "price": "0.2350",
            "valid_from": "2024-03-01",
            "consistency_state": None,
            "lowest_passed_price": None,
        },
    ]
    assert [r["price"] for r in get_json(client, "/listing-prices?province=320000")["results"]] == ["0.1800"]
    only = get_json(client, "/listing-prices?product=XC10AAA001A001010100002&province=370000")["results"]
    assert [r["price"] for r in only] == ["0.2350"]


def test_list_pagination_pages_through_rows(world, api_client_for):
    for n in range(2, 8):
        Item.objects.create(
            batch=world.batch,
            item_code=f"GY7-{n:03d}",
            generic_name=f"品种{n}",
            dosage_form_group="口服常释剂型",
        )
    client = api_client_for(world.admin)
    page2 = get_json(client, "/batches/GY-YD2023-1/items?page=2&page_size=3")
    assert page2["count"] == 7 and page2["page"] == 2 and page2["page_size"] == 3
    assert page2["count_exact"] is True and page2["has_more"] is True
    assert [i["item_code"] for i in page2["results"]] == ["GY7-004", "GY7-005", "GY7-006"]
    page3 = get_json(client, "/batches/GY-YD2023-1/items?page=3&page_size=3")
    assert [i["item_code"] for i in page3["results"]] == ["GY7-007"] and page3["has_more"] is False
    past_end = get_json(client, "/batches/GY-YD2023-1/items?page=9&page_size=3")
    assert past_end == {
        "count": 7,
        "count_exact": True,
        "has_more": False,
        "page": 9,
        "page_size": 3,
        "results": [],
    }


def test_list_count_is_capped_and_says_so(world, api_client_for, monkeypatch):
    """7 items, cap 5: count stops at 5 with count_exact false; pages past the cap still list rows."""
    monkeypatch.setattr("jicai.core.counts.COUNT_CAP", 5)
    for n in range(2, 8):
        Item.objects.create(
            batch=world.batch,
            item_code=f"GY7-{n:03d}",
            generic_name=f"品种{n}",
            dosage_form_group="口服常释剂型",
        )
    client = api_client_for(world.admin)
    first = get_json(client, "/batches/GY-YD2023-1/items?page=1&page_size=3")
    assert (first["count"], first["count_exact"], first["has_more"]) == (5, False, True)
    third = get_json(client, "/batches/GY-YD2023-1/items?page=3&page_size=3")
    assert [i["item_code"] for i in third["results"]] == ["GY7-007"]
    assert (third["count"], third["count_exact"], third["has_more"]) == (5, False, False)
    # Exactly at the cap the count is exact.
    Item.objects.filter(item_code__in=["GY7-006", "GY7-007"]).delete()
    at_cap = get_json(client, "/batches/GY-YD2023-1/items?page_size=3")
    assert (at_cap["count"], at_cap["count_exact"], at_cap["has_more"]) == (5, True, True)
