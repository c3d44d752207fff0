"""The pure money rules of SPEC §12 with values worked out by hand, and their invariants with hypothesis."""

import datetime as dt
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from jicai.funds import rules
from jicai.policy.parameters import BY_NAME

RULE = BY_NAME["prepayment_tranches"].default
GRADES = BY_NAME["assessment_grades"].default


# ---- payment standard ---------------------------------------------------------------------------


def test_standard_of_a_half_strength_product_is_half_the_reference_standard():
    # Main winner: a 40 mg pack at 0.2400 with factor 2 → 0.12 per 20 mg reference unit; a 10 mg product
    # (factor 0.5) gets 0.06.
    per_unit = rules.reference_standard(D("0.2400"), D("2"))
    assert per_unit == D("0.12")
    assert rules.product_standard(per_unit, D("0.5")) == D("0.0600")


def test_standard_rounds_once_half_up_to_four_decimals():
    # 0.1000 / 3 × 1.5 = 0.05 exactly when not rounded in between (0.0333 × 1.5 would give 0.0500 by luck;
    # 0.1001/3 × 1.5 = 0.05005 → 0.0501 half up).
    assert rules.product_standard(rules.reference_standard(D("0.1001"), D("3")), D("1.5")) == D("0.0501")


def test_glide_path_year_two_of_three():
    # p₀ = 1.5000, S = 0.1200: step (1.5 − 0.12)/3 = 0.46 a year.
    assert rules.glide_standard(D("1.5000"), D("0.1200"), 1, 3) == D("1.0400")
    assert rules.glide_standard(D("1.5000"), D("0.1200"), 2, 3) == D("0.5800")
    assert rules.glide_standard(D("1.5000"), D("0.1200"), 3, 3) == D("0.1200")
    # No glide years: the winning standard at once.
    assert rules.glide_standard(D("1.5000"), D("0.1200"), 1, 0) == D("0.1200")


def test_only_a_product_priced_above_the_multiple_glides():
    assert rules.glides(D("0.2401"), D("0.1200"), D("2"), 3)
    assert not rules.glides(D("0.2400"), D("0.1200"), D("2"), 3)  # exactly 2 × S is not "above"
    assert not rules.glides(D("0.5000"), D("0.1200"), D("2"), 0)
    assert not rules.glides(None, D("0.1200"), D("2"), 3)


@given(
    p0=st.decimals(min_value=D("0.0001"), max_value=D("1000"), places=4),
    s=st.decimals(min_value=D("0.0001"), max_value=D("1000"), places=4),
    n=st.integers(min_value=1, max_value=5),
)
def test_glide_steps_down_between_pre_vbp_price_and_standard(p0, s, n):
    steps = [rules.glide_standard(p0, s, k, n) for k in range(1, n + 1)]
    assert steps == sorted(steps, reverse=True)
    assert steps[-1] == s
    assert all(min(p0, s) <= x <= max(p0, s) for x in steps)


# ---- settlement quote -----------------------------------------------------------------------------


def quote(p, qty, s=D(0), non_winning=False, standard=D("0.1200")):
    return rules.settlement_quote(
        unit_price=D(p),
        qty=qty,
        standard=standard,
        fund_ratio=D("0.70"),
        selfpay_ratio=D(s),
        non_winning=non_winning,
        nonwinning_increase=D("0.10"),
    )


def test_quote_below_the_standard():
    q = quote("0.1000", 100)
    assert (q.total, q.eligible, q.above_standard, q.fund, q.patient) == (
        D("10.00"),
        D("10.00"),
        D("0.00"),
        D("7.00"),
        D("3.00"),
    )


def test_quote_at_the_standard():
    q = quote("0.1200", 100)
    assert (q.total, q.eligible, q.fund, q.patient) == (D("12.00"), D("12.00"), D("8.40"), D("3.60"))


def test_quote_above_the_standard_the_patient_pays_the_difference():
    q = quote("0.1500", 100)
    assert (q.total, q.eligible, q.above_standard, q.fund, q.patient) == (
        D("15.00"),
        D("12.00"),
        D("3.00"),
        D("8.40"),
        D("6.60"),
    )
    assert q.selfpay_ratio == D(0)


def test_non_winning_above_the_standard_adds_ten_points_of_self_pay():
    q = quote("0.1500", 100, s=D("0.05"), non_winning=True)
    # s = 0.05 + 0.10 = 0.15; fund = 12.00 × 0.85 × 0.70 = 7.14.
    assert q.selfpay_ratio == D("0.15")
    assert (q.fund, q.patient) == (D("7.14"), D("7.86"))
    # At or below the standard the non-winning increase does not apply.
    assert quote("0.1200", 100, s=D("0.05"), non_winning=True).selfpay_ratio == D("0.05")


