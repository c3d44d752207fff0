"""Supplier scorecards: the quarter's delivery rate overall and by institution level from order lines, the
policy tier at its boundaries, no data never 100 %, ticket figures, bureau confirm/dismiss with a reason
(audited, one per metric), the credit record, and scoping of every page and endpoint."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from jicai.accounts.models import Notification
from jicai.core.errors import DomainError, PermissionDenied
from jicai.core.models import AuditLog
from jicai.monitoring import scorecards, views_reports
from jicai.monitoring.models import SanctionDecision
from jicai.monitoring.notices import Quarter
from jicai.trade.models import Delivery, OrderLine
from tests import factories as f
from tests.monitoring.conftest import add_line
from tests.monitoring.conftest import winning_line as line

D = dt.date
Q3 = Quarter(2024, 3)
TODAY = D(2024, 12, 31)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(views_reports, "today", lambda: TODAY)


def card_for(w, region=None, quarter=Q3, today=TODAY, supplier=None):
    return scorecards.build_scorecards(
        batch=w.batch,
        region=region or w.province,
        quarter=quarter,
        today=today,
        suppliers=[supplier or w.maker],
    )[0]


@pytest.mark.parametrize(
    "delivered, tier, recommendation",
    [
        (8000, 0, ""),  # exactly 0.80: no tier
        (7999, 1, "报量风险提示"),
        (6000, 1, "报量风险提示"),  # exactly 0.60: still tier 1
        (5999, 2, "减少约定采购量"),
        (3000, 2, "减少约定采购量"),  # exactly 0.30: tier 2
        (2999, 3, "不接受参加集采"),
        (0, 3, "不接受参加集采"),
    ],
)
def test_delivery_rate_tiers_at_the_boundaries(world, delivered, tier, recommendation):
    line(world, world.hospital, 10000, D(2024, 7, 15), delivered=delivered, delivered_on=D(2024, 7, 20))
    metric = card_for(world).metric("delivery_rate")
    assert metric.rate == Decimal(delivered) / 10000
    assert (metric.tier, metric.recommendation) == (tier, recommendation)


def test_quarter_window_counts_rejected_and_skips_cancelled_late_and_nonwinning_lines(world):
    w = world
    line(w, w.hospital, 100, D(2024, 7, 1), delivered=60, delivered_on=D(2024, 7, 5))
    line(w, w.hospital, 50, D(2024, 9, 28), delivered=0)  # within the 3 grace days before 09-30
    line(w, w.hospital, 40, D(2024, 8, 1), status="rejected")  # ordered, undelivered
    line(w, w.hospital, 70, D(2024, 8, 1), status="cancelled")  # left out
    line(w, w.clinic, 100, D(2024, 8, 10), delivered=100, delivered_on=D(2024, 10, 5))  # delivered after D
    line(w, w.hospital, 30, D(2024, 6, 30), delivered=30)  # previous quarter
    add_line(w.hospital, w.other_product, 500, D(2024, 7, 1), item=w.item)  # not a winner in 山东
    card = card_for(w)
    overall = card.metric("delivery_rate")
    assert (overall.numerator, overall.denominator, overall.rate, overall.tier) == (
        60,
        240,
        Decimal("0.25"),
        3,
    )
    secondary = card.metric("delivery_rate_secondary")
    assert (secondary.numerator, secondary.denominator, secondary.rate, secondary.tier) == (
        60,
        140,
        Decimal("0.428571"),
        2,
    )
    grassroots = card.metric("delivery_rate_grassroots")
    assert (grassroots.rate, grassroots.tier) == (Decimal("0"), 3)
    tertiary = card.metric("delivery_rate_tertiary")
    assert (tertiary.rate, tertiary.tier, tertiary.rate_pct) == (None, None, "暂无数据")
    assert (card.tier, card.recommendation) == (3, "不接受参加集采")
    # The city sees its own institutions only: the same lines, 青岛 has none.
    assert card_for(w, region=w.other_city).metric("delivery_rate").rate is None


def test_a_line_delivered_before_and_after_d_counts_what_came_by_d(world):
    """D = 2024-09-30: 30 delivered on 09-20 count, the 70 of 10-10 do not (the line's running total, 100,
    is after D); a line delivered in full by D counts its total; a rejected line counts nothing."""
    w = world
    partial = line(w, w.hospital, 100, D(2024, 8, 1), delivered=30, delivered_on=D(2024, 9, 20))
    Delivery.objects.create(line=partial, qty=70, delivered_on=D(2024, 10, 10))
    OrderLine.objects.filter(pk=partial.pk).update(delivered_qty=100, last_delivered_on=D(2024, 10, 10))
    line(w, w.hospital, 50, D(2024, 8, 2), delivered=50, delivered_on=D(2024, 8, 5))
    line(w, w.hospital, 20, D(2024, 8, 3), delivered=20, delivered_on=D(2024, 8, 6), status="rejected")
    metric = card_for(w).metric("delivery_rate")
    assert (metric.numerator, metric.denominator) == (80, 170)


def test_quarter_without_activity_is_no_data_never_100_percent(world, client_for):
    w = world
    card = card_for(w, quarter=Quarter(2024, 2))
    assert all(m.rate is None and m.tier is None for m in card.metrics)
    assert not card.has_data and card.tier is None
    url = reverse("monitoring:scorecard", args=[w.maker.code, w.batch.code, "2024Q2"])
    html = client_for(w.province_bureau).get(url).content.decode()
    assert "暂无数据" in html and "100.0%" not in html


def test_current_quarter_measures_up_to_today_minus_grace_days(world):
    w = world
    line(w, w.hospital, 100, D(2024, 11, 1), delivered=100, delivered_on=D(2024, 11, 20))
    line(w, w.hospital, 100, D(2024, 11, 9), delivered=0)  # ordered within 3 days of "today"
    card = card_for(w, quarter=Quarter(2024, 4), today=D(2024, 11, 11))
    assert card.as_of == D(2024, 11, 11)
    metric = card.metric("delivery_rate")
    assert (metric.numerator, metric.denominator) == (0, 100)  # delivered 11-20, after today


def test_ticket_figures_from_real_tickets_give_exact_rates_mean_and_tier(world, client_for):
    """Tickets against 齐鲁 in 2024Q3 (July 2024 has no holidays; reply within 2 working days, fix by the
    promise or 5 working days after the reply):
    T1 opened Mon 07-01, replied 07-02 (due 07-03), promised 07-05, fix confirmed 07-05: on time, 4 days;
    T2 opened 07-08, replied Thu 07-11 (due 07-10, late), promised 07-12, confirmed 07-12: fix on time, 4;
    T3 opened 07-15, replied 07-16, no promise (fix due 07-23), confirmed 07-26: fix late, 9 days;
    T4 opened 07-22, replied 07-23, not fixed yet;
    T5 (青岛 hospital) opened 08-05, never answered;
    T0 opened 06-28 (previous quarter) is not counted.
    Province: reply 3/5 = 0.60 (tier 1: exactly 0.60 is still tier 1), fix 2/5 = 0.40 (tier 2), mean
    (4 + 4 + 9) / 3 = 5.67 working days → 减少约定采购量. 威海 (without T5): 3/4, 2/4."""
    from jicai.tickets import actions as tickets

    w = world

    def opened(on, actor=None):
        return tickets.open_ticket(
            actor=actor or w.pharmacist,
            supplier=w.maker,
            category="late_delivery",
            description="配送不及时",
            product=w.product,
            on=on,
        )

    def reply(ticket, on, promise=None):
        return tickets.reply_ticket(
            actor=w.manufacturer, ticket=ticket, text="已安排补货", promised_fix_date=promise, on=on
        )

    def fixed(ticket, on):
        return tickets.confirm_fix(actor=w.pharmacist, ticket=ticket, on=on)

    reply(opened(D(2024, 6, 28)), D(2024, 7, 1))
    t1 = reply(opened(D(2024, 7, 1)), D(2024, 7, 2), promise=D(2024, 7, 5))
    t1 = fixed(t1, D(2024, 7, 5))
    t2 = reply(opened(D(2024, 7, 8)), D(2024, 7, 11), promise=D(2024, 7, 12))
    t2 = fixed(t2, D(2024, 7, 12))
    t3 = reply(opened(D(2024, 7, 15)), D(2024, 7, 16))
    t3 = fixed(t3, D(2024, 7, 26))
    reply(opened(D(2024, 7, 22)), D(2024, 7, 23))
    opened(D(2024, 8, 5), actor=w.other_pharmacist)
    assert (t1.workdays_to_fix, t2.workdays_to_fix, t3.workdays_to_fix) == (4, 4, 9)
    assert (t2.replied_late, t2.fixed_late, t3.replied_late, t3.fixed_late) == (True, False, False, True)

    card = card_for(w)
    reply_rate, fix_rate = card.metric("ticket_reply"), card.metric("ticket_fix")
    assert (reply_rate.numerator, reply_rate.denominator, reply_rate.rate, reply_rate.tier) == (
        3,
        5,
        Decimal("0.600000"),
        1,
    )
    assert (fix_rate.numerator, fix_rate.denominator, fix_rate.rate, fix_rate.tier) == (
        2,
        5,
        Decimal("0.400000"),
        2,
    )
    assert (card.tickets["tickets"], card.tickets["fixed"]) == (5, 3)
    assert card.tickets["mean_workdays_to_fix"] == Decimal("5.67")
    # No order lines: the delivery metrics have no data, the tickets alone decide the recommendation.
    assert card.metric("delivery_rate").tier is None
    assert (card.tier, card.recommendation) == (2, "减少约定采购量")

    city = card_for(w, region=w.city)
    assert (city.metric("ticket_reply").rate, city.metric("ticket_reply").tier) == (Decimal("0.750000"), 1)
    assert (city.metric("ticket_fix").rate, city.metric("ticket_fix").tier) == (Decimal("0.500000"), 2)
    assert city.tickets["mean_workdays_to_fix"] == Decimal("5.67")

    other = card_for(w, supplier=w.other_maker)
    assert other.tickets["tickets"] == 0
    assert [(m.rate, m.tier) for m in other.metrics if m.key.startswith("ticket")] == [(None, None)] * 2
    assert not other.has_data

    url = reverse("monitoring:scorecard", args=[w.maker.code, w.batch.code, "2024Q3"])
    response = client_for(w.province_bureau).get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="decide-ticket_fix"' in body
    assert '<dd class="col-9" data-testid="mean-workdays">5.67</dd>' in body
    # The list: 齐鲁 (main winner of the batch in 山东) has tickets but no order lines in the quarter and is
    # listed with its ticket figures; a ticket against a company that supplies nothing of the batch is not.
    outsider = f.company(9, "外省制药有限公司", "manufacturer")
    tickets.open_ticket(
        actor=w.pharmacist, supplier=outsider, category="other", description="咨询", on=D(2024, 7, 2)
    )
    listing = client_for(w.province_bureau).get(
        reverse("monitoring:scorecards") + f"?batch={w.batch.code}&quarter=2024Q3"
    )
    assert [c.supplier.code for c in listing.context["cards"]] == [w.maker.code]
    assert "2档 · 减少约定采购量" in listing.content.decode()
    row = listing.context["cards"][0]
    assert (row.tickets["tickets"], row.metric("ticket_reply").rate_pct) == (5, "60.0%")


# ---- decisions -------------------------------------------------------------------------------------


@pytest.fixture
def tier2(world):
    line(world, world.hospital, 10000, D(2024, 7, 15), delivered=5000, delivered_on=D(2024, 7, 20))
    return world


def decide(w, actor, metric="delivery_rate", confirm=True, reason="配送率连续偏低"):
    return scorecards.decide_sanction(
        actor=actor,
        supplier=w.maker,
        batch=w.batch,
        quarter=Q3,
        metric=metric,
        confirm=confirm,
        reason=reason,
        today=TODAY,
    )


def test_bureau_confirms_with_reason_and_it_enters_the_credit_record(tier2, client_for):
    w = tier2
    decision = decide(w, w.province_bureau)
    assert (decision.status, decision.tier, decision.rate, decision.region, decision.quarter) == (
        "confirmed",
        2,
        Decimal("0.500000"),
        w.province,
        "2024Q3",
    )
    assert decision.decided_by == w.province_bureau
    log = AuditLog.objects.get(action="sanction.confirmed")
    assert log.changes["reason"] == "配送率连续偏低" and log.actor == w.province_bureau
    assert Notification.objects.filter(organisation=w.maker_org, kind="sanction").count() == 1
    html = (
        client_for(w.manufacturer)
        .get(reverse("monitoring:credit_record", args=[w.maker.code]))
        .content.decode()
    )
    assert "减少约定采购量" in html and "配送率连续偏低" in html and "山东省医保局" in html


def test_dismissal_is_kept_but_not_in_the_credit_record(tier2):
    w = tier2
    decide(w, w.province_bureau, confirm=False, reason="疫情期间物流受阻，已核实")
    assert SanctionDecision.objects.get().status == "dismissed"
    assert list(scorecards.credit_record(w.province_bureau, w.maker)) == []


def test_refusals_change_nothing(tier2):
    w = tier2
    with pytest.raises(DomainError, match="理由"):
        decide(w, w.province_bureau, reason="  ")
    with pytest.raises(DomainError, match="没有需要处理"):
        decide(w, w.province_bureau, metric="delivery_rate_tertiary")  # no data → nothing to decide
    with pytest.raises(PermissionDenied):
        decide(w, w.manufacturer)
    with pytest.raises(PermissionDenied):
        decide(w, w.admin)
    assert not SanctionDecision.objects.exists()
    decide(w, w.province_bureau)
    with pytest.raises(DomainError, match="已处理"):
        decide(w, w.province_bureau, confirm=False)
    assert SanctionDecision.objects.count() == 1


def test_city_bureau_decides_for_its_own_region(tier2):
    w = tier2
    decision = decide(w, w.city_bureau)
    assert decision.region == w.city
    with pytest.raises(DomainError, match="没有需要处理"):
        decide(w, w.other_city_bureau)  # 青岛 has no lines of 齐鲁


def test_decision_through_the_page(tier2, client_for):
    w = tier2
    url = reverse("monitoring:scorecard", args=[w.maker.code, w.batch.code, "2024Q3"])
    client = client_for(w.province_bureau)
    page = client.get(url)
    assert 'data-testid="decide-delivery_rate"' in page.content.decode()
    response = client.post(
        url, {"metric": "delivery_rate", "decision": "confirm", "reason": "约谈后仍未改善"}
    )
    assert response.status_code == 302
    assert SanctionDecision.objects.get().reason == "约谈后仍未改善"
    html = client.get(url).content.decode()
    assert "已确认（约谈后仍未改善）" in html


def test_decision_through_the_api(tier2, api_client_for):
    w = tier2
    url = f"/api/v1/scorecards/{w.maker.code}/{w.batch.code}/2024Q3/decisions"
    response = api_client_for(w.province_bureau).post(
        url,
        {"metric": "delivery_rate", "decision": "dismiss", "reason": "已核实"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "dismissed" and response.json()["tier"] == 2
    again = api_client_for(w.province_bureau).post(
        url,
        {"metric": "delivery_rate", "decision": "confirm", "reason": "x"},
        content_type="application/json",
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == "already_decided"


@pytest.mark.parametrize(
    "persona, supplier, status",
    [
        ("pharmacist", "maker", 404),
        ("manufacturer", "other_maker", 404),
        ("manufacturer", "maker", 403),
        ("distributor_user", "maker", 404),
    ],
)
def test_wrong_organisation_cannot_decide_and_nothing_changes(
    tier2, client_for, api_client_for, persona, supplier, status
):
    w = tier2
    code = getattr(w, supplier).code
    user = getattr(w, persona)
    url = reverse("monitoring:scorecard", args=[code, w.batch.code, "2024Q3"])
    assert (
        client_for(user)
        .post(url, {"metric": "delivery_rate", "decision": "confirm", "reason": "x"})
        .status_code
        == status
    )
    api = api_client_for(user).post(
        f"/api/v1/scorecards/{code}/{w.batch.code}/2024Q3/decisions",
        {"metric": "delivery_rate", "decision": "confirm", "reason": "x"},
        content_type="application/json",
    )
    assert api.status_code == status
    assert not SanctionDecision.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="sanction").exists()


# ---- pages, API, scope ------------------------------------------------------------------------------


def test_scorecard_list_for_a_bureau_and_for_a_supplier(tier2, client_for, api_client_for):
    w = tier2
    url = reverse("monitoring:scorecards") + f"?batch={w.batch.code}&quarter=2024Q3"
    response = client_for(w.province_bureau).get(url)
    assert [c.supplier.code for c in response.context["cards"]] == [w.maker.code]
    assert "2档 · 减少约定采购量" in response.content.decode()
    own = client_for(w.manufacturer).get(url)
    assert [c.supplier.code for c in own.context["cards"]] == [w.maker.code]
    other = client_for(w.other_manufacturer).get(url)
    assert [(c.supplier.code, c.has_data) for c in other.context["cards"]] == [(w.other_maker.code, False)]
    assert client_for(w.pharmacist).get(url).status_code == 404
    body = (
        api_client_for(w.province_bureau)
        .get(f"/api/v1/scorecards?batch={w.batch.code}&quarter=2024Q3")
        .json()
    )
    # The shared page shape of every list endpoint.
    assert (body["count"], body["count_exact"], body["has_more"], body["page"]) == (1, True, False, 1)
    metric = body["results"][0]["metrics"][0]
    assert (metric["metric"], metric["rate"], metric["tier"], metric["recommendation"]) == (
        "delivery_rate",
        "0.500000",
        2,
        "减少约定采购量",
    )
    assert (
        api_client_for(w.pharmacist)
        .get(f"/api/v1/scorecards?batch={w.batch.code}&quarter=2024Q3")
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    "persona, supplier, status",
    [
        ("province_bureau", "maker", 200),
        ("county_bureau", "maker", 200),
        ("admin", "other_maker", 200),
        ("manufacturer", "maker", 200),
        ("manufacturer", "other_maker", 404),
        ("other_manufacturer", "maker", 404),
        ("pharmacist", "maker", 404),
        ("doctor", "maker", 404),
        ("distributor_user", "maker", 404),
    ],
)
def test_scorecard_and_credit_record_scope(tier2, client_for, api_client_for, persona, supplier, status):
    w = tier2
    user, code = getattr(w, persona), getattr(w, supplier).code
    web, api = client_for(user), api_client_for(user)
    assert web.get(reverse("monitoring:scorecard", args=[code, w.batch.code, "2024Q3"])).status_code == status
    assert web.get(reverse("monitoring:credit_record", args=[code])).status_code == status
    assert api.get(f"/api/v1/scorecards/{code}/{w.batch.code}/2024Q3").status_code == status
    assert api.get(f"/api/v1/credit-records/{code}").status_code == status


def test_bureau_sees_decisions_of_its_subtree_and_above_only(tier2):
    w = tier2
    decide(w, w.province_bureau)
    decide(w, w.city_bureau, metric="delivery_rate_secondary")
    assert {d.region.code for d in scorecards.credit_record(w.county_bureau, w.maker)} == {"370000", "371000"}
    assert {d.region.code for d in scorecards.credit_record(w.other_city_bureau, w.maker)} == {"370000"}
    assert scorecards.credit_record(w.manufacturer, w.maker).count() == 2


def test_credit_record_api(tier2, api_client_for):
    w = tier2
    decide(w, w.province_bureau)
    body = api_client_for(w.manufacturer).get(f"/api/v1/credit-records/{w.maker.code}").json()
    assert body["count"] == 1
    assert {
        k: body["results"][0][k] for k in ("quarter", "metric", "rate", "tier", "recommendation", "status")
    } == {
        "quarter": "2024Q3",
        "metric": "delivery_rate",
        "rate": "0.500000",
        "tier": 2,
        "recommendation": "减少约定采购量",
        "status": "confirmed",
    }


def test_scorecard_page_query_count(tier2, client_for, django_assert_max_num_queries):
    w = tier2
    client = client_for(w.province_bureau)
    url = reverse("monitoring:scorecards") + f"?batch={w.batch.code}&quarter=2024Q3"
    client.get(url)
    # +1: the delivery-rating averages of the cards (SPEC §14)
    with django_assert_max_num_queries(17):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "persona, supplier, shown",
    [
        ("province_bureau", "maker", True),
        ("county_bureau", "other_maker", True),
        ("admin", "maker", True),
        ("manufacturer", "maker", True),
        ("manufacturer", "other_maker", False),
        ("other_manufacturer", "maker", False),
        ("distributor_user", "maker", False),
        ("pharmacist", "maker", False),
        ("doctor", "maker", False),
    ],
)
def test_company_page_links_the_credit_record_for_those_who_may_open_it(
    world, client_for, persona, supplier, shown
):
    user, company = getattr(world, persona), getattr(world, supplier)
    client = client_for(user)
    page = client.get(reverse("registry:company", args=[company.code]))
    assert page.status_code == 200
    credit_url = reverse("monitoring:credit_record", args=[company.code])
    assert (f'href="{credit_url}"' in page.content.decode()) is shown
    # The link appears exactly when the credit record page opens.
    assert client.get(credit_url).status_code == (200 if shown else 404)
