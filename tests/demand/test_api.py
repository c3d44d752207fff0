"""Demand API: the same rules as the pages, JSON error shape, and 404 with nothing changed for another
institution, a bureau outside the subtree and a company on every endpoint."""

import pytest

from jicai.demand import actions
from jicai.demand.models import ReportingWindow
from tests.demand.conftest import DEADLINE, OPENS, report_of
from tests.demand.test_pages import snapshot

pytestmark = pytest.mark.django_db

BASE = "/api/v1/demand"


def test_bureau_opens_a_window_and_institution_saves_submits(dw, api_client_for):
    bureau = api_client_for(dw.county_bureau)
    response = bureau.post(
        f"{BASE}/windows",
        {
            "title": "环翠区报量",
            "batch_code": dw.batch.code,
            "opens_on": "2024-01-15",
            "deadline": "2024-02-15",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    window_id = response.json()["id"]
    assert response.json()["region_code"] == "371002" and response.json()["scope"] == "region"

    inst = api_client_for(dw.pharmacist)
    listing = inst.get(f"{BASE}/reports", {"window": window_id}).json()
    assert [r["institution_code"] for r in listing["results"]] == ["H37100200001", "H37100200002"]
    report_id = next(r["id"] for r in listing["results"] if r["institution_code"] == "H37100200001")
    saved = inst.put(
        f"{BASE}/reports/{report_id}/lines",
        {
            "lines": [
                {"item_code": "GY7-001", "reported_qty": 79},
                {"item_code": "GY7-002", "reported_qty": 40},
            ]
        },
        content_type="application/json",
    )
    assert saved.status_code == 200
    assert [
        (ln["item_code"], ln["history_qty"], ln["reported_qty"], ln["below_history"])
        for ln in saved.json()["lines"]
    ] == [
        ("GY7-001", 100, 79, True),
        ("GY7-002", 40, 40, False),
    ]
    refused = inst.post(f"{BASE}/reports/{report_id}/submit")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "report_incomplete"
    assert refused.json()["error"]["details"][0]["item_code"] == "GY7-001"
    inst.put(
        f"{BASE}/reports/{report_id}/lines",
        {"lines": [{"item_code": "GY7-001", "reported_qty": 79, "explanation": "门诊量下降"}]},
        content_type="application/json",
    )
    assert inst.post(f"{BASE}/reports/{report_id}/submit").json()["status"] == "submitted"

    queue = bureau.get(f"{BASE}/review-queue").json()
    assert [r["id"] for r in queue["results"]] == [report_id] and queue["results"][0]["flagged_lines"] == 1
    returned = bureau.post(
        f"{BASE}/reports/{report_id}/return",
        {"reason": "请核实", "lines": [{"item_code": "GY7-001", "reason": "说明不充分"}]},
        content_type="application/json",
    ).json()
    assert returned["status"] == "returned"
    assert returned["lines"][0]["return_reason"] == "说明不充分"
    assert inst.post(f"{BASE}/reports/{report_id}/submit").json()["status"] == "submitted"
    approved = bureau.post(f"{BASE}/reports/{report_id}/approve").json()
    assert approved["status"] == "approved"
    assert [(t["from_status"], t["to_status"]) for t in approved["log"]] == [
        ("draft", "submitted"),
        ("submitted", "returned"),
        ("returned", "submitted"),
        ("submitted", "approved"),
    ]
    assert approved["log"][1]["reason"] == "请核实；GY7-001 阿托伐他汀钙：说明不充分"

    completion = bureau.get(f"{BASE}/windows/{window_id}/completion").json()
    assert completion["totals"]["approved"] == 1 and completion["totals"]["not_started"] == 1
    assert bureau.post(f"{BASE}/windows/{window_id}/reminders").json() == {"reports": 1}


def test_negative_quantity_is_a_validation_error(dw, window, api_client_for):
    report = report_of(window, dw.hospital)
    response = api_client_for(dw.pharmacist).put(
        f"{BASE}/reports/{report.pk}/lines",
        {"lines": [{"item_code": "GY7-001", "reported_qty": -1}]},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("who", ["pharmacist", "manufacturer"])
def test_only_bureaus_open_windows_through_the_api(dw, api_client_for, who):
    response = api_client_for(getattr(dw, who)).post(
        f"{BASE}/windows",
        {
            "title": "x",
            "batch_code": dw.batch.code,
            "opens_on": "2024-01-15",
            "deadline": "2024-02-15",
        },
        content_type="application/json",
    )
    assert response.status_code == 404 and ReportingWindow.objects.count() == 0


@pytest.mark.parametrize("who", ["other_pharmacist", "other_city_bureau", "manufacturer", "distributor_user"])
def test_every_endpoint_is_404_for_another_organisation(dw, api_client_for, who):
    window = actions.open_window(
        actor=dw.city_bureau, batch=dw.batch, title="威海", opens_on=OPENS, deadline=DEADLINE
    )
    report = report_of(window, dw.hospital)
    client = api_client_for(getattr(dw, who))
    before = snapshot()
    calls = [
        ("get", f"{BASE}/reports/{report.pk}", None),
        ("get", f"{BASE}/windows/{window.pk}", None),
        ("get", f"{BASE}/windows/{window.pk}/completion", None),
        ("post", f"{BASE}/windows/{window.pk}/reminders", None),
        ("post", f"{BASE}/windows/{window.pk}/submit-all", None),
        (
            "put",
            f"{BASE}/reports/{report.pk}/lines",
            {"lines": [{"item_code": "GY7-001", "reported_qty": 1}]},
        ),
        ("post", f"{BASE}/reports/{report.pk}/submit", None),
        ("post", f"{BASE}/reports/{report.pk}/approve", None),
        ("post", f"{BASE}/reports/{report.pk}/return", {"reason": "x"}),
    ]
    for method, url, body in calls:
        kwargs = {"content_type": "application/json", "data": body} if body is not None else {}
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == 404, (method, url, response.content)
        assert response.json()["error"]["code"] == "not_found"
    assert client.get(f"{BASE}/reports").json()["count"] == 0
    assert client.get(f"{BASE}/review-queue").json()["count"] == 0
    assert snapshot() == before
