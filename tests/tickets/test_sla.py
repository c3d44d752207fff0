"""`jicai sla` / evaluate_sla: overdue on the first day after the due date (not on it), escalation to the
lowest bureau on the institution's region path, idempotent re-runs, notifications, and the overdue list
monitoring turns into TICKET_REPLY_OVERDUE / TICKET_FIX_OVERDUE alerts."""

import datetime as dt
import io

from django.core import mail
from django.core.management import call_command

from jicai.accounts.models import Notification
from jicai.core.models import AuditLog
from jicai.tickets import actions, queries
from jicai.tickets.models import Ticket, TicketEvent
from tests import factories
from tests.tickets.conftest import open_ticket, replied_ticket

D = dt.date


def _state(t: Ticket):
    t.refresh_from_db()
    return (
        t.escalated_to_id,
        t.escalation_level,
        t.escalated_on,
        t.breached_kind,
        t.breached_due,
        t.replied_late,
    )


def test_not_overdue_on_the_due_date_overdue_the_day_after(world):
    t = open_ticket(world, D(2025, 9, 30))  # reply due 2025-10-10
    result = actions.evaluate_sla(as_of=D(2025, 10, 10))
    assert (result.overdue, result.steps) == (0, [])
    assert queries.overdue_tickets(D(2025, 10, 10)) == []
    assert _state(t) == (None, "", None, "", None, False)

    result = actions.evaluate_sla(as_of=D(2025, 10, 11))
    assert result.overdue == 1
    assert [(s.ticket_id, s.kind, s.due, s.escalated_to, s.first_escalation) for s in result.steps] == [
        (t.pk, "reply", D(2025, 10, 10), "371002", True)
    ]
    assert _state(t) == (world.county.pk, "county", D(2025, 10, 11), "reply", D(2025, 10, 10), True)
    event = t.events.get(action="overdue")
    assert (event.on, event.actor, event.actor_label) == (D(2025, 10, 11), None, actions.SYSTEM_LABEL)
    assert "环翠区" in event.text
    assert queries.overdue_tickets(D(2025, 10, 11)) == [
        queries.OverdueTicket(t.pk, world.maker.pk, world.hospital.pk, "reply", D(2025, 10, 10))
    ]


def test_running_twice_changes_nothing_the_second_time(world, django_capture_on_commit_callbacks):
    t = open_ticket(world, D(2025, 9, 30))
    with django_capture_on_commit_callbacks(execute=True):
        actions.evaluate_sla(as_of=D(2025, 10, 11))
    before = (_state(t), TicketEvent.objects.count(), Notification.objects.count(), AuditLog.objects.count())
    with django_capture_on_commit_callbacks(execute=True):
        again = actions.evaluate_sla(as_of=D(2025, 10, 11))
        later = actions.evaluate_sla(as_of=D(2025, 10, 20))
    assert (again.overdue, again.steps, later.overdue, later.steps) == (1, [], 1, [])
    assert (
        _state(t),
        TicketEvent.objects.count(),
        Notification.objects.count(),
        AuditLog.objects.count(),
    ) == before


def test_overdue_notifies_supplier_institution_and_bureau(world, django_capture_on_commit_callbacks):
    world.county_bureau.email = "hc@example.com"
    world.county_bureau.save(update_fields=["email"])
    open_ticket(world, D(2025, 9, 30))
    with django_capture_on_commit_callbacks(execute=True):
        actions.evaluate_sla(as_of=D(2025, 10, 11))
    orgs = set(Notification.objects.filter(kind="tickets.overdue").values_list("organisation_id", flat=True))
    assert orgs == {world.maker_org.pk, world.hospital_org.pk, world.county_bureau_org.pk}
    assert [m.to for m in mail.outbox] == [["hc@example.com"]]


def test_fix_overdue_after_the_promised_date_keeps_the_first_bureau(world):
    t = replied_ticket(world, D(2025, 9, 30), D(2025, 10, 13), promise=D(2025, 10, 15))  # late reply
    assert actions.evaluate_sla(as_of=D(2025, 10, 15)).steps == []
    steps = actions.evaluate_sla(as_of=D(2025, 10, 16)).steps
    assert [(s.kind, s.due, s.escalated_to) for s in steps] == [("fix", D(2025, 10, 15), "371002")]
    t.refresh_from_db()
    assert (t.fixed_late, t.breached_kind, t.escalation_level) == (True, "fix", "county")
    assert queries.overdue_tickets(D(2025, 10, 16))[0].kind == "fix"


def test_no_promise_means_due_five_working_days_after_the_reply(world):
    replied_ticket(world, D(2025, 9, 30), D(2025, 9, 30))  # fix due 2025-10-14
    assert actions.evaluate_sla(as_of=D(2025, 10, 14)).steps == []
    assert actions.evaluate_sla(as_of=D(2025, 10, 15)).steps[0].due == D(2025, 10, 14)


def test_a_second_breach_after_reopening_notifies_the_bureau_already_supervising(world):
    t = open_ticket(world, D(2025, 9, 30))
    actions.evaluate_sla(as_of=D(2025, 10, 11))
    actions.escalate_ticket(actor=world.county_bureau, ticket=t, text="上报市局", on=D(2025, 10, 13))
    actions.reply_ticket(actor=world.manufacturer, ticket=t, text="已发货", on=D(2025, 10, 13))
    steps = actions.evaluate_sla(as_of=D(2025, 10, 21)).steps  # fix due 10-20 (5 working days after 10-13)
    assert [(s.kind, s.escalated_to, s.first_escalation) for s in steps] == [("fix", "371000", False)]


def test_answered_and_fixed_tickets_drop_out_of_the_overdue_list(world):
    t = open_ticket(world, D(2025, 9, 30))
    actions.evaluate_sla(as_of=D(2025, 10, 11))
    actions.reply_ticket(
        actor=world.manufacturer,
        ticket=t,
        text="已发货",
        promised_fix_date=D(2025, 10, 14),
        on=D(2025, 10, 13),
    )
    assert queries.overdue_tickets(D(2025, 10, 14)) == []
    actions.confirm_fix(actor=world.pharmacist, ticket=t, on=D(2025, 10, 14))
    assert queries.overdue_tickets(D(2025, 12, 31)) == []


def test_institution_without_county_bureau_escalates_to_the_city(world):
    county2 = factories.region("371003", "文登区", world.city)
    hospital2 = factories.institution("H37100300001", "文登区人民医院", county2)
    org = factories.org("institution", institution=hospital2)
    staff = factories.user("wd_pharmacy", org, "institution")
    open_ticket(world, D(2025, 9, 30), actor=staff)
    assert actions.evaluate_sla(as_of=D(2025, 10, 11)).steps[0].escalated_to == "371000"
    assert [o.institution_id for o in queries.overdue_tickets(D(2025, 10, 11), region=world.other_city)] == []


def test_sla_command_prints_what_it_did_and_is_idempotent(world):
    t = open_ticket(world, D(2025, 9, 30))
    out = io.StringIO()
    call_command("sla", as_of="2025-10-11", stdout=out)
    assert f"诉求 #{t.pk}：逾期未答复（期限 2025-10-10），升级至 环翠区医疗保障局 督办" in out.getvalue() or (
        f"诉求 #{t.pk}：逾期未答复（期限 2025-10-10），升级至" in out.getvalue()
    )
    assert "2025-10-11：逾期诉求 1 件，本次新处理 1 件" in out.getvalue()
    out = io.StringIO()
    call_command("sla", as_of="2025-10-11", stdout=out)
    assert out.getvalue().strip() == "2025-10-11：逾期诉求 1 件，本次新处理 0 件"
