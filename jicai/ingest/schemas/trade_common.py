"""Shared machinery of the transaction import kinds (SPEC §10 orders, deliveries, receipts, payments,
usage): who may send which row, bulk line lookups under row locks, set-based running totals of order
lines, and the fastest bulk insert each database offers (COPY on PostgreSQL).

These schemas are `streaming`: the pipeline hands them one chunk of rows at a time inside one transaction
(see pipeline.run_streamed), so every lookup here is per chunk and memory stays bounded by the chunk size.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import connection, models
from django.db.models import Max, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from jicai.accounts import access
from jicai.core.codes import check_institution_code
from jicai.core.fields import MoneyField, ScaledDecimalField, money_value
from jicai.ingest.schemas.base import Counts, ImportContext, Row, Schema, code, integer, text
from jicai.monitoring import realtime
from jicai.policy.resolve import PolicyResolver
from jicai.trade.models import Delivery, OrderLine, Payment, Receipt
from jicai.trade.rules import payment_due_date


class TradeSchema(Schema):
    streaming = True

    def start(self, ctx: ImportContext) -> None:
        """Once per import, before the first chunk: the actor's scope."""
        actor = getattr(ctx, "actor", None)
        ctx.extra["scope"] = actor_scope(actor)

    def process(self, ctx: ImportContext) -> Counts:
        raise NotImplementedError


def actor_scope(actor) -> tuple[str, int | None]:
    """("all", None) for the system and admins; ("institution", id) / ("company", id); ("none", None)."""
    if actor is None or access.is_admin(actor):
        return ("all", None)
    institution = access.institution_of(actor)
    if institution is not None:
        return ("institution", institution.pk)
    company = access.company_of(actor)
    if company is not None:
        return ("company", company.pk)
    return ("none", None)


def own_institution_row(ctx: ImportContext, institution_id: int) -> bool:
    kind, own = ctx.extra["scope"]
    return kind == "all" or (kind == "institution" and own == institution_id)


def line_in_scope(ctx: ImportContext, line: dict) -> bool:
    """An institution sends rows of its own lines; a company rows of lines naming it (supplier/distributor)."""
    kind, own = ctx.extra["scope"]
    if kind == "all":
        return True
    if kind == "institution":
        return line["institution_id"] == own
    if kind == "company":
        return own in (line["supplier_id"], line["order__distributor_id"])
    return False


def institution_code(ctx: ImportContext, row: Row, column: str = "institution_code") -> str | None:
    return code(ctx, row, column, check_institution_code, warn=False)


def order_key(ctx: ImportContext, row: Row) -> None:
    """order_id (text) and line_no (positive integer) into row.values."""
    row.values["order_id"] = text(ctx, row, "order_id", max_length=64)
    row.values["line_no"] = integer(ctx, row, "line_no", positive=True)


def max_pk(model) -> int:
    return model.objects.aggregate(m=Max("pk"))["m"] or 0


# ---- order lines of a chunk ---------------------------------------------------------------------------

LINE_FIELDS = (
    "id",
    "order__order_id",
    "line_no",
    "qty",
    "amount",
    "status",
    "ordered_on",
    "institution_id",
    "supplier_id",
    "order__distributor_id",
    "delivered_qty",
    "accepted_qty",
    "rejected_qty",
    "paid_amount",
)


def lock_lines(rows: Iterable[Row]) -> dict[tuple[str, int], dict]:
    """{(order_id, line_no): line values} of the lines the rows name, locked until the import commits so two
    imports (or a web payment) touching the same line's totals run one after the other (SPEC §9)."""
    order_ids = {r.values["order_id"] for r in rows}
    if not order_ids:
        return {}
    qs = OrderLine.objects.filter(order__order_id__in=order_ids).order_by("id")
    if connection.features.has_select_for_update:
        qs = qs.select_for_update(
            **({"of": ("self",)} if connection.features.has_select_for_update_of else {})
        )
    wanted = {(r.values["order_id"], r.values["line_no"]) for r in rows}
    result = {}
    for line in qs.values(*LINE_FIELDS):
        key = (line["order__order_id"], line["line_no"])
        if key in wanted:
            result[key] = line
    return result


