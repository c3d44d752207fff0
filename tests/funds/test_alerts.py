"""PREPAYMENT_OVERDUE and NOT_ADMITTED in the monitoring run (SPEC §12), as `jicai monitor` prints them."""

import datetime as dt
from decimal import Decimal as D

from jicai.funds.models import PrepaymentTranche
from jicai.funds.prepayment import record_disbursement, trigger_tranches
from jicai.monitoring.evaluate import found_alerts, run_monitoring
from jicai.monitoring.models import Alert
from tests.funds.conftest import effective_agreement, receive


def monitor(as_of, types):
    outcome = run_monitoring(as_of, None)
    return [a for a in found_alerts(outcome.facts) if a["type"] in types]


def test_prepayment_overdue_opens_after_the_due_date_and_closes_when_paid(world):
    """One alert per (institution, tranche) (SPEC §12): value = the tranche's unpaid rest, threshold 0."""
    w = world
    effective_agreement(w, w.hospital, 1_000_000, dt.date(2024, 3, 1))
    trigger_tranches(as_of=dt.date(2024, 3, 31))
    assert monitor(dt.date(2024, 3, 15), {"PREPAYMENT_OVERDUE"}) == []  # due that day: not yet overdue
    alerts = monitor(dt.date(2024, 3, 18), {"PREPAYMENT_OVERDUE"})
    assert alerts == [
        {
            "type": "PREPAYMENT_OVERDUE",
            "institution": w.hospital.code,
            "item": None,
            "supplier": None,
            "product": None,
            "order_id": None,
            "line_no": None,
            "value": 36000,
            "threshold": 0,
            "tier": None,
            "agreement_year": 1,
            "tranche": 1,
        }
    ]
    tranche = PrepaymentTranche.objects.get(institution=w.hospital, tranche="1")
    record_disbursement(
        actor=w.city_bureau, tranche_id=tranche.pk, amount=D("30000.00"), paid_on=dt.date(2024, 3, 18)
    )
    assert monitor(dt.date(2024, 3, 19), {"PREPAYMENT_OVERDUE"})[0]["value"] == 6000
    record_disbursement(
        actor=w.city_bureau, tranche_id=tranche.pk, amount=D("6000.00"), paid_on=dt.date(2024, 3, 19)
    )
    assert monitor(dt.date(2024, 3, 20), {"PREPAYMENT_OVERDUE"}) == []
    assert Alert.objects.get(type="PREPAYMENT_OVERDUE").status == "closed"


def test_prepayment_overdue_is_one_alert_per_tranche(world):
    """Tranche 1 (36 000.00, due 2024-03-15) and tranche 2 (72 000.00: completion 60 % on Fri 2024-06-14, due
    10 working days later on 2024-06-28) both unpaid: two alerts; paying tranche 1 closes only its own."""
    w = world
    effective_agreement(w, w.hospital, 1_000_000, dt.date(2024, 3, 1))
    receive(w, w.hospital, 600_000, dt.date(2024, 6, 14))
    trigger_tranches(as_of=dt.date(2024, 6, 30))
    alerts = monitor(dt.date(2024, 7, 1), {"PREPAYMENT_OVERDUE"})
    assert [(a["institution"], a["tranche"], a["value"]) for a in alerts] == [
        (w.hospital.code, 1, 36000),
        (w.hospital.code, 2, 72000),
    ]
    first = PrepaymentTranche.objects.get(institution=w.hospital, tranche="1")
    record_disbursement(
        actor=w.city_bureau, tranche_id=first.pk, amount=D("36000.00"), paid_on=dt.date(2024, 7, 1)
    )
    second = PrepaymentTranche.objects.get(institution=w.hospital, tranche="2")
    record_disbursement(
        actor=w.city_bureau, tranche_id=second.pk, amount=D("50000.00"), paid_on=dt.date(2024, 7, 1)
    )
    alerts = monitor(dt.date(2024, 7, 2), {"PREPAYMENT_OVERDUE"})
    assert [(a["tranche"], a["value"]) for a in alerts] == [(2, 22000)]
    stored = {a.tranche: (a.status, a.tranche_label) for a in Alert.objects.filter(type="PREPAYMENT_OVERDUE")}
    assert stored == {"1": ("closed", "第1笔"), "2": ("open", "第2笔")}


def test_not_admitted_from_the_check_month_without_a_winning_purchase(world):
    w = world
    effective_agreement(w, w.hospital, 1000, dt.date(2024, 3, 1))
    effective_agreement(w, w.clinic, 1000, dt.date(2024, 3, 1))
    effective_agreement(w, w.other_hospital, 1000, dt.date(2024, 3, 1))
    receive(w, w.other_hospital, 10, dt.date(2024, 4, 2))  # the main winner: admitted
    receive(w, w.clinic, 10, dt.date(2024, 4, 2), product=w.other_product)  # non-winning: does not count
    # Month 3 of the year starting 2024-03-01 begins on 2024-05-01 (admission_check_month = 3).
    assert monitor(dt.date(2024, 4, 30), {"NOT_ADMITTED"}) == []
    alerts = monitor(dt.date(2024, 5, 1), {"NOT_ADMITTED"})
    assert [
        (a["institution"], a["item"], a["value"], a["threshold"], a["agreement_year"]) for a in alerts
    ] == [
        (w.hospital.code, "GY7-001", 3, 3, 1),
        (w.clinic.code, "GY7-001", 3, 3, 1),
    ]
    # The hospital buys in May: its alert closes at the next run.
    receive(w, w.hospital, 10, dt.date(2024, 5, 6))
    alerts = monitor(dt.date(2024, 5, 7), {"NOT_ADMITTED"})
    assert [a["institution"] for a in alerts] == [w.clinic.code]
