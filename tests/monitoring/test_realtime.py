"""Real time (SPEC §13): triggers collect the touched institutions in the writer's transaction, drain()
recomputes them with the full run's SQL restricted to them, and a full run afterwards finds exactly the same
facts and alerts (reconciliation, property-tested with hypothesis)."""

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jicai.monitoring import realtime
from jicai.monitoring.evaluate import run_monitoring
from jicai.monitoring.models import Alert, DeliveryFact, DirtyInstitution, ProgressFact
from jicai.trade.models import Delivery, OrderLine, Payment, Receipt
from tests.monitoring.conftest import add_line, agreed

D = dt.date
AS_OF = D(2024, 6, 8)


def snapshot():
    facts = sorted(
        ProgressFact.objects.values_list(
            "institution_id",
            "item_id",
            "agreement_year_id",
            "dated__as_of",
            "agreed_qty",
            "reported_qty",
            "purchased_winning",
            "purchased_nonwinning",
            "purchased_substitute",
            "dated__time_progress",
            "completion",
        )
    )
    deliveries = sorted(
        DeliveryFact.objects.values_list(
            "supplier_id",
            "institution_id",
            "agreement_year_id",
            "dated__as_of",
            "ordered_qty",
            "delivered_qty",
            "rate",
        )
    )
    alerts = sorted(
        Alert.objects.values_list("key", "status", "value", "threshold", "tier", "last_seen_on", "closed_on")
    )
    return facts, deliveries, alerts


def progress(institution):
    return ProgressFact.objects.get(institution=institution).purchased_winning


def test_receipt_marks_its_institution_and_drain_moves_fact_and_closes_late_receipt(mworld):
    w = mworld
    agreed(w, w.hospital, 1000)
    line = add_line(
        w.hospital, w.product, 10, D(2024, 5, 20), item=w.item, delivered=10, delivered_on=D(2024, 6, 1)
    )
    run_monitoring(AS_OF)
    assert progress(w.hospital) == Decimal("0")
    late = Alert.objects.get(type="LATE_RECEIPT")
    assert late.status == "open"
    DirtyInstitution.objects.all().delete()

    Receipt.objects.create(line=line, accepted_qty=10, rejected_qty=0, received_on=D(2024, 6, 8))
    OrderLine.objects.filter(pk=line.pk).update(accepted_qty=10, last_received_on=D(2024, 6, 8))
    assert set(DirtyInstitution.objects.values_list("institution_id", flat=True)) == {w.hospital.pk}

    done = realtime.drain(AS_OF)
    assert done["institutions"] == 1 and done["closed"] == 1
    assert progress(w.hospital) == Decimal("10")
    late.refresh_from_db()
    assert (late.status, late.closed_on) == ("closed", AS_OF)
    assert not DirtyInstitution.objects.exists()
    assert realtime.drain(AS_OF) is None
    before = snapshot()
    run_monitoring(AS_OF)
    assert snapshot() == before


def test_bulk_receipts_are_one_key_per_institution(mworld):
    w = mworld
    lines = [add_line(w.hospital, w.product, 5, D(2024, 5, 1), item=w.item) for _ in range(40)]
    lines += [add_line(w.other_hospital, w.product, 5, D(2024, 5, 1), item=w.item) for _ in range(40)]
    DirtyInstitution.objects.all().delete()
    Receipt.objects.bulk_create(
        [Receipt(line=line, accepted_qty=5, rejected_qty=0, received_on=D(2024, 5, 3)) for line in lines]
    )
    # One statement of 80 receipts: one row per institution (SQLite: deduplicated per row; PostgreSQL: per
    # statement, DISTINCT over the statement's rows).
    assert sorted(DirtyInstitution.objects.values_list("institution_id", flat=True)) == sorted(
        [w.hospital.pk, w.other_hospital.pk]
    )


RECEIPT_COLUMNS = ["line_id", "accepted_qty", "rejected_qty", "received_on", "reason", "created_at"]
NOW = dt.datetime(2024, 5, 3, 8, tzinfo=dt.UTC)


RECEIVED = D(2024, 5, 3)


def _receipt_rows(lines, qty=5, day=RECEIVED):
    return [(line.pk, qty, 0, day, "", NOW) for line in lines]


def _sqlite_triggers():
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'jicai_rt_%' ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


def test_bulk_copy_marks_the_new_rows_institutions_once_and_keeps_the_trigger(mworld):
    """copy_rows (the imports' insert) sets SQLite's row trigger aside and marks the inserted rows' institutions
    set-based (a receipt's institution through its line); the trigger is back afterwards and fires again."""
    from jicai.ingest.schemas.trade_common import copy_rows

    w = mworld
    lines = [add_line(w.hospital, w.product, 5, D(2024, 5, 1), item=w.item) for _ in range(30)]
    lines += [add_line(w.other_hospital, w.product, 5, D(2024, 5, 1), item=w.item) for _ in range(30)]
    triggers = _sqlite_triggers()
    DirtyInstitution.objects.all().delete()
    with transaction.atomic():
        count = copy_rows(Receipt._meta.db_table, RECEIPT_COLUMNS, _receipt_rows(lines))
    assert count == 60
    assert sorted(DirtyInstitution.objects.values_list("institution_id", flat=True)) == sorted(
        [w.hospital.pk, w.other_hospital.pk]
    )
    assert _sqlite_triggers() == triggers
    # An institution already waiting is not added twice; the restored trigger marks a single-row write.
    third = add_line(w.hospital, w.product, 5, D(2024, 5, 1), item=w.item)
    DirtyInstitution.objects.exclude(institution_id=w.hospital.pk).delete()
    with transaction.atomic():
        copy_rows(Receipt._meta.db_table, RECEIPT_COLUMNS, _receipt_rows([third], 1, D(2024, 5, 4)))
    waiting = list(DirtyInstitution.objects.values_list("institution_id", flat=True))
    assert set(waiting) == {w.hospital.pk}
    if connection.vendor == "sqlite":  # PostgreSQL deduplicates per statement only; drain() takes a set
        assert len(waiting) == 1
    DirtyInstitution.objects.all().delete()
    Receipt.objects.create(line=lines[-1], accepted_qty=1, rejected_qty=0, received_on=D(2024, 5, 9))
    assert list(DirtyInstitution.objects.values_list("institution_id", flat=True)) == [w.other_hospital.pk]


