"""The building blocks every import schema shares: columns, per-cell parsers that collect row errors,
bulk reference lookups (one query per table) and the compare-then-write upsert.

A schema runs in three steps on an `ImportContext`:
  parse(row)     – cell by cell, pure (no database): fills row.values, records row errors;
  resolve()      – bulk lookups of referenced tables for the whole file, reference errors;
  apply(write)   – compares with the database by natural key and (when write) bulk creates/updates.
"""

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models

from jicai.core import money
from jicai.core.errors import RowError

# Above this many keys a lookup loads the whole (narrow) column set instead of an IN list: SQLite
# refuses very long parameter lists and a single scan is still one query.
IN_LIST_LIMIT = 2000
BULK_BATCH = 2000

TRUE_WORDS = {"true", "是", "1", "yes", "y"}
FALSE_WORDS = {"false", "否", "0", "no", "n"}


class Unknown:
    """Stands for the id of a row that a dry run would create: compares unequal to every real id."""

    def __eq__(self, other):
        return False

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return "<new>"


@dataclass(frozen=True)
class Column:
    name: str
    label: str  # Chinese header, also accepted as an alias
    required: bool = True  # the header must contain it (values may still be optional per schema)
    aliases: tuple[str, ...] = ()


@dataclass
class Row:
    number: int
    raw: dict[str, str]
    values: dict = field(default_factory=dict)
    ok: bool = True


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportContext:
    """State of one import run, shared by the schema's steps."""

    def __init__(self, schema: "Schema", *, batch_code: str | None = None):
        self.schema = schema
        self.batch_code = (batch_code or "").strip() or None
        self.rows: list[Row] = []
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.extra: dict = {}
        self.code_cache: dict = {}

    def error(self, row: Row | int, column: str, reason: str) -> None:
        if isinstance(row, Row):
            row.ok = False
            number = row.number
        else:
            number = row
        self.errors.append(RowError(number, column, reason))

    def warn(self, row: Row | int, column: str, reason: str) -> None:
        number = row.number if isinstance(row, Row) else row
        self.warnings.append(RowError(number, column, reason))

    @property
    def good_rows(self) -> list[Row]:
        return [r for r in self.rows if r.ok]


# ---- cell parsers: return the value, or None after recording the error ----------------------------


def text(ctx: ImportContext, row: Row, column: str, *, max_length: int, required: bool = True) -> str | None:
    value = row.raw.get(column, "")
    if not value:
        if required:
            ctx.error(row, column, "不能为空")
            return None
        return ""
    if len(value) > max_length:
        ctx.error(row, column, f"长度不能超过 {max_length} 个字符")
        return None
    return value


def code(
    ctx: ImportContext, row: Row, column: str, check: Callable, *, required: bool = True, warn: bool = True
) -> str | None:
    """A validated code. `warn=False` for references: an odd-looking code is reported where it is defined,
    not on every row that points at it."""
    value = row.raw.get(column, "")
    if not value:
        if required:
            ctx.error(row, column, "不能为空")
        return None if required else ""
    # The same reference (a maker, a province) repeats on many rows: check each distinct value once.
    cache = ctx.code_cache.setdefault(check, {})
    result = cache.get(value)
    if result is None:
        result = cache[value] = check(value)
    if result.error:
        ctx.error(row, column, f"{result.error}：{value}")
        return None
    for warning in result.warnings if warn else ():
        ctx.warn(row, column, warning)
    return result.code


@functools.cache
def _choice_values(choices_class) -> tuple[str, ...]:
    return tuple(choices_class.values)


def enum(ctx: ImportContext, row: Row, column: str, choices, *, required: bool = True) -> str | None:
    """`choices` is a TextChoices class (its values are computed once, not per row)."""
    value = row.raw.get(column, "").strip()
    choices = _choice_values(choices)
    if not value:
        if required:
            ctx.error(row, column, f"不能为空（可选值：{'/'.join(choices)}）")
            return None
        return ""
    normalised = value.lower()
    if normalised not in choices:
        ctx.error(row, column, f"无效的取值“{value}”（可选值：{'/'.join(choices)}）")
        return None
    return normalised


def boolean(ctx: ImportContext, row: Row, column: str, *, default: bool | None = False) -> bool | None:
    value = row.raw.get(column, "").strip().lower()
    if not value:
        if default is None:
            ctx.error(row, column, "不能为空（true/false 或 是/否）")
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    ctx.error(row, column, f"无效的取值“{row.raw.get(column)}”（应为 true/false 或 是/否）")
    return None


def decimal(
    ctx: ImportContext,
    row: Row,
    column: str,
    *,
    places: int,
    max_digits: int = 14,
    positive: bool = False,
    default: Decimal | None = None,
) -> Decimal | None:
    """Non-negative (or positive) Decimal with at most `places` decimals; more decimals is an error,
    never silently rounded, because a price typed wrong must not be stored as a different price."""
    value = row.raw.get(column, "")
    if not value:
        if default is not None:
            return default
        ctx.error(row, column, "不能为空")
        return None
    try:
        number = money.to_decimal(value)
    except ValueError:
        ctx.error(row, column, f"不是有效数字：{value}")
        return None
    if number < 0:
        ctx.error(row, column, f"不能为负数：{value}")
        return None
    if positive and number == 0:
        ctx.error(row, column, "必须大于 0")
        return None
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        ctx.error(row, column, f"最多 {places} 位小数：{value}")
        return None
    if number.adjusted() >= max_digits - places:
        ctx.error(row, column, f"数值过大：{value}")
        return None
    return number


