"""Year-end forecast (SPEC §13) with hand-worked values: projected purchased at E = purchased(W, S, D) + run
rate × (E − D), run rate = purchased(W) over the last forecast_window_days (or since S) / those days;
FORECAST_SHORTFALL when agreed > 0, D ≥ S + window and projected < agreed × progress_tolerance.

Agreement year 1 is 2024-03-01 … 2025-02-28 (365 days); defaults: window 90 days, tolerance 1.0, basis
received. As of 2024-06-08 the window is [2024-03-11, 2024-06-08] (90 days) and E − D = 265 days."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from jicai.monitoring import forecast, realtime
from jicai.monitoring.models import Alert, AlertType, DirtyInstitution, ProgressFact
from jicai.policy import rules
from jicai.policy.models import PolicyProfile
from tests import factories as f
from tests.monitoring.conftest import agreed, monitor, received

D = dt.date
S, E = D(2024, 3, 1), D(2025, 2, 28)


def shortfalls(as_of):
    return [
        (a["institution"], a["value"], a["threshold"]) for a in monitor(as_of, types={"FORECAST_SHORTFALL"})
    ]


def window_purchased(institution):
    return ProgressFact.objects.get(institution=institution).purchased_winning_window


@pytest.fixture
def fworld(mworld):
    w = mworld
    w.fourth = f.institution("H37100200003", "环翠区第二人民医院", w.county)
    return w


# ---- the pure rule --------------------------------------------------------------------------------------


def test_forecast_window_dates():
    w = rules.forecast_window(S, E, D(2024, 6, 8), 90)
    assert (w.start, w.days, w.remaining, w.ready) == (D(2024, 3, 11), 90, 265, True)
    # Start of the year: the window is the one day since S; not ready for an alert.
    w = rules.forecast_window(S, E, S, 90)
    assert (w.start, w.days, w.remaining, w.ready) == (S, 1, 364, False)
    # D = S + 89: the window is already 90 days long, but an alert needs D ≥ S + 90.
    assert rules.forecast_window(S, E, D(2024, 5, 29), 90).ready is False
    assert rules.forecast_window(S, E, D(2024, 5, 30), 90).ready is True
    # Last day and after E: nothing left to project.
    assert rules.forecast_window(S, E, E, 90).remaining == 0
    assert rules.forecast_window(S, E, D(2025, 3, 10), 90).remaining == 0
    with pytest.raises(ValueError):
        rules.forecast_window(S, E, D(2024, 2, 29), 90)


def test_projection_and_shortfall_are_exact():
    w = rules.forecast_window(S, E, D(2024, 6, 8), 90)
    assert rules.projected_purchased(280, 180, w) == 810
    assert rules.projected_purchased(0, 100, w) == Fraction(100 * 265, 90)
    kw = dict(purchased=280, window_purchased=180, window=w, tolerance=Decimal("1.0"))
    assert rules.forecast_shortfall(agreed=811, **kw) is True
    assert rules.forecast_shortfall(agreed=810, **kw) is False  # exactly at the bar
    assert rules.forecast_shortfall(agreed=0, **kw) is False
    start = rules.forecast_window(S, E, S, 90)
    assert (
        rules.forecast_shortfall(agreed=10**6, purchased=0, window_purchased=0, window=start, tolerance=1)
        is False
    )


# ---- the engine -------------------------------------------------------------------------------------------


def test_shortfall_with_exact_projected_completion_and_the_boundary(fworld):
    w = fworld
    for institution, qty in ((w.hospital, 1000), (w.other_hospital, 810), (w.clinic, 811), (w.fourth, 500)):
        agreed(w, institution, qty)
    for institution in (w.hospital, w.other_hospital, w.clinic):
        received(institution, w.product, 100, D(2024, 3, 10), item=w.item)  # before the window
        received(institution, w.product, 180, D(2024, 5, 1), item=w.item)  # inside it
    # projected = 280 + 180 / 90 × 265 = 810 for the three; the fourth bought nothing: 0.
    assert shortfalls(D(2024, 6, 8)) == [
        ("H37100200001", 0.81, 1),  # 810 / 1000
        ("H37100200002", 0.998767, 1),  # 810 / 811
        ("H37100200003", 0, 1),  # zero purchases
    ]  # H37020200001: 810 = 810 × 1.0 is not below it
    assert window_purchased(w.hospital) == Decimal("180")
    assert window_purchased(w.fourth) == Decimal("0")
    stored = Alert.objects.get(type="FORECAST_SHORTFALL", institution=w.clinic)
    assert (stored.item, stored.value, stored.threshold, stored.status) == (
        w.item,
        Decimal("0.998767"),
        Decimal("1.000000"),
        "open",
    )


def test_start_of_year_projects_but_never_alerts(fworld):
    w = fworld
    agreed(w, w.hospital, 100000)
    received(w.hospital, w.product, 10, S, item=w.item)
    assert shortfalls(S) == []
    assert window_purchased(w.hospital) == Decimal("10")
    [row] = forecast.item_forecasts(w.pharmacist, w.hospital)
    # 10 + 10 / 1 × 364 = 3650
    assert (row.projected, row.window.days, row.window.remaining, row.shortfall) == (
        Decimal("3650"),
        1,
        364,
        False,
    )


def test_alert_from_the_day_the_window_has_passed_and_closed_when_the_projection_reaches_the_bar(fworld):
    w = fworld
    agreed(w, w.hospital, 364)
    assert shortfalls(D(2024, 5, 29)) == []  # D = S + 89
    assert shortfalls(D(2024, 5, 30)) == [("H37100200001", 0, 1)]  # D = S + 90
    # 90 received on D: projected = 90 + 90 / 90 × 274 = 364 = agreed → closed.
    received(w.hospital, w.product, 90, D(2024, 5, 30), item=w.item)
    assert shortfalls(D(2024, 5, 30)) == []
    alert = Alert.objects.get(type="FORECAST_SHORTFALL")
    assert (alert.status, alert.closed_on) == ("closed", D(2024, 5, 30))


def test_last_day_projects_the_purchases_themselves(fworld):
    w = fworld
    agreed(w, w.hospital, 1000)
    agreed(w, w.other_hospital, 1000)
    received(w.hospital, w.product, 999, D(2024, 12, 1), item=w.item)
    received(w.other_hospital, w.product, 1000, D(2024, 12, 1), item=w.item)
    assert shortfalls(E) == [("H37100200001", 0.999, 1)]
    [row] = forecast.item_forecasts(w.pharmacist, w.hospital)
    assert (row.projected, row.window.remaining, row.projected_completion) == (
        Decimal("999"),
        0,
        Decimal("0.999"),
    )


def test_policy_window_and_tolerance_of_the_province(fworld):
    w = fworld
    PolicyProfile.objects.create(
        region=w.province, values={"forecast_window_days": 30, "progress_tolerance": "0.9"}
    )
    agreed(w, w.hospital, 439)
    agreed(w, w.other_hospital, 438)
    for institution in (w.hospital, w.other_hospital):
        received(institution, w.product, 100, D(2024, 4, 1), item=w.item)
        received(institution, w.product, 30, D(2024, 6, 1), item=w.item)
    # window [2024-05-10, 2024-06-08] = 30 days: 30 / 30 × 265 + 130 = 395; 439 × 0.9 = 395.1 > 395,
    # 438 × 0.9 = 394.2 ≤ 395.
    assert shortfalls(D(2024, 6, 8)) == [("H37100200001", 0.899772, 0.9)]  # 395 / 439


def test_real_time_drain_closes_the_shortfall_when_a_receipt_comes_in(fworld):
    w = fworld
    agreed(w, w.hospital, 1000)
    as_of = D(2024, 6, 8)
    monitor(as_of)
    alert = Alert.objects.get(type="FORECAST_SHORTFALL")
    DirtyInstitution.objects.all().delete()
    # 500 today: 500 + 500 / 90 × 265 ≈ 1972 ≥ 1000.
    received(w.hospital, w.product, 500, as_of, item=w.item)
    realtime.drain(as_of)
    alert.refresh_from_db()
    assert (alert.status, alert.closed_on) == ("closed", as_of)
    assert window_purchased(w.hospital) == Decimal("500")


def test_shortfall_is_listed_in_the_quarterly_notice_with_the_projected_completion(fworld):
    from jicai.monitoring import notices

    w = fworld
    agreed(w, w.hospital, 1000)
    received(w.hospital, w.product, 100, D(2024, 3, 10), item=w.item)
    received(w.hospital, w.product, 180, D(2024, 5, 1), item=w.item)
    monitor(D(2024, 6, 8))
    notice = notices.build_notice(w.province, notices.Quarter(2024, 2))
    [group] = [g for g in notice.groups if AlertType.FORECAST_SHORTFALL in g.spec.types]
    assert group.heading == "十四、预计年末无法完成约定采购量"
    headers = [c.header for c in group.columns]
    [row] = group.rows
    values = dict(zip(headers, row, strict=True))
    assert (values["医疗机构"], values["预计年末完成率"], values["应达完成率"], values["问题"]) == (
        "威海市环翠区人民医院",
        "81.00%",
        "100.00%",
        "预计年末完成不足",
    )
