"""Money helpers: Decimal only, ROUND_HALF_UP (SPEC §2)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jicai.core.money import QTY_MAX, amount, money, parse_qty, price, round_half_up, to_decimal


@pytest.mark.parametrize(
    ("value", "expected"), [("2.5", 3), ("3.5", 4), ("2.4999", 2), ("-2.5", -3), (0, 0), ("7", 7)]
)
def test_round_half_up_rounds_half_away_from_zero(value, expected):
    assert round_half_up(value) == expected


def test_money_rounds_half_up_to_the_cent():
    assert money("0.125") == Decimal("0.13")
    assert money(0.125) == Decimal("0.13")
    assert money("0.124") == Decimal("0.12")
    assert money("2.675") == Decimal("2.68")  # binary float 2.675 would round down; Decimal text does not
    assert str(money(3)) == "3.00"


def test_price_keeps_four_decimals_half_up():
    assert price("0.12345") == Decimal("0.1235")
    assert price("0.12344") == Decimal("0.1234")
    assert str(price("1.5")) == "1.5000"


def test_amount_is_qty_times_price_rounded_to_the_cent():
    assert amount(3, "0.1235") == Decimal("0.37")  # 0.3705 → 0.37
    assert amount(7, "0.0715") == Decimal("0.50")  # 0.5005 → 0.50
    assert amount(1001, "0.0005") == Decimal("0.50")  # 0.5005 → 0.50


def test_to_decimal_accepts_thousand_separators_and_rejects_junk():
    assert to_decimal("1,234.50") == Decimal("1234.50")
    assert to_decimal(0.1) == Decimal("0.1")
    for junk in ("abc", "", "NaN", "Infinity", None):
        with pytest.raises(ValueError):
            to_decimal(junk)


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), (5, 5), ("12", 12), (" 7 ", 7), ("3.0", 3), (Decimal("4"), 4)]
)
def test_parse_qty_accepts_whole_numbers(value, expected):
    assert parse_qty(value) == expected


@pytest.mark.parametrize("value", [-1, "-3", "1.5", 2.5, "abc", "", True, False, None, "1/2"])
def test_parse_qty_rejects_negatives_fractions_text_and_booleans(value):
    with pytest.raises(ValueError):
        parse_qty(value)


def test_parse_qty_can_refuse_zero():
    with pytest.raises(ValueError, match="数量必须大于 0"):
        parse_qty(0, allow_zero=False)


@given(st.decimals(min_value=-(10**6), max_value=10**6, places=3))
def test_money_is_within_half_a_cent_and_has_two_places(value):
    rounded = money(value)
    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - value) <= Decimal("0.005")


def test_parse_qty_bounds_a_line_at_a_billion_units():
    assert parse_qty(QTY_MAX) == 1_000_000_000
    assert parse_qty("1000000000") == QTY_MAX
    with pytest.raises(ValueError, match="数量不能超过 1000000000"):
        parse_qty(QTY_MAX + 1)
