"""Pure money rules of SPEC §12: payment standard and glide path, settlement quote, prepayment tranches,
assessment score → grade and saving base. Plain values in, Decimals out; no database, so they are tested
with hand-worked values and hypothesis. Amounts are yuan to the cent, prices yuan to 1/10,000, ROUND_HALF_UP."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from jicai.core.money import money, price
from jicai.policy.parameters import Grade, PrepaymentRule

ZERO = Decimal(0)
ONE = Decimal(1)

# ---- payment standard (医保支付标准) -----------------------------------------------------------


def reference_standard(main_winning_price: Decimal, main_factor: Decimal) -> Decimal:
    """Sᵣ: the standard per reference unit, from the main winner's price and its item_factor. Kept unrounded
    so a product's standard Sᵣ × factor is rounded once."""
    return Decimal(main_winning_price) / Decimal(main_factor)


def product_standard(standard_per_reference_unit: Decimal, factor: Decimal) -> Decimal:
    """S = Sᵣ × item_factor, rounded to the price quantum (4 decimals)."""
    return price(standard_per_reference_unit * Decimal(factor))


def glides(product_price: Decimal | None, standard: Decimal, multiple: Decimal, glide_years: int) -> bool:
    """A product priced above `multiple` × S steps down over the glide years instead of switching at once."""
    return glide_years > 0 and product_price is not None and product_price > multiple * standard


def glide_standard(pre_vbp_price: Decimal, standard: Decimal, year: int, glide_years: int) -> Decimal:
    """Hubei (四): in year k of the cycle the standard is p₀ − (p₀ − S) × k/n; from year n on it is S. A
    pre-VBP price at or below S gives S (nothing to glide from)."""
    if glide_years <= 0 or year >= glide_years or pre_vbp_price <= standard:
        return standard
    k = max(year, 0)
    return price(pre_vbp_price - (pre_vbp_price - standard) * Decimal(k) / Decimal(glide_years))


@dataclass(frozen=True)
class Quote:
    """Settlement of one usage line: what the fund pays and what the patient pays."""

    standard: Decimal
    total: Decimal
    eligible: Decimal
    above_standard: Decimal
    selfpay_ratio: Decimal
    fund_ratio: Decimal
    fund: Decimal
    patient: Decimal


def settlement_quote(
    *,
    unit_price: Decimal,
    qty: int,
    standard: Decimal,
    fund_ratio: Decimal,
    selfpay_ratio: Decimal = ZERO,
    non_winning: bool = False,
    nonwinning_increase: Decimal = ZERO,
) -> Quote:
    """SPEC §12: eligible = min(p, S) × qty; the part above S is the patient's; a non-winning product priced
    above S raises the self-pay-first ratio s by `nonwinning_increase` (capped at 1); fund = eligible ×
    (1 − s) × r; patient = total − fund. Each amount is rounded to the cent once, so fund + patient = total."""
    unit_price, standard = Decimal(unit_price), Decimal(standard)
    s = Decimal(selfpay_ratio)
    if non_winning and unit_price > standard:
        s = min(ONE, s + Decimal(nonwinning_increase))
    total = money(unit_price * qty)
    eligible = money(min(unit_price, standard) * qty)
    fund = money(min(unit_price, standard) * qty * (ONE - s) * Decimal(fund_ratio))
    return Quote(
        standard=standard,
        total=total,
        eligible=eligible,
        above_standard=total - eligible,
        selfpay_ratio=s,
        fund_ratio=Decimal(fund_ratio),
        fund=fund,
        patient=total - fund,
    )


# ---- prepayment (医保基金预付) ------------------------------------------------------------------


def tranche_label(code: str) -> str:
    """A tranche's display name: "1" → 第1笔, "topup-2024-07" → 2024-07 月末追加."""
    if code.startswith("topup-"):
        return f"{code[6:]} 月末追加"
    return f"第{code}笔" if code else ""


def first_tranche(budget: Decimal, rule: PrepaymentRule) -> Decimal:
    """Tranche 1 = B × first_share, to the cent."""
    return money(Decimal(budget) * rule.first_share)


