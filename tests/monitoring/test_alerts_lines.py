"""Delivery-rate and line-level alerts (SPEC §7) on hand-built data; grace 3 days, floor 0.80."""

import datetime as dt
from decimal import Decimal

from jicai.agreements.models import PurchaseAgreement
from jicai.batches.models import AgreementYear, ItemFactor, ListingPrice, Winner
from jicai.monitoring.models import DeliveryFact
from jicai.trade.models import OrderLine, Payment, SupplierMonthlyReport, UsageLine
from tests import factories as f
from tests.monitoring.conftest import add_line, agreed, monitor, received

D = dt.date
AS_OF = D(2024, 6, 8)


def test_delivery_rate_exactly_080_does_not_fire_below_does_with_tier(mworld):
    w = mworld
    add_line(w.hospital, w.product, 100, D(2024, 5, 1), item=w.item, delivered=80, delivered_on=D(2024, 5, 2))
    add_line(
        w.other_hospital, w.product, 100, D(2024, 5, 1), item=w.item, delivered=50, delivered_on=D(2024, 5, 2)
    )
    add_line(w.other_hospital, w.product, 100, D(2024, 5, 3), item=w.item, status="rejected")
    add_line(w.other_hospital, w.product, 100, D(2024, 5, 3), item=w.item, status="cancelled")
    alerts = monitor(AS_OF, types={"LOW_DELIVERY_RATE"})
    assert [(a["institution"], a["supplier"], a["value"], a["threshold"], a["tier"]) for a in alerts] == [
        ("H37020200001", w.maker.code, 0.25, 0.8, 3)
    ]
    rates = dict(DeliveryFact.objects.values_list("institution__code", "rate"))
    assert rates == {"H37100200001": Decimal("0.8"), "H37020200001": Decimal("0.25")}


def test_no_eligible_lines_gives_no_rate_and_no_alert(mworld):
    w = mworld
    # Ordered within the grace days (after D − 3) and a non-winning product: neither is eligible.
    add_line(w.hospital, w.product, 100, D(2024, 6, 6), item=w.item)
    add_line(w.hospital, w.other_product, 100, D(2024, 5, 1), item=w.item)
    assert monitor(AS_OF, types={"LOW_DELIVERY_RATE"}) == []
    assert not DeliveryFact.objects.exists()


def test_deliveries_after_as_of_do_not_count(mworld):
    w = mworld
    add_line(
        w.hospital, w.product, 100, D(2024, 6, 1), item=w.item, delivered=100, delivered_on=D(2024, 6, 9)
    )
    alerts = monitor(AS_OF, types={"LOW_DELIVERY_RATE"})
    assert [(a["value"], a["tier"]) for a in alerts] == [(0, 3)]


def test_late_receipt_after_more_than_five_days(mworld):
    w = mworld
    late = add_line(
        w.hospital, w.product, 10, D(2024, 5, 20), item=w.item, delivered=10, delivered_on=D(2024, 6, 2)
    )  # 6 days before D
    add_line(
        w.hospital, w.product, 10, D(2024, 5, 20), item=w.item, delivered=10, delivered_on=D(2024, 6, 3)
    )  # exactly 5 days: not late
    alerts = monitor(AS_OF, types={"LATE_RECEIPT"})
    assert [(a["order_id"], a["line_no"], a["value"], a["threshold"]) for a in alerts] == [
        (late.order.order_id, 1, 10, 5)
    ]


def test_late_payment_after_due_date(mworld):
    w = mworld
    late = received(w.hospital, w.product, 100, D(2024, 5, 1), item=w.item)  # due 2024-05-31
    received(w.hospital, w.product, 100, D(2024, 5, 9), item=w.item)  # due 2024-06-08 = D: not after
    received(
        w.hospital, w.product, 100, D(2024, 5, 2), item=w.item, paid=Decimal("12.00"), paid_on=D(2024, 5, 20)
    )
    alerts = monitor(AS_OF, types={"LATE_PAYMENT"})
    assert [(a["order_id"], a["value"], a["threshold"]) for a in alerts] == [(late.order.order_id, 12, 30)]


