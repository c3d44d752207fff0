"""Pure policy rules (SPEC §3–§7): functions of plain values, no database, so they are tested exactly
and with hypothesis. Parameters come from `jicai.policy.resolve.effective_policy`, never literals."""

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from jicai.core.money import money, round_half_up, to_decimal
from jicai.core.money import price as quantise_price
from jicai.policy.parameters import PrepaymentRule

Number = Decimal | int | Fraction

# ---- agreed volumes (§5) -----------------------------------------------------------------------------


def agreed_ratio(winner_count: int, table: dict[int, Decimal]) -> Decimal:
    """The ratio for an item with `winner_count` distinct winning companies; the table's largest key
    means "that many or more" (4+ → 4, 5, 6 … winners)."""
    if isinstance(winner_count, bool) or not isinstance(winner_count, int) or winner_count < 1:
        raise ValueError(f"中选企业数应为正整数，实际为 {winner_count!r}")
    if not table:
        raise ValueError("约定采购量比例表为空")
    key = min(winner_count, max(table))
    if key not in table:
        raise ValueError(f"约定采购量比例表缺少 {key} 家的比例")
    return table[key]


def agreed_qty(reported: int, ratio: Decimal) -> int:
    """round_half_up(reported × ratio): 101 × 0.50 = 50.5 → 51."""
    if isinstance(reported, bool) or not isinstance(reported, int) or reported < 0:
        raise ValueError(f"报量应为非负整数，实际为 {reported!r}")
    return round_half_up(Decimal(reported) * to_decimal(ratio))


def needs_explanation(reported: Number, history: Number, threshold: Decimal) -> bool:
    """reported < history × (1 − threshold): exactly history × (1 − t) needs none; t = 0 flags any drop."""
    return _exact(reported) < _exact(history) * (1 - _exact(threshold))


def _exact(value: Number) -> Fraction:
    # Fractions compare Decimals, ints and Fractions exactly with no rounding context involved.
    return value if isinstance(value, Fraction) else Fraction(to_decimal(value))


# ---- monitoring (§7) -----------------------------------------------------------------------------


def time_progress(start: dt.date, end: dt.date, as_of: dt.date) -> Decimal:
    """(min(D, E) − S + 1) / (E − S + 1), calendar days with both ends inclusive.

    A Decimal (28 significant digits) so callers can multiply it by Decimal policy values; as_of before
    the start is an error because nothing is computed for a year that has not begun (SPEC §7).
    """
    if end < start:
        raise ValueError("结束日期早于开始日期")
    if as_of < start:
        raise ValueError("日期早于协议年度开始")
    elapsed = (min(as_of, end) - start).days + 1
    return Decimal(elapsed) / Decimal((end - start).days + 1)


@dataclass(frozen=True)
class ForecastWindow:
    """The dates of SPEC §13's year-end forecast for an agreement year [S, E] as of D."""

    start: dt.date  # first day of the run-rate window: max(S, D − window + 1)
    days: int  # the window's length: the last `window` days, or D − S + 1 when that is shorter
    remaining: int  # E − D: the days the run rate is projected over (0 on and after E)
    ready: bool  # D ≥ S + window: FORECAST_SHORTFALL may be raised


def forecast_window(start: dt.date, end: dt.date, as_of: dt.date, window_days: int) -> ForecastWindow:
    """SPEC §13: run rate = purchased(W) over the last `forecast_window_days` (or since S when shorter) /
    those days, both ends inclusive like every window of §7 (90 days ending on D = [D − 89, D]). After E
    (the last agreement year of a finished cycle) nothing is left to project: remaining = 0."""
    if end < start:
        raise ValueError("结束日期早于开始日期")
    if as_of < start:
        raise ValueError("日期早于协议年度开始")
    if window_days < 1:
        raise ValueError("预测窗口至少 1 天")
    first = max(start, as_of - dt.timedelta(days=window_days - 1))
    return ForecastWindow(
        start=first,
        days=(as_of - first).days + 1,
        remaining=max(0, (end - as_of).days),
        ready=as_of >= start + dt.timedelta(days=window_days),
    )


def projected_purchased(purchased: Number, window_purchased: Number, window: ForecastWindow) -> Fraction:
    """Projected purchased(W) at E = purchased(W, S, D) + window purchases / window days × (E − D), exact
    (a Fraction: 100 over 90 days projects 100/90 a day; callers round for display)."""
    return _exact(purchased) + _exact(window_purchased) * window.remaining / window.days


def forecast_shortfall(
    *, agreed: int, purchased: Number, window_purchased: Number, window: ForecastWindow, tolerance: Number
) -> bool:
    """FORECAST_SHORTFALL: agreed > 0, D ≥ S + window and projected < agreed × progress_tolerance, compared
    without division (purchased × days + window purchases × remaining < agreed × tolerance × days), so a
    projection exactly at the bar never fires because of rounding."""
    if agreed <= 0 or not window.ready:
        return False
    left = _exact(purchased) * window.days + _exact(window_purchased) * window.remaining
    return left < _exact(agreed) * _exact(tolerance) * window.days


def rate_tier(rate: Number | None, tiers) -> int | None:
    """0 (no problem) / 1 / 2 / 3 for rate < tiers[0] / < tiers[1] / < tiers[2]; None (no data) → None."""
    if rate is None:
        return None
    value = _exact(rate)
    tier = 0
    for level, bound in enumerate(tiers, start=1):
        if value < _exact(bound):
            tier = level
    return tier


# ---- payment (§6) ------------------------------------------------------------------------------

AFTER_RECEIPT = "after_receipt"
END_OF_NEXT_MONTH = "end_of_next_month"


