"""Strict field types shared by every router's schemas.

Pydantic's lax mode turns `false` into 0 and `3.0` into 3, so `agreed_qty: false` silently set a volume to
zero. These types refuse booleans and floats where a whole number is meant, and bound ids, quantities and
prices to what the database columns hold, so an absurd value is a 422 instead of an overflow (500)."""

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field

from jicai.core.money import MONEY_MAX, PRICE_MAX, QTY_MAX

# Ids are BIGINT (DEFAULT_AUTO_FIELD): beyond 2^63 − 1 SQLite raises OverflowError and PostgreSQL DataError.
ID_MAX = 2**63 - 1


def _whole_number(value: object) -> object:
    # bool is a subclass of int and floats would be truncated: both are refused before pydantic coerces.
    # Strings of digits stay allowed because query and path parameters always arrive as text.
    if isinstance(value, bool | float):
        raise ValueError("必须是整数")
    return value


def _number(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("必须是数字")
    return value


StrictInt = Annotated[int, BeforeValidator(_whole_number)]
Id = Annotated[int, BeforeValidator(_whole_number), Field(ge=0, le=ID_MAX)]
Qty = Annotated[int, BeforeValidator(_whole_number), Field(ge=0, le=QTY_MAX)]
PositiveQty = Annotated[int, BeforeValidator(_whole_number), Field(gt=0, le=QTY_MAX)]
Price = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, le=PRICE_MAX)]
Money = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, le=MONEY_MAX)]