def test_late_payment_judged_by_what_was_paid_by_d(mworld):
    """Payments after D do not count as of D: a line fully paid only after D is late by its whole value,
    one paid partly before and partly after D by what was missing at D; fully paid by D is not late."""
    w = mworld
    # 100 × 0.12 = 12.00 payable each, due 2024-05-31 (received 2024-05-01)
    after = received(
        w.hospital, w.product, 100, D(2024, 5, 1), item=w.item, paid=Decimal("12.00"), paid_on=D(2024, 6, 9)
    )
    split = received(
        w.hospital, w.product, 100, D(2024, 5, 1), item=w.item, paid=Decimal("5.00"), paid_on=D(2024, 6, 1)
    )
    Payment.objects.create(line=split, amount=Decimal("7.00"), paid_on=D(2024, 6, 20))
    OrderLine.objects.filter(pk=split.pk).update(paid_amount=Decimal("12.00"), last_paid_on=D(2024, 6, 20))
    received(
        w.hospital, w.product, 100, D(2024, 5, 1), item=w.item, paid=Decimal("12.00"), paid_on=D(2024, 6, 8)
    )
    alerts = monitor(AS_OF, types={"LATE_PAYMENT"})
    assert sorted((a["order_id"], a["value"]) for a in alerts) == sorted(
        [(after.order.order_id, 12), (split.order.order_id, 7)]
    )
    # As of the day after the last payment, nothing is outstanding.
    assert monitor(D(2024, 6, 21), types={"LATE_PAYMENT"}) == []


def test_late_payment_of_a_line_of_no_item(mworld):
    w = mworld
    line = received(w.hospital, w.product, 100, D(2024, 5, 1))  # no item: the region's own policy applies
    alerts = monitor(AS_OF, types={"LATE_PAYMENT"})
    assert [(a["order_id"], a["item"], a["value"], a["threshold"]) for a in alerts] == [
        (line.order.order_id, None, 12, 30)
    ]


def test_abnormal_order_against_history_and_agreed(mworld):
    w = mworld
    agreed(w, w.hospital, 120)  # agreed / 12 = 10 → limit 30
    add_line(w.hospital, w.product, 30, D(2024, 5, 1), item=w.item)  # exactly 3×: no alert
    big = add_line(w.hospital, w.product, 31, D(2024, 5, 2), item=w.item)
    # other hospital: no agreed volume, no history → rule does not apply
    add_line(w.other_hospital, w.product, 1000, D(2024, 5, 2), item=w.item)
    alerts = monitor(AS_OF, types={"ABNORMAL_ORDER"})
    assert [(a["order_id"], a["value"], a["threshold"]) for a in alerts] == [(big.order.order_id, 31, 30)]


def test_offline_purchase_suspect_strictly_above_110_percent(mworld):
    w = mworld
    received(w.hospital, w.product, 100, D(2024, 2, 1), item=w.item)  # within S − 90 days
    UsageLine.objects.create(institution=w.hospital, product=w.product, qty=110, used_on=D(2024, 4, 1))
    received(w.other_hospital, w.product, 100, D(2024, 3, 5), item=w.item)
    UsageLine.objects.create(institution=w.other_hospital, product=w.product, qty=111, used_on=D(2024, 4, 1))
    alerts = monitor(AS_OF, types={"OFFLINE_PURCHASE_SUSPECT"})
    assert [(a["institution"], a["product"], a["value"], a["threshold"]) for a in alerts] == [
        ("H37020200001", w.product.code, 111, 110)
    ]


def test_price_above_cap_for_listing_and_orders(mworld):
    w = mworld
    # other_product wins elsewhere at 0.20 and does not supply Shandong: cap max(1.5 × 0.20, 0.20) = 0.30
    elsewhere = f.region("320000", "江苏省")
    Winner.objects.create(
        item=w.item, product=w.other_product, province=elsewhere, role="main", winning_price=Decimal("0.2000")
    )
    ListingPrice.objects.create(
        product=w.other_product, province=w.province, price=Decimal("0.3100"), valid_from=D(2024, 1, 1)
    )
    ListingPrice.objects.create(
        product=w.product, province=w.province, price=Decimal("0.1200"), valid_from=D(2024, 1, 1)
    )
    add_line(w.hospital, w.other_product, 10, D(2024, 5, 1), item=w.item, unit_price=Decimal("0.3100"))
    add_line(w.hospital, w.product, 10, D(2024, 5, 1), item=w.item, unit_price=Decimal("0.1200"))
    alerts = monitor(AS_OF, types={"PRICE_ABOVE_CAP"})
    assert [(a["institution"], a["product"], a["value"], a["threshold"]) for a in alerts] == [
        (None, w.other_product.code, 0.31, 0.3),
        ("H37100200001", w.other_product.code, 0.31, 0.3),
    ]


