"""Money datasets on the persona world: batch GY-YD2023-1, agreement year 1 = 2024-03-01 … 2025-02-28, item
GY7-001 whose main winner in Shandong is world.product at 0.1200."""

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from jicai.agreements.models import PurchaseAgreement
from jicai.batches.models import AgreementYear
from jicai.trade.models import Order, OrderLine, Receipt

SHANGHAI = ZoneInfo("Asia/Shanghai")
_serial = itertools.count(1)


def effective_agreement(world, institution, qty, effective_on: dt.date, *, item=None, year=1, price="0.1200"):
    """An effective agreement: budget = qty × price (as the agreements app computes it)."""
    unit = Decimal(price)
    return PurchaseAgreement.objects.create(
        agreement_year=AgreementYear.objects.get(batch=world.batch, number=year),
        institution=institution,
        item=item or world.item,
        supplier=world.maker,
        agreed_qty=qty,
        winning_price=unit,
        budget=(Decimal(qty) * unit).quantize(Decimal("0.01")),
        status="effective",
        effective_at=dt.datetime.combine(effective_on, dt.time(10, 0), tzinfo=SHANGHAI),
    )


def receive(world, institution, qty, day: dt.date, *, product=None, item=None, unit_price="0.1200"):
    """One order line ordered and received in full on `day`; returns the line."""
    product = product or world.product
    unit = Decimal(unit_price)
    order = Order.objects.create(
        order_id=f"F{next(_serial):06d}",
        institution=institution,
        supplier=product.manufacturer,
        ordered_on=day,
    )
    line = OrderLine.objects.create(
        order=order,
        line_no=1,
        institution=institution,
        supplier=product.manufacturer,
        ordered_on=day,
        product=product,
        item=item or world.item,
        qty=qty,
        unit_price=unit,
        amount=(Decimal(qty) * unit).quantize(Decimal("0.01")),
        delivered_qty=qty,
        accepted_qty=qty,
        last_delivered_on=day,
        last_received_on=day,
        payment_due_on=day + dt.timedelta(days=30),
    )
    Receipt.objects.create(line=line, accepted_qty=qty, received_on=day)
    return line
