"""history_qty (SPEC §5.2): platform purchases of all products of the item × item_factor in the 12 months
before the window opens (basis from policy), else the imported value, else 0 — with its source."""

import datetime as dt
from decimal import Decimal

import pytest

from jicai.batches.models import ItemFactor
from jicai.core.money import amount
from jicai.demand import actions
from jicai.policy.models import PolicyProfile
from jicai.trade.models import Order, OrderLine, Receipt
from tests.demand.conftest import DEADLINE, OPENS

pytestmark = pytest.mark.django_db

PERIOD_START = dt.date(2023, 1, 15)  # OPENS = 2024-01-15
LAST_DAY = dt.date(2024, 1, 14)


def _line(dw, n, product, qty, ordered_on, status="open", received=()):
    order = Order.objects.create(
        order_id=f"O{n}", institution=dw.hospital, supplier=product.manufacturer, ordered_on=ordered_on
    )
    delivered = sum(q for q, _ in received)
    line = OrderLine.objects.create(
        order=order,
        line_no=1,
        institution=dw.hospital,
        supplier=product.manufacturer,
        ordered_on=ordered_on,
        product=product,
        qty=qty,
        unit_price=Decimal("0.1"),
        amount=amount(qty, "0.1"),
        status=status,
        delivered_qty=delivered,
        accepted_qty=delivered,
    )
    for q, on in received:
        Receipt.objects.create(line=line, accepted_qty=q, received_on=on)
    return line


@pytest.fixture
def purchases(dw):
    ItemFactor.objects.create(item=dw.item, product=dw.other_product, factor=Decimal("0.5"))
    _line(dw, 1, dw.product, 50, PERIOD_START, received=[(20, PERIOD_START), (10, LAST_DAY)])
    _line(dw, 2, dw.other_product, 11, LAST_DAY, received=[(11, LAST_DAY)])
    _line(dw, 3, dw.product, 20, dt.date(2023, 6, 1), status="cancelled")
    _line(dw, 4, dw.product, 5, dt.date(2023, 6, 2), status="rejected")
    # Outside the period on both sides: the day before it starts and the opening day itself.
    _line(dw, 5, dw.product, 1000, PERIOD_START - dt.timedelta(days=1), received=[(7, OPENS)])
    _line(dw, 6, dw.product, 1000, OPENS)


def _history(dw, window):
    report = window.reports.get(institution=dw.hospital)
    return {
        ln.item.item_code: (ln.history_qty, ln.history_source) for ln in report.lines.select_related("item")
    }


def test_received_basis_sums_accepted_receipts_times_factor_and_beats_imported(dw, purchases):
    window = actions.open_window(
        actor=dw.province_bureau, batch=dw.batch, title="w", opens_on=OPENS, deadline=DEADLINE
    )
    # 20 + 10 (product, factor 1) + 11 × 0.5 (other product) = 35.5 → 36; item2 has no platform rows.
    assert _history(dw, window) == {"GY7-001": (36, "platform"), "GY7-002": (40, "imported")}


def test_ordered_basis_sums_non_cancelled_order_qty_by_order_date(dw, purchases):
    PolicyProfile.objects.create(region=dw.province, values={"progress_basis": "ordered"})
    window = actions.open_window(
        actor=dw.province_bureau, batch=dw.batch, title="w", opens_on=OPENS, deadline=DEADLINE
    )
    # 50 + 5 (rejected still counts, cancelled 20 does not) + 11 × 0.5 = 60.5 → 61.
    assert _history(dw, window) == {"GY7-001": (61, "platform"), "GY7-002": (40, "imported")}


def test_without_any_history_the_line_starts_at_zero(dw):
    window = actions.open_window(
        actor=dw.province_bureau, batch=dw.batch, title="w", opens_on=OPENS, deadline=DEADLINE
    )
    report = window.reports.get(institution=dw.other_hospital)
    assert sorted(report.lines.values_list("history_qty", "history_source")) == [(0, "none"), (0, "none")]
