"""core.bulkload: the tables lose their secondary indexes (and on PostgreSQL FKs and unique constraints)
during a load and get exactly the same ones back; a bad row still fails when they are rebuilt."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection

from jicai.core.bulkload import bulk_load
from jicai.trade.models import Delivery, Order, OrderLine
from tests import factories as f

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps FKs and inline unique constraints"
)


def _constraints(model) -> dict:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {
        name: (tuple(c["columns"]), c["unique"], c["index"], c["foreign_key"], c["primary_key"])
        for name, c in found.items()
        if not c["check"]
    }


@pytest.fixture
def line(db):
    province = f.region("370000", "山东省")
    inst = f.institution("H37000000001", "测试医院", province)
    maker = f.company(1, "测试药业")
    product = f.product("XL02BBA326A001010102180", maker)
    order = Order.objects.create(
        order_id="T1", institution=inst, supplier=maker, ordered_on=dt.date(2025, 3, 1)
    )
    return OrderLine.objects.create(
        order=order,
        line_no=1,
        institution=inst,
        supplier=maker,
        ordered_on=order.ordered_on,
        product=product,
        qty=10,
        unit_price="1.0000",
        amount="10.00",
        delivered_qty=10,
    )


def test_indexes_are_dropped_during_the_load_and_restored_after(line):
    before = {m: _constraints(m) for m in (Order, OrderLine, Delivery)}
    with bulk_load(Order, OrderLine, Delivery):
        during = _constraints(OrderLine)
        Delivery.objects.create(line=line, qty=10, delivered_on=dt.date(2025, 3, 2))
    after = {m: _constraints(m) for m in (Order, OrderLine, Delivery)}
    assert after == before
    # Only the primary key (and on SQLite the inline unique constraint and FKs) stay during the load.
    secondary = [name for name, c in before[OrderLine].items() if c[2] and not c[4] and not c[1]]
    assert secondary and not any(name in during for name in secondary)
    assert Delivery.objects.filter(line=line).count() == 1


@postgres_only
def test_a_duplicate_loaded_without_its_unique_constraint_fails_at_rebuild(line):
    with pytest.raises(IntegrityError):
        with bulk_load(Delivery):
            for _ in range(2):
                Delivery.objects.create(line=line, qty=5, delivered_on=dt.date(2025, 3, 2))


@postgres_only
def test_a_row_naming_a_missing_parent_fails_at_rebuild(line):
    with pytest.raises(IntegrityError):
        with bulk_load(Delivery):
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO trade_delivery (line_id, qty, delivered_on, created_at) "
                    "VALUES (%s, 1, '2025-03-02', now())",
                    [line.pk + 1000],
                )


def test_index_builds_split_unique_constraints_into_a_build_and_an_attach():
    from jicai.core.bulkload import _index_builds

    builds, rest = _index_builds(
        [
            "CREATE INDEX i1 ON public.trade_orderline USING btree (supplier_id, ordered_on)",
            'ALTER TABLE trade_orderline ADD CONSTRAINT "order_line_unique" UNIQUE (order_id, line_no)',
            'ALTER TABLE trade_delivery ADD CONSTRAINT "fk1" FOREIGN KEY (line_id) REFERENCES trade_orderline(id) '
            "DEFERRABLE INITIALLY DEFERRED NOT VALID",
        ]
    )
    assert builds == [
        "CREATE INDEX i1 ON public.trade_orderline USING btree (supplier_id, ordered_on)",
        'CREATE UNIQUE INDEX "order_line_unique" ON trade_orderline (order_id, line_no)',
    ]
    # Constraints are attached before the foreign keys that may need them.
    assert rest == [
        'ALTER TABLE trade_orderline ADD CONSTRAINT "order_line_unique" UNIQUE USING INDEX "order_line_unique"',
        'ALTER TABLE trade_delivery ADD CONSTRAINT "fk1" FOREIGN KEY (line_id) REFERENCES trade_orderline(id) '
        "DEFERRABLE INITIALLY DEFERRED NOT VALID",
    ]
