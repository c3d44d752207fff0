"""Money, price and quantity helpers: Decimal only, ROUND_HALF_UP (SPEC §2)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
PRICE_QUANTUM = Decimal("0.0001")
# The largest quantity one line may carry, in minimum units (a billion tablets is far beyond any order or
# report). Bounding it keeps every per-line quantity within a 32-bit integer, which the monitoring engine
# relies on to sum in 64-bit integers without PostgreSQL's arbitrary-precision state (facts._sum_if).
QTY_MAX = 1_000_000_000
# Upper bounds for a unit price and an amount in yuan, far above any real one and well inside the integer
# columns that store them (core.fields); `1e300` must be refused, not overflow the quantize step (a 500 before).
PRICE_MAX = Decimal("999999999.9999")
MONEY_MAX = Decimal("9999999999999.99")


def to_decimal(value: object) -> Decimal:
    """Exact Decimal from str/int/Decimal; floats go through repr so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"不是有效数字：{value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"不是有效数字：{value!r}")
    return result


def money(value: object) -> Decimal:
    """Amount in yuan, 2 decimals, half up."""
    number = to_decimal(value)
    if abs(number) > MONEY_MAX:
        raise ValueError(f"金额不能超过 {MONEY_MAX}")
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def price(value: object) -> Decimal:
    """Unit price in yuan per minimum unit, 4 decimals, half up."""
    number = to_decimal(value)
    if abs(number) > PRICE_MAX:
        raise ValueError(f"单价不能超过 {PRICE_MAX}")
    return number.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def round_half_up(value: object) -> int:
    """Nearest integer, .5 away from zero (2.5 → 3, −2.5 → −3)."""
    return int(to_decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def amount(qty: int, unit_price: object) -> Decimal:
    """qty × price rounded to the cent."""
    return money(Decimal(qty) * to_decimal(unit_price))


def parse_qty(value: object, *, allow_zero: bool = True) -> int:
    """Integer quantity in the minimum unit; refuses negatives, fractions and text."""
    if isinstance(value, bool):
        raise ValueError("数量必须是整数")
    if isinstance(value, int):
        number = Decimal(value)
    else:
        number = to_decimal(value)
    if number != number.to_integral_value():
        raise ValueError("数量必须是整数")
    if number < 0 or (number == 0 and not allow_zero):
        raise ValueError("数量不能为负数" if number < 0 else "数量必须大于 0")
    if number > QTY_MAX:
        raise ValueError(f"数量不能超过 {QTY_MAX}")
    return int(number)
