"""Consistency-evaluation withdrawal (SPEC §4): hand-worked on the trade world's 阿托伐他汀钙 口服常释剂型
group in 山东 (listed: 齐鲁 0.1200, 华北 0.1500, 扬子江 0.1800 — passed; 石药 0.5000 made non-passed here).
consistency_min_products = 3 (default)."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from jicai.batches.models import ListingPrice
from jicai.compliance import consistency
from jicai.compliance.models import ConsistencyExemption
from jicai.core.errors import DomainError, NotFound
from jicai.core.models import AuditLog
from jicai.trade import actions
from jicai.trade.models import Order, OrderLine
from tests import factories
from tests.trade.conftest import TODAY, listing
from tests.web.helpers import table_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(trade):
    trade.nonwinning_product.consistency_passed = False
    trade.nonwinning_product.save(update_fields=["consistency_passed"])
    return trade


def the_group(w, on=TODAY):
    (g,) = [g for g in consistency.groups(w.province, on) if g.generic_name == "阿托伐他汀钙"]
    return g


def test_three_passed_products_withdraw_the_non_passed_one(group):
    g = the_group(group)
    assert (len(g.passed), g.threshold, g.withdrawn, g.status) == (3, 3, True, "撤网")
    assert [p.code for p in g.not_passed] == [group.nonwinning_product.code]
    assert consistency.withdrawn_ids(group.province, TODAY) == {group.nonwinning_product.pk}
    assert g.over_cap == []  # after withdrawal the cap check no longer applies


def test_two_passed_products_do_not_withdraw_but_cap_the_price(group):
    group.backup2_product.consistency_passed = False
    group.backup2_product.save(update_fields=["consistency_passed"])
    g = the_group(group)
    assert (len(g.passed), g.withdrawn, g.status) == (2, False, "未达撤网条件")
    # lowest passed price 0.1200: 扬子江 0.1800 and 石药 0.5000 are both above it
    assert str(g.lowest_passed_price) == "0.1200"
    assert sorted(p.code for p in g.over_cap) == sorted(
        [group.backup2_product.code, group.nonwinning_product.code]
    )
    assert consistency.withdrawn_ids(group.province, TODAY) == set()


def test_a_passed_product_counts_from_its_listing_date(group):
    """The third passed product is listed from 2025-07-01: withdrawal starts that day, not the day before."""
    group.backup2_product.listing_prices.all().delete()
    listing(group.backup2_product, group.province, "0.1800", valid_from=dt.date(2025, 7, 1))
    assert the_group(group, dt.date(2025, 6, 30)).withdrawn is False
    assert the_group(group, dt.date(2025, 7, 1)).withdrawn is True


def test_bureau_exemption_keeps_the_group_listed_and_is_logged(group):
    consistency.save_exemption(
        actor=group.province_bureau,
        province=group.province,
        generic_name="阿托伐他汀钙",
        reason="低分子肝素类同理，暂不撤网",
    )
    g = the_group(group)
    assert (g.withdrawn, g.status) == (False, "暂不撤网（豁免）")
    assert AuditLog.objects.filter(action="compliance.consistency_exemption").count() == 1
    with pytest.raises(DomainError):
        consistency.save_exemption(
            actor=group.province_bureau, province=group.province, generic_name="阿托伐他汀钙", reason=" "
        )
    with pytest.raises(DomainError):
        consistency.save_exemption(
            actor=group.province_bureau, province=group.province, generic_name="不存在", reason="x"
        )


def test_order_of_a_withdrawn_product_is_refused_with_nothing_written(group):
    before = (Order.objects.count(), OrderLine.objects.count())
    with pytest.raises(DomainError) as exc:
        actions.place_order(actor=group.pharmacist, lines=[actions.LineInput(group.nonwinning_product, 10)])
    assert exc.value.code == "withdrawn"
    assert "已撤网" in exc.value.message and "Hubei 四(七)" in exc.value.message
    assert (Order.objects.count(), OrderLine.objects.count()) == before
    # a passed product of the same group still orders
    actions.place_order(actor=group.pharmacist, lines=[actions.LineInput(group.product, 10)])


def test_order_refused_through_the_api(group, api_client_for):
    before = OrderLine.objects.count()
    response = api_client_for(group.pharmacist).post(
        "/api/v1/orders",
        json.dumps({"lines": [{"product_code": group.nonwinning_product.code, "qty": 10}]}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "withdrawn"
    assert OrderLine.objects.count() == before


def test_order_refused_on_the_web_page(group, client_for):
    before = OrderLine.objects.count()
    response = client_for(group.pharmacist).post(
        reverse("trade:order_new") + f"?item={group.item.pk}",
        {"product": group.nonwinning_product.pk, "qty": 10, "unit_price": ""},
    )
    assert response.status_code == 400  # the form page re-rendered with the error
    assert "已撤网" in response.content.decode()
    assert OrderLine.objects.count() == before


def test_page_and_api_show_withdrawal(group, client_for, api_client_for):
    page = client_for(group.province_bureau).get(reverse("compliance:consistency") + "?on=2025-06-30")
    assert page.status_code == 200 and "撤网" in page.content.decode()
    body = api_client_for(group.province_bureau).get("/api/v1/consistency?on=2025-06-30").json()
    (g,) = [r for r in body["results"] if r["generic_name"] == "阿托伐他汀钙"]
    assert (g["passed_count"], g["withdrawn"]) == (3, True)
    states = {p["product_code"]: p["state"] for p in g["products"]}
    assert states[group.nonwinning_product.code] == "withdrawn"
    assert states[group.product.code] == "listed"
    xlsx = client_for(group.province_bureau).get(reverse("compliance:consistency") + "?export=xlsx")
    assert xlsx.status_code == 200


def test_wrong_organisation_gets_404_and_changes_nothing(group, client_for, api_client_for):
    exemption = consistency.save_exemption(
        actor=group.province_bureau, province=group.province, generic_name="阿托伐他汀钙", reason="暂不撤网"
    )
    for user in (group.pharmacist, group.manufacturer):
        assert client_for(user).get(reverse("compliance:consistency")).status_code == 404
        assert api_client_for(user).get("/api/v1/consistency").status_code == 404
    # a city bureau sees its province but may not edit it
    city = client_for(group.city_bureau)
    assert city.post(reverse("compliance:consistency"), {"delete": exemption.pk}).status_code == 404
    assert (
        city.post(
            reverse("compliance:consistency"), {"generic_name": "阿托伐他汀钙", "reason": "x"}
        ).status_code
        == 404
    )
    api = api_client_for(group.city_bureau)
    assert api.delete(f"/api/v1/consistency/exemptions/{exemption.pk}").status_code == 404
    assert (
        api.post(
            "/api/v1/consistency/exemptions",
            json.dumps({"generic_name": "阿托伐他汀钙", "reason": "y"}),
            content_type="application/json",
        ).status_code
        == 404
    )
    assert api.get("/api/v1/consistency?province=110000").status_code == 404
    with pytest.raises(NotFound):
        consistency.delete_exemption(actor=group.pharmacist, exemption_id=exemption.pk)
    assert list(ConsistencyExemption.objects.values_list("reason", flat=True)) == ["暂不撤网"]


# ---- listing pages and the order form show the withdrawal (SPEC §4) ---------------------------------------


def consistency_column(response):
    """{(product code, listing price): the 一致性评价 cell} of the listing-price page."""
    return {(r[0], r[5]): r[9] for r in table_rows(response)}


def test_listing_page_shows_withdrawn_on_the_listing_in_force_only(group, client_for):
    # 石药's listing in force is the 2025-01-01 one; its 2024-03-01 row is history and carries no flag.
    listing(group.nonwinning_product, group.province, "0.4000", valid_from=dt.date(2025, 1, 1))
    response = client_for(group.province_bureau).get(reverse("batches:listing_prices"))
    assert consistency_column(response) == {
        (group.product.code, "0.1200"): "—",
        (group.backup_product.code, "0.1500"): "—",
        (group.backup2_product.code, "0.1800"): "—",
        (group.nonwinning_product.code, "0.4000"): "撤网",
        (group.nonwinning_product.code, "0.5000"): "—",
        (group.substitute_product.code, "0.3000"): "—",
    }
    detail = client_for(group.province_bureau).get(f"/registry/products/{group.nonwinning_product.code}/")
    assert [r[4] for r in table_rows(detail, "product-listing-prices")] == ["非中选产品 撤网", "非中选产品"]


def test_listing_page_flags_non_passed_prices_above_the_lowest_passed_below_the_threshold(group, client_for):
    """Two passed (齐鲁 0.1200, 华北 0.1500): no withdrawal; 扬子江 0.1800 and 石药 0.5000 are above 0.1200."""
    group.backup2_product.consistency_passed = False
    group.backup2_product.save(update_fields=["consistency_passed"])
    listing(group.product, group.province, "0.2000", valid_from=dt.date(2025, 1, 1))  # lowest is now 0.1500
    column = consistency_column(client_for(group.province_bureau).get(reverse("batches:listing_prices")))
    flagged = {k: v for k, v in column.items() if v != "—"}
    assert flagged == {
        (group.backup2_product.code, "0.1800"): "高于最低通过价 0.1500（未通过一致性评价）",
        (group.nonwinning_product.code, "0.5000"): "高于最低通过价 0.1500（未通过一致性评价）",
    }


def test_listing_api_carries_the_consistency_state(group, api_client_for):
    body = api_client_for(group.province_bureau).get("/api/v1/listing-prices?province=370000").json()
    states = {r["product_code"]: (r["consistency_state"], r["lowest_passed_price"]) for r in body["results"]}
    assert states == {
        group.product.code: (None, None),
        group.backup_product.code: (None, None),
        group.backup2_product.code: (None, None),
        group.nonwinning_product.code: ("withdrawn", "0.1200"),
        group.substitute_product.code: (None, None),
    }
    group.backup2_product.consistency_passed = False
    group.backup2_product.save(update_fields=["consistency_passed"])
    body = api_client_for(group.province_bureau).get("/api/v1/listing-prices?province=370000").json()
    states = {r["product_code"]: r["consistency_state"] for r in body["results"] if r["consistency_state"]}
    assert states == {
        group.backup2_product.code: "above_lowest_passed",
        group.nonwinning_product.code: "above_lowest_passed",
    }


def option_cells(response, product):
    """The order form's row of `product`: (radio disabled?, 说明 cell)."""
    body = response.content.decode()
    radio = re.search(rf'<input[^>]*name="product" value="{product.pk}"[^>]*>', body).group(0)
    (row,) = [r for r in table_rows(response, "order-form") if r[1] == product.code]
    return "disabled" in radio, row[6]


