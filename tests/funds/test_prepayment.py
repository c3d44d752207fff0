"""Fund prepayment tranches (SPEC §12) with hand-worked amounts and working-day due dates, the idempotent
`jicai prepayment` command and the bureau's disbursements."""

import datetime as dt
import io
import json
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from jicai.core.audit import AuditLog
from jicai.core.errors import DomainError, NotFound
from jicai.funds.models import Disbursement, PrepaymentTranche
from jicai.funds.prepayment import overdue_tranches, record_disbursement, trigger_tranches
from tests.funds.conftest import effective_agreement, receive


@pytest.fixture
def budgets(world):
    """hospital: budget 120 000.00 (1 000 000 × 0.12) from 2024-03-01; 600 000 received on 2024-06-14 (60 %),
    500 000 more on 2024-07-10 and 100 000 on 2024-08-05 (beyond the agreed volume → top-ups).
    clinic: 10 000.00 from 2024-03-01, nothing bought (tranche 2 at half year).
    other_hospital: 50 000.00 effective only on Friday 2024-09-27, before National Day."""
    w = world
    effective_agreement(w, w.hospital, 1_000_000, dt.date(2024, 3, 1))
    effective_agreement(w, w.clinic, 83_334, dt.date(2024, 3, 1), price="0.1200")  # 10 000.08
    effective_agreement(w, w.other_hospital, 416_667, dt.date(2024, 9, 27))  # 50 000.04
    receive(w, w.hospital, 600_000, dt.date(2024, 6, 14))
    receive(w, w.hospital, 500_000, dt.date(2024, 7, 10))
    receive(w, w.hospital, 100_000, dt.date(2024, 8, 5))
    return w


def rows_of(tranches, institution):
    return [
        (t.tranche, t.amount, t.triggered_on, t.due_on)
        for t in tranches
        if t.institution_id == institution.pk
    ]


def test_tranches_with_completion_top_ups_half_year_and_a_national_day_due_date(budgets):
    w = budgets
    tranches = trigger_tranches(as_of=dt.date(2024, 9, 30))
    # T1 = 30 % on the day the agreement takes effect, due 10 working days later (Mar 4–8, 11–15).
    # T2 when completion reached 60 % (2024-06-14, before the half year): 90 % − 30 % = 72 000.00, due Jun 28.
    # July: purchased 132 000.00 > 120 000.00 → top-up 0.9 × 12 000 = 10 800.00 at the month end, due Aug 14.
    # August: 144 000.00 → 0.9 × 24 000 − 10 800 = 10 800.00 on Sat Aug 31, due Sep 13.
    assert rows_of(tranches, w.hospital) == [
        ("1", D("36000.00"), dt.date(2024, 3, 1), dt.date(2024, 3, 15)),
        ("2", D("72000.00"), dt.date(2024, 6, 14), dt.date(2024, 6, 28)),
        ("topup-2024-07", D("10800.00"), dt.date(2024, 7, 31), dt.date(2024, 8, 14)),
        ("topup-2024-08", D("10800.00"), dt.date(2024, 8, 31), dt.date(2024, 9, 13)),
    ]
    # Half the year elapsed first (day 183 of 365 = 2024-08-30): 10 000.08 × 0.3 = 3 000.024 → 3 000.02;
    # × 0.9 = 9 000.072 → 9 000.07 − 3 000.02 = 6 000.05, due 10 working days after Fri Aug 30 = Sep 13.
    assert rows_of(tranches, w.clinic) == [
        ("1", D("3000.02"), dt.date(2024, 3, 1), dt.date(2024, 3, 15)),
        ("2", D("6000.05"), dt.date(2024, 8, 30), dt.date(2024, 9, 13)),
    ]
    # Effective Fri 2024-09-27, after the half year: both tranches that day. 10 working days across the
    # 调休: Sun 29 Sep (worked), Mon 30, [1–7 Oct holiday], 8, 9, 10, 11, Sat 12 Oct (worked), 14, 15, 16.
    assert rows_of(tranches, w.other_hospital) == [
        ("1", D("15000.01"), dt.date(2024, 9, 27), dt.date(2024, 10, 16)),
        ("2", D("30000.03"), dt.date(2024, 9, 27), dt.date(2024, 10, 16)),
    ]


def test_before_completion_and_half_year_only_tranche_one(budgets):
    tranches = trigger_tranches(as_of=dt.date(2024, 6, 13))
    assert [(t.institution_id, t.tranche) for t in tranches] == [
        (budgets.hospital.pk, "1"),
        (budgets.clinic.pk, "1"),
    ]