def test_unsigned_agreement_after_due_date(mworld):
    w = mworld
    year = AgreementYear.objects.get(batch=w.batch, number=1)
    common = dict(
        agreement_year=year, item=w.item, supplier=w.maker, agreed_qty=10, winning_price=Decimal("0.12")
    )
    PurchaseAgreement.objects.create(institution=w.hospital, due_date=D(2024, 6, 7), **common)
    PurchaseAgreement.objects.create(institution=w.other_hospital, due_date=D(2024, 6, 8), **common)
    PurchaseAgreement.objects.create(
        institution=w.clinic, due_date=D(2024, 6, 1), status="effective", **common
    )
    alerts = monitor(AS_OF, types={"UNSIGNED_AGREEMENT"})
    assert [(a["institution"], a["supplier"], a["value"]) for a in alerts] == [
        ("H37100200001", w.maker.code, 1)
    ]


def test_late_supplier_report_after_the_due_day(mworld):
    w = mworld
    # On 2024-06-06 the May report (due 06-05) is late; on 06-05 the April one is (and it was filed).
    SupplierMonthlyReport.objects.create(
        company=w.maker,
        item=w.item,
        month=D(2024, 4, 1),
        production_qty=1,
        supply_qty=1,
        inventory_qty=1,
        payment_received=Decimal("1"),
    )
    assert monitor(D(2024, 6, 5), types={"LATE_SUPPLIER_REPORT"}) == []
    alerts = monitor(D(2024, 6, 6), types={"LATE_SUPPLIER_REPORT"})
    assert [(a["supplier"], a["institution"], a["value"], a["threshold"]) for a in alerts] == [
        (w.maker.code, None, 1, 5)
    ]


def test_abnormal_order_converts_agreed_item_units_to_the_products_units(mworld):
    """agreed 120 reference units, product factor 0.5 → 240 tablets a year, 20 a month, limit 3 × 20 = 60
    tablets; the line qty and the product's history stay in tablets."""
    w = mworld
    ItemFactor.objects.create(item=w.item, product=w.product, factor=Decimal("0.5"))
    agreed(w, w.hospital, 120)
    add_line(w.hospital, w.product, 60, D(2024, 5, 1), item=w.item)  # exactly 3 × 20: no alert
    big = add_line(w.hospital, w.product, 61, D(2024, 5, 2), item=w.item)
    alerts = monitor(AS_OF, types={"ABNORMAL_ORDER"})
    assert [(a["order_id"], a["value"], a["threshold"]) for a in alerts] == [(big.order.order_id, 61, 60)]


def test_abnormal_order_history_is_the_products_own_qty_over_twelve_months(mworld):
    """No agreed volume: history of the product in the 12 months before the order date / 12. 1 200 received
    in 2023-06 → 100 a month, limit 300; a receipt exactly a year before the order date counts, one a day
    earlier does not."""
    w = mworld
    received(
        w.hospital, w.product, 1200, D(2023, 6, 1)
    )  # window of a 2024-06-01 order: 2023-06-01 … 2024-05-31
    received(w.hospital, w.product, 5000, D(2023, 5, 31))  # outside
    add_line(w.hospital, w.product, 300, D(2024, 6, 1), item=w.item)
    big = add_line(w.hospital, w.product, 301, D(2024, 6, 1), item=w.item)
    alerts = monitor(AS_OF, types={"ABNORMAL_ORDER"})
    assert [(a["order_id"], a["value"], a["threshold"]) for a in alerts] == [(big.order.order_id, 301, 300)]
