"""Progress alerts (SPEC §7) on hand-built data. Year 1 = 2024-03-01 … 2025-02-28, 365 days; on
2024-06-08 the elapsed days are 100, so time_progress = 100/365."""

import datetime as dt
from decimal import Decimal

from jicai.batches.models import ItemFactor, Substitute, Winner
from jicai.monitoring.models import ProgressFact
from tests import factories as f
from tests.monitoring.conftest import agreed, monitor, received

D = dt.date
AS_OF = D(2024, 6, 8)  # day 100 of 365
LAG = {"PROGRESS_LAG"}


def test_completion_equal_to_time_progress_does_not_fire_and_one_less_does(mworld):
    w = mworld
    agreed(w, w.hospital, 365)
    received(w.hospital, w.product, 100, D(2024, 4, 1), item=w.item)  # 100/365 == time progress
    agreed(w, w.other_hospital, 365)
    received(w.other_hospital, w.product, 99, D(2024, 4, 1), item=w.item)
    alerts = monitor(AS_OF, types=LAG)
    assert [(a["institution"], a["item"], a["agreement_year"]) for a in alerts] == [
        ("H37020200001", "GY7-001", 1)
    ]
    assert alerts[0]["value"] == round(99 / 365, 6)
    assert alerts[0]["threshold"] == round(100 / 365, 6)
    fact = ProgressFact.objects.get(institution=w.hospital)
    assert fact.purchased_winning == 100 and fact.agreed_qty == 365
    assert fact.time_progress == Decimal("0.273973")


def test_item_factor_counts_and_ordered_basis_counts_orders(mworld):
    w = mworld
    ItemFactor.objects.create(item=w.item, product=w.product, factor=Decimal("0.5"))
    agreed(w, w.hospital, 365)
    received(w.hospital, w.product, 200, D(2024, 4, 1), item=w.item)  # 200 × 0.5 = 100 → no lag
    monitor(AS_OF)
    assert ProgressFact.objects.get(institution=w.hospital).purchased_winning == 100
    assert monitor(AS_OF, types=LAG) == []


def test_receipts_after_as_of_do_not_count(mworld):
    w = mworld
    agreed(w, w.hospital, 365)
    received(w.hospital, w.product, 100, D(2024, 6, 9), item=w.item, ordered_on=D(2024, 6, 1))
    assert [a["institution"] for a in monitor(AS_OF, types=LAG)] == ["H37100200001"]
    assert ProgressFact.objects.get(institution=w.hospital).purchased_winning == 0


def test_nothing_before_the_cycle_starts(mworld):
    w = mworld
    agreed(w, w.hospital, 365)
    assert monitor(D(2024, 2, 29)) == []
    assert not ProgressFact.objects.exists()


def test_after_the_cycle_the_last_year_is_used(mworld):
    w = mworld
    agreed(w, w.hospital, 100, year=3)
    received(w.hospital, w.product, 99, D(2026, 6, 1), item=w.item)
    alerts = monitor(D(2027, 6, 1), types=LAG)
    assert [(a["institution"], a["agreement_year"], a["threshold"]) for a in alerts] == [
        ("H37100200001", 3, 1)
    ]
    assert alerts[0]["value"] == 0.99


def test_nonwinning_exceeding_winning_is_strict(mworld):
    w = mworld
    nonwinning = f.product("XC10AAA001A001010100009", w.other_maker)
    agreed(w, w.hospital, 10)
    received(w.hospital, w.product, 50, D(2024, 4, 1), item=w.item)
    received(w.hospital, nonwinning, 50, D(2024, 4, 2), item=w.item)  # equal: no alert
    agreed(w, w.other_hospital, 10)
    received(w.other_hospital, w.product, 50, D(2024, 4, 1), item=w.item)
    received(w.other_hospital, nonwinning, 51, D(2024, 4, 2), item=w.item)
    alerts = monitor(AS_OF, types={"NONWINNING_EXCEEDS_WINNING"})
    assert [(a["institution"], a["value"], a["threshold"]) for a in alerts] == [("H37020200001", 51, 50)]


def test_nonsupply_winner_counts_as_nonwinning(mworld):
    w = mworld
    Winner.objects.create(
        item=w.item,
        product=w.other_product,
        province=w.province,
        role="nonsupply",
        winning_price=Decimal("0.2"),
    )
    agreed(w, w.hospital, 10)
    received(w.hospital, w.other_product, 5, D(2024, 4, 2), item=w.item)
    alerts = monitor(AS_OF, types={"NONWINNING_EXCEEDS_WINNING"})
    assert [(a["institution"], a["value"], a["threshold"]) for a in alerts] == [("H37100200001", 5, 0)]


def _substitute(w):
    sub = f.product("XC10AAA001A001010100050", w.other_maker, generic_name="瑞舒伐他汀钙")
    Substitute.objects.create(item=w.item, product=sub, degree="full")
    return sub


