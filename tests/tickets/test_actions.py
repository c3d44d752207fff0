"""Ticket actions: exact deadlines on the official calendar, the supplier's promise limit, confirm/reopen
with history kept, bureau supervision up the region path, verified supply problems (trade supply blocks),
attachments, notifications (in-app rows and mail through the locmem backend) and refusals that write
nothing."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail

from jicai.accounts.models import Notification
from jicai.batches.models import Winner
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.core.models import AuditLog
from jicai.tickets import actions
from jicai.tickets.models import Status, Ticket, TicketAttachment, TicketEvent
from jicai.trade import queries as trade_queries
from jicai.trade.models import SupplyBlock
from tests.tickets.conftest import PNG, open_ticket, pdf, replied_ticket

D = dt.date


def test_ticket_opened_on_2025_09_30_is_due_for_reply_on_2025_10_10(world):
    t = open_ticket(world, D(2025, 9, 30))
    assert (t.reply_due, t.first_reply_due, t.reply_due_provisional) == (
        D(2025, 10, 10),
        D(2025, 10, 10),
        False,
    )
    assert t.item == world.item
    assert t.status == Status.OPEN
    event = t.events.get()
    assert (event.action, event.to_status, event.actor) == ("opened", "open", world.pharmacist)
    assert AuditLog.objects.filter(action="tickets.open", object_id=str(t.pk)).count() == 1


def test_ticket_opened_on_friday_is_due_monday_because_sunday_is_a_make_up_day(world):
    t = open_ticket(world, D(2025, 9, 26))
    assert t.reply_due == D(2025, 9, 29)


def test_ticket_opened_in_2027_without_uploaded_calendar_is_provisional(world):
    t = open_ticket(world, D(2027, 1, 8))  # Friday; 2027 is not in the package
    assert (t.reply_due, t.reply_due_provisional) == (D(2027, 1, 12), True)


def test_policy_override_changes_the_reply_window(world):
    from jicai.policy.models import PolicyProfile

    PolicyProfile.objects.create(region=world.province, values={"ticket_reply_workdays": 3})
    assert open_ticket(world, D(2025, 9, 30)).reply_due == D(2025, 10, 11)  # Saturday 10-11 is a make-up day


def test_opening_notifies_supplier_and_distributor_in_app_and_by_mail(
    world, django_capture_on_commit_callbacks
):
    world.manufacturer.email = "qilu@example.com"
    world.manufacturer.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        t = open_ticket(world, D(2025, 9, 30), distributor=world.distributor)
    orgs = set(Notification.objects.filter(kind="tickets.opened").values_list("organisation_id", flat=True))
    assert orgs == {world.maker_org.pk, world.distributor_org.pk}
    assert [m.to for m in mail.outbox] == [["qilu@example.com"]]
    assert f"#{t.pk}" in mail.outbox[0].subject and "2025-10-10" in mail.outbox[0].subject


def test_only_institution_staff_open_tickets(world):
    for actor in (world.doctor, world.manufacturer, world.county_bureau, world.admin):
        with pytest.raises(PermissionDenied):
            open_ticket(world, D(2025, 9, 30), actor=actor)
    assert not Ticket.objects.exists()


def test_open_refuses_a_distributor_as_supplier_and_a_product_of_another_maker(world):
    with pytest.raises(DomainError, match="不是生产企业"):
        open_ticket(world, D(2025, 9, 30), supplier=world.distributor, product=None)
    with pytest.raises(DomainError, match="不是 齐鲁制药有限公司 生产的"):
        open_ticket(world, D(2025, 9, 30), product=world.other_product)
    with pytest.raises(DomainError, match="问题描述"):
        open_ticket(world, D(2025, 9, 30), description="  ")
    assert not Ticket.objects.exists()


def test_reply_with_promise_exactly_five_working_days_later_is_accepted(world):
    t = replied_ticket(world, D(2025, 9, 30), D(2025, 9, 30), promise=D(2025, 10, 14))
    assert (t.status, t.promised_fix_date, t.fix_due, t.replied_late) == (
        "replied",
        D(2025, 10, 14),
        D(2025, 10, 14),
        False,
    )
    assert t.first_replied_on == D(2025, 9, 30)


def test_reply_with_promise_later_than_five_working_days_is_refused_and_nothing_changes(world):
    t = open_ticket(world, D(2025, 9, 30))
    with pytest.raises(DomainError) as exc:
        actions.reply_ticket(
            actor=world.manufacturer,
            ticket=t,
            text="尽快",
            promised_fix_date=D(2025, 10, 15),
            on=D(2025, 9, 30),
        )
    assert exc.value.code == "promise_too_late"
    t.refresh_from_db()
    assert (t.status, t.replied_on, t.fix_due) == ("open", None, None)
    assert t.events.count() == 1


def test_reply_without_promise_is_due_five_working_days_after_the_reply(world):
    t = replied_ticket(world, D(2025, 9, 30), D(2025, 10, 10))
    assert (t.promised_fix_date, t.fix_due) == (None, D(2025, 10, 16))


def test_late_reply_is_marked_late(world):
    t = replied_ticket(world, D(2025, 9, 30), D(2025, 10, 11))
    assert t.replied_late is True


def test_only_the_named_supplier_replies(world):
    t = open_ticket(world, D(2025, 9, 30), distributor=world.distributor)
    with pytest.raises(NotFound):
        actions.reply_ticket(actor=world.other_manufacturer, ticket=t, text="x", on=D(2025, 9, 30))
    with pytest.raises(PermissionDenied):  # the distributor sees the ticket but does not answer for the maker
        actions.reply_ticket(actor=world.distributor_user, ticket=t, text="x", on=D(2025, 9, 30))
    with pytest.raises(PermissionDenied):
        actions.reply_ticket(actor=world.pharmacist, ticket=t, text="x", on=D(2025, 9, 30))
    t.refresh_from_db()
    assert t.status == "open"


def test_confirm_fix_counts_working_days_from_opening(world):
    t = replied_ticket(world, D(2025, 9, 26), D(2025, 9, 28), promise=D(2025, 10, 10))
    t = actions.confirm_fix(actor=world.pharmacist, ticket=t, on=D(2025, 10, 10))
    # 09-28 (make-up Sunday), 09-29, 09-30, 10-09, 10-10.
    assert (t.status, t.fixed_on, t.workdays_to_fix, t.fixed_late) == ("fixed", D(2025, 10, 10), 5, False)


def test_confirm_after_the_fix_deadline_is_late(world):
    t = replied_ticket(world, D(2025, 9, 30), D(2025, 9, 30), promise=D(2025, 10, 10))
    t = actions.confirm_fix(actor=world.pharmacist, ticket=t, on=D(2025, 10, 11))
    assert t.fixed_late is True


def test_reopen_keeps_history_and_the_supplier_must_reply_again(world):
    t = replied_ticket(world, D(2025, 9, 30), D(2025, 9, 30), promise=D(2025, 10, 10))
    t = actions.confirm_fix(actor=world.pharmacist, ticket=t, on=D(2025, 10, 9))
    t = actions.reopen_ticket(actor=world.pharmacist, ticket=t, text="又断货了", on=D(2025, 10, 10))
    assert (t.status, t.reply_due, t.fix_due, t.fixed_on, t.workdays_to_fix) == (
        "reopened",
        D(2025, 10, 13),
        None,
        None,
        None,
    )
    assert t.first_reply_due == D(2025, 10, 10)
    assert list(t.events.values_list("action", "from_status", "to_status")) == [
        ("opened", "", "open"),
        ("replied", "open", "replied"),
        ("fix_confirmed", "replied", "fixed"),
        ("reopened", "fixed", "reopened"),
    ]
    with pytest.raises(DomainError, match="企业答复后才能确认解决"):
        actions.confirm_fix(actor=world.pharmacist, ticket=t, on=D(2025, 10, 10))
    t = actions.reply_ticket(actor=world.manufacturer, ticket=t, text="第二批已发", on=D(2025, 10, 13))
    assert (t.status, t.first_replied_on, t.replied_on) == ("replied", D(2025, 9, 30), D(2025, 10, 13))


def _escalated(world):
    t = open_ticket(world, D(2025, 9, 30))
    actions.evaluate_sla(as_of=D(2025, 10, 11))
    t.refresh_from_db()
    return t


def test_bureau_pushes_up_county_city_province_and_not_further(world):
    t = _escalated(world)
    assert (t.escalated_to, t.escalation_level) == (world.county, "county")
    with pytest.raises(PermissionDenied):  # only the supervising bureau pushes up
        actions.escalate_ticket(actor=world.city_bureau, ticket=t, text="x", on=D(2025, 10, 12))
    t = actions.escalate_ticket(actor=world.county_bureau, ticket=t, text="企业仍未答复", on=D(2025, 10, 13))
    assert (t.escalated_to, t.escalation_level, t.escalated_on) == (world.city, "city", D(2025, 10, 13))
    t = actions.escalate_ticket(actor=world.city_bureau, ticket=t, text="请省局约谈", on=D(2025, 10, 14))
    assert (t.escalated_to, t.escalation_level) == (world.province, "province")
    with pytest.raises(DomainError, match="最高一级"):
        actions.escalate_ticket(actor=world.province_bureau, ticket=t, text="x", on=D(2025, 10, 15))
    escalations = list(t.events.filter(action="escalated").values_list("data", flat=True))
    assert [(e["from_region"], e["to_region"]) for e in escalations] == [
        ("371002", "371000"),
        ("371000", "370000"),
    ]


def test_escalation_notifies_the_new_bureau(world, django_capture_on_commit_callbacks):
    t = _escalated(world)
    with django_capture_on_commit_callbacks(execute=True):
        actions.escalate_ticket(actor=world.county_bureau, ticket=t, text="企业仍未答复", on=D(2025, 10, 13))
    orgs = set(
        Notification.objects.filter(kind="tickets.escalated").values_list("organisation_id", flat=True)
    )
    assert orgs == {world.city_bureau_org.pk, world.maker_org.pk, world.hospital_org.pk}


def test_lower_bureau_cannot_act_once_a_higher_one_supervises(world):
    t = _escalated(world)
    t = actions.escalate_ticket(actor=world.county_bureau, ticket=t, text="上报", on=D(2025, 10, 13))
    with pytest.raises(PermissionDenied):
        actions.close_ticket(actor=world.county_bureau, ticket=t, text="办结", on=D(2025, 10, 14))
    with pytest.raises(NotFound):
        actions.close_ticket(actor=world.other_city_bureau, ticket=t, text="办结", on=D(2025, 10, 14))
    t = actions.record_bureau_action(
        actor=world.province_bureau, ticket=t, kind="interview", text="约谈企业负责人", on=D(2025, 10, 14)
    )
    assert t.interviewed_on == D(2025, 10, 14)
    t = actions.close_ticket(actor=world.city_bureau, ticket=t, text="企业已整改", on=D(2025, 10, 15))
    assert (t.status, t.closed_on) == ("closed", D(2025, 10, 15))
    with pytest.raises(DomainError, match="已办结"):
        actions.record_bureau_action(
            actor=world.city_bureau, ticket=t, kind="notice", text="x", on=D(2025, 10, 16)
        )


def test_escalating_a_ticket_not_yet_overdue_is_refused(world):
    t = open_ticket(world, D(2025, 9, 30))
    with pytest.raises(DomainError, match="尚未升级"):
        actions.escalate_ticket(actor=world.county_bureau, ticket=t, text="x", on=D(2025, 10, 1))


def test_verified_supply_problem_blocks_the_supplier_and_routes_orders_to_backup(world):
    Winner.objects.create(
        item=world.item,
        product=world.other_product,
        province=world.province,
        role="backup",
        winning_price=Decimal("0.1500"),
    )
    assert trade_queries.route(world.hospital, world.item).candidate.supplier_id == world.maker.pk
    t = open_ticket(world, D(2025, 9, 30))
    t = actions.verify_supply_problem(
        actor=world.county_bureau, ticket=t, reason="核实断供属实", on=D(2025, 10, 9)
    )
    block = SupplyBlock.objects.get()
    assert (block.supplier, block.institution, block.item) == (world.maker, world.hospital, world.item)
    assert (block.source, block.source_ref, block.lifted_at) == ("ticket", str(t.pk), None)
    assert t.supply_block == block
    routing = trade_queries.route(world.hospital, world.item)
    assert (routing.candidate.role, routing.candidate.supplier_id) == ("backup", world.other_maker.pk)
    with pytest.raises(DomainError, match="已认定"):
        actions.verify_supply_problem(actor=world.county_bureau, ticket=t, reason="再次", on=D(2025, 10, 9))
    actions.lift_ticket_block(actor=world.county_bureau, ticket=t, note="已恢复供应", on=D(2025, 10, 20))
    block.refresh_from_db()
    assert block.lifted_at is not None
    assert trade_queries.route(world.hospital, world.item).candidate.supplier_id == world.maker.pk
    assert list(t.events.values_list("action", flat=True)) == ["opened", "verified", "block_lifted"]


def test_verify_needs_an_item_and_a_bureau_of_the_subtree(world):
    t = open_ticket(world, D(2025, 9, 30))
    for actor in (world.pharmacist, world.manufacturer):
        with pytest.raises(PermissionDenied):
            actions.verify_supply_problem(actor=actor, ticket=t, reason="x", on=D(2025, 10, 9))
    with pytest.raises(NotFound):
        actions.verify_supply_problem(actor=world.other_city_bureau, ticket=t, reason="x", on=D(2025, 10, 9))
    no_item = open_ticket(world, D(2025, 9, 30), product=None, category="other")
    with pytest.raises(DomainError, match="未关联采购品种"):
        actions.verify_supply_problem(
            actor=world.county_bureau, ticket=no_item, reason="x", on=D(2025, 10, 9)
        )
    assert not SupplyBlock.objects.exists()


def test_attachments_are_stored_under_media_root_with_random_names(world, media_root):
    t = open_ticket(world, D(2025, 9, 30), files=[pdf("断货证明.pdf")])
    att = TicketAttachment.objects.get()
    assert (att.original_name, att.content_type, att.size, att.event.action) == (
        "断货证明.pdf",
        "application/pdf",
        len(pdf().read()),
        "opened",
    )
    path = Path(att.file.path)
    assert path.is_file() and str(path).startswith(str(media_root))
    assert "断货证明" not in att.file.name and att.file.name.endswith(".pdf")
    assert att.ticket == t


def test_a_bad_attachment_refuses_the_whole_step_and_writes_nothing(world, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("发票.pdf", b"MZ\x90\x00 this is a program", content_type="application/pdf")
    with pytest.raises(DomainError, match="内容与扩展名不符"):
        open_ticket(world, D(2025, 9, 30), files=[pdf(), fake])
    assert not Ticket.objects.exists() and not TicketAttachment.objects.exists()
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


def test_attachment_size_limit_is_configurable(world, settings):
    settings.TICKET_ATTACHMENT_MAX_BYTES = 20
    with pytest.raises(DomainError, match="超过"):
        open_ticket(world, D(2025, 9, 30), files=[pdf()])
    assert not Ticket.objects.exists()


def test_parties_add_attachments_outsiders_cannot(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    t = open_ticket(world, D(2025, 9, 30))
    rows = actions.add_attachments(
        actor=world.manufacturer, ticket=t, files=[SimpleUploadedFile("发货单.png", PNG)], on=D(2025, 10, 9)
    )
    assert rows[0].content_type == "image/png"
    with pytest.raises(NotFound):
        actions.add_attachments(actor=world.other_pharmacist, ticket=t, files=[pdf()], on=D(2025, 10, 9))
    assert TicketAttachment.objects.count() == 1
    assert TicketEvent.objects.filter(action="attached").count() == 1


def test_reply_notifies_the_institution(world, django_capture_on_commit_callbacks):
    world.pharmacist.email = "hc@example.com"
    world.pharmacist.save(update_fields=["email"])
    t = open_ticket(world, D(2025, 9, 30))
    with django_capture_on_commit_callbacks(execute=True):
        actions.reply_ticket(actor=world.manufacturer, ticket=t, text="已补货", on=D(2025, 10, 9))
    notice = Notification.objects.get(kind="tickets.replied")
    assert notice.organisation == world.hospital_org
    assert notice.link == f"/tickets/{t.pk}/"
    assert "解决期限 2025-10-15" in notice.title
    assert [m.to for m in mail.outbox] == [["hc@example.com"]]
