"""Model fields for money and prices: Decimal in Python, a scaled integer in the database.

SQLite has no decimal type: a Django DecimalField is stored there with NUMERIC affinity, i.e. as a binary
float, so 0.01 + 38.93 compared in SQL with 38.94 came out larger and an exact last payment was refused.
Storing integer cents (amounts) and integer 1/10,000 yuan (prices) makes every sum and comparison exact and
identical on SQLite and PostgreSQL; Python code keeps reading and writing `Decimal` (SPEC §2, §9).

In SQL the column holds the scaled integer: raw SQL that mixes a money column with a quantity or another
scale must convert (`core.money.CENTS_PER_YUAN`, `PRICE_UNITS_PER_YUAN`); ORM expressions that combine a
column with a Python Decimal must wrap the Decimal in `money_value()`/`price_value()` (or
`Value(x, output_field=field)`) so it is scaled too.
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core import checks, exceptions
from django.db import models

from jicai.core.money import to_decimal

# The largest scaled integer stored: amounts up to 10¹⁵ yuan at 2 places fit a signed 64-bit integer with room
# for sums of millions of rows.
MAX_DIGITS = 17
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(7)}  # the `places` a field may have


class ScaledDecimalField(models.BigIntegerField):
    """A Decimal with a fixed number of decimal `places`, stored as value × 10^places in a BIGINT."""

    description = "Decimal stored as a scaled integer"

    def __init__(self, *args, places: int = 2, **kwargs):
        self.places = places
        super().__init__(*args, **kwargs)

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if not 0 <= self.places <= 6:
            errors.append(checks.Error("places must be between 0 and 6", obj=self, id="jicai.E101"))
        return errors

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["places"] = self.places
        return name, path, args, kwargs

    @property
    def quantum(self) -> Decimal:
        # Read for every value loaded: kept per `places` rather than rebuilt (a tenth of a province's
        # standards list was spent here).
        return _QUANTA[self.places]

    def scaled(self, value: Decimal) -> int:
        """The integer stored for `value`; refuses a value with more decimals than the field keeps (rounding
        belongs to core.money, where the rule is ROUND_HALF_UP) or too large to store."""
        number = value.scaleb(self.places)
        if number != number.to_integral_value():
            raise exceptions.ValidationError(
                f"{value} 的小数位超过 {self.places} 位", code="invalid", params={"value": value}
            )
        if len(str(abs(int(number)))) > MAX_DIGITS:
            raise exceptions.ValidationError(
                f"{value} 超出可存储范围", code="invalid", params={"value": value}
            )
        return int(number)

    def unscaled(self, number: int) -> Decimal:
        return Decimal(int(number)).scaleb(-self.places).quantize(self.quantum)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        # Sums and averages of the column come back as int, Decimal or (SQLite AVG) float of scaled units.
        if isinstance(value, float):
            value = Decimal(repr(value))
        return Decimal(value).scaleb(-self.places).quantize(self.quantum)

    def to_python(self, value):
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return to_decimal(value)
        except ValueError:
            raise exceptions.ValidationError(
                "“%(value)s” 不是有效数字", code="invalid", params={"value": value}
            ) from None

    def get_prep_value(self, value):
        if value is None:
            return None
        if isinstance(value, bool):
            raise exceptions.ValidationError("金额不能是布尔值", code="invalid")
        if isinstance(value, int):
            value = Decimal(value)
        elif not isinstance(value, Decimal):
            try:
                value = to_decimal(value)
            except ValueError:
                raise exceptions.ValidationError(
                    "“%(value)s” 不是有效数字", code="invalid", params={"value": value}
                ) from None
        try:
            return self.scaled(value)
        except InvalidOperation:
            raise exceptions.ValidationError("金额无效", code="invalid") from None

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        return value

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return "" if value is None else f"{value:f}"

    def formfield(self, **kwargs):
        defaults = {
            "form_class": forms.DecimalField,
            "decimal_places": self.places,
            "max_digits": MAX_DIGITS,
        }
        defaults.update(kwargs)
        # IntegerField.formfield would add integer min/max validators of the scaled range; skip to Field's.
        return models.Field.formfield(self, **defaults)


class MoneyField(ScaledDecimalField):
    """An amount in yuan with 2 decimals, stored as integer cents."""

    def __init__(self, *args, **kwargs):
        kwargs["places"] = 2
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        del kwargs["places"]
        return name, path, args, kwargs


class PriceField(ScaledDecimalField):
    """A unit price in yuan per minimum unit with 4 decimals, stored as integer 1/10,000 yuan."""

    def __init__(self, *args, **kwargs):
        kwargs["places"] = 4
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        del kwargs["places"]
        return name, path, args, kwargs


def money_value(amount) -> models.Value:
    """A Python amount as an SQL value in cents, for F() arithmetic with MoneyField columns."""
    return models.Value(amount, output_field=MoneyField())


def price_value(price) -> models.Value:
    return models.Value(price, output_field=PriceField())
