"""Supply pages: ordering with progress and routing, order detail actions, lists with filters and XLSX,
bureau pages, and a wrong-organisation test (404, nothing changed) for every page."""

import datetime as dt
from decimal import Decimal

import pytest

from jicai.batches.models import Item, Winner
from jicai.trade import actions
from jicai.trade.models import (
    Delivery,
    Order,
    OrderLine,
    Payment,
    PriceException,
    Receipt,
    SupplyBlock,
    UsageLine,
)
from tests import factories
from tests.trade.conftest import delivered_order, listing, order
from tests.web.helpers import assert_csp_clean, html, table_rows, xlsx_rows

pytestmark = pytest.mark.django_db


def test_order_page_shows_progress_and_proposes_main_supplier_with_distributor(trade, client_for):
    response = client_for(trade.pharmacist).get("/trade/order/", {"item": trade.item.pk})
    assert response.status_code == 200
    assert_csp_clean(response)
    assert table_rows(response, "progress") == [
        [
            "GY-YD2023-1",
            "阿托伐他汀钙 口服常释剂型（GY7-001）",
            "第2年",
            "入库确认",
            "1000",
            "0",
            "1000",
            "0%",
            "下单",
        ]
    ]
    body = html(response)
    assert "推荐企业：<strong>齐鲁制药有限公司</strong>（主供）" in body
    assert "配送企业：国药控股山东有限公司" in body
    assert (
        f'value="{trade.product.pk}" id="p{trade.product.pk}" aria-label="{trade.product.code}" checked'
        in body
    )


def test_order_page_routes_to_backup_when_main_is_blocked(trade, client_for):
    actions.set_supply_block(
        actor=trade.county_bureau,
        institution=trade.hospital,
        supplier=trade.maker,
        item=trade.item,
        reason="停产",
    )
    response = client_for(trade.pharmacist).get("/trade/order/", {"item": trade.item.pk})
    body = html(response)
    assert "推荐企业：<strong>华北制药股份有限公司</strong>（备供）" in body
    assert "主供企业齐鲁制药有限公司无法供应（停产），转备供" in body


def test_placing_an_order_from_the_page(trade, client_for):
    client = client_for(trade.pharmacist)
    response = client.post(f"/trade/order/?item={trade.item.pk}", {"product": trade.product.pk, "qty": "300"})
    o = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/trade/orders/{o.order_id}/"
    assert o.lines.get().amount == Decimal("36.00")
    refused = client.post(
        f"/trade/order/?item={trade.item.pk}", {"product": trade.product.pk, "qty": "10", "unit_price": "0.1"}
    )
    assert refused.status_code == 400
    assert "与挂网价 0.1200 不一致" in html(refused)
    assert Order.objects.count() == 1


def test_order_page_is_for_institution_buyers_only(trade, client_for):
    for user in (trade.manufacturer, trade.county_bureau):
        assert client_for(user).get("/trade/order/").status_code == 403
    assert client_for(trade.doctor).get("/trade/order/").status_code == 404  # SPEC §1, §9
    # An item without winners in the institution's province is not found.
    assert client_for(trade.pharmacist).get("/trade/order/", {"item": 999999}).status_code == 404


def test_full_flow_on_the_order_detail_page(trade, client_for):
    o = order(trade, trade.product, 100)
    url = f"/trade/orders/{o.order_id}/"
    supplier = client_for(trade.manufacturer)
    assert 'data-testid="respond-form"' in html(supplier.get(url))
    supplier.post(url + "lines/1/respond/", {"decision": "accept"})
    supplier.post(url + "lines/1/deliver/", {"qty": "60", "delivered_on": "2025-06-03"})
    buyer = client_for(trade.pharmacist)
    buyer.post(
        url + "lines/1/receive/",
        {"accepted_qty": "55", "rejected_qty": "5", "received_on": "2025-06-05", "reason": "外包装破损"},
    )
    buyer.post(url + "lines/1/pay/", {"amount": "6.60", "paid_on": "2025-06-20", "invoice_no": "F001"})
    page = buyer.get(url)
    assert table_rows(page, "lines") == [
        [
            "1",
            "阿托伐他汀钙 20mg（XC10AAA001A001010100001）",
            "100",
            "0.1200",
            "12.00",
            "60",
            "55",
            "5",
            "6.60",
            "0.00",
            "2025-07-05",
            "部分入库",
        ]
    ]
    assert 'data-testid="order-status">部分入库' in html(page)
    assert "2025-06-05 入库 55，拒收 5（外包装破损）" in html(page)
    assert_csp_clean(page)


