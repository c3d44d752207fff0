"""Pure policy rules: exact hand-worked values plus hypothesis properties."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from jicai.policy.parameters import BY_NAME, PrepaymentRule
from jicai.policy.rules import (
    LISTING_STATUS_LABELS,
    ListingVerdict,
    agreed_qty,
    agreed_ratio,
    listing_cap,
    listing_cap_exact,
    listing_verdict,
    needs_explanation,
    payment_due,
    prepayment_required,
    prepayment_tranches,
    rate_tier,
    time_progress,
)

D = Decimal
TABLE = BY_NAME["agreed_ratio_by_winners"].default
TIERS = BY_NAME["delivery_rate_tiers"].default
HUBEI = BY_NAME["prepayment_tranches"].default

# ---- agreed ratio and quantity -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "ratio"), [(1, "0.50"), (2, "0.60"), (3, "0.70"), (4, "0.80"), (5, "0.80"), (40, "0.80")]
)
def test_agreed_ratio_by_winner_count_with_4_meaning_4_or_more(count, ratio):
    assert agreed_ratio(count, TABLE) == D(ratio)


@pytest.mark.parametrize("count", [0, -1, True, 1.0])
def test_agreed_ratio_needs_at_least_one_winner(count):
    with pytest.raises(ValueError):
        agreed_ratio(count, TABLE)


def test_agreed_ratio_with_a_shorter_table():
    assert agreed_ratio(7, {1: D("0.6"), 2: D("0.75")}) == D("0.75")


@pytest.mark.parametrize(
    ("reported", "ratio", "expected"),
    [
        (101, "0.50", 51),
        (100, "0.50", 50),
        (3, "0.50", 2),
        (1, "0.50", 1),
        (0, "0.80", 0),
        (7, "0.70", 5),
        (15, "0.70", 11),
        (1234, "0.60", 740),
    ],
)
def test_agreed_qty_rounds_half_up(reported, ratio, expected):
    # 101×0.5 = 50.5 → 51; 3×0.5 = 1.5 → 2; 7×0.7 = 4.9 → 5; 15×0.7 = 10.5 → 11; 1234×0.6 = 740.4 → 740
    assert agreed_qty(reported, D(ratio)) == expected


@pytest.mark.parametrize("reported", [-1, 1.5, "10", True])
def test_agreed_qty_refuses_non_integer_or_negative_reports(reported):
    with pytest.raises(ValueError):
        agreed_qty(reported, D("0.5"))


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(list(TABLE.values())))
def test_agreed_qty_is_within_half_a_unit_of_the_exact_product(reported, ratio):
    qty = agreed_qty(reported, ratio)
    exact = Fraction(reported) * Fraction(ratio)
    assert abs(qty - exact) <= Fraction(1, 2)
    assert qty <= reported
    if exact - int(exact) == Fraction(1, 2):
        assert qty == int(exact) + 1


# ---- explanation threshold ---------------------------------------------------------------------


def test_report_exactly_at_history_times_0_8_needs_no_explanation():
    assert needs_explanation(80, 100, D("0.20")) is False
    assert needs_explanation(79, 100, D("0.20")) is True
    assert needs_explanation(D("79.99"), 100, D("0.20")) is True


def test_threshold_zero_flags_any_drop_below_history():
    assert needs_explanation(99, 100, D("0")) is True
    assert needs_explanation(100, 100, D("0")) is False
    assert needs_explanation(101, 100, D("0")) is False


def test_no_history_never_needs_explanation():
    assert needs_explanation(0, 0, D("0.20")) is False


@given(
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=0, max_value=10**7),
    st.decimals(min_value=0, max_value=1, places=2),
)
def test_needs_explanation_matches_exact_arithmetic(reported, history, threshold):
    assert needs_explanation(reported, history, threshold) == (
        Fraction(reported) < Fraction(history) * (1 - Fraction(threshold))
    )


# ---- time progress -----------------------------------------------------------------------------


def test_time_progress_counts_both_ends():
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)  # 365 days
    assert time_progress(start, end, start) == D(1) / D(365)
    assert time_progress(start, end, dt.date(2025, 7, 2)) == D(183) / D(365)
    assert time_progress(start, end, end) == D(1)
    assert time_progress(start, end, dt.date(2026, 3, 1)) == D(1)  # after the year: capped at 1


def test_time_progress_in_a_leap_year():
    assert time_progress(dt.date(2024, 3, 1), dt.date(2025, 2, 28), dt.date(2024, 3, 31)) == D(31) / D(365)
    assert time_progress(dt.date(2024, 1, 1), dt.date(2024, 12, 31), dt.date(2024, 7, 1)) == D(
        "0.5"
    )  # Jan–Jun = 182 days, +1 = 183/366


def test_time_progress_before_start_is_an_error():
    with pytest.raises(ValueError):
        time_progress(dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2024, 12, 31))
    with pytest.raises(ValueError):
        time_progress(dt.date(2025, 1, 1), dt.date(2024, 12, 31), dt.date(2025, 1, 1))


@given(
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 1, 1)),
    st.integers(min_value=0, max_value=800),
    st.integers(min_value=0, max_value=1000),
)
def test_time_progress_is_between_0_and_1_and_monotonic(start, length, offset):
    end = start + dt.timedelta(days=length)
    as_of = start + dt.timedelta(days=offset)
    value = time_progress(start, end, as_of)
    assert D(0) < value <= D(1)
    assert value <= time_progress(start, end, as_of + dt.timedelta(days=1))


# ---- tiers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "tier"),
    [
        ("1", 0),
        ("0.80", 0),
        ("0.7999", 1),
        ("0.60", 1),
        ("0.5999", 2),
        ("0.30", 2),
        ("0.2999", 3),
        ("0", 3),
    ],
)
def test_rate_tier_boundaries(rate, tier):
    assert rate_tier(D(rate), TIERS) == tier


def test_rate_tier_of_no_data_is_none():
    assert rate_tier(None, TIERS) is None


def test_rate_tier_accepts_fractions():
    assert rate_tier(Fraction(4, 5), TIERS) == 0
    assert rate_tier(Fraction(2, 3), TIERS) == 1


@given(st.decimals(min_value=0, max_value=1, places=4), st.decimals(min_value=0, max_value=1, places=4))
def test_a_lower_rate_never_gets_a_better_tier(a, b):
    assume(a <= b)
    assert rate_tier(a, TIERS) >= rate_tier(b, TIERS)


# ---- payment due -------------------------------------------------------------------------------


def test_payment_due_after_receipt():
    assert payment_due(dt.date(2025, 1, 31), 30, "after_receipt") == dt.date(2025, 3, 2)
    assert payment_due(dt.date(2025, 12, 15), 30, "after_receipt") == dt.date(2026, 1, 14)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt.date(2025, 12, 15), dt.date(2026, 1, 31)),
        (dt.date(2025, 1, 31), dt.date(2025, 2, 28)),
        (dt.date(2024, 1, 1), dt.date(2024, 2, 29)),
        (dt.date(2025, 11, 30), dt.date(2025, 12, 31)),
    ],
)
def test_payment_due_end_of_next_month_across_year_ends_and_february(received, due):
    assert payment_due(received, 30, "end_of_next_month") == due


def test_unknown_payment_rule_is_an_error():
    with pytest.raises(ValueError):
        payment_due(dt.date(2025, 1, 1), 30, "whenever")


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31)))
def test_end_of_next_month_is_the_last_day_of_the_following_month(received):
    due = payment_due(received, 0, "end_of_next_month")
    assert (due + dt.timedelta(days=1)).day == 1
    assert (due.year * 12 + due.month) - (received.year * 12 + received.month) == 1


# ---- prepayment --------------------------------------------------------------------------------


def test_prepayment_tranches_with_hubei_defaults():
    tranches = prepayment_tranches(D("10000.00"), HUBEI)
    assert (tranches.first, tranches.second, tranches.total) == (D("3000.00"), D("6000.00"), D("9000.00"))


def test_prepayment_tranches_round_to_the_cent():
    tranches = prepayment_tranches(D("333.35"), HUBEI)  # 100.005 → 100.01; 300.015 → 300.02
    assert (tranches.first, tranches.second) == (D("100.01"), D("200.01"))


def test_prepayment_required_by_stage():
    budget = D("10000")
    assert prepayment_required(budget, HUBEI, in_effect=False, elapsed=D("0.9"), completion=D("0.9")) == D(
        "0"
    )
    assert prepayment_required(budget, HUBEI, in_effect=True, elapsed=D("0.49"), completion=D("0.59")) == D(
        "3000.00"
    )
    assert prepayment_required(budget, HUBEI, in_effect=True, elapsed=D("0.50"), completion=D("0")) == D(
        "9000.00"
    )
    assert prepayment_required(budget, HUBEI, in_effect=True, elapsed=D("0.1"), completion=D("0.60")) == D(
        "9000.00"
    )
    assert prepayment_required(budget, HUBEI, in_effect=True, elapsed=Fraction(1, 2), completion=None) == D(
        "9000.00"
    )


@given(st.decimals(min_value=0, max_value=10**9, places=2))
def test_prepayment_tranches_meet_the_minimum_shares(budget):
    rule = PrepaymentRule(D("0.30"), D("0.50"), D("0.60"), D("0.90"))
    tranches = prepayment_tranches(budget, rule)
    assert abs(tranches.first - budget * D("0.30")) <= D("0.005")
    assert abs(tranches.total - budget * D("0.90")) <= D("0.005")
    assert tranches.second >= 0


# ---- listing rule (§4) -------------------------------------------------------------------------


def test_listing_cap_is_the_larger_of_multiple_times_own_and_highest():
    assert listing_cap(D("0.1200"), D("0.1500"), D("1.5")) == D("0.1800")
    assert listing_cap(D("0.1200"), D("0.2000"), D("1.5")) == D("0.2000")
    assert listing_cap(D("0.12345"), D("0"), D("1.5")) == D("0.1852")  # 0.185175 → 0.1852
    assert str(listing_cap(D("1"), D("1"), D("1.5"))) == "1.5000"


def verdict(**kw):
    base = dict(
        price=D("0.1200"),
        role=None,
        own_winning_price=None,
        highest_winning_price=None,
        multiple=D("1.5"),
        other_spec_of_winner=False,
    )
    base.update(kw)
    return listing_verdict(**base)


@pytest.mark.parametrize("role", ["main", "backup", "backup2"])
def test_a_supplier_here_lists_at_its_winning_price(role):
    assert verdict(role=role, own_winning_price=D("0.12"), highest_winning_price=D("0.20")) == ListingVerdict(
        "at_winning_price", D("0.12")
    )
    assert verdict(role=role, price=D("0.1201"), own_winning_price=D("0.12")) == ListingVerdict(
        "price_mismatch", D("0.12")
    )
    assert verdict(role=role, price=D("0.1100"), own_winning_price=D("0.12")).status == "price_mismatch"


def test_a_nonsupply_winner_is_capped():
    kw = dict(role="nonsupply", own_winning_price=D("0.1200"), highest_winning_price=D("0.1500"))
    assert verdict(price=D("0.1800"), **kw) == ListingVerdict("within_cap", D("0.1800"))
    assert verdict(price=D("0.1801"), **kw) == ListingVerdict("above_cap", D("0.1800"))


def test_a_price_is_compared_with_the_exact_cap_not_its_rounded_display():
    # 1.5 × 0.1235 = 0.18525, shown as 0.1853: 0.1853 is above the cap, 0.1852 is not.
    kw = dict(role="nonsupply", own_winning_price=D("0.1235"), highest_winning_price=D("0.1235"))
    above = verdict(price=D("0.1853"), **kw)
    assert (above.status, above.cap, above.exact_cap) == ("above_cap", D("0.1853"), D("0.18525"))
    assert verdict(price=D("0.1852"), **kw).status == "within_cap"
    assert listing_cap_exact(D("0.1235"), D("0.1235"), D("1.5")) == D("0.18525")
    assert verdict(role="main", own_winning_price=D("0.12")).exact_cap == D("0.12")


def test_a_winner_elsewhere_without_a_row_here_is_capped_like_nonsupply():
    kw = dict(role=None, own_winning_price=D("0.1000"), highest_winning_price=D("0.2500"))
    assert verdict(price=D("0.2500"), **kw) == ListingVerdict("within_cap", D("0.2500"))
    assert verdict(price=D("0.2600"), **kw) == ListingVerdict("above_cap", D("0.2500"))


def test_highest_price_unknown_falls_back_to_own_price():
    assert verdict(price=D("0.18"), role="nonsupply", own_winning_price=D("0.12")) == ListingVerdict(
        "within_cap", D("0.1800")
    )


def test_other_spec_of_a_winner_is_suspended_and_others_are_non_winning():
    assert verdict(other_spec_of_winner=True) == ListingVerdict("suspended", None)
    assert verdict(other_spec_of_winner=False) == ListingVerdict("non_winning", None)


def test_inconsistent_inputs_are_errors():
    with pytest.raises(ValueError):
        verdict(role="main", own_winning_price=None)
    with pytest.raises(ValueError):
        verdict(role="nonsupply", own_winning_price=None)
    with pytest.raises(ValueError):
        verdict(role="leader", own_winning_price=D("1"))


def test_every_status_has_a_chinese_label():
    assert set(LISTING_STATUS_LABELS) == {
        "at_winning_price",
        "price_mismatch",
        "within_cap",
        "above_cap",
        "suspended",
        "non_winning",
    }
    assert ListingVerdict("above_cap", D("1")).label == "非供应省份挂网价超限"


@given(
    st.decimals(min_value=D("0.0001"), max_value=1000, places=4),
    st.decimals(min_value=D("0.0001"), max_value=1000, places=4),
    st.decimals(min_value=1, max_value=3, places=2),
)
def test_listing_cap_is_at_least_both_bounds(own, highest, multiple):
    cap = listing_cap(own, highest, multiple)
    assert cap >= highest
    assert cap >= (own * multiple).quantize(D("0.0001"))
    assert cap.as_tuple().exponent == -4
