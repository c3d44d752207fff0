"""Ticket API: the same actions and scoping as the pages. Another organisation's ticket answers 404 in the
error shape and nothing changes; the promise limit and role refusals answer 400/403."""

import datetime as dt
import json

import pytest

from jicai.tickets import actions
from jicai.tickets.models import Ticket, TicketAttachment, TicketEvent
from tests.tickets.conftest import PDF, open_ticket, pdf

D = dt.date


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def mine(world, clock):
    t = open_ticket(world, D(2025, 9, 30), distributor=world.distributor, files=[pdf()])
    open_ticket(world, D(2025, 9, 30), actor=world.other_pharmacist, supplier=world.other_maker, product=None)
    clock.set(D(2025, 10, 9))
    return t


def test_full_path_through_the_api(world, clock, api_client_for):
    hospital, maker = api_client_for(world.pharmacist), api_client_for(world.manufacturer)
    response = post(
        hospital,
        "/api/v1/tickets",
        {
            "supplier_code": world.maker.code,
            "category": "shortage",
            "description": "断货",
            "product_code": world.product.code,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    tid = body["id"]
    assert (body["reply_due"], body["item_code"], body["status"]) == ("2025-10-10", "GY7-001", "open")
    assert [e["action"] for e in body["events"]] == ["opened"]

    clock.set(D(2025, 10, 9))
    refused = post(maker, f"/api/v1/tickets/{tid}/reply", {"text": "补货", "promised_fix_date": "2025-10-16"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "promise_too_late"
    ok = post(maker, f"/api/v1/tickets/{tid}/reply", {"text": "补货", "promised_fix_date": "2025-10-15"})
    assert ok.status_code == 200 and ok.json()["fix_due"] == "2025-10-15"

    actions.evaluate_sla(as_of=D(2025, 10, 16))
    county = api_client_for(world.county_bureau)
    assert (
        post(county, f"/api/v1/tickets/{tid}/escalate", {"text": "上报"}).json()["escalated_to"] == "371000"
    )
    city = api_client_for(world.city_bureau)
    assert (
        post(city, f"/api/v1/tickets/{tid}/actions", {"kind": "interview", "text": "约谈"}).json()[
            "interviewed_on"
        ]
        == "2025-10-09"
    )
    assert post(city, f"/api/v1/tickets/{tid}/verify", {"text": "属实"}).json()["supply_block_active"] is True
    assert post(city, f"/api/v1/tickets/{tid}/lift-block", {}).json()["supply_block_active"] is False
    assert post(hospital, f"/api/v1/tickets/{tid}/confirm", {}).json()["status"] == "fixed"
    assert post(hospital, f"/api/v1/tickets/{tid}/reopen", {"text": "复发"}).json()["status"] == "reopened"
    assert post(city, f"/api/v1/tickets/{tid}/close", {"text": "办结"}).json()["status"] == "closed"
    detail = hospital.get(f"/api/v1/tickets/{tid}").json()
    assert [e["action"] for e in detail["events"]] == [
        "opened",
        "replied",
        "overdue",
        "escalated",
        "interview",
        "verified",
        "block_lifted",
        "fix_confirmed",
        "reopened",
        "closed",
    ]


def test_lists_are_scoped_and_paginated(world, mine, api_client_for):
    def ids(user, query=""):
        body = api_client_for(user).get(f"/api/v1/tickets{query}").json()
        return {r["id"] for r in body["results"]}, body["count"]

    assert ids(world.pharmacist) == ({mine.pk}, 1)
    assert ids(world.manufacturer) == ({mine.pk}, 1)
    assert ids(world.other_manufacturer)[1] == 1 and mine.pk not in ids(world.other_manufacturer)[0]
    assert ids(world.other_city_bureau)[0] != {mine.pk}
    assert ids(world.province_bureau)[1] == 2
    assert ids(world.province_bureau, "?region=371002&overdue=0") == ({mine.pk}, 1)
    assert ids(world.province_bureau, "?page_size=1&page=2")[1] == 2


def test_other_organisations_get_404_everywhere_and_nothing_changes(world, mine, api_client_for):
    att = mine.attachments.get()
    before = (
        Ticket.objects.values().get(pk=mine.pk),
        TicketEvent.objects.count(),
        TicketAttachment.objects.count(),
    )
    for user in (world.other_pharmacist, world.other_manufacturer, world.other_city_bureau):
        client = api_client_for(user)
        assert client.get(f"/api/v1/tickets/{mine.pk}").status_code == 404
        assert client.get(f"/api/v1/tickets/{mine.pk}/attachments/{att.pk}").status_code == 404
        for step, body in [
            ("reply", {"text": "x"}),
            ("confirm", {}),
            ("reopen", {"text": "x"}),
            ("escalate", {"text": "x"}),
            ("actions", {"kind": "notice", "text": "x"}),
            ("close", {"text": "x"}),
            ("verify", {"text": "x"}),
            ("lift-block", {}),
        ]:
            response = post(client, f"/api/v1/tickets/{mine.pk}/{step}", body)
            assert response.status_code == 404, (user, step)
            assert response.json()["error"]["code"] == "not_found"
        upload = client.post(f"/api/v1/tickets/{mine.pk}/attachments", {"files": [pdf()]})
        assert upload.status_code == 404
    after = (
        Ticket.objects.values().get(pk=mine.pk),
        TicketEvent.objects.count(),
        TicketAttachment.objects.count(),
    )
    assert after == before


def test_wrong_role_in_scope_is_403(world, mine, api_client_for):
    assert (
        post(
            api_client_for(world.distributor_user), f"/api/v1/tickets/{mine.pk}/reply", {"text": "x"}
        ).status_code
        == 403
    )
    assert (
        post(
            api_client_for(world.manufacturer),
            "/api/v1/tickets",
            {"supplier_code": world.maker.code, "category": "other", "description": "x"},
        ).status_code
        == 403
    )


def test_attachments_upload_and_download(world, mine, api_client_for):
    maker = api_client_for(world.manufacturer)
    response = maker.post(
        f"/api/v1/tickets/{mine.pk}/attachments", {"files": [pdf("回复函.pdf")], "text": "回复函"}
    )
    assert response.status_code == 201, response.content
    new_id = response.json()[0]["id"]
    download = api_client_for(world.pharmacist).get(f"/api/v1/tickets/{mine.pk}/attachments/{new_id}")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == PDF
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = maker.post(
        f"/api/v1/tickets/{mine.pk}/attachments", {"files": [SimpleUploadedFile("a.svg", b"<svg/>")]}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_attachment"


def test_figures_endpoint(world, mine, api_client_for):
    rows = (
        api_client_for(world.county_bureau)
        .get("/api/v1/ticket-figures?start=2025-09-01&end=2025-09-30")
        .json()
    )
    assert rows == [
        {
            "supplier_code": world.maker.code,
            "supplier_name": world.maker.name,
            "tickets": 1,
            "replied_on_time": 0,
            "on_time_reply_rate": "0.0000",
            "fixed": 0,
            "fixed_on_time": 0,
            "timely_fix_rate": "0.0000",
            "mean_workdays_to_fix": None,
        }
    ]
    assert (
        api_client_for(world.other_manufacturer)
        .get("/api/v1/ticket-figures?start=2025-09-01&end=2025-09-30")
        .json()[0]["tickets"]
        == 1
    )