def test_refused_action_shows_a_message_and_changes_nothing(trade, client_for):
    o, line = delivered_order(trade, trade.product, 100, supplier_user=trade.manufacturer)
    url = f"/trade/orders/{o.order_id}/lines/1/pay/"
    response = client_for(trade.pharmacist).post(
        url, {"amount": "12.01", "paid_on": "2025-06-20"}, follow=True
    )
    assert "将超过订单行金额 12.00" in html(response)
    line.refresh_from_db()
    assert line.paid_amount == Decimal("0.00")


@pytest.mark.parametrize("persona", ["other_pharmacist", "other_manufacturer", "other_city_bureau"])
def test_order_of_another_organisation_is_404_and_posts_change_nothing(trade, client_for, persona):
    o, line = delivered_order(trade, trade.product, 100, supplier_user=trade.manufacturer)
    client = client_for(getattr(trade, persona))
    url = f"/trade/orders/{o.order_id}/"
    assert client.get(url).status_code == 404
    assert client.post(url + "lines/1/respond/", {"decision": "reject", "reason": "x"}).status_code == 404
    assert (
        client.post(url + "lines/1/deliver/", {"qty": "1", "delivered_on": "2025-06-03"}).status_code == 404
    )
    assert (
        client.post(url + "lines/1/receive/", {"accepted_qty": "1", "received_on": "2025-06-05"}).status_code
        == 404
    )
    assert client.post(url + "lines/1/pay/", {"amount": "1", "paid_on": "2025-06-20"}).status_code == 404
    line.refresh_from_db()
    assert (line.status, line.delivered_qty, line.accepted_qty, line.paid_amount) == (
        "open",
        100,
        0,
        Decimal("0.00"),
    )
    assert Receipt.objects.count() == 0 and Payment.objects.count() == 0 and Delivery.objects.count() == 1


def test_bureau_in_scope_sees_the_order_but_cannot_act_on_it(trade, client_for):
    o, line = delivered_order(trade, trade.product, 100, supplier_user=trade.manufacturer)
    client = client_for(trade.city_bureau)
    assert client.get(f"/trade/orders/{o.order_id}/").status_code == 200
    assert (
        client.post(
            f"/trade/orders/{o.order_id}/lines/1/pay/", {"amount": "1", "paid_on": "2025-06-20"}
        ).status_code
        == 404
    )
    assert Payment.objects.count() == 0


def test_order_and_line_lists_are_scoped_filtered_and_exported(trade, client_for):
    a, _ = delivered_order(trade, trade.product, 100, supplier_user=trade.manufacturer)
    b = order(trade, trade.nonwinning_product, 10)
    other = actions.place_order(
        actor=trade.other_pharmacist,
        lines=[actions.LineInput(trade.product, 5)],
        ordered_on=dt.date(2025, 6, 1),
    )
    mine = client_for(trade.pharmacist)
    rows = table_rows(mine.get("/trade/orders/"))
    assert sorted(r[0] for r in rows) == sorted([a.order_id, b.order_id])
    assert {r[0]: r[7] for r in rows} == {a.order_id: "已配送", b.order_id: "待确认"}
    assert [r[0] for r in table_rows(mine.get("/trade/lines/", {"status": "delivered"}))] == [a.order_id]
    # The distributor sees the orders it delivers (齐鲁's, to both hospitals), not 石药's.
    assert sorted(
        r[0] for r in table_rows(client_for(trade.distributor_user).get("/trade/orders/"))
    ) == sorted([other.order_id, a.order_id])
    exported = xlsx_rows(mine.get("/trade/lines/", {"export": "xlsx"}))
    assert exported[0][:3] == ("订单号", "行号", "下单日期") and len(exported) == 3
    assert [r[0] for r in table_rows(client_for(trade.other_city_bureau).get("/trade/orders/"))] == [
        other.order_id
    ]
    assert table_rows(client_for(trade.other_manufacturer).get("/trade/orders/")) == []


