"""Supply actions with exact values: listing price and exceptions, backup routing, agreed/purchased/
remaining, supplier response, delivery and receipt limits, payments, blocks, monthly reports."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from jicai.core.errors import DomainError, NotFound
from jicai.core.errors import PermissionDenied as DomainPermissionDenied
from jicai.core.models import AuditLog
from jicai.policy.models import PolicyProfile
from jicai.trade import actions, queries, rules
from jicai.trade.models import Order, OrderLine, Payment, SupplierMonthlyReport
from tests.trade.conftest import delivered_order, order

pytestmark = pytest.mark.django_db


# ---- ordering ------------------------------------------------------------------------------------


def test_order_at_listing_price_records_line_totals_item_and_distributor(trade):
    o = order(trade, trade.product, 300)
    line = o.lines.get()
    assert (o.supplier, o.distributor, o.routing_reason) == (trade.maker, trade.distributor, "")
    assert (line.unit_price, line.amount, line.item, line.institution, line.supplier) == (
        Decimal("0.1200"),
        Decimal("36.00"),
        trade.item,
        trade.hospital,
        trade.maker,
    )
    assert AuditLog.objects.filter(action="trade.place_order", object_id=str(o.pk)).count() == 1


def test_order_at_another_price_is_refused_without_exception(trade):
    with pytest.raises(DomainError, match="单价 0.1000 与挂网价 0.1200 不一致") as exc:
        order(trade, trade.product, 100, unit_price=Decimal("0.10"))
    assert exc.value.code == "price_not_listing"
    assert Order.objects.count() == 0


def test_bureau_price_exception_allows_the_other_price_within_its_dates(trade):
    actions.grant_price_exception(
        actor=trade.county_bureau,
        institution=trade.hospital,
        product=trade.product,
        unit_price=Decimal("0.1"),
        valid_from=dt.date(2025, 6, 1),
        valid_to=dt.date(2025, 6, 15),
        reason="短缺应急",
    )
    line = order(trade, trade.product, 100, unit_price=Decimal("0.1000"), on=dt.date(2025, 6, 10)).lines.get()
    assert (line.unit_price, line.amount) == (Decimal("0.1000"), Decimal("10.00"))
    with pytest.raises(DomainError, match="不一致"):
        order(trade, trade.product, 100, unit_price=Decimal("0.1000"), on=dt.date(2025, 6, 16))


def test_price_exception_for_an_institution_outside_the_bureau_is_not_found(trade):
    with pytest.raises(NotFound):
        actions.grant_price_exception(
            actor=trade.other_city_bureau,
            institution=trade.hospital,
            product=trade.product,
            unit_price=Decimal("0.1"),
            valid_from=dt.date(2025, 6, 1),
            valid_to=dt.date(2025, 6, 15),
            reason="x",
        )


def test_listing_price_in_force_on_the_order_date_applies(trade):
    from tests.trade.conftest import listing

    listing(trade.product, trade.province, "0.1100", valid_from=dt.date(2025, 6, 10))
    assert order(trade, trade.product, 10, on=dt.date(2025, 6, 9)).lines.get().unit_price == Decimal("0.1200")
    assert order(trade, trade.product, 10, on=dt.date(2025, 6, 10)).lines.get().unit_price == Decimal(
        "0.1100"
    )


def test_unlisted_product_cannot_be_ordered(trade):
    from tests import factories

    unlisted = factories.product("XC10AAA001A001010100009", trade.maker)
    with pytest.raises(DomainError, match="没有 2025-06-01 有效的挂网价"):
        order(trade, unlisted, 10)


def test_non_winning_and_substitute_products_can_be_ordered_at_listing_price(trade):
    nonwin = order(trade, trade.nonwinning_product, 10).lines.get()
    sub = order(trade, trade.substitute_product, 10).lines.get()
    assert (nonwin.unit_price, nonwin.item, nonwin.supplier) == (
        Decimal("0.5000"),
        trade.item,
        trade.fourth_maker,
    )
    # A substitute is not a product of the item it replaces.
    assert (sub.unit_price, sub.item_id) == (Decimal("0.3000"), None)


def test_one_order_is_for_one_supplier(trade):
    with pytest.raises(DomainError, match="同一家生产企业"):
        actions.place_order(
            actor=trade.pharmacist,
            lines=[actions.LineInput(trade.product, 1), actions.LineInput(trade.backup_product, 1)],
            ordered_on=dt.date(2025, 6, 1),
        )


def test_doctor_and_supplier_cannot_order(trade):
    for user in (trade.doctor, trade.manufacturer, trade.county_bureau):
        with pytest.raises(DomainPermissionDenied):
            order(trade, trade.product, 10, actor=user)


def test_purchases_beyond_the_agreed_volume_continue_at_the_winning_price(trade):
    line = order(trade, trade.product, 5000).lines.get()  # agreed is 1000
    assert line.unit_price == Decimal("0.1200")


# ---- backup routing ------------------------------------------------------------------------------


def block(w, supplier, reason="停产"):
    return actions.set_supply_block(
        actor=w.county_bureau, institution=w.hospital, supplier=supplier, item=w.item, reason=reason
    )


def test_main_supplier_blocked_routes_to_backup_and_order_records_why(trade):
    block(trade, trade.maker)
    routing = queries.route(trade.hospital, trade.item)
    assert routing.candidate.supplier_id == trade.other_maker.pk
    with pytest.raises(DomainError, match="已被标记为无法向本机构供应") as exc:
        order(trade, trade.product, 10)
    assert exc.value.code == "supplier_blocked"
    o = order(trade, trade.backup_product, 10)
    assert o.routing_reason == "阿托伐他汀钙：主供企业齐鲁制药有限公司无法供应（停产），转备供"


def test_main_and_backup_blocked_routes_to_backup2(trade):
    block(trade, trade.maker)
    block(trade, trade.other_maker, "断货")
    o = order(trade, trade.backup2_product, 10)
    assert o.routing_reason == (
        "阿托伐他汀钙：主供企业齐鲁制药有限公司无法供应（停产）；备供企业华北制药股份有限公司无法供应（断货），转第二备供"
    )


def test_all_suppliers_blocked_is_a_clear_error(trade):
    block(trade, trade.maker)
    block(trade, trade.other_maker)
    block(trade, trade.third_maker)
    with pytest.raises(rules.NoSupplierAvailable, match="主供及全部备供企业均被标记为无法供应"):
        queries.route(trade.hospital, trade.item)


def test_block_only_applies_to_that_institution_and_lifting_restores_main(trade):
    b = block(trade, trade.maker)
    assert queries.route(trade.other_hospital, trade.item).candidate.supplier_id == trade.maker.pk
    with pytest.raises(DomainError, match="已有生效中的无法供应标记"):
        block(trade, trade.maker)
    actions.lift_supply_block(actor=trade.county_bureau, block=b)
    assert queries.route(trade.hospital, trade.item).reason == ""
    with pytest.raises(DomainError, match="已解除"):
        actions.lift_supply_block(actor=trade.county_bureau, block=b)
    assert (
        AuditLog.objects.filter(action__in=["trade.set_supply_block", "trade.lift_supply_block"]).count() == 2
    )


def test_block_by_a_bureau_outside_the_institution_is_not_found(trade):
    with pytest.raises(NotFound):
        actions.set_supply_block(
            actor=trade.other_city_bureau,
            institution=trade.hospital,
            supplier=trade.maker,
            item=trade.item,
            reason="x",
        )
    b = block(trade, trade.maker)
    with pytest.raises(NotFound):
        actions.lift_supply_block(actor=trade.other_city_bureau, block=b)
    b.refresh_from_db()
    assert b.lifted_at is None


def test_only_supply_winners_can_be_blocked(trade):
    with pytest.raises(DomainError, match="不是 阿托伐他汀钙 在山东省的主供或备供企业"):
        block(trade, trade.fourth_maker)


# ---- agreed / purchased / remaining --------------------------------------------------------------


def _progress(w, on=dt.date(2025, 6, 30)):
    (row,) = queries.item_progress(w.pharmacist, on)
    return row


def _receive(w, line, accepted, rejected=0, on=dt.date(2025, 6, 5), reason="破损"):
    return actions.confirm_receipt(
        actor=w.pharmacist,
        line=line,
        accepted_qty=accepted,
        rejected_qty=rejected,
        received_on=on,
        reason=reason if rejected else "",
    )


def test_progress_counts_accepted_receipts_of_winning_products_times_item_factor(trade):
    _, main = delivered_order(trade, trade.product, 300, supplier_user=trade.manufacturer)
    _receive(trade, main, 250, 50)
    _, backup = delivered_order(trade, trade.backup_product, 200, supplier_user=trade.other_manufacturer)
    _receive(trade, backup, 200)
    # Non-winning and substitute purchases do not count towards the agreed volume.
    order(trade, trade.nonwinning_product, 100)
    row = _progress(trade)
    assert (row.agreed, row.purchased, row.remaining, row.completion, row.basis) == (
        1000,
        Decimal("350"),
        Decimal("650"),
        Decimal("0.3500"),
        "received",
    )
    assert row.agreement_year == trade.year2


def test_progress_ignores_receipts_of_the_previous_agreement_year(trade):
    _, line = delivered_order(
        trade, trade.product, 100, on=dt.date(2025, 2, 20), supplier_user=trade.manufacturer
    )
    _receive(trade, line, 100, on=dt.date(2025, 2, 25))
    assert _progress(trade).purchased == Decimal(0)


def test_progress_with_ordered_basis_counts_non_cancelled_order_qty(trade):
    PolicyProfile.objects.create(region=trade.province, values={"progress_basis": "ordered"})
    order(trade, trade.product, 300)
    order(trade, trade.backup_product, 200)
    cancelled = order(trade, trade.product, 70).lines.get()
    OrderLine.objects.filter(pk=cancelled.pk).update(status="cancelled")
    row = _progress(trade)
    assert (row.purchased, row.remaining, row.basis) == (Decimal("400"), Decimal("600"), "ordered")


def test_progress_runs_a_fixed_number_of_queries(trade, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        queries.item_progress(trade.pharmacist, dt.date(2025, 6, 30))


# ---- supplier response and delivery --------------------------------------------------------------


def test_supplier_rejects_with_reason_only(trade):
    line = order(trade, trade.product, 10).lines.get()
    with pytest.raises(DomainError, match="必须填写原因"):
        actions.respond_to_line(actor=trade.manufacturer, line=line, accept=False)
    line = actions.respond_to_line(actor=trade.manufacturer, line=line, accept=False, reason="产能不足")
    assert (line.status, line.accepted_by_supplier, line.reject_reason) == ("rejected", False, "产能不足")
    with pytest.raises(DomainError, match="不能再次答复"):
        actions.respond_to_line(actor=trade.manufacturer, line=line, accept=True)
    with pytest.raises(DomainError, match="已拒绝或已撤销，不能配送"):
        actions.record_delivery(actor=trade.manufacturer, line=line, qty=1, delivered_on=dt.date(2025, 6, 2))


def test_distributor_can_accept_and_deliver_but_another_company_cannot(trade):
    line = order(trade, trade.product, 10).lines.get()
    for user in (trade.other_manufacturer, trade.pharmacist, trade.county_bureau):
        with pytest.raises(NotFound):
            actions.respond_to_line(actor=user, line=line, accept=True)
        with pytest.raises(NotFound):
            actions.record_delivery(actor=user, line=line, qty=1, delivered_on=dt.date(2025, 6, 2))
    actions.respond_to_line(actor=trade.distributor_user, line=line, accept=True)
    actions.record_delivery(actor=trade.distributor_user, line=line, qty=4, delivered_on=dt.date(2025, 6, 2))
    line.refresh_from_db()
    assert (line.accepted_by_supplier, line.delivered_qty, line.last_delivered_on) == (
        True,
        4,
        dt.date(2025, 6, 2),
    )


def test_partial_deliveries_add_up_and_cannot_exceed_ordered_qty(trade):
    line = order(trade, trade.product, 100).lines.get()
    actions.record_delivery(actor=trade.manufacturer, line=line, qty=40, delivered_on=dt.date(2025, 6, 3))
    actions.record_delivery(actor=trade.manufacturer, line=line, qty=20, delivered_on=dt.date(2025, 6, 3))
    actions.record_delivery(actor=trade.manufacturer, line=line, qty=30, delivered_on=dt.date(2025, 6, 2))
    with pytest.raises(DomainError, match="配送数量 11 超过未配送数量 10") as exc:
        actions.record_delivery(actor=trade.manufacturer, line=line, qty=11, delivered_on=dt.date(2025, 6, 4))
    assert exc.value.code == "delivery_exceeds_ordered"
    line = queries.get_line(trade.pharmacist, line.order.order_id, 1)
    assert (line.delivered_qty, line.last_delivered_on, line.derived_status) == (
        90,
        dt.date(2025, 6, 3),
        "partially_delivered",
    )
    assert sorted(line.deliveries.values_list("delivered_on", "qty")) == [
        (dt.date(2025, 6, 2), 30),
        (dt.date(2025, 6, 3), 60),
    ]


def test_delivery_date_before_order_or_in_future_is_refused(trade):
    line = order(trade, trade.product, 100).lines.get()
    for day in (dt.date(2025, 5, 31), dt.date(2025, 7, 1)):
        with pytest.raises(DomainError, match="配送日期应在下单日期"):
            actions.record_delivery(actor=trade.manufacturer, line=line, qty=1, delivered_on=day)


# ---- receipt -------------------------------------------------------------------------------------


def test_receipt_with_reject_needs_reason_and_cannot_exceed_delivered_minus_received(trade):
    _, line = delivered_order(trade, trade.product, 100, supplier_user=trade.manufacturer)
    OrderLine.objects.filter(pk=line.pk).update(delivered_qty=60)  # only 60 of 100 delivered
    line.refresh_from_db()
    with pytest.raises(DomainError, match="必须填写拒收原因"):
        actions.confirm_receipt(
            actor=trade.pharmacist,
            line=line,
            accepted_qty=10,
            rejected_qty=5,
            received_on=dt.date(2025, 6, 5),
        )
    _receive(trade, line, 40, 10)
    with pytest.raises(DomainError, match="验收合格 10 \\+ 拒收 1 超过待入库数量 10") as exc:
        actions.confirm_receipt(
            actor=trade.pharmacist,
            line=line,
            accepted_qty=10,
            rejected_qty=1,
            received_on=dt.date(2025, 6, 6),
            reason="破损",
        )
    assert exc.value.code == "receipt_exceeds_delivered"
    line = queries.get_line(trade.pharmacist, line.order.order_id, 1)
    assert (line.accepted_qty, line.rejected_qty, line.derived_status) == (40, 10, "partially_received")


def test_fully_received_with_rejects_and_due_date_thirty_days_after_latest_receipt(trade):
    _, line = delivered_order(trade, trade.product, 100, supplier_user=trade.manufacturer)
    _receive(trade, line, 50, on=dt.date(2025, 6, 5))
    _receive(trade, line, 45, 5, on=dt.date(2025, 6, 10))
    line = queries.get_line(trade.pharmacist, line.order.order_id, 1)
    assert (line.derived_status, line.payment_due_on, line.last_received_on) == (
        "received_with_rejects",
        dt.date(2025, 7, 10),
        dt.date(2025, 6, 10),
    )
    assert rules.STATUS_LABELS[line.derived_status] == "已入库(含拒收)"


def test_due_date_end_of_next_month_when_the_policy_says_so(trade, monkeypatch):
    monkeypatch.setattr(actions, "today", lambda: dt.date(2025, 12, 20))
    PolicyProfile.objects.create(region=trade.province, values={"payment_due_rule": "end_of_next_month"})
    _, line = delivered_order(
        trade, trade.product, 100, on=dt.date(2025, 12, 10), supplier_user=trade.manufacturer
    )
    _receive(trade, line, 100, on=dt.date(2025, 12, 15))
    line.refresh_from_db()
    assert line.payment_due_on == dt.date(2026, 1, 31)


def test_receipt_by_another_institution_or_a_doctor(trade):
    _, line = delivered_order(trade, trade.product, 10, supplier_user=trade.manufacturer)
    for user in (trade.other_pharmacist, trade.manufacturer):
        with pytest.raises(NotFound):
            actions.confirm_receipt(actor=user, line=line, accepted_qty=1, received_on=dt.date(2025, 6, 5))
    with pytest.raises(DomainPermissionDenied):
        actions.confirm_receipt(
            actor=trade.doctor, line=line, accepted_qty=1, received_on=dt.date(2025, 6, 5)
        )
    line.refresh_from_db()
    assert line.accepted_qty == 0


# ---- payment -------------------------------------------------------------------------------------


def test_payments_add_up_and_a_payment_above_the_amount_is_refused(trade):
    _, line = delivered_order(trade, trade.product, 1000, supplier_user=trade.manufacturer)  # amount 120.00
    _receive(trade, line, 1000)
    actions.record_payment(
        actor=trade.pharmacist, line=line, amount=Decimal("100"), paid_on=dt.date(2025, 6, 20)
    )
    with pytest.raises(
        DomainError, match="付款 20.01 后累计 120.01 将超过订单行金额 120.00（尚可付款 20.00）"
    ) as exc:
        actions.record_payment(
            actor=trade.pharmacist, line=line, amount=Decimal("20.01"), paid_on=dt.date(2025, 6, 21)
        )
    assert exc.value.code == "payment_exceeds_amount"
    actions.record_payment(
        actor=trade.pharmacist, line=line, amount=Decimal("20.00"), paid_on=dt.date(2025, 6, 20)
    )
    line.refresh_from_db()
    assert line.paid_amount == Decimal("120.00")
    assert line.last_paid_on == dt.date(2025, 6, 20)  # the refused payment of 6-21 left no trace
    # Same line, day and invoice: one row.
    assert list(Payment.objects.filter(line=line).values_list("amount", flat=True)) == [Decimal("120.00")]


def test_payment_by_another_organisation_changes_nothing(trade):
    _, line = delivered_order(trade, trade.product, 1000, supplier_user=trade.manufacturer)
    for user in (trade.other_pharmacist, trade.manufacturer, trade.county_bureau):
        with pytest.raises(NotFound):
            actions.record_payment(actor=user, line=line, amount=Decimal("1"), paid_on=dt.date(2025, 6, 20))
    line.refresh_from_db()
    assert line.paid_amount == Decimal("0.00") and not Payment.objects.exists()


def test_invoice_payment_spreads_oldest_due_first(trade):
    _, first = delivered_order(
        trade, trade.product, 100, on=dt.date(2025, 6, 1), supplier_user=trade.manufacturer
    )
    _, second = delivered_order(
        trade, trade.product, 200, on=dt.date(2025, 6, 2), supplier_user=trade.manufacturer
    )
    _receive(trade, second, 200, on=dt.date(2025, 6, 5))
    _receive(trade, first, 100, on=dt.date(2025, 6, 8))
    payments = actions.record_invoice_payment(
        actor=trade.pharmacist,
        lines=[first, second],
        amount=Decimal("30.00"),
        paid_on=dt.date(2025, 6, 20),
        invoice_no="INV-1",
    )
    # second is due first (received 06-05): 24.00 fills it, 6.00 goes to first.
    assert [(p.line_id, p.amount) for p in payments] == [
        (second.pk, Decimal("24.00")),
        (first.pk, Decimal("6.00")),
    ]
    with pytest.raises(DomainError, match="超过所选订单行的未付金额合计 6.00"):
        actions.record_invoice_payment(
            actor=trade.pharmacist,
            lines=[first, second],
            amount=Decimal("6.01"),
            paid_on=dt.date(2025, 6, 21),
            invoice_no="INV-2",
        )


def test_outstanding_and_overdue_per_institution_and_supplier(trade):
    _, first = delivered_order(
        trade, trade.product, 1000, on=dt.date(2025, 5, 1), supplier_user=trade.manufacturer
    )
    _receive(trade, first, 900, 100, on=dt.date(2025, 5, 5))  # due 06-04, payable 108.00
    actions.record_payment(
        actor=trade.pharmacist, line=first, amount=Decimal("8.00"), paid_on=dt.date(2025, 6, 1)
    )
    _, second = delivered_order(
        trade, trade.product, 500, on=dt.date(2025, 6, 10), supplier_user=trade.manufacturer
    )
    _receive(trade, second, 500, on=dt.date(2025, 6, 12))  # due 07-12, payable 60.00
    (row,) = queries.payables(trade.county_bureau, by="institution", as_of=dt.date(2025, 6, 30))
    assert (
        row["institution__code"],
        row["line_count"],
        row["ordered_amount"],
        row["payable_amount"],
        row["paid"],
        row["outstanding"],
        row["overdue"],
    ) == (
        "H37100200001",
        2,
        Decimal("180.00"),
        Decimal("168.00"),
        Decimal("8.00"),
        Decimal("160.00"),
        Decimal("100.00"),
    )
    (row,) = queries.payables(trade.manufacturer, by="supplier", as_of=dt.date(2025, 6, 30))
    assert (row["supplier__code"], row["outstanding"], row["overdue"]) == (
        trade.maker.code,
        Decimal("160.00"),
        Decimal("100.00"),
    )
    assert queries.payables(trade.other_pharmacist, by="institution", as_of=dt.date(2025, 6, 30)) == []


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_payments_cannot_together_exceed_the_line_amount(trade):
    if connection.vendor != "postgresql":
        pytest.skip("需要 PostgreSQL：SQLite 一次只允许一个写事务，无法真正并发写入同一行")
    _, line = delivered_order(trade, trade.product, 1000, supplier_user=trade.manufacturer)  # amount 120.00
    barrier = threading.Barrier(2)
    outcomes = []

    def pay(invoice):
        try:
            barrier.wait()
            actions.record_payment(
                actor=trade.pharmacist,
                line=line,
                amount=Decimal("70.00"),
                paid_on=dt.date(2025, 6, 20),
                invoice_no=invoice,
            )
            outcomes.append("paid")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(f"INV-{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    line.refresh_from_db()
    assert sorted(outcomes) == ["paid", "payment_exceeds_amount"]
    assert line.paid_amount == Decimal("70.00")
    assert list(Payment.objects.filter(line=line).values_list("amount", flat=True)) == [Decimal("70.00")]


def test_sql_status_matches_the_pure_rule(trade):
    cases = [
        (0, 0, 0, None, "open"),
        (0, 0, 0, True, "open"),
        (5, 0, 0, True, "open"),
        (10, 0, 0, True, "open"),
        (10, 5, 0, True, "open"),
        (10, 9, 1, True, "open"),
        (10, 10, 0, True, "open"),
        (0, 0, 0, False, "rejected"),
        (0, 0, 0, None, "cancelled"),
    ]
    for delivered, accepted, rejected, answered, sent in cases:
        line = order(trade, trade.product, 10).lines.get()
        OrderLine.objects.filter(pk=line.pk).update(
            delivered_qty=delivered,
            accepted_qty=accepted,
            rejected_qty=rejected,
            accepted_by_supplier=answered,
            status=sent,
        )
        sql = queries.with_derived_status(OrderLine.objects.filter(pk=line.pk)).get().derived_status
        assert sql == rules.line_status(
            status=sent,
            accepted_by_supplier=answered,
            qty=10,
            delivered_qty=delivered,
            accepted_qty=accepted,
            rejected_qty=rejected,
        )


# ---- monthly reports -----------------------------------------------------------------------------


def test_supplier_files_and_corrects_a_monthly_report(trade):
    report = actions.file_monthly_report(
        actor=trade.manufacturer,
        item=trade.item,
        month=dt.date(2025, 5, 17),
        production_qty=1000,
        supply_qty=800,
        inventory_qty=200,
        payment_received=Decimal("96.5"),
    )
    assert (report.month, report.payment_received) == (dt.date(2025, 5, 1), Decimal("96.50"))
    actions.file_monthly_report(
        actor=trade.manufacturer,
        item=trade.item,
        month=dt.date(2025, 5, 1),
        production_qty=1000,
        supply_qty=850,
        inventory_qty=150,
        payment_received=Decimal("96.5"),
    )
    assert SupplierMonthlyReport.objects.get().supply_qty == 850
    assert AuditLog.objects.filter(action="trade.file_monthly_report").first().changes == {
        "supply_qty": ["800", "850"],
        "inventory_qty": ["200", "150"],
    }
    with pytest.raises(DomainError, match="已结束月份"):
        actions.file_monthly_report(
            actor=trade.manufacturer,
            item=trade.item,
            month=dt.date(2025, 6, 1),
            production_qty=1,
            supply_qty=1,
            inventory_qty=1,
            payment_received=Decimal(0),
        )


def test_company_without_a_supply_role_cannot_file_for_the_item(trade):
    with pytest.raises(NotFound):
        actions.file_monthly_report(
            actor=trade.distributor_user,
            item=trade.item,
            month=dt.date(2025, 5, 1),
            production_qty=1,
            supply_qty=1,
            inventory_qty=1,
            payment_received=Decimal(0),
        )


def test_missing_reports_after_the_due_day(trade):
    # On 2025-06-30 (due day 5) May is overdue: 齐鲁 filed, 华北 and 扬子江 did not.
    actions.file_monthly_report(
        actor=trade.manufacturer,
        item=trade.item,
        month=dt.date(2025, 5, 1),
        production_qty=1,
        supply_qty=1,
        inventory_qty=1,
        payment_received=Decimal(0),
    )
    missing = queries.missing_monthly_reports(trade.city_bureau, dt.date(2025, 6, 30))
    assert [(m.company.name, m.month, m.due_on) for m in missing] == [
        ("华北制药股份有限公司", dt.date(2025, 5, 1), dt.date(2025, 6, 5)),
        ("扬子江药业集团有限公司", dt.date(2025, 5, 1), dt.date(2025, 6, 5)),
    ]
    # On 2025-06-05 May is not yet due; April is the latest overdue month and nobody filed it.
    assert len(queries.missing_monthly_reports(trade.city_bureau, dt.date(2025, 6, 5))) == 3
    assert queries.missing_monthly_reports(trade.pharmacist, dt.date(2025, 6, 30)) == []
