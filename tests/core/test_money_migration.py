"""The migrations that turn money and price columns into scaled integers (core.migration_ops) convert the
stored values exactly, forwards and backwards, on SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from jicai.agreements.models import PurchaseAgreement
from jicai.batches.models import ListingPrice, Winner
from jicai.trade import actions
from jicai.trade.models import OrderLine, Payment
from tests.factories import build_world
from tests.trade.conftest import build_trade, delivered_order

D = Decimal
BEFORE = [
    ("trade", "0008_order_id_unique_constraint"),
    ("agreements", "0003_fewer_indexes"),
    ("batches", "0002_agreementyear_sign_due"),
]


def raw(model, column: str, pk: int):
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_money_columns_convert_exactly_both_ways(monkeypatch):
    monkeypatch.setattr(actions, "today", lambda: dt.date(2025, 6, 30))
    w = build_trade(build_world())
    ListingPrice.objects.filter(product=w.product).update(price=D("12.3456"))
    _, line = delivered_order(w, w.product, 3, supplier_user=w.manufacturer)  # 37.0368 → 37.04
    actions.confirm_receipt(actor=w.pharmacist, line=line, accepted_qty=3, received_on=dt.date(2025, 6, 5))
    actions.record_payment(actor=w.pharmacist, line=line, amount=D("0.01"), paid_on=dt.date(2025, 6, 20))
    winner = Winner.objects.get(product=w.product)
    agreement = PurchaseAgreement.objects.create(
        agreement_year=w.year2,
        institution=w.hospital,
        item=w.item,
        supplier=w.maker,
        agreed_qty=8251,
        winning_price=D("0.1200"),
        budget=D("990.61"),
        due_date=dt.date(2025, 3, 31),
    )
    payment = Payment.objects.get(line=line)
    scaled = [
        (OrderLine, "unit_price", line.pk, 123456, D("12.3456")),
        (OrderLine, "amount", line.pk, 3704, D("37.04")),
        (OrderLine, "paid_amount", line.pk, 1, D("0.01")),
        (Payment, "amount", payment.pk, 1, D("0.01")),
        (Winner, "winning_price", winner.pk, 1200, D("0.12")),
        (PurchaseAgreement, "budget", agreement.pk, 99061, D("990.61")),
    ]
    assert [raw(m, c, pk) for m, c, pk, _, _ in scaled] == [s for _, _, _, s, _ in scaled]
    try:
        migrate(BEFORE)
        # Back in decimal columns: the yuan values (SQLite hands NUMERIC back as int/float, PostgreSQL as Decimal).
        assert [D(str(raw(m, c, pk))) for m, c, pk, _, _ in scaled] == [y for *_, y in scaled]
    finally:
        # Every app back to its latest migration: going back also unapplied the migrations of apps that
        # depend on these (funds), which the rest of the session needs.
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert [raw(m, c, pk) for m, c, pk, _, _ in scaled] == [s for _, _, _, s, _ in scaled]
    line.refresh_from_db()
    assert (line.unit_price, line.amount, line.paid_amount) == (D("12.3456"), D("37.04"), D("0.01"))
