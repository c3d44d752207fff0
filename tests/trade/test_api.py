"""Supply API: the same actions and scope as the pages; every endpoint answers 404 (and changes nothing)
for another organisation's rows."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from jicai.trade import actions
from jicai.trade.models import Order, Payment, PriceException, SupplierMonthlyReport, SupplyBlock, UsageLine
from tests.trade.conftest import delivered_order

pytestmark = pytest.mark.django_db

API = "/api/v1"


def post(client, url, data):
    return client.post(API + url, json.dumps(data), content_type="application/json")


def test_order_lifecycle_through_the_api(trade, api_client_for):
    buyer = api_client_for(trade.pharmacist)
    created = post(
        buyer,
        "/orders",
        {
            "order_id": "HIS-0001",
            "ordered_on": "2025-06-01",
            "lines": [{"product_code": trade.product.code, "qty": 100}],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["supplier_code"], body["distributor_code"], body["status"]) == (
        trade.maker.code,
        trade.distributor.code,
        "pending",
    )
    assert (body["lines"][0]["unit_price"], body["lines"][0]["amount"], body["lines"][0]["item_code"]) == (
        "0.1200",
        "12.00",
        "GY7-001",
    )
    supplier = api_client_for(trade.manufacturer)
    assert (
        post(supplier, "/order-lines/HIS-0001/1/respond", {"accept": True}).json()["derived_status"]
        == "accepted"
    )
    line = post(
        supplier, "/order-lines/HIS-0001/1/deliveries", {"qty": 100, "delivered_on": "2025-06-03"}
    ).json()
    assert (line["delivered_qty"], line["status_label"]) == (100, "已配送")
    line = post(
        buyer,
        "/order-lines/HIS-0001/1/receipts",
        {"accepted_qty": 90, "rejected_qty": 10, "received_on": "2025-06-05", "reason": "效期不足"},
    ).json()
    assert (line["derived_status"], line["payment_due_on"], line["outstanding"]) == (
        "received_with_rejects",
        "2025-07-05",
        "10.80",
    )
    line = post(
        buyer, "/order-lines/HIS-0001/1/payments", {"amount": "10.80", "paid_on": "2025-06-20"}
    ).json()
    assert (line["paid_amount"], line["outstanding"]) == ("10.80", "0.00")
    refused = post(buyer, "/order-lines/HIS-0001/1/payments", {"amount": "1.21", "paid_on": "2025-06-21"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "payment_exceeds_amount"
    detail = buyer.get(API + "/orders/HIS-0001").json()
    assert (detail["status"], detail["status_label"]) == ("received_with_rejects", "已入库(含拒收)")
    assert buyer.get(API + "/order-lines", {"status": "received_with_rejects"}).json()["count"] == 1
    payables = buyer.get(API + "/payables", {"by": "supplier"}).json()
    assert payables == [
        {
            "code": trade.maker.code,
            "name": "齐鲁制药有限公司",
            "line_count": 1,
            "ordered_amount": "12.00",
            "payable_amount": "10.80",
            "paid": "10.80",
            "outstanding": "0.00",
            "overdue": "0.00",
        }
    ]


def test_api_order_refusals(trade, api_client_for):
    buyer = api_client_for(trade.pharmacist)
    wrong_price = post(
        buyer, "/orders", {"lines": [{"product_code": trade.product.code, "qty": 1, "unit_price": "0.2"}]}
    )
    assert wrong_price.status_code == 400 and wrong_price.json()["error"]["code"] == "price_not_listing"
    unknown = post(buyer, "/orders", {"lines": [{"product_code": "XNOPE", "qty": 1}]})
    assert unknown.json()["error"]["code"] == "unknown_product"
    assert (
        post(
            api_client_for(trade.manufacturer),
            "/orders",
            {"lines": [{"product_code": trade.product.code, "qty": 1}]},
        ).status_code
        == 403
    )
    assert Order.objects.count() == 0


def test_api_progress(trade, api_client_for):
    assert api_client_for(trade.pharmacist).get(API + "/order-progress").json() == [
        {
            "batch_code": "GY-YD2023-1",
            "item_code": "GY7-001",
            "generic_name": "阿托伐他汀钙",
            "agreement_year": 2,
            "basis": "received",
            "agreed_qty": 1000,
            "purchased": "0",
            "remaining": "1000",
        }
    ]
    assert api_client_for(trade.manufacturer).get(API + "/order-progress").json() == []


@pytest.mark.parametrize("persona", ["other_pharmacist", "other_manufacturer", "other_city_bureau"])
def test_every_order_endpoint_is_404_for_another_organisation(trade, api_client_for, persona):
    o, line = delivered_order(trade, trade.product, 100, supplier_user=trade.manufacturer)
    client = api_client_for(getattr(trade, persona))
    oid = o.order_id
    assert client.get(f"{API}/orders/{oid}").status_code == 404
    assert client.get(f"{API}/orders").json()["count"] == 0
    assert client.get(f"{API}/order-lines").json()["count"] == 0
    for url, data in (
        (f"/order-lines/{oid}/1/respond", {"accept": False, "reason": "x"}),
        (f"/order-lines/{oid}/1/deliveries", {"qty": 1, "delivered_on": "2025-06-03"}),
        (f"/order-lines/{oid}/1/receipts", {"accepted_qty": 1, "received_on": "2025-06-05"}),
        (f"/order-lines/{oid}/1/payments", {"amount": "1", "paid_on": "2025-06-20"}),
        (
            "/invoice-payments",
            {
                "invoice_no": "X",
                "amount": "1",
                "paid_on": "2025-06-20",
                "lines": [{"order_id": oid, "line_no": 1}],
            },
        ),
    ):
        response = post(client, url, data)
        assert response.status_code == 404, (url, response.content)
        assert response.json()["error"]["code"] == "not_found"
    line.refresh_from_db()
    assert (line.status, line.delivered_qty, line.accepted_qty, line.paid_amount) == (
        "open",
        100,
        0,
        Decimal("0.00"),
    )
    assert not Payment.objects.exists()


def test_invoice_payment_api(trade, api_client_for):
    a, first = delivered_order(trade, trade.product, 100, supplier_user=trade.manufacturer)
    b, second = delivered_order(trade, trade.product, 200, supplier_user=trade.manufacturer)
    response = post(
        api_client_for(trade.pharmacist),
        "/invoice-payments",
        {
            "invoice_no": "INV-9",
            "amount": "30.00",
            "paid_on": "2025-06-20",
            "lines": [{"order_id": a.order_id, "line_no": 1}, {"order_id": b.order_id, "line_no": 1}],
        },
    )
    assert response.status_code == 201
    assert [(p["order_id"], p["amount"]) for p in response.json()] == [
        (a.order_id, "12.00"),
        (b.order_id, "18.00"),
    ]


def test_supply_block_api_and_scope(trade, api_client_for):
    data = {
        "institution_code": trade.hospital.code,
        "supplier_code": trade.maker.code,
        "batch_code": "GY-YD2023-1",
        "item_code": "GY7-001",
        "reason": "停产",
    }
    assert post(api_client_for(trade.other_city_bureau), "/supply-blocks", data).status_code == 404
    assert post(api_client_for(trade.pharmacist), "/supply-blocks", data).status_code == 404
    created = post(api_client_for(trade.county_bureau), "/supply-blocks", data)
    assert created.status_code == 201 and created.json()["lifted_at"] is None
    block_id = created.json()["id"]
    assert api_client_for(trade.manufacturer).get(API + "/supply-blocks").json()["count"] == 1
    assert api_client_for(trade.other_manufacturer).get(API + "/supply-blocks").json()["count"] == 0
    for persona in ("other_city_bureau", "manufacturer", "pharmacist"):
        assert (
            post(api_client_for(getattr(trade, persona)), f"/supply-blocks/{block_id}/lift", {}).status_code
            == 404
        )
    assert SupplyBlock.objects.get().lifted_at is None
    lifted = post(api_client_for(trade.city_bureau), f"/supply-blocks/{block_id}/lift", {})
    assert lifted.status_code == 200 and lifted.json()["lifted_at"] is not None


def test_price_exception_api(trade, api_client_for):
    data = {
        "institution_code": trade.hospital.code,
        "product_code": trade.product.code,
        "unit_price": "0.1",
        "valid_from": "2025-06-01",
        "valid_to": "2025-06-30",
        "reason": "应急",
    }
    assert post(api_client_for(trade.other_city_bureau), "/price-exceptions", data).status_code == 404
    created = post(api_client_for(trade.province_bureau), "/price-exceptions", data)
    assert created.status_code == 201 and created.json()["unit_price"] == "0.1000"
    assert api_client_for(trade.pharmacist).get(API + "/price-exceptions").json()["count"] == 1
    assert api_client_for(trade.other_pharmacist).get(API + "/price-exceptions").json()["count"] == 0
    assert PriceException.objects.count() == 1


def test_monthly_report_api(trade, api_client_for):
    data = {
        "batch_code": "GY-YD2023-1",
        "item_code": "GY7-001",
        "month": "2025-05",
        "production_qty": 10,
        "supply_qty": 9,
        "inventory_qty": 1,
        "payment_received": "5.5",
    }
    assert post(api_client_for(trade.distributor_user), "/monthly-reports", data).status_code == 404
    created = post(api_client_for(trade.manufacturer), "/monthly-reports", data)
    assert created.status_code == 201 and created.json()["payment_received"] == "5.50"
    assert api_client_for(trade.other_manufacturer).get(API + "/monthly-reports").json()["count"] == 0
    assert api_client_for(trade.province_bureau).get(API + "/monthly-reports").json()["count"] == 1
    missing = api_client_for(trade.province_bureau).get(API + "/monthly-reports/missing").json()
    assert [m["company_name"] for m in missing] == ["华北制药股份有限公司", "扬子江药业集团有限公司"]
    assert missing[0]["month"] == "2025-05" and missing[0]["due_on"] == "2025-06-05"
    assert api_client_for(trade.manufacturer).get(API + "/monthly-reports/missing").json() == []
    assert SupplierMonthlyReport.objects.count() == 1


def test_usage_api_is_scoped(trade, api_client_for):
    UsageLine.objects.create(
        institution=trade.hospital,
        product=trade.product,
        department="心内科",
        qty=30,
        used_on=dt.date(2025, 6, 3),
    )
    assert api_client_for(trade.pharmacist).get(API + "/usage").json()["results"][0]["qty"] == 30
    assert api_client_for(trade.other_pharmacist).get(API + "/usage").json()["count"] == 0
    assert api_client_for(trade.manufacturer).get(API + "/usage").json()["count"] == 0
    assert api_client_for(trade.city_bureau).get(API + "/usage").json()["count"] == 1


def test_doctor_cannot_write_through_the_api(trade, api_client_for):
    o, line = delivered_order(trade, trade.product, 10, supplier_user=trade.manufacturer)
    response = post(
        api_client_for(trade.doctor),
        f"/order-lines/{o.order_id}/1/receipts",
        {"accepted_qty": 1, "received_on": "2025-06-05"},
    )
    assert response.status_code == 404  # a doctor does not see the institution's orders (SPEC §1, §9)
    line.refresh_from_db()
    assert line.accepted_qty == 0
    assert actions.today() == dt.date(2025, 6, 30)


def test_order_lines_api_filters_by_batch_and_item(trade, api_client_for):
    w = trade
    winning = actions.place_order(
        actor=w.pharmacist, lines=[actions.LineInput(w.product, 7)], ordered_on=dt.date(2025, 6, 1)
    )
    substitute = actions.place_order(
        actor=w.pharmacist, lines=[actions.LineInput(w.substitute_product, 3)], ordered_on=dt.date(2025, 6, 1)
    )
    client = api_client_for(w.pharmacist)

    def order_ids(**params):
        body = client.get("/api/v1/order-lines", params).json()
        return sorted(r["order_id"] for r in body["results"])

    assert order_ids(batch=w.batch.code, item=w.item.item_code) == [winning.order_id]
    assert order_ids() == sorted([winning.order_id, substitute.order_id])
    assert order_ids(batch=w.batch.code, item="NO-SUCH-ITEM") == []