def test_line_list_filters_by_item_code_within_a_batch(trade, client_for):
    """Item codes repeat across batches: GY7-001 of a second batch is 氨氯地平. The batch + item filter
    (what the monitoring dashboard links with) gives that item's lines only, winning and non-winning
    products alike; a substitute's line counts for no item."""
    w = trade
    batch2 = factories.batch("GY-YD2024-1", start=dt.date(2025, 1, 1), end=dt.date(2026, 12, 31))
    item2 = Item.objects.create(
        batch=batch2, item_code="GY7-001", generic_name="氨氯地平", dosage_form_group="口服常释剂型"
    )
    amlodipine = factories.product("XC08CAA001A001010100001", w.maker, generic_name="氨氯地平", spec="5mg")
    Winner.objects.create(
        item=item2, product=amlodipine, province=w.province, role="main", winning_price=Decimal("0.0500")
    )
    listing(amlodipine, w.province, "0.0500")
    a = order(w, w.product, 100)
    b = order(w, w.nonwinning_product, 10)
    order(w, w.substitute_product, 5)
    d = order(w, amlodipine, 20)
    other = actions.place_order(
        actor=w.other_pharmacist, lines=[actions.LineInput(w.product, 5)], ordered_on=dt.date(2025, 6, 1)
    )
    assert a.lines.get().item == w.item and d.lines.get().item == item2

    def shown(user, **params):
        return sorted(r[0] for r in table_rows(client_for(user).get("/trade/lines/", params)))

    assert shown(w.pharmacist, batch=w.batch.code, item="GY7-001") == sorted([a.order_id, b.order_id])
    assert shown(w.pharmacist, item="GY7-001") == sorted([a.order_id, b.order_id, d.order_id])
    assert shown(w.pharmacist, batch="GY-YD2024-1") == [d.order_id]
    assert shown(w.pharmacist, batch=w.batch.code, item="GY7-999") == []
    # A bureau narrows to one institution's lines of the item; the other hospital's line stays out.
    bureau = dict(institution=w.hospital.code, batch=w.batch.code, item="GY7-001")
    assert shown(w.province_bureau, **bureau) == sorted([a.order_id, b.order_id])
    assert other.order_id in shown(w.province_bureau, batch=w.batch.code, item="GY7-001")
    # Another institution's user asking for the hospital's lines of the item sees none of them.
    assert shown(w.other_pharmacist, **bureau) == []
    page = client_for(w.pharmacist).get("/trade/lines/", {"item": "GY7-001"})
    assert 'name="item" value="GY7-001"' in html(page) and 'name="batch"' in html(page)


def test_list_pages_query_count_does_not_grow_with_rows(trade, client_for, django_assert_max_num_queries):
    for _ in range(5):
        delivered_order(trade, trade.product, 10, supplier_user=trade.manufacturer)
    client = client_for(trade.pharmacist)
    for url in ("/trade/orders/", "/trade/lines/", "/trade/deliveries/"):
        with django_assert_max_num_queries(12):
            assert client.get(url).status_code == 200