def test_a_failed_bulk_copy_leaves_the_trigger_and_no_rows(mworld):
    from jicai.ingest.schemas.trade_common import copy_rows

    w = mworld
    line = add_line(w.hospital, w.product, 5, D(2024, 5, 1), item=w.item)
    triggers = _sqlite_triggers()
    DirtyInstitution.objects.all().delete()
    before = Receipt.objects.count()

    def rows():
        yield from _receipt_rows([line])
        raise RuntimeError("file ended mid-way")

    try:
        with transaction.atomic():
            copy_rows(Receipt._meta.db_table, RECEIPT_COLUMNS, rows())
    except RuntimeError:
        pass
    assert Receipt.objects.count() == before
    assert not DirtyInstitution.objects.exists()
    assert _sqlite_triggers() == triggers


def test_winner_change_marks_every_institution(mworld):
    w = mworld
    DirtyInstitution.objects.all().delete()
    w.item.winners.update(winning_price=Decimal("0.1100"))
    assert list(DirtyInstitution.objects.values_list("institution_id", flat=True)) == [None]


def test_full_run_takes_the_waiting_keys(mworld):
    w = mworld
    add_line(w.hospital, w.product, 5, D(2024, 5, 1), item=w.item)
    assert DirtyInstitution.objects.filter(institution_id=w.hospital.pk).exists()
    run_monitoring(AS_OF)
    assert not DirtyInstitution.objects.exists()
    assert realtime.drain(AS_OF) is None


# ---- reconciliation ------------------------------------------------------------------------------------

DAYS = st.integers(min_value=0, max_value=40)  # days after 2024-05-01, some after AS_OF
OPS = st.one_of(
    st.tuples(st.just("order"), st.integers(0, 2), st.integers(0, 1), st.integers(1, 50), DAYS),
    st.tuples(st.just("deliver"), st.integers(0, 20), st.integers(1, 50), DAYS),
    st.tuples(st.just("receive"), st.integers(0, 20), st.integers(1, 50), DAYS),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("pay"), st.integers(0, 20), st.integers(1, 50), DAYS),
)


def _apply(w, lines, op):
    kind = op[0]
    if kind == "order":
        _, i, p, qty, day = op
        institution = (w.hospital, w.clinic, w.other_hospital)[i]
        product = (w.product, w.other_product)[p]
        lines.append(add_line(institution, product, qty, D(2024, 5, 1) + dt.timedelta(days=day), item=w.item))
        return
    if not lines:
        return
    line = OrderLine.objects.get(pk=lines[op[1] % len(lines)].pk)
    if kind == "cancel":
        if line.delivered_qty == 0:
            OrderLine.objects.filter(pk=line.pk).update(status="cancelled")
        return
    day = max(line.ordered_on, D(2024, 5, 1) + dt.timedelta(days=op[3]))
    if kind == "deliver":
        qty = min(op[2], line.qty - line.delivered_qty)
        if qty > 0 and line.status != "cancelled" and not line.deliveries.filter(delivered_on=day).exists():
            Delivery.objects.create(line=line, qty=qty, delivered_on=day)
            OrderLine.objects.filter(pk=line.pk).update(
                delivered_qty=line.delivered_qty + qty,
                last_delivered_on=max(day, line.last_delivered_on or day),
            )
    elif kind == "receive":
        qty = min(op[2], line.delivered_qty - line.accepted_qty - line.rejected_qty)
        if qty > 0 and not line.receipts.filter(received_on=day).exists():
            Receipt.objects.create(line=line, accepted_qty=qty, rejected_qty=0, received_on=day)
            OrderLine.objects.filter(pk=line.pk).update(
                accepted_qty=line.accepted_qty + qty,
                last_received_on=max(day, line.last_received_on or day),
                payment_due_on=day + dt.timedelta(days=30),
            )
    elif kind == "pay":
        amount = Decimal(op[2]) / 100
        if line.accepted_qty > 0 and not line.payments.filter(paid_on=day).exists():
            Payment.objects.create(line=line, amount=amount, paid_on=day)
            OrderLine.objects.filter(pk=line.pk).update(
                paid_amount=line.paid_amount + amount, last_paid_on=max(day, line.last_paid_on or day)
            )


class _Rollback(Exception):
    pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=12), drain_every=st.integers(1, 4))
def test_incremental_path_matches_a_full_run(mworld, ops, drain_every):
    w = mworld
    try:
        with transaction.atomic():
            agreed(w, w.hospital, 100)
            agreed(w, w.other_hospital, 30)
            run_monitoring(AS_OF)
            DirtyInstitution.objects.all().delete()
            lines = []
            for n, op in enumerate(ops, 1):
                _apply(w, lines, op)
                if n % drain_every == 0:
                    realtime.drain(AS_OF)
            realtime.drain(AS_OF)
            incremental = snapshot()
            run_monitoring(AS_OF)
            assert snapshot() == incremental
            raise _Rollback
    except _Rollback:
        pass