def integer(ctx: ImportContext, row: Row, column: str, *, positive: bool = False) -> int | None:
    value = row.raw.get(column, "")
    if not value:
        ctx.error(row, column, "不能为空")
        return None
    try:
        number = money.parse_qty(value, allow_zero=not positive)
    except ValueError as exc:
        reason = str(exc)
        if "有效数字" in reason:
            reason = f"不是有效数字：{value}"
        elif "整数" in reason:
            reason = f"必须是整数：{value}"
        ctx.error(row, column, reason)
        return None
    if number > 2_147_483_647:
        ctx.error(row, column, f"数值过大：{value}")
        return None
    return number


DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def date(ctx: ImportContext, row: Row, column: str) -> dt.date | None:
    value = row.raw.get(column, "")
    if not value:
        ctx.error(row, column, "不能为空（日期格式 YYYY-MM-DD）")
        return None
    match = DATE_RE.match(value)
    try:
        if not match:
            raise ValueError
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        ctx.error(row, column, f"日期无效：{value}（格式 YYYY-MM-DD）")
        return None


def batch_code(ctx: ImportContext, row: Row, column: str = "batch_code") -> str | None:
    """batch_code with `--batch`: an empty cell takes the given batch, a different one is an error."""
    value = row.raw.get(column, "")
    if ctx.batch_code:
        if not value:
            return ctx.batch_code
        if value != ctx.batch_code:
            ctx.error(row, column, f"批次 {value} 与指定的批次 {ctx.batch_code} 不一致")
            return None
        return value
    return text(ctx, row, column, max_length=32)


# ---- bulk lookups -------------------------------------------------------------------------------


def lookup(queryset: models.QuerySet, field_name: str, keys: Iterable) -> dict:
    """{key: object} for the given keys in ONE query, whatever the number of keys."""
    keys = set(keys)
    if not keys:
        return {}
    if len(keys) <= IN_LIST_LIMIT:
        queryset = queryset.filter(**{f"{field_name}__in": keys})
    return {getattr(obj, field_name): obj for obj in queryset if getattr(obj, field_name) in keys}


def chunks(items: list, size: int = BULK_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---- the upsert -----------------------------------------------------------------------------------


@dataclass
class Plan:
    """What an upsert would do: new objects, changed objects (with the fields that change), unchanged."""

    create: list = field(default_factory=list)
    update: list = field(default_factory=list)
    update_fields: set = field(default_factory=set)
    unchanged: list = field(default_factory=list)
    by_key: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)  # key -> "created" / "updated" / "unchanged"


def plan_upsert(
    model: type[models.Model], desired: dict, existing: dict, key_fields: dict | None = None
) -> Plan:
    """desired: {key: {attname: value}}; existing: {key: instance}. Instances are mutated in memory only;
    `key_fields` ({key: {attname: value}}) gives the key's own fields for new objects."""
    plan = Plan()
    for key, values in desired.items():
        obj = existing.get(key)
        if obj is None:
            init = dict(key_fields[key]) if key_fields else {}
            init.update(values)
            obj = model(**init)
            plan.create.append(obj)
            plan.status[key] = "created"
        else:
            changed = [name for name, value in values.items() if getattr(obj, name) != value]
            if changed:
                for name in changed:
                    setattr(obj, name, values[name])
                plan.update.append(obj)
                plan.update_fields.update(changed)
                plan.status[key] = "updated"
            else:
                plan.unchanged.append(obj)
                plan.status[key] = "unchanged"
        plan.by_key[key] = obj
    return plan


def execute(model: type[models.Model], plan: Plan) -> None:
    """Write a plan: bulk_create the new rows, bulk_update only the fields that changed."""
    if plan.create:
        model.objects.bulk_create(plan.create, batch_size=BULK_BATCH)
    if plan.update:
        fields = sorted(
            f[:-3] if f.endswith("_id") and f[:-3] in _fk_names(model) else f for f in plan.update_fields
        )
        model.objects.bulk_update(plan.update, fields, batch_size=500)


def _fk_names(model) -> set[str]:
    return {f.name for f in model._meta.concrete_fields if f.is_relation}


# ---- the schema base class ------------------------------------------------------------------------


class Schema:
    kind: str = ""
    title: str = ""
    columns: tuple[Column, ...] = ()
    key_columns: tuple[str, ...] = ()
    example: dict[str, str] = {}
    has_batch_column: bool = False

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def header_map(self) -> dict[str, str]:
        """Accepted header text (lower-case) → column name: the English name and the Chinese aliases."""
        mapping = {}
        for column in self.columns:
            for alias in (column.name, column.label, *column.aliases):
                if alias:
                    mapping[alias.strip().lower()] = column.name
        return mapping

    def required_columns(self, ctx: ImportContext) -> list[str]:
        names = [c.name for c in self.columns if c.required]
        if ctx.batch_code and self.has_batch_column:
            # `--batch` supplies the batch, so the column itself may be left out.
            names = [n for n in names if n != "batch_code"]
        return names

    def row_key(self, row: Row) -> tuple:
        return tuple(row.values.get(name) for name in self.key_columns)

    # the three steps -------------------------------------------------------------------------------

    def parse(self, ctx: ImportContext, row: Row) -> None:
        raise NotImplementedError

    def resolve(self, ctx: ImportContext) -> None:
        """Bulk reference checks; default: nothing to resolve."""

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        raise NotImplementedError

    def after_write(self, ctx: ImportContext) -> None:
        """Follow-up work once rows are stored (e.g. agreement years of changed batches)."""


def counts_from(statuses: Iterable[str]) -> Counts:
    result = Counts()
    for status in statuses:
        setattr(result, status, getattr(result, status) + 1)
    return result
