"""Stable keys, auto-close and reopen, explanation and escalation order, scoping in the API."""

import datetime as dt

import pytest

from jicai.core.errors import DomainError, NotFound
from jicai.monitoring import actions
from jicai.monitoring.models import Alert, AlertEvent
from tests.monitoring.conftest import agreed, monitor, received

D = dt.date


@pytest.fixture
def lagging(mworld):
    w = mworld
    agreed(w, w.hospital, 365)
    received(w.hospital, w.product, 10, D(2024, 4, 1), item=w.item)
    monitor(D(2024, 6, 8))
    return Alert.objects.get(type="PROGRESS_LAG")


def test_rerun_updates_instead_of_duplicating(lagging):
    monitor(D(2024, 6, 9))
    assert Alert.objects.filter(type="PROGRESS_LAG").count() == 1
    alert = Alert.objects.get(type="PROGRESS_LAG")
    assert (alert.first_seen_on, alert.last_seen_on, alert.status) == (D(2024, 6, 8), D(2024, 6, 9), "open")
    assert list(alert.events.values_list("action", flat=True)) == ["opened"]


def test_condition_ending_closes_and_returning_reopens(mworld, lagging):
    w = mworld
    received(w.hospital, w.product, 200, D(2024, 6, 9), item=w.item)
    monitor(D(2024, 6, 10))
    lagging.refresh_from_db()
    assert (lagging.status, lagging.closed_on) == ("closed", D(2024, 6, 10))
    monitor(D(2024, 12, 1))  # 210 of 365 on day 276: lagging again
    lagging.refresh_from_db()
    assert (lagging.status, lagging.closed_on, lagging.last_seen_on) == ("open", None, D(2024, 12, 1))
    assert list(lagging.events.values_list("action", flat=True)) == ["opened", "closed", "reopened"]


def test_subject_explains_bureau_escalates_in_order(mworld, lagging):
    w = mworld
    with pytest.raises(DomainError):
        actions.explain_alert(actor=w.pharmacist, alert_id=lagging.pk, reason="  ")
    actions.explain_alert(actor=w.pharmacist, alert_id=lagging.pk, reason="上月停诊")
    with pytest.raises(DomainError):
        actions.escalate_alert(actor=w.county_bureau, alert_id=lagging.pk, step="notified", reason="跳级")
    for step in ("reminded", "notified", "interviewed", "referred"):
        actions.escalate_alert(actor=w.county_bureau, alert_id=lagging.pk, step=step, reason=f"{step}原因")
    with pytest.raises(DomainError):
        actions.escalate_alert(actor=w.county_bureau, alert_id=lagging.pk, step="referred", reason="再次")
    events = list(AlertEvent.objects.filter(alert=lagging).values_list("action", "actor__username", "reason"))
    assert events[1:] == [
        ("explained", "hc_pharmacy", "上月停诊"),
        ("reminded", "hc_bureau", "reminded原因"),
        ("notified", "hc_bureau", "notified原因"),
        ("interviewed", "hc_bureau", "interviewed原因"),
        ("referred", "hc_bureau", "referred原因"),
    ]
    lagging.refresh_from_db()
    assert (lagging.status, lagging.escalation) == ("explained", "referred")


def test_wrong_organisation_cannot_touch_alert(mworld, lagging):
    w = mworld
    for actor in (w.other_city_bureau, w.other_pharmacist, w.other_manufacturer):
        with pytest.raises(NotFound):
            actions.explain_alert(actor=actor, alert_id=lagging.pk, reason="x")
        with pytest.raises(NotFound):
            actions.escalate_alert(actor=actor, alert_id=lagging.pk, step="reminded", reason="x")
    lagging.refresh_from_db()
    assert (lagging.status, lagging.escalation, lagging.events.count()) == ("open", "", 1)


def test_api_scoping(mworld, lagging, api_client_for):
    w = mworld
    for user, count in (
        (w.pharmacist, 1),
        (w.county_bureau, 1),
        (w.province_bureau, 1),
        (w.other_pharmacist, 0),
        (w.other_city_bureau, 0),
        (w.other_manufacturer, 0),
    ):
        client = api_client_for(user)
        assert client.get("/api/v1/alerts?type=PROGRESS_LAG").json()["count"] == count, user.username
        assert client.get(f"/api/v1/alerts/{lagging.pk}").status_code == (200 if count else 404)
        assert client.get("/api/v1/facts/progress").json()["count"] == count
    response = api_client_for(w.other_pharmacist).post(
        f"/api/v1/alerts/{lagging.pk}/explain", {"reason": "x"}, content_type="application/json"
    )
    assert response.status_code == 404
    lagging.refresh_from_db()
    assert lagging.status == "open"
    response = api_client_for(w.pharmacist).post(
        f"/api/v1/alerts/{lagging.pk}/explain", {"reason": "原因"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "explained"
    response = api_client_for(w.county_bureau).post(
        f"/api/v1/alerts/{lagging.pk}/escalate",
        {"step": "reminded", "reason": "提醒"},
        content_type="application/json",
    )
    assert response.json()["escalation"] == "reminded"
    assert [e["action"] for e in response.json()["events"]] == ["opened", "explained", "reminded"]