def payment_due(received_on: dt.date, days: int, rule: str) -> dt.date:
    """after_receipt: received_on + days; end_of_next_month: the last day of the month after receipt
    (days does not apply), so 2025-12-15 → 2026-01-31."""
    if rule == AFTER_RECEIPT:
        if days < 0:
            raise ValueError("回款天数不能为负")
        return received_on + dt.timedelta(days=days)
    if rule == END_OF_NEXT_MONTH:
        year, month = (
            (received_on.year + 1, 1)
            if received_on.month == 12
            else (received_on.year, received_on.month + 1)
        )
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    raise ValueError(f"未知的回款规则：{rule}")


@dataclass(frozen=True)
class PrepaymentTranches:
    """Minimum prepayments (yuan, 2 decimals): T1 when the agreement takes effect, T2 at its trigger."""

    first: Decimal
    second: Decimal

    @property
    def total(self) -> Decimal:
        return self.first + self.second


def prepayment_tranches(budget: Decimal, rule: PrepaymentRule) -> PrepaymentTranches:
    """T1 = budget × first_share; T2 = budget × second_total − T1 (so the total reaches second_total).

    Budget 10 000.00 with the Hubei defaults → T1 3 000.00, T2 6 000.00.
    """
    budget = money(budget)
    if budget < 0:
        raise ValueError("预算不能为负")
    first = money(budget * rule.first_share)
    total = money(budget * rule.second_total)
    return PrepaymentTranches(first=first, second=max(total - first, Decimal("0.00")))


def prepayment_required(
    budget: Decimal, rule: PrepaymentRule, *, in_effect: bool, elapsed: Number, completion: Number | None
) -> Decimal:
    """Cumulative minimum prepaid by now: 0 before the agreement takes effect, T1 once it does, T1 + T2
    once elapsed ≥ second_elapsed (time progress) or completion ≥ second_completion."""
    if not in_effect:
        return Decimal("0.00")
    tranches = prepayment_tranches(budget, rule)
    second_due = _exact(elapsed) >= _exact(rule.second_elapsed) or (
        completion is not None and _exact(completion) >= _exact(rule.second_completion)
    )
    return tranches.total if second_due else tranches.first


# ---- listing prices (§4) ---------------------------------------------------------------------------

SUPPLY_ROLES = ("main", "backup", "backup2")
NONSUPPLY_ROLE = "nonsupply"

LISTING_STATUS_LABELS = {
    "at_winning_price": "按中选价挂网",
    "price_mismatch": "挂网价与中选价不一致",
    "within_cap": "非供应省份挂网（未超限价）",
    "above_cap": "非供应省份挂网价超限",
    "suspended": "暂停挂网（中选企业未列入供应清单的规格）",
    "non_winning": "非中选产品",
}


@dataclass(frozen=True)
class ListingVerdict:
    status: str
    cap: Decimal | None  # for display: 4 decimals like every price
    # The cap as SPEC §4 defines it, unrounded (1.5 × 0.1235 = 0.18525): what a price is compared with.
    exact_cap: Decimal | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return LISTING_STATUS_LABELS[self.status]

    @property
    def is_problem(self) -> bool:
        return self.status in ("price_mismatch", "above_cap")


def listing_cap_exact(
    own_winning_price: Decimal, highest_winning_price: Decimal, multiple: Decimal
) -> Decimal:
    """Yantai 一: max(multiple × own winning price, highest winning price of the item), unrounded. A price
    is above the cap when it exceeds this number: with own 0.1235 and multiple 1.5 the cap is 0.18525, so
    0.1853 is above it although the cap shows as 0.1853 at 4 decimals."""
    return max(to_decimal(multiple) * to_decimal(own_winning_price), to_decimal(highest_winning_price))


def listing_cap(own_winning_price: Decimal, highest_winning_price: Decimal, multiple: Decimal) -> Decimal:
    """The cap of `listing_cap_exact` at 4 decimals (half up), for display."""
    return quantise_price(listing_cap_exact(own_winning_price, highest_winning_price, multiple))


def listing_verdict(
    *,
    price: Decimal,
    role: str | None,
    own_winning_price: Decimal | None,
    highest_winning_price: Decimal | None,
    multiple: Decimal,
    other_spec_of_winner: bool,
) -> ListingVerdict:
    """Where a listing price stands under SPEC §4.

    role is the product's winner role in this province (None: no winners row here); own_winning_price
    its winning price anywhere (None: never a winner). A supplier here must list at its winning price; a
    winner that does not supply here is capped by `listing_cap`; a non-listed spec of a winner is
    suspended; anything else is simply non-winning.
    """
    listed = to_decimal(price)
    if role in SUPPLY_ROLES:
        if own_winning_price is None:
            raise ValueError(f"角色为 {role} 的中选产品缺少中选价")
        cap = to_decimal(own_winning_price)
        return ListingVerdict("at_winning_price" if listed == cap else "price_mismatch", cap, cap)
    if role == NONSUPPLY_ROLE and own_winning_price is None:
        raise ValueError("中选非供应产品缺少中选价")
    if role == NONSUPPLY_ROLE or (role is None and own_winning_price is not None):
        highest = own_winning_price if highest_winning_price is None else highest_winning_price
        exact = listing_cap_exact(own_winning_price, highest, multiple)
        return ListingVerdict(
            "within_cap" if listed <= exact else "above_cap",
            listing_cap(own_winning_price, highest, multiple),
            exact,
        )
    if role is not None:
        raise ValueError(f"未知的中选角色：{role}")
    return ListingVerdict("suspended" if other_spec_of_winner else "non_winning", None)