def test_order_form_does_not_offer_a_withdrawn_product(group, client_for):
    page = client_for(group.pharmacist).get(reverse("trade:order_new") + f"?item={group.item.pk}")
    assert page.status_code == 200
    assert option_cells(page, group.nonwinning_product) == (True, "撤网")
    assert option_cells(page, group.backup2_product) == (False, "")
    # below the threshold the product is offered again, flagged above the lowest passed price
    group.backup2_product.consistency_passed = False
    group.backup2_product.save(update_fields=["consistency_passed"])
    page = client_for(group.pharmacist).get(reverse("trade:order_new") + f"?item={group.item.pk}")
    assert option_cells(page, group.nonwinning_product) == (
        False,
        "高于最低通过价 0.1200（未通过一致性评价）",
    )


def written():
    return (Order.objects.count(), OrderLine.objects.count(), AuditLog.objects.count())


def test_withdrawn_product_posted_anyway_is_refused_on_web_and_api_with_nothing_written(
    group, client_for, api_client_for
):
    web, api = client_for(group.pharmacist), api_client_for(group.pharmacist)  # issuing the token is logged
    before = written()
    response = web.post(
        reverse("trade:order_new") + f"?item={group.item.pk}",
        {"product": group.nonwinning_product.pk, "qty": 10, "unit_price": ""},
    )
    assert response.status_code == 400 and "已撤网" in response.content.decode()
    response = api.post(
        "/api/v1/orders",
        json.dumps({"lines": [{"product_code": group.nonwinning_product.code, "qty": 10}]}),
        content_type="application/json",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "withdrawn")
    assert written() == before


