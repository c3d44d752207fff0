"""Consistency-evaluation withdrawal (SPEC §4): hand-worked on the trade world's 阿托伐他汀钙 口服常释剂型
group in 山东 (listed: 齐鲁 0.1200, 华北 0.1500, 扬子江 0.1800 — passed; 石药 0.5000 made non-passed here).
consistency_min_products = 3 (default)."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from jicai.compliance import consistency
from jicai.compliance.models import ConsistencyExemption
from jicai.core.errors import DomainError, NotFound
from jicai.core.models import AuditLog
from jicai.trade import actions
from jicai.trade.models import Order, OrderLine
from tests.trade.conftest import TODAY, listing

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
