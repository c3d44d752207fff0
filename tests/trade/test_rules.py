"""Pure supply rules with exact values: derived statuses, due dates, routing order, invoice spreading,
monthly report deadlines."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jicai.core.errors import DomainError
from jicai.trade import rules
from jicai.trade.rules import Candidate


def status(qty=100, delivered=0, accepted=0, rejected=0, answered=None, sent="open"):
    return rules.line_status(
        status=sent,
        accepted_by_supplier=answered,
        qty=qty,
        delivered_qty=delivered,
        accepted_qty=accepted,
        rejected_qty=rejected,
    )


def test_unanswered_line_is_pending_and_accepted_line_waits_for_delivery():
    assert status() == "pending"
    assert status(answered=True) == "accepted"
    assert rules.STATUS_LABELS[status()] == "待确认"


def test_rejected_and_cancelled_lines():
    assert status(answered=False) == "rejected"
    assert status(sent="rejected") == "rejected"
    assert status(sent="cancelled", answered=True, delivered=10) == "cancelled"
    assert rules.STATUS_LABELS["rejected"] == "已拒绝"
    assert rules.STATUS_LABELS["cancelled"] == "已撤销"


def test_partially_delivered_line():
    assert status(delivered=40, answered=True) == "partially_delivered"
    # Delivering implies acceptance even when the supplier never answered.
    assert status(delivered=40) == "partially_delivered"
    assert rules.STATUS_LABELS["partially_delivered"] == "部分配送"


def test_fully_delivered_line():
    assert status(delivered=100) == "delivered"
    assert rules.STATUS_LABELS["delivered"] == "已配送"


def test_partially_received_line():
    assert status(delivered=100, accepted=60) == "partially_received"
    assert status(delivered=60, accepted=50, rejected=10) == "partially_received"
    assert rules.STATUS_LABELS["partially_received"] == "部分入库"


def test_fully_received_line_with_and_without_rejects():
    assert status(delivered=100, accepted=100) == "received"
    assert status(delivered=100, accepted=90, rejected=10) == "received_with_rejects"
    assert rules.STATUS_LABELS["received_with_rejects"] == "已入库(含拒收)"


def test_order_status_from_lines():
    assert rules.order_status([]) == "pending"
    assert rules.order_status(["pending", "delivered"]) == "pending"
    assert rules.order_status(["accepted", "partially_delivered"]) == "partially_delivered"
    assert rules.order_status(["accepted", "delivered"]) == "partially_delivered"
    assert rules.order_status(["delivered", "delivered", "rejected"]) == "delivered"
    assert rules.order_status(["received", "delivered"]) == "partially_received"
    assert rules.order_status(["received", "received_with_rejects", "cancelled"]) == "received_with_rejects"
    assert rules.order_status(["received", "received"]) == "received"
    assert rules.order_status(["cancelled", "cancelled"]) == "cancelled"
    assert rules.order_status(["cancelled", "rejected"]) == "rejected"


@given(qty=st.integers(1, 1000), data=st.data())
def test_any_consistent_quantities_give_exactly_one_known_status(qty, data):
    delivered = data.draw(st.integers(0, qty))
    accepted = data.draw(st.integers(0, delivered))
    rejected = data.draw(st.integers(0, delivered - accepted))
    result = status(qty=qty, delivered=delivered, accepted=accepted, rejected=rejected, answered=True)
    assert result in rules.STATUS_LABELS
    if accepted + rejected == qty:
        assert result in ("received", "received_with_rejects")


def test_payment_due_thirty_days_after_receipt():
    assert rules.payment_due_date(dt.date(2025, 6, 5), days=30, rule="after_receipt") == dt.date(2025, 7, 5)
    assert rules.payment_due_date(dt.date(2025, 12, 15), days=30, rule="after_receipt") == dt.date(
        2026, 1, 14
    )


def test_payment_due_end_of_next_month_across_a_year_end():
    assert rules.payment_due_date(dt.date(2025, 12, 15), days=30, rule="end_of_next_month") == dt.date(
        2026, 1, 31
    )
    assert rules.payment_due_date(dt.date(2026, 1, 31), days=30, rule="end_of_next_month") == dt.date(
        2026, 2, 28
    )


def test_outstanding_is_accepted_value_minus_paid_never_negative():
    assert rules.outstanding_amount(
        accepted_qty=250, unit_price=Decimal("0.1200"), paid_amount=Decimal("10")
    ) == Decimal("20.00")
    assert rules.outstanding_amount(
        accepted_qty=0, unit_price=Decimal("0.1200"), paid_amount=Decimal("5")
    ) == Decimal("0.00")
    assert rules.receivable_qty(delivered_qty=100, accepted_qty=60, rejected_qty=10) == 30


CANDIDATES = [Candidate("backup2", 3, "扬子江"), Candidate("main", 1, "齐鲁"), Candidate("backup", 2, "华北")]


def test_routing_proposes_main_when_not_blocked():
    routing = rules.route_supplier(CANDIDATES, {})
    assert routing.candidate.supplier_id == 1
    assert routing.reason == ""


def test_routing_main_blocked_goes_to_backup():
    routing = rules.route_supplier(CANDIDATES, {1: "停产"})
    assert routing.candidate == Candidate("backup", 2, "华北")
    assert routing.reason == "主供企业齐鲁无法供应（停产），转备供"


def test_routing_main_and_backup_blocked_goes_to_backup2():
    routing = rules.route_supplier(CANDIDATES, {1: "停产", 2: "断货"})
    assert routing.candidate.supplier_id == 3
    assert routing.reason == "主供企业齐鲁无法供应（停产）；备供企业华北无法供应（断货），转第二备供"


def test_routing_with_every_supplier_blocked_is_a_clear_error():
    with pytest.raises(rules.NoSupplierAvailable) as exc:
        rules.route_supplier(CANDIDATES, {1: "停产", 2: "断货", 3: "质量问题"})
    assert exc.value.message.startswith("主供及全部备供企业均被标记为无法供应")
    assert "第二备供企业扬子江无法供应（质量问题）" in exc.value.message
    with pytest.raises(rules.NoSupplierAvailable, match="没有主供或备供企业"):
        rules.route_supplier([], {})


def test_invoice_spread_oldest_first_each_up_to_its_open_amount():
    assert rules.spread_payment(Decimal("50.00"), [("a", Decimal("30.00")), ("b", Decimal("40.00"))]) == [
        ("a", Decimal("30.00")),
        ("b", Decimal("20.00")),
    ]
    assert rules.spread_payment(Decimal("30"), [("a", Decimal("30.00")), ("b", Decimal("40.00"))]) == [
        ("a", Decimal("30.00"))
    ]
    with pytest.raises(DomainError, match="超过所选订单行的未付金额合计 70.00"):
        rules.spread_payment(Decimal("70.01"), [("a", Decimal("30.00")), ("b", Decimal("40.00"))])
    with pytest.raises(DomainError, match="必须大于 0"):
        rules.spread_payment(Decimal("0"), [("a", Decimal("30.00"))])


def test_monthly_report_due_and_latest_overdue_month():
    assert rules.monthly_report_due(dt.date(2025, 12, 1), 5) == dt.date(2026, 1, 5)
    assert rules.latest_overdue_report_month(dt.date(2026, 1, 6), 5) == dt.date(2025, 12, 1)
    assert rules.latest_overdue_report_month(dt.date(2026, 1, 5), 5) == dt.date(2025, 11, 1)
    assert rules.previous_month(dt.date(2026, 3, 31)) == dt.date(2026, 2, 1)
