"""The demo's tickets step: tickets in every state inside agreement year 1, built through the actions."""

import datetime as dt

import pytest

from jicai.demo import runner
from jicai.demo.scales import BASE_TODAY
from jicai.tickets.models import Ticket, TicketEvent
from jicai.trade.models import SupplyBlock


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_demo_builds_tickets_in_every_state(db, monkeypatch):
    # Orders are optional for this step: leave out the slow steps that are not about tickets.
    steps = [s for s in runner.STEPS if s.name not in ("demand", "agreements", "trade", "monitoring")]
    monkeypatch.setattr(runner, "STEPS", steps)
    ctx = runner.run_demo(scale="small", seed=1, today=BASE_TODAY, write=lambda _: None)
    states = ctx.extra["tickets"]["states"]
    by_id = Ticket.objects.in_bulk([pk for ids in states.values() for pk in ids])

    def one(state):
        return by_id[states[state][0]]

    assert one("open").status == "open" and one("open").escalated_to_id is None
    assert one("open").opened_on == BASE_TODAY  # the stories still waiting end on the demo's today
    # Today is Sunday 31 August 2025: opened Thursday the 28th, two working days to reply → due Monday.
    due = one("due_next_workday")
    assert (due.status, due.opened_on, due.reply_due) == ("open", dt.date(2025, 8, 28), dt.date(2025, 9, 1))
    assert due.escalated_to_id is None
    assert max(Ticket.objects.values_list("opened_on", flat=True)) == BASE_TODAY
    assert one("replied").status == "replied" and one("replied").escalated_to_id is None
    assert one("reopened").status == "reopened"
    assert one("fixed").status == "fixed" and not one("fixed").fixed_late
    assert one("closed").status == "closed"
    assert one("escalated_county").escalation_level == "county"
    assert one("escalated_city").escalation_level == "city"
    top = one("escalated_province_interviewed")
    assert (top.escalation_level, top.interviewed_on is not None) == ("province", True)
    assert one("interviewed_fixed").status == "fixed" and one("interviewed_fixed").interviewed_on is not None
    block = SupplyBlock.objects.get(source="ticket")
    assert block.source_ref == str(one("verified_blocked").pk) and block.lifted_at is None
    year = {t.opened_on.year for t in Ticket.objects.all()}
    assert year == {2025}
    assert TicketEvent.objects.filter(action="overdue").exists()
    assert any(k.startswith("extra_") for k in states)