def test_substitute_above_last_year_and_growth(mworld):
    w = mworld
    sub = _substitute(w)
    # hospital: last year (2023-03-01 … 2024-02-29) 100, same days last year (… 2023-06-08) 40, now 101
    received(w.hospital, sub, 60, D(2023, 12, 1))
    received(w.hospital, sub, 40, D(2023, 4, 1))
    received(w.hospital, sub, 101, D(2024, 5, 1))
    # other hospital: last year 100 (same days 100), now 100 → neither alert (growth bound 130)
    received(w.other_hospital, sub, 100, D(2023, 4, 1))
    received(w.other_hospital, sub, 100, D(2024, 5, 1))
    alerts = monitor(AS_OF, types={"SUBSTITUTE_EXCEEDS_LAST_YEAR", "SUBSTITUTE_GROWTH"})
    assert [(a["type"], a["institution"], a["value"], a["threshold"]) for a in alerts] == [
        ("SUBSTITUTE_EXCEEDS_LAST_YEAR", "H37100200001", 101, 100),
        ("SUBSTITUTE_GROWTH", "H37100200001", 101, 52),
    ]


def test_substitute_growth_exactly_at_threshold_does_not_fire(mworld):
    w = mworld
    sub = _substitute(w)
    received(w.hospital, sub, 100, D(2023, 4, 1))
    received(w.hospital, sub, 130, D(2024, 5, 1))  # exactly 1.3 × 100
    assert monitor(AS_OF, types={"SUBSTITUTE_GROWTH"}) == []
    received(w.hospital, sub, 1, D(2024, 5, 2))
    assert [a["value"] for a in monitor(AS_OF, types={"SUBSTITUTE_GROWTH"})] == [131]


def test_over_purchase_at_exactly_four_times_does_not_fire(mworld):
    w = mworld
    agreed(w, w.hospital, 10)
    received(w.hospital, w.product, 40, D(2024, 4, 1), item=w.item)
    agreed(w, w.other_hospital, 10)
    received(w.other_hospital, w.product, 41, D(2024, 4, 1), item=w.item)
    alerts = monitor(AS_OF, types={"OVER_PURCHASE"})
    assert [(a["institution"], a["value"], a["threshold"]) for a in alerts] == [("H37020200001", 41, 40)]


def test_unreported_purchase_when_reported_zero_or_missing(mworld):
    w = mworld
    agreed(w, w.hospital, 0, reported=0)
    received(w.hospital, w.product, 5, D(2024, 4, 1), item=w.item)
    received(w.other_hospital, w.product, 7, D(2024, 4, 1), item=w.item)  # no agreed-volume row at all
    agreed(w, w.clinic, 10, reported=20)
    received(w.clinic, w.product, 5, D(2024, 4, 1), item=w.item)
    alerts = monitor(AS_OF, types={"UNREPORTED_PURCHASE"})
    assert [(a["institution"], a["value"]) for a in alerts] == [("H37020200001", 7), ("H37100200001", 5)]


def test_after_the_cycle_purchases_up_to_d_count_literally(mworld):
    """SPEC §7: with D after E, [S, E] is the last year and completion = purchased(W, S, D) / agreed, so a
    receipt after E (but not after D) counts; time progress stays 1 (min(D, E))."""
    w = mworld
    agreed(w, w.hospital, 100, year=3)  # year 3 = 2026-03-01 … 2027-02-28
    received(w.hospital, w.product, 60, D(2026, 6, 1), item=w.item)
    received(w.hospital, w.product, 39, D(2027, 4, 1), item=w.item)  # after E, before D
    received(w.hospital, w.product, 500, D(2027, 6, 2), item=w.item)  # after D: not counted
    alerts = monitor(D(2027, 6, 1), types=LAG | {"OVER_PURCHASE"})
    assert [(a["type"], a["agreement_year"], a["value"], a["threshold"]) for a in alerts] == [
        ("PROGRESS_LAG", 3, 0.99, 1)
    ]
    fact = ProgressFact.objects.get(institution=w.hospital)
    assert (fact.purchased_winning, fact.time_progress, fact.completion) == (
        Decimal("99"),
        Decimal("1"),
        Decimal("0.99"),
    )
    received(w.hospital, w.product, 1, D(2027, 5, 31), item=w.item)
    assert monitor(D(2027, 6, 1), types=LAG) == []  # 100 of 100


def test_substitute_same_days_last_year_run_to_d_minus_one_year_after_the_cycle(mworld):
    w = mworld
    sub = _substitute(w)
    # Year 3 = 2026-03-01 … 2027-02-28, D = 2027-04-30: same days one year earlier = 2025-03-01 … 2026-04-30
    received(w.hospital, sub, 100, D(2026, 4, 30))  # inside the same days last year
    received(w.hospital, sub, 131, D(2027, 4, 30))  # in [S, D], after E
    alerts = monitor(D(2027, 4, 30), types={"SUBSTITUTE_GROWTH"})
    assert [(a["value"], a["threshold"]) for a in alerts] == [(231, 130)]
