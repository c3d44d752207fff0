"""Imported orders keep their price (SPEC §10, clarified; issue 16 item 5): an order imported from another
system is stored at the price it was sent with, and PRICE_ABOVE_CAP flags it only when the price is above
the §4 cap; an order placed on the platform must still use the listing price.

Caps in this world (Shandong, agreement year 1 = 2024-03-01 … 2025-02-28):
* world.product is Shandong's main winner at 0.1200 → its cap is its winning price, 0.1200;
* world.other_product wins in Jiangsu at 0.1235 and has no winners row in Shandong → its cap is
  max(1.5 × 0.1235, highest winning price of the item 0.1235) = 0.18525 exactly (shown as 0.1853)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jicai.batches.models import ListingPrice, Winner
from jicai.ingest.pipeline import run_import
from jicai.monitoring import realtime
from jicai.monitoring.models import Alert, DirtyInstitution
from jicai.trade.models import Delivery, Order, OrderLine, Receipt
from tests import factories as f
from tests.ingest.conftest import csv_bytes
from tests.monitoring.conftest import monitor

D = dt.date
AS_OF = D(2024, 6, 8)
HEADER = "order_id,line_no,institution_code,supplier_code,distributor_code,product_code,qty,unit_price,ordered_on,status"


@pytest.fixture
def pworld(mworld):
    w = mworld
    jiangsu = f.region("320000", "江苏省")
    Winner.objects.create(
        item=w.item, product=w.other_product, province=jiangsu, role="main", winning_price=Decimal("0.1235")
    )
    for product, price in ((w.product, "0.1200"), (w.other_product, "0.1800")):
        ListingPrice.objects.create(
            product=product, province=w.province, price=Decimal(price), valid_from=D(2024, 3, 1)
        )
    return w


def rows(w, *lines: tuple[str, str, str]) -> bytes:
    """(order_id, product, unit_price) → one CSV line each, qty 10, ordered 2024-05-01 by the hospital."""
    return csv_bytes(
        HEADER,
        *(
            f"{order_id},1,H37100200001,{product.manufacturer.code},,{product.code},10,{price},2024-05-01,open"
            for order_id, product, price in lines
        ),
    )


def imported(order_id: str) -> OrderLine:
    return OrderLine.objects.get(order__order_id=order_id, line_no=1)


def price_alerts(as_of=AS_OF):
    return [
        (a["institution"], a["product"], a["value"], a["threshold"])
        for a in monitor(as_of, types={"PRICE_ABOVE_CAP"})
    ]


def test_import_at_a_non_listing_price_below_the_cap_is_stored_as_sent_without_alert(pworld):
    w = pworld
    result = run_import(
        kind="orders",
        rows_or_file=rows(w, ("H1", w.product, "0.1100"), ("H2", w.other_product, "0.1852")),
        filename="history.csv",
        actor=None,
        source="cli",
    )
    assert (result.created, result.warnings) == (2, [])
    below_listing, below_cap = imported("H1"), imported("H2")
    assert (below_listing.unit_price, below_listing.amount, below_listing.item) == (
        Decimal("0.1100"),
        Decimal("1.10"),
        w.item,
    )
    assert (below_cap.unit_price, below_cap.amount) == (Decimal("0.1852"), Decimal("1.85"))
    assert Order.objects.get(order_id="H1").source == "import"
    # At the cap is not above it either: 0.1200 = the main winner's winning price.
    run_import(
        kind="orders",
        rows_or_file=rows(w, ("H3", w.product, "0.1200")),
        filename="h.csv",
        actor=None,
        source="cli",
    )
    assert price_alerts() == []
    assert not Alert.objects.filter(type="PRICE_ABOVE_CAP").exists()


def test_import_above_the_cap_is_stored_and_raises_price_above_cap_with_exact_values(pworld):
    w = pworld
    result = run_import(
        kind="orders",
        rows_or_file=rows(
            w,
            ("A1", w.product, "0.1201"),  # above its winning price 0.1200
            ("A2", w.other_product, "0.1853"),  # above 0.18525 although the cap shows as 0.1853
            ("A3", w.other_product, "0.1852"),  # below 0.18525: no alert of its own
        ),
        filename="erp.csv",
        actor=w.pharmacist,
        source="cli",
    )
    assert result.created == 3
    assert [imported(o).unit_price for o in ("A1", "A2", "A3")] == [
        Decimal("0.1201"),
        Decimal("0.1853"),
        Decimal("0.1852"),
    ]
    # One alert per institution and product; the value is the highest price above the cap.
    assert price_alerts() == [
        ("H37100200001", w.product.code, 0.1201, 0.12),
        ("H37100200001", w.other_product.code, 0.1853, 0.18525),
    ]
    stored = Alert.objects.get(type="PRICE_ABOVE_CAP", product=w.other_product)
    assert (stored.institution, stored.item, stored.value, stored.threshold, stored.status) == (
        w.hospital,
        w.item,
        Decimal("0.185300"),
        Decimal("0.185250"),
        "open",
    )


def test_price_above_cap_of_an_import_through_the_bulk_api_and_web_upload(pworld, api_client_for, client_for):
    w = pworld
    body = {
        "rows": [
            {
                "order_id": "API1",
                "line_no": "1",
                "institution_code": w.hospital.code,
                "supplier_code": w.maker.code,
                "distributor_code": "",
                "product_code": w.product.code,
                "qty": "10",
                "unit_price": "0.1300",
                "ordered_on": "2024-05-01",
                "status": "open",
            }
        ]
    }
    answer = api_client_for(w.pharmacist).post(
        "/api/v1/imports/orders", json.dumps(body), content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    assert (imported("API1").unit_price, Order.objects.get(order_id="API1").source) == (
        Decimal("0.1300"),
        "api",
    )
    page = client_for(w.pharmacist).post(
        "/imports/",
        {
            "kind": "orders",
            "file": SimpleUploadedFile("web.csv", rows(w, ("WEB1", w.other_product, "0.2000"))),
        },
    )
    assert page.status_code == 200 and "导入成功" in page.content.decode()
    assert imported("WEB1").unit_price == Decimal("0.2000")
    assert price_alerts() == [
        ("H37100200001", w.product.code, 0.13, 0.12),
        ("H37100200001", w.other_product.code, 0.2, 0.18525),
    ]


def test_real_time_path_opens_and_closes_price_above_cap_of_an_import(pworld):
    w = pworld
    monitor(AS_OF)
    DirtyInstitution.objects.all().delete()
    run_import(
        kind="orders",
        rows_or_file=rows(w, ("RT1", w.product, "0.1250")),
        filename="rt.csv",
        actor=None,
        source="cli",
    )
    assert DirtyInstitution.objects.exists()  # the import left its key for the real-time path
    assert not Alert.objects.filter(type="PRICE_ABOVE_CAP").exists()
    done = realtime.drain(AS_OF)
    assert done["opened"] >= 1  # with LOW_DELIVERY_RATE: the line is not delivered
    alert = Alert.objects.get(type="PRICE_ABOVE_CAP")
    assert (alert.institution, alert.product, alert.value, alert.threshold, alert.status) == (
        w.hospital,
        w.product,
        Decimal("0.125000"),
        Decimal("0.120000"),
        "open",
    )
    # The sender cancels the line (a cancelled line is no purchase): the drain closes the alert.
    OrderLine.objects.filter(order__order_id="RT1").update(status="cancelled")
    realtime.drain(AS_OF)
    alert.refresh_from_db()
    assert (alert.status, alert.closed_on) == ("closed", AS_OF)


def trade_state():
    return [list(m.objects.order_by("pk").values()) for m in (Order, OrderLine, Delivery, Receipt)]


def test_platform_order_at_a_non_listing_price_is_still_refused_and_writes_nothing(pworld, api_client_for):
    w = pworld
    before = trade_state()
    buyer = api_client_for(w.pharmacist)
    answer = buyer.post(
        "/api/v1/orders",
        json.dumps(
            {
                "ordered_on": "2024-05-01",
                "lines": [{"product_code": w.product.code, "qty": 10, "unit_price": "0.1100"}],
            }
        ),
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "price_not_listing"
    assert "单价 0.1100 与挂网价 0.1200 不一致" in answer.json()["error"]["message"]
    assert trade_state() == before
    # The same price is accepted from an import (the other system's record), and the platform order at the
    # listing price goes through.
    ok = buyer.post(
        "/api/v1/orders",
        json.dumps({"ordered_on": "2024-05-01", "lines": [{"product_code": w.product.code, "qty": 10}]}),
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.content
    assert OrderLine.objects.get().unit_price == Decimal("0.1200")
