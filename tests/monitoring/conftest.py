"""Hand-built monitoring datasets on top of the persona world: the world's batch GY-YD2023-1 has agreement
year 1 = 2024-03-01 … 2025-02-28 (365 days), item GY7-001 with world.product (maker) as Shandong's main
winner; helpers write order lines with their running totals and child rows exactly as trade.actions would."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from jicai.agreements.models import AgreedVolume
from jicai.batches.models import AgreementYear
from jicai.monitoring.evaluate import found_alerts, run_monitoring
from jicai.trade.models import Delivery, Order, OrderLine, Payment, Receipt

D = dt.date
_serial = itertools.count(1)


def add_line(
    institution,
    product,
    qty,
    ordered_on,
    *,
    item=None,
    supplier=None,
    status="open",
    delivered=None,
    delivered_on=None,
    accepted=None,
    received_on=None,
    rejected=0,
    paid=Decimal("0.00"),
    paid_on=None,
    unit_price=Decimal("0.1200"),
    accepted_by_supplier=None,
):
    """One order with one line; delivered/received default to none. Returns the line."""
    supplier = supplier or product.manufacturer
    order = Order.objects.create(
        order_id=f"T{next(_serial):06d}", institution=institution, supplier=supplier, ordered_on=ordered_on
    )
    delivered = delivered or 0
    accepted = accepted if accepted is not None else 0
    line = OrderLine.objects.create(
        order=order,
        line_no=1,
        institution=institution,
        supplier=supplier,
        ordered_on=ordered_on,
        product=product,
        item=item,
        qty=qty,
        unit_price=unit_price,
        amount=(Decimal(qty) * unit_price).quantize(Decimal("0.01")),
        status=status,
        accepted_by_supplier=False if status == "rejected" else accepted_by_supplier,
        delivered_qty=delivered,
        accepted_qty=accepted,
        rejected_qty=rejected,
        paid_amount=paid,
        last_delivered_on=delivered_on if delivered else None,
        last_received_on=received_on if (accepted or rejected) else None,
        last_paid_on=paid_on if paid else None,
        payment_due_on=received_on + dt.timedelta(days=30) if (accepted and received_on) else None,
    )
    if delivered:
        Delivery.objects.create(line=line, qty=delivered, delivered_on=delivered_on)
    if accepted or rejected:
        Receipt.objects.create(
            line=line, accepted_qty=accepted, rejected_qty=rejected, received_on=received_on
        )
    if paid:
        Payment.objects.create(line=line, amount=paid, paid_on=paid_on)
    return line


def received(institution, product, qty, day, *, item=None, ordered_on=None, **kw):
    """A line ordered, delivered and received (accepted in full) on `day` (ordered on `ordered_on` if given)."""
    return add_line(
        institution,
        product,
        qty,
        ordered_on or day,
        item=item,
        delivered=qty,
        delivered_on=day,
        accepted=qty,
        received_on=day,
        **kw,
    )


def agreed(world, institution, qty, reported=None, *, year=1, item=None):
    return AgreedVolume.objects.create(
        agreement_year=AgreementYear.objects.get(batch=world.batch, number=year),
        institution=institution,
        item=item or world.item,
        supplier=world.maker,
        reported_qty=qty * 2 if reported is None else reported,
        agreed_qty=qty,
        source="imported",
    )


def monitor(as_of, scope=None, types=None):
    """Run monitoring and return the alerts found (SPEC §10 dicts), optionally only some types."""
    outcome = run_monitoring(as_of, scope)
    alerts = found_alerts(outcome.facts)
    if types:
        alerts = [a for a in alerts if a["type"] in types]
    return alerts


@pytest.fixture
def mworld(world):
    world.year1 = AgreementYear.objects.get(batch=world.batch, number=1)
    return world


def winning_line(w, institution, qty, ordered_on, delivered=0, delivered_on=None, **kw):
    """A line of the world's winning product (w.product) of w.item, delivered on `delivered_on` (default: the
    order day)."""
    return add_line(
        institution,
        w.product,
        qty,
        ordered_on,
        item=w.item,
        delivered=delivered,
        delivered_on=delivered_on or ordered_on,
        **kw,
    )