def existing_children(
    model, line_ids: Iterable[int], date_field: str, fields: Sequence[str], **filters
) -> dict:
    """{(line_id, date): values} of the stored rows of `model` for these lines."""
    line_ids = set(line_ids)
    if not line_ids:
        return {}
    qs = model.objects.filter(line_id__in=line_ids, **filters).values("id", "line_id", date_field, *fields)
    return {(v["line_id"], v[date_field]): v for v in qs}


def refresh_totals(line_ids: Iterable[int], *, deliveries=False, receipts=False, payments=False) -> None:
    """Recompute running totals of the given lines from their child rows, in one UPDATE (set-based)."""
    line_ids = list(set(line_ids))
    if not line_ids:
        return
    updates = {}

    def aggregate(model, function, field_name, output_field):
        sub = model.objects.filter(line=OuterRef("pk")).order_by().values("line")
        return Subquery(sub.annotate(v=function(field_name)).values("v")[:1], output_field=output_field)

    qty = models.BigIntegerField()
    if deliveries:
        updates["delivered_qty"] = Coalesce(aggregate(Delivery, Sum, "qty", qty), 0, output_field=qty)
        updates["last_delivered_on"] = aggregate(Delivery, Max, "delivered_on", models.DateField())
    if receipts:
        updates["accepted_qty"] = Coalesce(aggregate(Receipt, Sum, "accepted_qty", qty), 0, output_field=qty)
        updates["rejected_qty"] = Coalesce(aggregate(Receipt, Sum, "rejected_qty", qty), 0, output_field=qty)
        updates["last_received_on"] = aggregate(Receipt, Max, "received_on", models.DateField())
    if payments:
        cash = MoneyField()
        updates["paid_amount"] = Coalesce(
            aggregate(Payment, Sum, "amount", cash), money_value(Decimal("0.00")), output_field=cash
        )
        updates["last_paid_on"] = aggregate(Payment, Max, "paid_on", models.DateField())
    OrderLine.objects.filter(pk__in=line_ids).update(**updates)
    if receipts:
        refresh_payment_due(line_ids)


def refresh_payment_due(line_ids: list[int]) -> None:
    """payment_due_on = trade.rules.payment_due_date(last receipt, policy of the institution's region and the
    item's batch); one UPDATE per distinct due date."""
    resolver = PolicyResolver.load()
    policies: dict[tuple[str, int | None], tuple[int, str]] = {}
    by_due: dict[dt.date | None, list[int]] = {}
    rows = OrderLine.objects.filter(pk__in=line_ids).values_list(
        "id", "last_received_on", "institution__region__path", "item__batch_id"
    )
    for line_id, received_on, path, batch_id in rows:
        if received_on is None:
            by_due.setdefault(None, []).append(line_id)
            continue
        key = (path, batch_id)
        if key not in policies:
            policy = resolver.resolve(_RegionRef(path), _BatchRef(batch_id) if batch_id else None)
            policies[key] = (policy.payment_due_days, policy.payment_due_rule)
        days, rule = policies[key]
        by_due.setdefault(payment_due_date(received_on, days=days, rule=rule), []).append(line_id)
    for due, ids in by_due.items():
        OrderLine.objects.filter(pk__in=ids).update(payment_due_on=due)


class _RegionRef:
    """What PolicyResolver needs of a Region (its path) without loading the row."""

    def __init__(self, path: str):
        self.path = path

    def ancestor_codes(self) -> list[str]:
        return [p for p in self.path.split("/") if p]


class _BatchRef:
    def __init__(self, pk: int):
        self.pk = pk


# ---- bulk insert ----------------------------------------------------------------------------------------


