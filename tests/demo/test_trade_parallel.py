"""The demo's trade step on PostgreSQL outside a transaction: split over two connections (as at province
scale) it writes exactly the rows the single-connection load writes, with every index, unique constraint and
foreign key back afterwards."""

import pytest
from django.db import connection
from django.db.models import Count, Max, Sum

from jicai.core.bulkload import drop_for_load
from jicai.demo.runner import run_demo
from jicai.demo.scales import BASE_TODAY
from jicai.demo.steps import trade
from jicai.trade.models import Delivery, Order, OrderLine, Payment, Receipt, UsageLine

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="parallel loading is PostgreSQL's (one backend per connection)"
)


def _fingerprint() -> dict:
    return {
        "orders": Order.objects.aggregate(n=Count("id"), last=Max("id"), day=Max("ordered_on")),
        "lines": OrderLine.objects.aggregate(
            n=Count("id"),
            qty=Sum("qty"),
            amount=Sum("amount"),
            paid=Sum("paid_amount"),
            delivered=Sum("delivered_qty"),
            accepted=Sum("accepted_qty"),
            orders=Sum("order_id"),
            line_no=Sum("line_no"),
        ),
        "deliveries": Delivery.objects.aggregate(n=Count("id"), qty=Sum("qty")),
        "receipts": Receipt.objects.aggregate(n=Count("id"), qty=Sum("accepted_qty")),
        "payments": Payment.objects.aggregate(n=Count("id"), amount=Sum("amount"), day=Max("paid_on")),
        "usage": UsageLine.objects.aggregate(n=Count("id"), qty=Sum("qty")),
    }


def _restorable() -> list[str]:
    """What bulk loading drops and restores, read without changing anything (rolled back)."""
    from django.db import transaction

    with transaction.atomic():
        restore = drop_for_load(*trade.LOADED)
        transaction.set_rollback(True)
    return sorted(restore)


@pytest.mark.django_db(transaction=True)
def test_two_connections_write_what_one_writes(monkeypatch, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    schema = _restorable()
    monkeypatch.setattr(trade, "PARALLEL_MIN_PAIRS", 10**9)
    ctx = run_demo(scale="small", seed=3, today=BASE_TODAY, write=lambda _: None)
    assert ctx.extra["trade"]["shards"] == 1
    serial = _fingerprint()

    monkeypatch.setattr(trade, "PARALLEL_MIN_PAIRS", 1)
    ctx = run_demo(scale="small", seed=3, today=BASE_TODAY, write=lambda _: None)
    assert ctx.extra["trade"]["shards"] == 2
    assert _fingerprint() == serial
    assert serial["lines"]["n"] > 1000
    # Indexes, unique constraints and foreign keys are all back; the foreign keys as NOT VALID (enforced
    # from now on), and validating them finds every loaded row consistent.
    assert [sql.removesuffix(" NOT VALID") for sql in _restorable()] == schema
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE NOT convalidated AND contype = 'f'"
        )
        unchecked = cursor.fetchall()
        assert unchecked
        for table, name in unchecked:
            cursor.execute(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"')