def test_command_prints_the_spec_shape_and_a_second_run_triggers_nothing(budgets):
    def run():
        out = io.StringIO()
        call_command("prepayment", "--as-of", "2024-09-30", stdout=out)
        return json.loads(out.getvalue())

    first = run()
    count = PrepaymentTranche.objects.count()
    assert count == 8
    second = run()
    assert second == first
    assert PrepaymentTranche.objects.count() == count
    row = next(r for r in first["tranches"] if r["institution"] == "H37100200001" and r["tranche"] == 2)
    assert row == {
        "institution": "H37100200001",
        "batch": "GY-YD2023-1",
        "agreement_year": 1,
        "tranche": 2,
        "amount": 72000.0,
        "triggered_on": "2024-06-14",
        "due_on": "2024-06-28",
        "paid_amount": 0.0,
    }
    assert first["as_of"] == "2024-09-30"
    table = io.StringIO()
    call_command("prepayment", "--as-of", "2024-09-30", "--format", "table", stdout=table)
    assert "topup-2024-07" in table.getvalue() and "10800.00" in table.getvalue()


def test_a_later_agreement_adds_its_share_to_tranche_one(budgets):
    w = budgets
    trigger_tranches(as_of=dt.date(2024, 3, 31))
    from jicai.batches.models import Item

    second_item = Item.objects.create(
        batch=w.batch, item_code="GY7-002", generic_name="氨氯地平", dosage_form_group="口服常释剂型"
    )
    effective_agreement(w, w.clinic, 10_000, dt.date(2024, 4, 2), item=second_item, price="1.0000")
    trigger_tranches(as_of=dt.date(2024, 4, 30))
    first = PrepaymentTranche.objects.get(institution=w.clinic, tranche="1")
    # (10 000.08 + 10 000.00) × 0.3 = 6 000.024 → 6 000.02; the trigger and due dates stay.
    assert (first.amount, first.triggered_on) == (D("6000.02"), dt.date(2024, 3, 1))


def test_bureau_records_partial_disbursements_never_above_the_tranche(budgets, settings):
    w = budgets
    trigger_tranches(as_of=dt.date(2024, 3, 31))
    tranche = PrepaymentTranche.objects.get(institution=w.hospital, tranche="1")
    record_disbursement(
        actor=w.city_bureau, tranche_id=tranche.pk, amount=D("20000.00"), paid_on=dt.date(2024, 3, 10)
    )
    record_disbursement(
        actor=w.city_bureau, tranche_id=tranche.pk, amount=D("15999.99"), paid_on=dt.date(2024, 3, 12)
    )
    tranche.refresh_from_db()
    assert (tranche.paid_amount, tranche.paid_on) == (D("35999.99"), dt.date(2024, 3, 12))
    audits = AuditLog.objects.filter(action="funds.record_disbursement").count()
    with pytest.raises(DomainError, match="超过该笔预付款未拨付金额 0.01"):
        record_disbursement(
            actor=w.city_bureau, tranche_id=tranche.pk, amount=D("0.02"), paid_on=dt.date(2024, 3, 13)
        )
    # Another city's bureau and the institution itself: 404, nothing written.
    for actor in (w.other_city_bureau, w.pharmacist, w.manufacturer):
        with pytest.raises(NotFound):
            record_disbursement(
                actor=actor, tranche_id=tranche.pk, amount=D("0.01"), paid_on=dt.date(2024, 3, 13)
            )
    with pytest.raises(DomainError, match="不能早于触发日期"):
        record_disbursement(
            actor=w.city_bureau, tranche_id=tranche.pk, amount=D("0.01"), paid_on=dt.date(2024, 2, 1)
        )
    tranche.refresh_from_db()
    assert tranche.paid_amount == D("35999.99")
    assert Disbursement.objects.count() == 2
    assert AuditLog.objects.filter(action="funds.record_disbursement").count() == audits
    # The exact rest is accepted.
    record_disbursement(
        actor=w.city_bureau, tranche_id=tranche.pk, amount=D("0.01"), paid_on=dt.date(2024, 3, 13)
    )
    tranche.refresh_from_db()
    assert tranche.unpaid == D("0.00")


