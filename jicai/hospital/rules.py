"""Pure rules of SPEC §11 (no database): the monthly plan, plan to date and the largest-remainder split
used for department and doctor targets. Plain values in, plain values out, so hypothesis can test them."""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction


def add_months(day: dt.date, months: int) -> dt.date:
    """day + n calendar months; a day that does not exist in the target month takes its last day."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def plan_months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Month k of the agreement year is [S + (k−1) months, S + k months − 1 day], cut at E."""
    months = []
    k = 0
    while True:
        first = add_months(start, k)
        if first > end:
            return months
        last = min(add_months(start, k + 1) - dt.timedelta(days=1), end)
        months.append((first, last))
        k += 1


def monthly_plan(agreed: int, months_to_complete: int, month_count: int = 12) -> list[int]:
    """Months 1..m get A // m, the first A mod m of them one more; months after m get 0."""
    base, extra = divmod(agreed, months_to_complete)
    return [(base + (1 if k < extra else 0)) if k < months_to_complete else 0 for k in range(month_count)]


def plan_to_date(agreed: int, start: dt.date, months_to_complete: int, as_of: dt.date) -> Decimal:
    """plan(D) = A × min(1, (D − S + 1) / (P − S + 1)), P the last day of month m; 0 before S."""
    if as_of < start:
        return Decimal(0)
    last = add_months(start, months_to_complete) - dt.timedelta(days=1)
    share = min(Fraction(1), Fraction((as_of - start).days + 1, (last - start).days + 1))
    value = Fraction(agreed) * share
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"))


def largest_remainder(total: int, weights: Mapping[str, Decimal | int | Fraction]) -> dict[str, int]:
    """Split `total` in proportion to weights: floors first, then one unit each to the largest
    remainders, ties by key (department or doctor code), so the parts sum exactly to total.
    Zero total weight → no split (empty dict); keys with zero weight get 0."""
    weights = {k: Fraction(v) for k, v in weights.items()}
    weight_sum = sum(weights.values(), Fraction(0))
    if weight_sum <= 0:
        return {}
    exact = {k: Fraction(total) * w / weight_sum for k, w in weights.items()}
    parts = {k: int(q.numerator // q.denominator) for k, q in exact.items()}
    left = total - sum(parts.values())
    order = sorted(exact, key=lambda k: (-(exact[k] - parts[k]), k))
    for k in order[:left]:
        parts[k] += 1
    return parts


def department_split(total: int, use: Mapping[str, Decimal | int], min_share: Decimal) -> dict[str, int]:
    """Departments by last year's use; those whose share is below min_share get 0 and the rest is
    re-split over the others (SPEC §11). No use at all → {} (the pharmacy enters targets by hand)."""
    use = {k: Fraction(v) for k, v in use.items() if v > 0}
    use_sum = sum(use.values(), Fraction(0))
    if use_sum <= 0:
        return {}
    min_share = Fraction(min_share)
    kept = {k: v for k, v in use.items() if v / use_sum >= min_share}
    parts = largest_remainder(total, kept)
    return {k: parts.get(k, 0) for k in sorted(use)}


def doctor_split(total: int, use: Mapping[str, Decimal | int], active: list[str]) -> dict[str, int]:
    """Doctor targets over the department's active doctors by last year's use, or an equal split
    (ties by code) when none of them has use."""
    if not active:
        return {}
    weights = {code: Fraction(use.get(code, 0)) for code in active}
    if sum(weights.values(), Fraction(0)) <= 0:
        weights = {code: Fraction(1) for code in active}
    return largest_remainder(total, weights)