def second_tranche(budget: Decimal, first: Decimal, rule: PrepaymentRule) -> Decimal:
    """Tranche 2 brings the total to B × second_total: B × second_total − tranche 1 (never negative)."""
    return max(ZERO, money(Decimal(budget) * rule.second_total) - Decimal(first))


def half_year_date(start: dt.date, end: dt.date, elapsed: Decimal) -> dt.date:
    """First day D of [start, end] with (D − S + 1)/(E − S + 1) ≥ elapsed."""
    length = (end - start).days + 1
    # Smallest integer n with n/length ≥ elapsed, n ≥ 1: ceil(elapsed × length), exact in Decimal.
    needed = Decimal(length) * Decimal(elapsed)
    n = int(needed.to_integral_value(rounding="ROUND_CEILING"))
    return start + dt.timedelta(days=max(n, 1) - 1)


def completion_ratio(purchased_amount: Decimal, budget: Decimal) -> Decimal:
    """Institution completion for tranche 2: Σ purchased(W) at winning price / B (0 for an empty budget)."""
    if budget <= 0:
        return ZERO
    return Decimal(purchased_amount) / Decimal(budget)


def topup_amount(
    purchased_amount: Decimal, budget: Decimal, rule: PrepaymentRule, already: Decimal
) -> Decimal:
    """Month-end top-up after the agreed volume is complete: second_total × (purchased − B) − top-ups already
    triggered, when positive; otherwise 0."""
    due = money(rule.second_total * (Decimal(purchased_amount) - Decimal(budget))) - Decimal(already)
    return due if due > 0 else ZERO


# ---- assessment (集采执行考核) -------------------------------------------------------------------


def item_completion(purchased: int, agreed: int) -> Decimal:
    """min(1, purchased(W) / agreed); an item with nothing agreed counts as complete."""
    if agreed <= 0:
        return ONE
    return min(ONE, Decimal(purchased) / Decimal(agreed))


def share_completion(winning: int, non_winning: int, target_share: Decimal) -> Decimal:
    """`share` exemption (Yantai 四): min(1, (W / (W + N)) / target share). Nothing bought: 0."""
    if winning + non_winning <= 0 or target_share <= 0:
        return ZERO
    return min(ONE, Decimal(winning) / Decimal(winning + non_winning) / Decimal(target_share))


def assessment_score(items: list[tuple[Decimal, Decimal]]) -> Decimal:
    """100 × Σ(agreed amount × completion) / Σ agreed amount, over (agreed amount, completion) pairs; rounded to
    2 decimals. No assessed amount: 100 (nothing was asked of the institution)."""
    total = sum((Decimal(a) for a, _ in items), ZERO)
    if total <= 0:
        return Decimal("100.00")
    weighted = sum((Decimal(a) * Decimal(c) for a, c in items), ZERO)
    return money(Decimal(100) * weighted / total)


def grade_for(score: Decimal, grades: tuple[Grade, ...] | list[Grade]) -> Grade:
    """The highest grade whose min_score the score reaches (exactly 80.00 is A with the default grades)."""
    ordered = sorted(grades, key=lambda g: g.min_score, reverse=True)
    for grade in ordered:
        if score >= grade.min_score:
            return grade
    return ordered[-1]


def item_saving(agreed: int, reference_price: Decimal, purchased_w: int, winning_price: Decimal) -> Decimal:
    """max(0, agreed × reference price − min(purchased(W), agreed) × winning price), to the cent; purchases
    beyond the agreed volume are outside the saving."""
    saving = Decimal(agreed) * Decimal(reference_price) - Decimal(min(purchased_w, agreed)) * Decimal(
        winning_price
    )
    return money(max(ZERO, saving))


def saving_base(item_savings: list[Decimal], fund_ratio: Decimal) -> Decimal:
    """Σ item savings × fund_payment_ratio, to the cent."""
    return money(sum((Decimal(s) for s in item_savings), ZERO) * Decimal(fund_ratio))


def retained_saving(base: Decimal, retention: Decimal) -> Decimal:
    return money(Decimal(base) * Decimal(retention))
