"""Delivery evaluation (SPEC §14): hand-worked averages, the month-end + 5 days window, the reminder, the
scorecard and notice, and wrong-organisation access."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from jicai.accounts.models import Notification
from jicai.compliance import ratings
from jicai.compliance.models import DeliveryRating
from jicai.core.errors import DomainError, NotFound
from jicai.monitoring.notices import Quarter, build_notice
from jicai.monitoring.scorecards import build_scorecards
from jicai.trade import actions
from tests.trade.conftest import TODAY

pytestmark = pytest.mark.django_db
JUNE, APRIL = dt.date(2025, 6, 1), dt.date(2025, 4, 1)


@pytest.fixture
def served(trade, monkeypatch):
    """齐鲁 (via 国药) served both hospitals in June and the Weihai hospital in April."""
    actions.place_order(actor=trade.pharmacist, lines=[actions.LineInput(trade.product, 10)])
    actions.place_order(
        actor=trade.pharmacist, lines=[actions.LineInput(trade.product, 10)], ordered_on=dt.date(2025, 4, 10)
    )
    actions.place_order(actor=trade.other_pharmacist, lines=[actions.LineInput(trade.product, 10)])
    monkeypatch.setattr(ratings, "today", lambda: TODAY)
    return trade


def rate(w, actor, month, t, c, s, comment=""):
    return ratings.save_rating(
        actor=actor,
        supplier_code=w.maker.code,
        distributor_code=w.distributor.code,
        month=month,
        timeliness=t,
        completeness=c,
        service=s,
        comment=comment,
    )


def test_averages_are_worked_by_hand(served, monkeypatch):
    monkeypatch.setattr(ratings, "today", lambda: dt.date(2025, 5, 3))
    rate(served, served.pharmacist, APRIL, 3, 3, 3)
    monkeypatch.setattr(ratings, "today", lambda: TODAY)
    rate(served, served.pharmacist, JUNE, 4, 4, 4)
    rate(served, served.pharmacist, JUNE, 5, 4, 3, "及时")  # same month and pair: edits, one row
    rate(served, served.other_pharmacist, JUNE, 4, 4, 2)
    assert DeliveryRating.objects.count() == 3
    # Q2: t = (3+5+4)/3 = 4.00, c = (3+4+4)/3 = 3.67, s = (3+3+2)/3 = 2.67, overall = 31/9 = 3.44
    avg = ratings.averages(DeliveryRating.objects.all(), dt.date(2025, 4, 1), dt.date(2025, 6, 30))[
        served.maker.pk
    ]
    assert (avg.ratings, str(avg.timeliness), str(avg.completeness), str(avg.service), str(avg.overall)) == (
        3,
        "4.00",
        "3.67",
        "2.67",
        "3.44",
    )
    # June only: t = 4.50, c = 4.00, s = 2.50, overall = 22/6 = 3.67
    june = ratings.averages(DeliveryRating.objects.all(), JUNE, dt.date(2025, 6, 30))[served.maker.pk]
    assert (str(june.timeliness), str(june.completeness), str(june.service), str(june.overall)) == (
        "4.50",
        "4.00",
        "2.50",
        "3.67",
    )
    (card,) = build_scorecards(
        batch=served.batch,
        region=served.province,
        quarter=Quarter(2025, 2),
        today=TODAY,
        suppliers=[served.maker],
    )
    assert (card.ratings.ratings, str(card.ratings.overall)) == (3, "3.44")
    # the Weihai city's notice counts only its own hospital's two ratings: t 4.00, c 3.50, s 3.00, 21/6 = 3.50
    section = build_notice(served.city, Quarter(2025, 2)).sections[0]
    assert section.rows == [
        [
            served.maker.name,
            served.maker.code,
            2,
            *map(__import__("decimal").Decimal, ("4.00", "3.50", "3.00", "3.50")),
        ]
    ]


def test_editable_until_five_days_after_month_end(served, monkeypatch):
    monkeypatch.setattr(ratings, "today", lambda: dt.date(2025, 7, 5))
    rate(served, served.pharmacist, JUNE, 5, 5, 5)
    monkeypatch.setattr(ratings, "today", lambda: dt.date(2025, 7, 6))
    with pytest.raises(DomainError) as exc:
        rate(served, served.pharmacist, JUNE, 1, 1, 1)
    assert exc.value.code == "closed"
    assert DeliveryRating.objects.get().timeliness == 5


def test_bad_scores_and_unserved_pairs_are_refused_with_nothing_written(served):
    for bad in (0, 6, "x", ""):
        with pytest.raises(DomainError):
            rate(served, served.pharmacist, JUNE, bad, 3, 3)
    with pytest.raises(DomainError) as exc:
        rate(served, served.pharmacist, dt.date(2025, 5, 1), 3, 3, 3)  # no order in May
    assert exc.value.code == "not_served"
    assert DeliveryRating.objects.count() == 0


def test_reminder_goes_to_institutions_that_have_not_rated(served):
    rate(served, served.pharmacist, JUNE, 5, 5, 5)
    assert ratings.unrated(JUNE) == {served.other_hospital.pk: [(served.maker.pk, served.distributor.pk)]}
    assert ratings.remind_unrated(JUNE) == 1
    notes = Notification.objects.filter(kind="compliance.rating_reminder")
    assert [n.organisation_id for n in notes] == [served.other_hospital_org.pk]
    assert "2025-07-05" in notes[0].title


def test_page_and_api(served, client_for, api_client_for):
    page = client_for(served.pharmacist)
    response = page.post(
        reverse("compliance:ratings"),
        {
            "month": "2025-06",
            "supplier": served.maker.code,
            "distributor": served.distributor.code,
            "timeliness": "5",
            "completeness": "4",
            "service": "3",
            "comment": "好",
        },
    )
    assert response.status_code == 302
    assert "齐鲁制药有限公司" in page.get(reverse("compliance:ratings") + "?month=2025-06").content.decode()
    api = api_client_for(served.other_pharmacist)
    created = api.post(
        "/api/v1/delivery-ratings",
        json.dumps(
            {
                "supplier_code": served.maker.code,
                "distributor_code": served.distributor.code,
                "month": "2025-06",
                "timeliness": 4,
                "completeness": 4,
                "service": 2,
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    mine = api.get("/api/v1/delivery-ratings").json()
    assert [r["institution_code"] for r in mine["results"]] == [served.other_hospital.code]
    avg = (
        api_client_for(served.province_bureau).get("/api/v1/delivery-ratings/averages?quarter=2025Q2").json()
    )
    assert avg == [
        {
            "supplier_code": served.maker.code,
            "ratings": 2,
            "timeliness": "4.50",
            "completeness": "4.00",
            "service": "2.50",
            "overall": "3.67",
        }
    ]


def test_wrong_organisation_cannot_rate_or_see(served, client_for, api_client_for):
    rate(served, served.pharmacist, JUNE, 5, 5, 5)
    body = {
        "month": "2025-06",
        "supplier": served.maker.code,
        "distributor": served.distributor.code,
        "timeliness": "1",
        "completeness": "1",
        "service": "1",
    }
    for user in (served.manufacturer, served.province_bureau):
        assert client_for(user).post(reverse("compliance:ratings"), body).status_code == 404
    assert client_for(served.doctor).get(reverse("compliance:ratings")).status_code == 404
    with pytest.raises(NotFound):
        rate(served, served.manufacturer, JUNE, 1, 1, 1)
    api = api_client_for(served.manufacturer)
    response = api.post(
        "/api/v1/delivery-ratings",
        json.dumps(
            {
                "supplier_code": served.maker.code,
                "distributor_code": served.distributor.code,
                "month": "2025-06",
                "timeliness": 1,
                "completeness": 1,
                "service": 1,
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert api_client_for(served.other_pharmacist).get("/api/v1/delivery-ratings").json()["results"] == []
    assert api_client_for(served.other_city_bureau).get("/api/v1/delivery-ratings").json()["results"] == []
    assert DeliveryRating.objects.get().timeliness == 5
