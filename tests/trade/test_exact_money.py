"""Money is exact on every database (SPEC §2, §9): partial payments that add up to the line amount to the cent
are accepted, one more cent is refused, through the action, the web form, the API and the payments import.

The reproduction of the hardening issue: on SQLite amounts were stored as binary floats, so after paying 0.01
of a 38.94 line, paying the remaining 38.93 was refused (0.01 + 38.93 came out above 38.94)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jicai.batches.models import ListingPrice
from jicai.core.errors import DomainError, ImportRejected
from jicai.ingest.pipeline import run_import
from jicai.trade import actions
from jicai.trade.models import OrderLine, Payment
from tests.ingest.conftest import csv_bytes
from tests.trade.conftest import delivered_order

D = Decimal
PAID_ON = dt.date(2025, 6, 20)


def received_line(w, qty: int) -> OrderLine:
    """A line of `qty` units at 0.0118 (3300 units = 38.94, 83950 units = 990.61), delivered and received."""
    ListingPrice.objects.filter(product=w.product).update(price=D("0.0118"))
    _, line = delivered_order(w, w.product, qty, supplier_user=w.manufacturer)
    actions.confirm_receipt(actor=w.pharmacist, line=line, accepted_qty=qty, received_on=dt.date(2025, 6, 5))
    line.refresh_from_db()
    return line


def pay(w, line, amount: str, on=PAID_ON, invoice=""):
    return actions.record_payment(
        actor=w.pharmacist, line=line, amount=D(amount), paid_on=on, invoice_no=invoice
    )


def paid(line) -> Decimal:
    line.refresh_from_db()
    return line.paid_amount


def test_stored_amount_and_price_are_exact_integers_in_the_database(trade):
    line = received_line(trade, 3300)
    assert (line.unit_price, line.amount) == (D("0.0118"), D("38.94"))
    table = connection.ops.quote_name(OrderLine._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT unit_price, amount FROM {table} WHERE id = %s", [line.pk])
        assert cursor.fetchone() == (118, 3894)


def test_one_cent_then_the_exact_remainder_is_accepted_and_one_more_cent_refused(trade):
    line = received_line(trade, 3300)
    pay(trade, line, "0.01")
    pay(trade, line, "38.93", on=PAID_ON + dt.timedelta(days=1))
    assert paid(line) == D("38.94")
    with pytest.raises(DomainError, match=r"尚可付款 0.00") as exc:
        pay(trade, line, "0.01", on=PAID_ON + dt.timedelta(days=2))
    assert exc.value.code == "payment_exceeds_amount"
    assert paid(line) == D("38.94")
    assert Payment.objects.filter(line=line).aggregate(total=Sum("amount"))["total"] == D("38.94")


def test_990_61_paid_in_several_parts_sums_exactly(trade):
    line = received_line(trade, 83950)
    assert line.amount == D("990.61")
    parts = ["0.10", "0.20", "0.30", "100.01", "333.33", "333.33", "223.34"]
    assert sum(D(p) for p in parts) == D("990.61")
    for day, part in enumerate(parts):
        pay(trade, line, part, on=PAID_ON - dt.timedelta(days=day))
    assert paid(line) == D("990.61")
    with pytest.raises(DomainError):
        pay(trade, line, "0.01")
    assert Payment.objects.filter(line=line).aggregate(total=Sum("amount"))["total"] == D("990.61")


def test_web_form_pays_the_exact_remainder(trade, client_for):
    line = received_line(trade, 3300)
    client = client_for(trade.pharmacist)
    url = f"/trade/orders/{line.order.order_id}/lines/1/pay/"
    client.post(url, {"amount": "0.01", "paid_on": "2025-06-20", "invoice_no": ""})
    client.post(url, {"amount": "38.93", "paid_on": "2025-06-21", "invoice_no": ""})
    assert paid(line) == D("38.94")
    client.post(url, {"amount": "0.01", "paid_on": "2025-06-22", "invoice_no": ""})
    assert paid(line) == D("38.94")
    assert Payment.objects.filter(line=line).count() == 2


def test_api_pays_the_exact_remainder(trade, api_client_for):
    line = received_line(trade, 3300)
    client = api_client_for(trade.pharmacist)
    url = f"/api/v1/order-lines/{line.order.order_id}/1/payments"

    def post(amount, day):
        body = json.dumps({"amount": amount, "paid_on": day})
        return client.post(url, body, content_type="application/json")

    assert post("0.01", "2025-06-20").status_code == 200
    assert post("38.93", "2025-06-21").status_code == 200
    refused = post("0.01", "2025-06-22")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "payment_exceeds_amount"
    assert paid(line) == D("38.94")


def test_payments_import_pays_the_exact_remainder_and_refuses_one_more_cent(trade):
    line = received_line(trade, 83950)
    order_id = line.order.order_id

    def load(*rows):
        return run_import(
            kind="payments",
            rows_or_file=csv_bytes("order_id,line_no,amount,paid_on", *rows),
            filename="payments.csv",
            actor=trade.pharmacist,
            source="cli",
        )

    load(f"{order_id},1,0.01,2025-06-01", f"{order_id},1,990.59,2025-06-02")
    assert paid(line) == D("990.60")
    load(f"{order_id},1,0.01,2025-06-03")
    assert paid(line) == D("990.61")
    with pytest.raises(ImportRejected) as info:
        load(f"{order_id},1,0.01,2025-06-04")
    assert [(e.row, e.column, e.reason) for e in info.value.errors] == [
        (2, "amount", "累计付款 990.62 超过订单行金额 990.61")
    ]
    assert paid(line) == D("990.61")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=99_060), min_size=0, max_size=6, unique=True))
def test_any_split_into_cents_sums_exactly_and_the_last_cent_is_accepted(trade, cuts):
    """990.61 = 99,061 cents split at random points into parts; every part is accepted, the total is exact."""
    line = OrderLine.objects.filter(amount=D("990.61")).first() or received_line(trade, 83950)
    Payment.objects.filter(line=line).delete()
    OrderLine.objects.filter(pk=line.pk).update(paid_amount=D("0.00"), last_paid_on=None)
    points = [0, *sorted(cuts), 99_061]
    parts = [D(b - a).scaleb(-2) for a, b in zip(points, points[1:], strict=False)]
    for day, part in enumerate(parts):
        pay(trade, line, str(part), on=PAID_ON - dt.timedelta(days=day))
    assert paid(line) == D("990.61")
    assert Payment.objects.filter(line=line).aggregate(total=Sum("amount"))["total"] == D("990.61")