def test_quote_rounds_half_up_to_the_cent():
    # 5 × 0.1230 = 0.615 → 0.62; fund 0.615 × 0.7 = 0.4305 → 0.43; patient 0.19.
    q = quote("0.1230", 5, standard=D("1.0000"))
    assert (q.total, q.fund, q.patient) == (D("0.62"), D("0.43"), D("0.19"))


@given(
    p=st.decimals(min_value=D(0), max_value=D("500"), places=4),
    standard=st.decimals(min_value=D(0), max_value=D("500"), places=4),
    qty=st.integers(min_value=1, max_value=100_000),
    s=st.decimals(min_value=D(0), max_value=D(1), places=2),
    non_winning=st.booleans(),
)
def test_fund_and_patient_add_up_to_the_total(p, standard, qty, s, non_winning):
    q = quote(p, qty, s=s, non_winning=non_winning, standard=standard)
    assert q.fund + q.patient == q.total
    assert D(0) <= q.fund <= q.eligible <= q.total
    assert q.patient >= q.above_standard
    assert q.selfpay_ratio <= 1


# ---- prepayment ----------------------------------------------------------------------------------


def test_tranche_amounts():
    assert rules.first_tranche(D("100000.00"), RULE) == D("30000.00")
    assert rules.second_tranche(D("100000.00"), D("30000.00"), RULE) == D("60000.00")
    # 12 345.67 × 0.30 = 3 703.701 → 3 703.70; × 0.90 = 11 111.103 → 11 111.10; − T1 = 7 407.40.
    first = rules.first_tranche(D("12345.67"), RULE)
    assert first == D("3703.70")
    assert rules.second_tranche(D("12345.67"), first, RULE) == D("7407.40")


def test_half_year_is_the_first_day_reaching_half():
    # 2024-03-01 … 2025-02-28 is 365 days; 183/365 ≥ 0.5 > 182/365 → day 183 = 2024-08-30.
    assert rules.half_year_date(dt.date(2024, 3, 1), dt.date(2025, 2, 28), D("0.50")) == dt.date(2024, 8, 30)
    # A 366-day year (2023-03-01 … 2024-02-29): 183/366 is exactly half → 2023-08-30.
    assert rules.half_year_date(dt.date(2023, 3, 1), dt.date(2024, 2, 29), D("0.50")) == dt.date(2023, 8, 30)


def test_top_up_after_the_agreed_volume_is_complete():
    assert rules.topup_amount(D("110000.00"), D("100000.00"), RULE, D(0)) == D("9000.00")
    assert rules.topup_amount(D("112000.00"), D("100000.00"), RULE, D("9000.00")) == D("1800.00")
    assert rules.topup_amount(D("95000.00"), D("100000.00"), RULE, D(0)) == D(0)


# ---- assessment ----------------------------------------------------------------------------------


def test_item_completion_and_share_mode():
    assert rules.item_completion(600, 1000) == D("0.6")
    assert rules.item_completion(1200, 1000) == D(1)
    # share: W 600, N 400 → 0.6 of a 0.8 target = 0.75.
    assert rules.share_completion(600, 400, D("0.8")) == D("0.75")
    assert rules.share_completion(900, 100, D("0.8")) == D(1)


def test_score_weights_completion_by_agreed_amount():
    # (1 000 × 1 + 3 000 × 0.5) / 4 000 = 62.50.
    assert rules.assessment_score([(D("1000.00"), D(1)), (D("3000.00"), D("0.5"))]) == D("62.50")


def test_grades_at_their_boundaries():
    def grade(score):
        g = rules.grade_for(D(score), GRADES)
        return g.grade, g.retention

    assert grade("80.00") == ("A", D("0.50"))
    assert grade("79.99") == ("B", D("0.40"))
    assert grade("70.00") == ("B", D("0.40"))
    assert grade("69.99") == ("C", D("0.30"))
    assert grade("60.00") == ("C", D("0.30"))
    assert grade("59.99") == ("D", D("0"))
    assert grade("0.00") == ("D", D("0"))


def test_saving_base_and_retained_saving():
    # Item 1: 1 000 × 0.50 − min(1 200, 1 000) × 0.12 = 380.00; item 2: 500 − 600 × 0.12 = 428.00.
    first = rules.item_saving(1000, D("0.5000"), 1200, D("0.1200"))
    second = rules.item_saving(1000, D("0.5000"), 600, D("0.1200"))
    assert (first, second) == (D("380.00"), D("428.00"))
    base = rules.saving_base([first, second], D("0.70"))
    assert base == D("565.60")
    assert rules.retained_saving(base, D("0.50")) == D("282.80")
    # A winning price above the reference price saves nothing (never negative).
    assert rules.item_saving(100, D("0.1000"), 100, D("0.2000")) == D("0.00")
