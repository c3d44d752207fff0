"""Ticket pages: scoped lists with filters, export and a fixed query count; opening with attachments; the
ticket page with its log; every step; downloads; figures. Another organisation gets 404 and nothing
changes, on every page."""

import datetime as dt
import io

import openpyxl
import pytest

from jicai.tickets import actions
from jicai.tickets.models import Ticket, TicketAttachment, TicketEvent
from tests.tickets.conftest import PDF, open_ticket, pdf

D = dt.date


@pytest.fixture
def tickets(world, clock):
    mine = open_ticket(world, D(2025, 9, 30), distributor=world.distributor, files=[pdf("证明.pdf")])
    other = open_ticket(
        world, D(2025, 9, 30), actor=world.other_pharmacist, supplier=world.other_maker, product=None
    )
    clock.set(D(2025, 10, 11))
    return mine, other


def _listed(client, url="/tickets/"):
    response = client.get(url)
    assert response.status_code == 200
    return {int(row[0].lstrip("#")) for row in response.context["rows"]}


def test_each_party_lists_only_its_tickets(world, tickets, client_for):
    mine, other = tickets
    assert _listed(client_for(world.pharmacist)) == {mine.pk}
    assert client_for(world.doctor).get("/tickets/").status_code == 404  # SPEC §1, §9: not a doctor's
    assert _listed(client_for(world.manufacturer)) == {mine.pk}
    assert _listed(client_for(world.distributor_user)) == {mine.pk}
    assert _listed(client_for(world.other_manufacturer)) == {other.pk}
    assert _listed(client_for(world.county_bureau)) == {mine.pk}
    assert _listed(client_for(world.other_city_bureau)) == {other.pk}
    assert _listed(client_for(world.province_bureau)) == {mine.pk, other.pk}


def test_list_filters(world, tickets, client_for):
    mine, other = tickets
    client = client_for(world.province_bureau)
    assert _listed(client, "/tickets/?overdue=1") == {mine.pk, other.pk}  # both due 10-10, today 10-11
    actions.reply_ticket(actor=world.manufacturer, ticket=mine, text="已发货", on=D(2025, 10, 11))
    assert _listed(client, "/tickets/?overdue=1") == {other.pk}
    assert _listed(client, "/tickets/?overdue=0&status=replied") == {mine.pk}
    assert _listed(client, f"/tickets/?supplier={world.other_maker.code}") == {other.pk}
    assert _listed(client, "/tickets/?region=371002") == {mine.pk}
    assert _listed(client, "/tickets/?item=GY7-001") == {mine.pk}
    assert _listed(client, "/tickets/?escalation=none") == {mine.pk, other.pk}
    assert _listed(client_for(world.county_bureau), "/tickets/?region=370202") == set()


def test_list_query_count_does_not_grow_with_rows(world, tickets, client_for, django_assert_max_num_queries):
    client = client_for(world.province_bureau)
    client.get("/tickets/")
    with django_assert_max_num_queries(12) as first:
        client.get("/tickets/")
    for _ in range(5):
        open_ticket(world, D(2025, 9, 30))
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get("/tickets/")