def add_groups(w, n: int, start: int):
    """n generic groups in 山东, each with three passed products and one non-passed (withdrawn) one."""
    for i in range(start, start + n):
        products = [
            factories.product(
                f"XC10GGG001A0010101{i:03d}{k:02d}",
                w.maker,
                generic_name=f"药{i}",
                consistency_passed=k < 3,
            )
            for k in range(4)
        ]
        ListingPrice.objects.bulk_create(
            [
                ListingPrice(product=p, province=w.province, price=Decimal("0.1000"), valid_from="2024-03-01")
                for p in products
            ]
        )


def test_listing_page_and_api_query_count_does_not_grow_with_withdrawn_rows(
    group, client_for, api_client_for, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, api = client_for(group.province_bureau), api_client_for(group.province_bureau)
    add_groups(group, 3, 100)
    with CaptureQueriesContext(connection) as page_small:
        rows = table_rows(client.get(reverse("batches:listing_prices")))
    assert sum(r[9] == "撤网" for r in rows) == 4
    with CaptureQueriesContext(connection) as api_small:
        api.get("/api/v1/listing-prices?province=370000")
    add_groups(group, 12, 200)
    with django_assert_max_num_queries(len(page_small.captured_queries)):
        rows = table_rows(client.get(reverse("batches:listing_prices")))
    assert len(rows) == 50
    with django_assert_max_num_queries(len(api_small.captured_queries)):
        body = api.get("/api/v1/listing-prices?province=370000&page_size=100").json()
    assert sum(r["consistency_state"] == "withdrawn" for r in body["results"]) == 16
