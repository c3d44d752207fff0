"""Pure rules of SPEC §11 with the worked examples and hypothesis properties."""

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from jicai.hospital import rules


def test_1003_over_10_months():
    assert rules.monthly_plan(1003, 10) == [101, 101, 101, 100, 100, 100, 100, 100, 100, 100, 0, 0]


def test_1003_over_11_months():
    # 1003 = 11 × 91 + 2: the first two months get 92.
    assert rules.monthly_plan(1003, 11) == [92, 92, 91, 91, 91, 91, 91, 91, 91, 91, 91, 0]


def test_plan_to_date_is_pro_rata_to_the_last_day_of_month_m():
    start = dt.date(2025, 1, 1)
    # P = 2025-10-31, P − S + 1 = 304 days; D = 2025-01-31 is day 31: 1003 × 31 / 304 = 102.279…
    assert rules.plan_to_date(1003, start, 10, dt.date(2025, 1, 31)) == Decimal("102.28")
    # m = 11: P = 2025-11-30, 334 days: 1003 × 31 / 334 = 93.09…
    assert rules.plan_to_date(1003, start, 11, dt.date(2025, 1, 31)) == Decimal("93.09")
    assert rules.plan_to_date(1003, start, 10, dt.date(2025, 10, 31)) == Decimal("1003.00")
    assert rules.plan_to_date(1003, start, 10, dt.date(2025, 12, 31)) == Decimal("1003.00")
    assert rules.plan_to_date(1003, start, 10, dt.date(2024, 12, 31)) == Decimal(0)


def test_months_of_the_agreement_year():
    months = rules.plan_months(dt.date(2024, 3, 1), dt.date(2025, 2, 28))
    assert len(months) == 12
    assert months[0] == (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert months[11] == (dt.date(2025, 2, 1), dt.date(2025, 2, 28))


def test_department_under_min_share_gets_nothing_and_the_rest_is_resplit():
    # Shares of 1000: D03 5/1000 = 0.005 < 0.01 → 0; 1000 over 600 : 395 → 603.015 / 396.98 → 603 / 397.
    split = rules.department_split(1000, {"D01": 600, "D02": 395, "D03": 5}, Decimal("0.01"))
    assert split == {"D01": 603, "D02": 397, "D03": 0}


def test_largest_remainder_tie_goes_to_the_lower_code():
    assert rules.largest_remainder(10, {"D03": 1, "D01": 1, "D02": 1}) == {"D01": 4, "D02": 3, "D03": 3}
    assert rules.largest_remainder(3, {"B": 1, "A": 1}) == {"A": 2, "B": 1}


def test_no_history_means_no_automatic_split():
    assert rules.department_split(1000, {"D01": 0, "D02": 0}, Decimal("0.01")) == {}


def test_doctor_split_skips_away_doctors_and_splits_equally_without_history():
    # Only active doctors are passed: 100 × 30/40 = 75, 100 × 10/40 = 25.
    assert rules.doctor_split(100, {"DR01": 30, "DR02": 50, "DR03": 10}, ["DR01", "DR03"]) == {
        "DR01": 75,
        "DR03": 25,
    }
    assert rules.doctor_split(100, {}, ["DR02", "DR01", "DR03"]) == {"DR01": 34, "DR02": 33, "DR03": 33}


@given(st.integers(0, 10**9), st.sampled_from([10, 11]))
def test_monthly_plan_sums_to_agreed(agreed, m):
    plan = rules.monthly_plan(agreed, m)
    assert sum(plan) == agreed
    assert max(plan[:m]) - min(plan[:m]) <= 1
    assert plan[m:] == [0] * (12 - m)


@given(
    st.integers(0, 10**7),
    st.dictionaries(
        st.text("ABCD0123", min_size=1, max_size=3), st.integers(0, 10**6), min_size=1, max_size=8
    ),
)
def test_largest_remainder_sums_exactly(total, weights):
    split = rules.largest_remainder(total, weights)
    if sum(weights.values()) == 0:
        assert split == {}
    else:
        assert sum(split.values()) == total
        weight_sum = sum(weights.values())
        for key, part in split.items():
            assert abs(part - total * weights[key] / weight_sum) < 1


@given(
    st.integers(0, 10**7), st.dictionaries(st.sampled_from(["D1", "D2", "D3", "D4"]), st.integers(1, 10**5))
)
def test_department_split_sums_to_agreed_when_there_is_use(total, use):
    split = rules.department_split(total, use, Decimal("0.01"))
    if use:
        assert sum(split.values()) == total


@given(st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)), st.integers(0, 500))
def test_plan_to_date_grows_and_stays_within_agreed(start, days):
    a = rules.plan_to_date(1000, start, 10, start + dt.timedelta(days=days))
    b = rules.plan_to_date(1000, start, 10, start + dt.timedelta(days=days + 1))
    assert 0 < a <= b <= 1000