def insert_values(model, rows: list[dict]) -> None:
    """Insert rows given as {attname: value} (other fields take their defaults) with copy_rows: no model
    instances and no per-row SQL compilation, which cost more than the database itself at a million rows."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults = {
        f.attname: now
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        else f.get_default()
        for f in fields
    }
    names = [f.attname for f in fields]
    # Money and prices are stored as scaled integers (core.fields); everything else goes in as it is.
    scaled = [(i, f.get_prep_value) for i, f in enumerate(fields) if isinstance(f, ScaledDecimalField)]

    def values(row: dict) -> list:
        out = [row.get(name, defaults[name]) for name in names]
        for i, prep in scaled:
            out[i] = prep(out[i])
        return out

    copy_rows(model._meta.db_table, [f.column for f in fields], (values(row) for row in rows))


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert plain tuples: COPY … FROM STDIN on PostgreSQL, executemany elsewhere. Returns the row count."""
    quote = connection.ops.quote_name
    column_sql = ", ".join(quote(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({column_sql}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        sql = f"INSERT INTO {quote(table)} ({column_sql}) VALUES ({', '.join(['%s'] * len(columns))})"
        with realtime.bulk_insert(table):
            count = _insert_batches(cursor, sql, rows)
    return count


def _insert_batches(cursor, sql: str, rows: Iterable[Sequence]) -> int:
    count = 0
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 20_000:
            cursor.executemany(sql, batch)
            count += len(batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)
        count += len(batch)
    return count


# ---- deliveries, receipts, payments: rows about one order line and one day ------------------------------


class LineEventSchema(TradeSchema):
    """A row of `order_id,line_no,…,<date>`: one per line and day (the models' unique constraints). The stored
    row with the same key must be identical (no-op) or the row is a conflict; running totals of the line are
    checked against the locked line plus the earlier rows of the file, and refreshed set-based after writing."""

    model: type[models.Model]
    date_column = ""
    value_fields: tuple[str, ...] = ()
    value_columns: dict[str, str] = {}
    value_labels: dict[str, str] = {}
    noun = ""
    totals: dict[str, bool] = {}
    existing_filter: dict = {}

    def start(self, ctx: ImportContext) -> None:
        super().start(ctx)
        ctx.extra["child_start"] = max_pk(self.model)

    def check(self, ctx: ImportContext, row: Row, line: dict, pending: dict) -> bool:
        """Running-total rules; True when the row may be written (and `pending` then includes it)."""
        raise NotImplementedError

    def build(self, row: Row, line: dict):
        raise NotImplementedError

    def process(self, ctx: ImportContext) -> Counts:
        rows = ctx.good_rows
        lines = lock_lines(rows)
        for row in rows:
            v = row.values
            line = lines.get((v["order_id"], v["line_no"]))
            if line is None or not line_in_scope(ctx, line):
                # Same answer for a line of another organisation as for a missing one: scope is not revealed.
                ctx.error(
                    row, "line_no", f"订单行不存在（或不属于本机构/企业）：{v['order_id']} / {v['line_no']}"
                )
            else:
                v["line"] = line
        rows = ctx.good_rows
        existing = existing_children(
            self.model,
            {r.values["line"]["id"] for r in rows},
            self.date_column,
            self.value_fields,
            **self.existing_filter,
        )
        start = ctx.extra["child_start"]
        seen: dict[tuple, int] = {}
        pending: dict[int, object] = {}
        counts = Counts()
        new_rows = []
        for row in rows:
            v = row.values
            line = v["line"]
            day = v[self.date_column]
            key = (line["id"], day)
            if key in seen:
                ctx.error(
                    row, self.date_column, f"与第 {seen[key]} 行重复（同一订单行同一天只能有一条{self.noun}）"
                )
                continue
            seen[key] = row.number
            stored = existing.get(key)
            if stored is not None:
                if stored["id"] > start:
                    ctx.error(
                        row,
                        self.date_column,
                        f"与本文件前面的行重复（同一订单行同一天只能有一条{self.noun}）",
                    )
                    continue
                differ = [n for n in self.value_fields if stored[n] != v[n]]
                if differ:
                    shown = "、".join(f"{self.value_labels[n]} {stored[n]}→{v[n]}" for n in differ)
                    ctx.error(
                        row, self.value_columns[differ[0]], f"与已导入的{self.noun}冲突（{shown}），未修改"
                    )
                else:
                    counts.unchanged += 1
                continue
            if day < line["ordered_on"]:
                ctx.error(row, self.date_column, f"日期 {day} 早于下单日期 {line['ordered_on']}")
                continue
            if self.check(ctx, row, line, pending):
                new_rows.append(row)
        if new_rows:
            insert_values(self.model, [self.build(r, r.values["line"]) for r in new_rows])
            refresh_totals({r.values["line"]["id"] for r in new_rows}, **self.totals)
            counts.created += len(new_rows)
        return counts