def test_list_exports_xlsx(world, tickets, client_for):
    response = client_for(world.pharmacist).get("/tickets/?export=xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("编号", "提出日期", "医疗机构")
    assert rows[1][0] == f"#{tickets[0].pk}" and rows[1][10] == "逾期未答复"
    assert len(rows) == 2


def test_institution_opens_a_ticket_with_an_attachment(world, clock, client_for):
    response = client_for(world.pharmacist).post(
        "/tickets/new/",
        {
            "supplier": world.maker.code,
            "category": "late_delivery",
            "description": "订单已过配送期限",
            "product": world.product.code,
            "attachments": [pdf("催货函.pdf")],
        },
    )
    t = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tickets/{t.pk}/"
    assert (t.reply_due, t.category, t.item) == (D(2025, 10, 10), "late_delivery", world.item)
    assert t.attachments.get().original_name == "催货函.pdf"


def test_open_page_refuses_a_disguised_file_and_writes_nothing(world, clock, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("照片.jpg", b"<?php system($_GET['c']); ?>")
    response = client_for(world.pharmacist).post(
        "/tickets/new/",
        {"supplier": world.maker.code, "category": "quality", "description": "破损", "attachments": [bad]},
    )
    assert response.status_code == 400
    assert "内容与扩展名不符" in response.content.decode()
    assert not Ticket.objects.exists() and not TicketAttachment.objects.exists()


def test_open_page_does_not_reveal_another_institutions_order_line(world, clock, client_for):
    response = client_for(world.pharmacist).post(
        "/tickets/new/",
        {
            "supplier": world.maker.code,
            "category": "quality",
            "description": "x",
            "order_id": "NOPE",
            "line_no": 1,
        },
    )
    assert response.status_code == 400
    assert "未找到本机构的该订单行" in response.content.decode()


def test_open_page_is_for_institution_staff_only(world, client_for):
    assert client_for(world.pharmacist).get("/tickets/new/").status_code == 200
    for user in (world.manufacturer, world.county_bureau):
        assert client_for(user).get("/tickets/new/").status_code == 403
    # A doctor sees own quota, prompts and the catalogue only (SPEC §1, §9): the page does not exist for them.
    assert client_for(world.doctor).get("/tickets/new/").status_code == 404


def test_ticket_page_shows_the_log_to_parties_and_404_to_others(world, tickets, client_for):
    mine, _ = tickets
    for user in (
        world.pharmacist,
        world.manufacturer,
        world.distributor_user,
        world.county_bureau,
        world.admin,
    ):
        response = client_for(user).get(f"/tickets/{mine.pk}/")
        assert response.status_code == 200
        assert "提出诉求" in response.content.decode()
    for user in (world.other_pharmacist, world.other_manufacturer, world.other_city_bureau):
        assert client_for(user).get(f"/tickets/{mine.pk}/").status_code == 404
    page = client_for(world.manufacturer).get(f"/tickets/{mine.pk}/").content.decode()
    assert (
        'data-testid="reply-form"' in page and "最迟 2025-10-17" in page
    )  # 5 working days after Saturday 10-11 (make-up)


@pytest.mark.parametrize(
    "step,data",
    [
        ("reply", {"text": "已发货"}),
        ("confirm", {}),
        ("reopen", {"text": "x"}),
        ("escalate", {"text": "x"}),
        ("act", {"kind": "interview", "text": "x"}),
        ("close", {"text": "x"}),
        ("verify", {"text": "x"}),
        ("lift", {}),
        ("attach", {"text": "x"}),
    ],
)
def test_every_step_from_another_organisation_is_404_and_changes_nothing(
    world, tickets, client_for, step, data
):
    mine, _ = tickets
    before = (
        Ticket.objects.values().get(pk=mine.pk),
        TicketEvent.objects.count(),
        TicketAttachment.objects.count(),
    )
    for user in (world.other_pharmacist, world.other_manufacturer, world.other_city_bureau):
        payload = dict(data, attachments=[pdf()]) if step == "attach" else data
        assert client_for(user).post(f"/tickets/{mine.pk}/{step}/", payload).status_code == 404
    after = (
        Ticket.objects.values().get(pk=mine.pk),
        TicketEvent.objects.count(),
        TicketAttachment.objects.count(),
    )
    assert after == before


def test_steps_through_the_pages(world, tickets, client_for):
    mine, _ = tickets
    maker = client_for(world.manufacturer)
    response = maker.post(f"/tickets/{mine.pk}/reply/", {"text": "已补发", "promised_fix_date": "2025-10-20"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "open"  # 10-20 is later than 10-17: refused
    maker.post(f"/tickets/{mine.pk}/reply/", {"text": "已补发", "promised_fix_date": "2025-10-17"})
    mine.refresh_from_db()
    assert (mine.status, mine.fix_due) == ("replied", D(2025, 10, 17))
    assert client_for(world.manufacturer).post(f"/tickets/{mine.pk}/confirm/").status_code == 403
    client_for(world.pharmacist).post(f"/tickets/{mine.pk}/confirm/", {"text": "已收到"})
    mine.refresh_from_db()
    assert (mine.status, mine.fixed_on, mine.workdays_to_fix) == ("fixed", D(2025, 10, 11), 3)
    assert client_for(world.county_bureau).post(f"/tickets/{mine.pk}/frobnicate/").status_code == 404


def test_attachment_downloads_only_as_attachment_and_only_in_scope(world, tickets, client_for):
    mine, _ = tickets
    att = mine.attachments.get()
    url = f"/tickets/{mine.pk}/attachments/{att.pk}/"
    response = client_for(world.manufacturer).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF
    for user in (world.other_pharmacist, world.other_manufacturer, world.other_city_bureau):
        assert client_for(user).get(url).status_code == 404
    other = tickets[1]
    assert client_for(world.pharmacist).get(f"/tickets/{other.pk}/attachments/{att.pk}/").status_code == 404


def test_figures_page_and_export(world, tickets, client_for):
    response = client_for(world.county_bureau).get("/tickets/figures/?start=2025-09-01&end=2025-09-30")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r[:5] for r in rows] == [[world.maker.name, world.maker.code, "1", "0", "0.00%"]]
    export = client_for(world.county_bureau).get(
        "/tickets/figures/?start=2025-09-01&end=2025-09-30&export=xlsx"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    assert list(sheet.values)[1][:3] == (world.maker.name, world.maker.code, 1)
    # A supplier with no tickets in the period sees its row with no rates, never 100 %.
    empty = client_for(world.other_manufacturer).get("/tickets/figures/?start=2025-01-01&end=2025-01-31")
    assert [list(r) for r in empty.context["rows"]] == [
        [world.other_maker.name, world.other_maker.code, "0", "0", "无数据", "0", "0", "无数据", "无数据"]
    ]