def test_deliveries_receipts_payments_lists_are_scoped(trade, client_for):
    o, line = delivered_order(trade, trade.product, 100, supplier_user=trade.manufacturer)
    actions.confirm_receipt(
        actor=trade.pharmacist, line=line, accepted_qty=100, received_on=dt.date(2025, 6, 5)
    )
    actions.record_payment(
        actor=trade.pharmacist, line=line, amount=Decimal("12"), paid_on=dt.date(2025, 6, 20), invoice_no="F9"
    )
    for user, expected in (
        (trade.pharmacist, 1),
        (trade.distributor_user, 1),
        (trade.other_pharmacist, 0),
        (trade.other_manufacturer, 0),
        (trade.other_city_bureau, 0),
    ):
        client = client_for(user)
        for url in ("/trade/deliveries/", "/trade/receipts/", "/trade/payments/"):
            rows = table_rows(client.get(url))
            assert len(rows) == expected, (user, url)
    assert table_rows(client_for(trade.pharmacist).get("/trade/payments/"))[0][5:] == [
        "2025-06-20",
        "12.00",
        "F9",
    ]


def test_payables_page_and_invoice_payment(trade, client_for):
    _, line = delivered_order(
        trade, trade.product, 1000, on=dt.date(2025, 5, 1), supplier_user=trade.manufacturer
    )
    actions.confirm_receipt(
        actor=trade.pharmacist, line=line, accepted_qty=1000, received_on=dt.date(2025, 5, 5)
    )
    client = client_for(trade.pharmacist)
    page = client.get("/trade/payables/")
    assert table_rows(page, "by-institution") == [
        ["威海市环翠区人民医院", "1", "120.00", "120.00", "0.00", "120.00", "120.00"]
    ]
    assert table_rows(page, "by-supplier")[0][0] == "齐鲁制药有限公司"
    response = client.post(
        "/trade/payables/",
        {"lines": [str(line.pk)], "amount": "50", "paid_on": "2025-06-20", "invoice_no": "INV-7"},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.paid_amount == Decimal("50.00")
    assert "无数据" in html(client_for(trade.other_pharmacist).get("/trade/payables/"))
    # Another institution cannot pay this line through the invoice form.
    client_for(trade.other_pharmacist).post(
        "/trade/payables/",
        {"lines": [str(line.pk)], "amount": "1", "paid_on": "2025-06-20", "invoice_no": "X"},
    )
    line.refresh_from_db()
    assert line.paid_amount == Decimal("50.00")


def test_bureau_sets_and_lifts_a_supply_block_on_the_page(trade, client_for):
    client = client_for(trade.county_bureau)
    response = client.post(
        "/trade/supply-blocks/",
        {
            "institution": trade.hospital.code,
            "supplier": trade.maker.code,
            "item": trade.item.pk,
            "reason": "停产",
        },
    )
    assert response.status_code == 302
    block = SupplyBlock.objects.get()
    page = client.get("/trade/supply-blocks/")
    assert table_rows(page)[0][:4] == [
        "齐鲁制药有限公司",
        "威海市环翠区人民医院",
        "阿托伐他汀钙（GY-YD2023-1 GY7-001）",
        "停产",
    ]
    assert_csp_clean(page)
    assert client.post(f"/trade/supply-blocks/{block.pk}/lift/").status_code == 302
    block.refresh_from_db()
    assert block.lifted_at is not None


def test_supply_block_pages_refuse_other_organisations(trade, client_for):
    block = actions.set_supply_block(
        actor=trade.county_bureau,
        institution=trade.hospital,
        supplier=trade.maker,
        item=trade.item,
        reason="停产",
    )
    other = client_for(trade.other_city_bureau)
    response = other.post(
        "/trade/supply-blocks/",
        {
            "institution": trade.hospital.code,
            "supplier": trade.other_maker.code,
            "item": trade.item.pk,
            "reason": "x",
        },
    )
    assert response.status_code == 400 and "不在您的辖区内" in html(response)
    assert other.post(f"/trade/supply-blocks/{block.pk}/lift/").status_code == 404
    assert client_for(trade.pharmacist).post("/trade/supply-blocks/", {}).status_code == 403
    assert client_for(trade.manufacturer).post(f"/trade/supply-blocks/{block.pk}/lift/").status_code == 404
    block.refresh_from_db()
    assert block.lifted_at is None and SupplyBlock.objects.count() == 1
    # The blocked supplier and the institution see the block; another supplier does not.
    assert len(table_rows(client_for(trade.manufacturer).get("/trade/supply-blocks/"))) == 1
    assert table_rows(client_for(trade.other_manufacturer).get("/trade/supply-blocks/")) == []


def test_price_exception_page(trade, client_for):
    data = {
        "institution": trade.hospital.code,
        "product": trade.product.code,
        "unit_price": "0.1000",
        "valid_from": "2025-06-01",
        "valid_to": "2025-06-30",
        "reason": "应急",
    }
    assert client_for(trade.city_bureau).post("/trade/price-exceptions/", data).status_code == 302
    assert client_for(trade.other_city_bureau).post("/trade/price-exceptions/", data).status_code == 400
    assert client_for(trade.pharmacist).post("/trade/price-exceptions/", data).status_code == 403
    assert PriceException.objects.count() == 1
    assert table_rows(client_for(trade.pharmacist).get("/trade/price-exceptions/"))[0][2] == "0.1000"
    assert table_rows(client_for(trade.other_pharmacist).get("/trade/price-exceptions/")) == []


def test_monthly_report_pages(trade, client_for):
    client = client_for(trade.manufacturer)
    response = client.post(
        "/trade/monthly-reports/",
        {
            "item": trade.item.pk,
            "month": "2025-05",
            "production_qty": "1000",
            "supply_qty": "900",
            "inventory_qty": "100",
            "payment_received": "88.80",
        },
    )
    assert response.status_code == 302
    assert table_rows(client.get("/trade/monthly-reports/"))[0][:7] == [
        "2025-05",
        "齐鲁制药有限公司",
        "阿托伐他汀钙（GY7-001）",
        "1000",
        "900",
        "100",
        "88.80",
    ]
    assert table_rows(client_for(trade.other_manufacturer).get("/trade/monthly-reports/")) == []
    assert len(table_rows(client_for(trade.city_bureau).get("/trade/monthly-reports/"))) == 1
    assert (
        client_for(trade.distributor_user)
        .post(
            "/trade/monthly-reports/",
            {
                "item": trade.item.pk,
                "month": "2025-05",
                "production_qty": "1",
                "supply_qty": "1",
                "inventory_qty": "1",
                "payment_received": "1",
            },
        )
        .status_code
        == 404
    )
    missing = client_for(trade.city_bureau).get("/trade/monthly-reports/missing/")
    assert [r[0] for r in table_rows(missing, "missing")] == [
        "华北制药股份有限公司",
        "扬子江药业集团有限公司",
    ]
    assert client_for(trade.manufacturer).get("/trade/monthly-reports/missing/").status_code == 403


def test_usage_list_is_per_institution(trade, client_for):
    UsageLine.objects.create(
        institution=trade.hospital,
        product=trade.product,
        department="心内科",
        doctor_code="D01",
        qty=30,
        used_on=dt.date(2025, 6, 3),
    )
    UsageLine.objects.create(
        institution=trade.other_hospital,
        product=trade.product,
        department="心内科",
        qty=5,
        used_on=dt.date(2025, 6, 3),
    )
    rows = table_rows(client_for(trade.pharmacist).get("/trade/usage/"))
    assert rows == [
        [
            "2025-06-03",
            "威海市环翠区人民医院",
            "心内科",
            "D01",
            trade.product.code,
            "阿托伐他汀钙",
            "20mg",
            "30",
        ]
    ]
    assert len(table_rows(client_for(trade.province_bureau).get("/trade/usage/"))) == 2
    assert len(table_rows(client_for(trade.city_bureau).get("/trade/usage/", {"department": "心内"}))) == 1
    assert table_rows(client_for(trade.manufacturer).get("/trade/usage/")) == []
    assert xlsx_rows(client_for(trade.pharmacist).get("/trade/usage/", {"export": "xlsx"}))[1][7] == 30


def test_anonymous_users_are_sent_to_login(trade, client):
    assert client.get("/trade/orders/").status_code == 302
    assert OrderLine.objects.count() == 0
