"""TICKET_REPLY_OVERDUE / TICKET_FIX_OVERDUE (SPEC §7, §8): a ticket is overdue from the first day after its
reply or fix deadline, never on the deadline itself; the alert names the supplier, the institution and the
ticket, carries the days overdue, and closes once the supplier answers or the fix is confirmed.

Opened Monday 2024-06-03 with ticket_reply_workdays 2 → reply due Wednesday 2024-06-05; replied Tuesday
2024-06-04 promising Thursday 2024-06-06 (within ticket_fix_max_workdays 5) → fix due 2024-06-06."""

import datetime as dt

from jicai.monitoring.models import Alert
from jicai.tickets import actions
from tests.monitoring.conftest import monitor

D = dt.date
TYPES = {"TICKET_REPLY_OVERDUE", "TICKET_FIX_OVERDUE"}
MONDAY = D(2024, 6, 3)


def _open(w, on=MONDAY):
    return actions.open_ticket(
        actor=w.pharmacist,
        supplier=w.maker,
        category="shortage",
        description="阿托伐他汀钙断货",
        product=w.product,
        on=on,
    )


def _shape(alerts):
    return [(a["type"], a["institution"], a["supplier"], a["value"], a["threshold"]) for a in alerts]


def test_reply_overdue_from_the_day_after_reply_due_not_on_it(mworld):
    w = mworld
    ticket = _open(w)
    assert ticket.reply_due == D(2024, 6, 5)
    assert monitor(D(2024, 6, 5), types=TYPES) == []
    alerts = monitor(D(2024, 6, 6), types=TYPES)
    assert _shape(alerts) == [("TICKET_REPLY_OVERDUE", "H37100200001", w.maker.code, 1, 0)]
    alert = Alert.objects.get(type="TICKET_REPLY_OVERDUE")
    assert (alert.ticket_id, alert.province_id, alert.status) == (ticket.pk, w.province.pk, "open")
    assert _shape(monitor(D(2024, 6, 8), types=TYPES)) == [
        ("TICKET_REPLY_OVERDUE", "H37100200001", w.maker.code, 3, 0)
    ]
    assert Alert.objects.filter(type="TICKET_REPLY_OVERDUE").count() == 1


def test_reply_closes_the_reply_alert_and_fix_overdue_starts_after_the_promised_date(mworld):
    w = mworld
    ticket = _open(w)
    monitor(D(2024, 6, 6))  # reply overdue
    actions.reply_ticket(
        actor=w.manufacturer, ticket=ticket, text="已补货", promised_fix_date=D(2024, 6, 7), on=D(2024, 6, 6)
    )
    assert monitor(D(2024, 6, 7), types=TYPES) == []  # fix due 06-07: not yet overdue on it
    reply_alert = Alert.objects.get(type="TICKET_REPLY_OVERDUE")
    assert (reply_alert.status, reply_alert.closed_on) == ("closed", D(2024, 6, 7))
    alerts = monitor(D(2024, 6, 8), types=TYPES)
    assert _shape(alerts) == [("TICKET_FIX_OVERDUE", "H37100200001", w.maker.code, 1, 0)]
    actions.confirm_fix(actor=w.pharmacist, ticket=ticket, on=D(2024, 6, 9))
    assert monitor(D(2024, 6, 10), types=TYPES) == []
    fix_alert = Alert.objects.get(type="TICKET_FIX_OVERDUE")
    assert (fix_alert.status, fix_alert.closed_on, fix_alert.ticket_id) == (
        "closed",
        D(2024, 6, 10),
        ticket.pk,
    )


def test_ticket_answered_in_time_never_alerts_and_scope_limits_the_run(mworld):
    w = mworld
    ticket = _open(w)
    actions.reply_ticket(
        actor=w.manufacturer, ticket=ticket, text="已补货", promised_fix_date=D(2024, 6, 6), on=D(2024, 6, 4)
    )
    assert monitor(D(2024, 6, 6), types=TYPES) == []
    late = _open(w, on=D(2024, 6, 3))
    # A run over another city does not see (or close) this county's ticket alerts.
    assert monitor(D(2024, 6, 6), scope=w.other_city, types=TYPES) == []
    assert [a["type"] for a in monitor(D(2024, 6, 6), scope=w.county, types=TYPES)] == [
        "TICKET_REPLY_OVERDUE"
    ]
    assert Alert.objects.get(type="TICKET_REPLY_OVERDUE").ticket_id == late.pk