def test_overdue_tranches_are_the_unpaid_ones_after_their_due_date(budgets):
    w = budgets
    trigger_tranches(as_of=dt.date(2024, 3, 31))
    assert set(overdue_tranches(dt.date(2024, 3, 15)).values_list("institution_id", flat=True)) == set()
    assert set(overdue_tranches(dt.date(2024, 3, 16)).values_list("institution_id", flat=True)) == {
        w.hospital.pk,
        w.clinic.pk,
    }
    tranche = PrepaymentTranche.objects.get(institution=w.hospital, tranche="1")
    record_disbursement(
        actor=w.province_bureau, tranche_id=tranche.pk, amount=D("36000.00"), paid_on=dt.date(2024, 3, 20)
    )
    assert set(overdue_tranches(dt.date(2024, 3, 21)).values_list("institution_id", flat=True)) == {
        w.clinic.pk
    }


def test_ordered_basis_triggers_tranche_two_on_the_order_day(world):
    """`progress_basis` decides what counts as purchased for tranche 2 and top-ups (SPEC §3/§7)."""
    from jicai.policy.models import PolicyProfile
    from jicai.trade.models import Receipt

    w = world
    effective_agreement(w, w.hospital, 1_000_000, dt.date(2024, 3, 1))  # B = 120 000.00
    # 600 000 (60 %) ordered Mon 2024-06-03, received Thu 2024-06-20.
    line = receive(w, w.hospital, 600_000, dt.date(2024, 6, 3))
    Receipt.objects.filter(line=line).update(received_on=dt.date(2024, 6, 20))
    # A cancelled line never counts, on either basis.
    cancelled = receive(w, w.hospital, 700_000, dt.date(2024, 5, 6))
    cancelled.status = "cancelled"
    cancelled.save(update_fields=["status"])
    Receipt.objects.filter(line=cancelled).delete()

    def second():
        PrepaymentTranche.objects.all().delete()
        t = next(t for t in trigger_tranches(as_of=dt.date(2024, 7, 31)) if t.tranche == "2")
        return t.amount, t.triggered_on, t.due_on

    # received: the receipt day; 10 working days: Jun 21, 24–28, Jul 1–4 → Thu 2024-07-04.
    assert second() == (D("72000.00"), dt.date(2024, 6, 20), dt.date(2024, 7, 4))
    PolicyProfile.objects.create(region=w.province, values={"progress_basis": "ordered"})
    # ordered: the order day Mon 2024-06-03; 10 working days around 端午 (Mon Jun 10 a holiday):
    # Jun 4, 5, 6, 7, 11, 12, 13, 14, 17, 18 → Tue 2024-06-18.
    assert second() == (D("72000.00"), dt.date(2024, 6, 3), dt.date(2024, 6, 18))


def test_a_later_agreement_grows_tranche_two_too(budgets):
    w = budgets
    trigger_tranches(as_of=dt.date(2024, 9, 30))
    second = PrepaymentTranche.objects.get(institution=w.clinic, tranche="2")
    record_disbursement(
        actor=w.city_bureau, tranche_id=second.pk, amount=D("6000.05"), paid_on=dt.date(2024, 9, 10)
    )
    from jicai.batches.models import Item

    second_item = Item.objects.create(
        batch=w.batch, item_code="GY7-002", generic_name="氨氯地平", dosage_form_group="口服常释剂型"
    )
    effective_agreement(w, w.clinic, 10_000, dt.date(2024, 10, 8), item=second_item, price="1.0000")
    trigger_tranches(as_of=dt.date(2024, 10, 31))
    rows = {
        t.tranche: (t.amount, t.paid_amount, t.triggered_on, t.due_on)
        for t in PrepaymentTranche.objects.filter(institution=w.clinic)
    }
    # B = 10 000.08 + 10 000.00 = 20 000.08: T1 = 6 000.024 → 6 000.02; T2 = 18 000.072 → 18 000.07 − 6 000.02
    # = 12 000.05. Dates stay; what was disbursed stays, the unpaid rest is 6 000.00.
    assert rows == {
        "1": (D("6000.02"), D("0.00"), dt.date(2024, 3, 1), dt.date(2024, 3, 15)),
        "2": (D("12000.05"), D("6000.05"), dt.date(2024, 8, 30), dt.date(2024, 9, 13)),
    }
    # Idempotent: a second run changes nothing.
    trigger_tranches(as_of=dt.date(2024, 10, 31))
    assert PrepaymentTranche.objects.get(institution=w.clinic, tranche="2").amount == D("12000.05")
