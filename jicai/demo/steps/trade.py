"""Step: a full agreement year (year 1 of the national batch) of orders, deliveries, receipts, payments and
usage, with the variety monitoring must find: institutions ahead of and behind their agreed volumes, some
buying non-winning or substitute products, one main supplier that serves grassroots institutions poorly,
late receipts, late payers, lines the institution cancelled or the supplier rejected.

Order lines are generated in Python as plain tuples with their running totals already final and written in
bulk (PostgreSQL COPY, SQLite executemany in one transaction); deliveries, receipts and payments are then
derived set-based from the lines with INSERT … SELECT, one row per line each. At `--scale province` this is
≥ 20 million order lines.
"""

import datetime as dt
import math
import time
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from jicai.agreements.models import AgreedVolume, DeliveryRelationship
from jicai.batches.models import AgreementYear, ListingPrice, Substitute
from jicai.core.money import amount as line_amount
from jicai.demo.context import DemoContext
from jicai.ingest.schemas.trade_common import copy_rows
from jicai.policy.resolve import effective_policy
from jicai.trade.models import Delivery, Order, OrderLine, Payment, Receipt, UsageLine
from jicai.trade.rules import payment_due_date

# Order lines per (institution, item) over the year; the province scale is sized to reach the 20 M target.
LINES_PER_PAIR = {"small": 12, "medium": 12}
PROVINCE_TARGET_LINES = 20_500_000
# Yearly volume of an item by institution level when no agreed volume exists yet (same profile every run).
BASE_VOLUME = {"tertiary": 60_000, "secondary": 24_000, "primary": 6_000, "grassroots": 2_400}
PACES = (("ahead", 1.25, 1.6, 0.2), ("on_track", 0.9, 1.1, 0.55), ("behind", 0.35, 0.7, 0.25))
NONWINNING_BUYERS = 0.1  # institutions buying non-winning products for a good share of lines
SUBSTITUTE_BUYERS = 0.1
LATE_RECEIVERS = 0.08
LATE_PAYERS = 0.12
# Of the items an institution reported 0 for, this share is bought anyway (UNREPORTED_PURCHASE), in small
# amounts; the rest are not bought at all.
UNREPORTED_BUYERS = 0.03
CANCELLED, REJECTED = 0.02, 0.01
FLUSH = 200_000

ORDER_COLUMNS = (
    "id",
    "order_id",
    "institution_id",
    "supplier_id",
    "distributor_id",
    "ordered_on",
    "source",
    "routing_reason",
    "created_at",
    "created_by_id",
)
LINE_COLUMNS = (
    "id",
    "order_id",
    "line_no",
    "institution_id",
    "supplier_id",
    "ordered_on",
    "product_id",
    "item_id",
    "qty",
    "unit_price",
    "amount",
    "status",
    "accepted_by_supplier",
    "reject_reason",
    "delivered_qty",
    "accepted_qty",
    "rejected_qty",
    "paid_amount",
    "last_delivered_on",
    "last_received_on",
    "payment_due_on",
)


class _Writer:
    """Buffers rows of one table and flushes them with copy_rows (COPY text on PostgreSQL)."""

    def __init__(self, table: str, columns):
        self.table, self.columns, self.rows, self.count = table, columns, [], 0
        self.postgres = connection.vendor == "postgresql"

    def add(self, row) -> None:
        self.rows.append(row)
        if len(self.rows) >= FLUSH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self.postgres:
            text = "".join("\t".join(_pg(v) for v in row) + "\n" for row in self.rows)
            quote = connection.ops.quote_name
            with connection.cursor() as cursor:
                sql = f"COPY {quote(self.table)} ({', '.join(quote(c) for c in self.columns)}) FROM STDIN"
                with cursor.cursor.copy(sql) as copy:
                    copy.write(text)
        else:
            copy_rows(self.table, self.columns, self.rows)
        self.count += len(self.rows)
        self.rows = []


def _pg(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def _agreed(batch, year, institutions, items) -> dict[tuple[int, int], int]:
    stored = dict(
        ((i, g), q)
        for i, g, q in AgreedVolume.objects.filter(agreement_year=year).values_list(
            "institution_id", "item_id", "agreed_qty"
        )
    )
    return stored


def build_trade(ctx: DemoContext) -> None:
    rng = ctx.rng
    batch = next((b for b in ctx.batches if b.kind == "national"), None)
    if batch is None:
        ctx.log("没有国家集采批次，跳过")
        return
    year = AgreementYear.objects.get(batch=batch, number=1)
    start, end = year.start, year.end
    days = (end - start).days + 1
    items = [i for i in ctx.items if i.batch_id == batch.pk]
    institutions = list(ctx.institutions)
    prices = dict(
        ListingPrice.objects.filter(
            province=ctx.province, product__in=[p for i in items for p in ctx.item_products[i.pk]]
        )
        .order_by("valid_from")
        .values_list("product_id", "price")
    )
    substitutes: dict[int, list] = {}
    sub_ids = Substitute.objects.filter(item__in=items).values_list("item_id", "product_id")
    by_pk = {p.pk: p for p in ctx.products}
    sub_prices = dict(
        ListingPrice.objects.filter(
            province=ctx.province, product_id__in=[p for _, p in sub_ids]
        ).values_list("product_id", "price")
    )
    for item_id, product_id in sub_ids:
        if product_id in by_pk and product_id in sub_prices:
            substitutes.setdefault(item_id, []).append(by_pk[product_id])
    prices.update(sub_prices)
    plans = {}
    for item in items:
        products = [p for p in ctx.item_products[item.pk] if p.pk in prices]
        main = next(p for p in products if p.demo_role == "main")
        backups = [p for p in products if p.demo_role in ("backup", "backup2")]
        others = [p for p in products if p.demo_role in ("nonwinning", "originator", "nonsupply")]
        plans[item.pk] = (main, backups, others, substitutes.get(item.pk, []))
    relationships = dict(
        DeliveryRelationship.objects.filter(region=ctx.province).values_list("supplier_id", "distributor_id")
    )
    default_distributor = ctx.distributors[0].pk if ctx.distributors else None
    agreed = _agreed(batch, year, institutions, items)
    # One main supplier delivers badly to grassroots institutions (供应不平衡).
    main_suppliers = sorted({plan[0].manufacturer_id for plan in plans.values()})
    poor_supplier = rng.choice(main_suppliers)
    policy = effective_policy(region=ctx.province, batch=batch)
    due_days, due_rule = policy.payment_due_days, policy.payment_due_rule

    zero_pairs = sum(1 for qty in agreed.values() if qty == 0)
    pairs = len(institutions) * len(items) - int(zero_pairs * (1 - UNREPORTED_BUYERS))
    per_pair = LINES_PER_PAIR.get(ctx.scale.name) or math.ceil(PROVINCE_TARGET_LINES / max(pairs, 1))
    rounds = per_pair  # each round is one order date per institution, one line per item
    started = time.perf_counter()
    order_id = (Order.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    line_id = (OrderLine.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    orders = _Writer(Order._meta.db_table, ORDER_COLUMNS)
    lines = _Writer(OrderLine._meta.db_table, LINE_COLUMNS)
    now = timezone.now()
    late_payers, kinds = [], {"ahead": 0, "on_track": 0, "behind": 0}
    due_cache: dict[dt.date, dt.date] = {}
    rand = rng.random
    for inst in institutions:
        pace_name, low, high, _ = _pick_pace(rand())
        kinds[pace_name] += 1
        pace = low + (high - low) * rand()
        nonwinning = rand() < NONWINNING_BUYERS
        substitute = rand() < SUBSTITUTE_BUYERS
        late_receiver = rand() < LATE_RECEIVERS
        late_payer = rand() < LATE_PAYERS
        if late_payer:
            late_payers.append(inst.pk)
        grassroots = inst.level == "grassroots"
        base = BASE_VOLUME.get(inst.level, 2400)
        per_round = {}
        for item in items:
            agreed_qty = agreed.get((inst.pk, item.pk))
            if agreed_qty == 0:  # reported zero: usually not bought at all
                if rand() >= UNREPORTED_BUYERS:
                    continue
                volume = int(base * 0.1)
            else:
                volume = agreed_qty or int(base * (0.5 + rand()))
            per_round[item.pk] = max(1, int(volume * pace / rounds))
        bought = [item for item in items if item.pk in per_round]
        for rnd in range(rounds):
            day = start + dt.timedelta(days=int((rnd + rand()) * days / rounds))
            by_supplier: dict[int, list] = {}
            for item in bought:
                main, backups, others, subs = plans[item.pk]
                x = rand()
                if nonwinning and others and x < 0.4:
                    product = others[int(rand() * len(others))]
                elif substitute and subs and x < 0.3:
                    product = subs[int(rand() * len(subs))]
                elif backups and x > 0.93:
                    product = backups[int(rand() * len(backups))]
                else:
                    product = main
                qty = max(1, int(per_round[item.pk] * (0.6 + 0.8 * rand())))
                by_supplier.setdefault(product.manufacturer_id, []).append((item, product, qty))
            for supplier_id, entries in by_supplier.items():
                oid = order_id
                order_id += 1
                orders.add(
                    (
                        oid,
                        f"DM{oid:09d}",
                        inst.pk,
                        supplier_id,
                        relationships.get(supplier_id, default_distributor),
                        day,
                        "import",
                        "",
                        now,
                        None,
                    )
                )
                for number, (item, product, qty) in enumerate(entries, start=1):
                    price = prices[product.pk]
                    amount = line_amount(qty, price)
                    x = rand()
                    status = (
                        "cancelled" if x < CANCELLED else "rejected" if x < CANCELLED + REJECTED else "open"
                    )
                    delivered = accepted = rejected = 0
                    paid = Decimal("0.00")
                    last_delivered = last_received = due = None
                    if status == "open":
                        poor = supplier_id == poor_supplier and grassroots
                        if poor:
                            delivered = int(qty * (0.3 + 0.4 * rand()))
                        elif rand() < 0.05:
                            delivered = int(qty * (0.5 + 0.4 * rand()))
                        else:
                            delivered = qty
                        if delivered:
                            last_delivered = day + dt.timedelta(
                                days=(6 + int(rand() * 10)) if poor else 1 + int(rand() * 3)
                            )
                            received_on = last_delivered + dt.timedelta(
                                days=(8 + int(rand() * 14))
                                if late_receiver and rand() < 0.5
                                else int(rand() * 3)
                            )
                            if received_on <= end:
                                rejected = int(delivered * 0.05) if rand() < 0.015 else 0
                                accepted = delivered - rejected
                                last_received = received_on
                                due = due_cache.get(received_on)
                                if due is None:
                                    due = due_cache[received_on] = payment_due_date(
                                        received_on, days=due_days, rule=due_rule
                                    )
                                if due <= end or rand() < 0.5:
                                    paid = line_amount(accepted, price)
                    lines.add(
                        (
                            line_id,
                            oid,
                            number,
                            inst.pk,
                            supplier_id,
                            day,
                            product.pk,
                            item.pk,
                            qty,
                            price,
                            amount,
                            status,
                            False if status == "rejected" else (True if delivered else None),
                            "库存不足" if status == "rejected" else "",
                            delivered,
                            accepted,
                            rejected,
                            paid,
                            last_delivered,
                            last_received,
                            due,
                        )
                    )
                    line_id += 1
    orders.flush()
    lines.flush()
    generated = time.perf_counter() - started
    _derive_children(late_payers, now)
    _reset_sequences()
    derived = time.perf_counter() - started - generated
    usage = _usage(ctx, institutions, items, plans, start, end)
    ctx.extra["trade"] = {
        "orders": orders.count,
        "lines": lines.count,
        "poor_supplier": poor_supplier,
        "late_payers": len(late_payers),
        "paces": kinds,
        "usage": usage,
        "seconds": {"lines": round(generated, 1), "children": round(derived, 1)},
    }
    ctx.log(
        f"{batch.code} 第1协议年度：订单 {orders.count}、订单明细 {lines.count}（{generated:.1f} 秒），"
        f"配送/入库/付款派生 {derived:.1f} 秒，使用数据 {usage} 条；"
        f"超序时 {kinds['ahead']}、正常 {kinds['on_track']}、滞后 {kinds['behind']} 家机构，回款拖延 {len(late_payers)} 家"
    )


def _pick_pace(r: float) -> tuple:
    for entry in PACES:
        if r < entry[3]:
            return entry
        r -= entry[3]
    return PACES[-1]


def _derive_children(late_payers: list[int], now) -> None:
    """One delivery, receipt and payment per line from the line's final totals (INSERT … SELECT)."""
    q = connection.ops.quote_name
    line_table = q(OrderLine._meta.db_table)
    late = ",".join(str(i) for i in late_payers) or "0"
    # Payment day: 8–27 days after receipt, 45–84 days for the late payers (past the 30-day due date).
    offset = f"(CASE WHEN institution_id IN ({late}) THEN 45 + id %% 40 ELSE 8 + id %% 20 END)"
    if connection.vendor == "postgresql":
        paid_on = f"last_received_on + CAST({offset} AS integer)"
    else:
        paid_on = f"date(last_received_on, '+' || {offset} || ' days')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(Delivery._meta.db_table)} (line_id, qty, delivered_on, created_at) "
            f"SELECT id, delivered_qty, last_delivered_on, %s FROM {line_table} WHERE delivered_qty > 0",
            [now],
        )
        cursor.execute(
            f"INSERT INTO {q(Receipt._meta.db_table)} (line_id, accepted_qty, rejected_qty, received_on, reason, created_at) "
            f"SELECT id, accepted_qty, rejected_qty, last_received_on, "
            f"CASE WHEN rejected_qty > 0 THEN '外包装破损' ELSE '' END, %s FROM {line_table} "
            f"WHERE last_received_on IS NOT NULL",
            [now],
        )
        cursor.execute(
            f"INSERT INTO {q(Payment._meta.db_table)} (line_id, amount, paid_on, invoice_no, created_at) "
            f"SELECT id, paid_amount, {paid_on}, '', %s FROM {line_table} WHERE paid_amount > 0",
            [now],
        )


def _reset_sequences() -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT continues after the largest id written
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Order, OrderLine]):
            cursor.execute(sql)


def _usage(ctx: DemoContext, institutions, items, plans, start: dt.date, end: dt.date) -> int:
    """Monthly HIS usage of the main products in hospitals (tertiary/secondary); a few use more than they
    received (offline purchases monitoring should suspect)."""
    rng = ctx.rng
    writer = _Writer(
        UsageLine._meta.db_table,
        ("institution_id", "product_id", "department", "doctor_code", "qty", "used_on"),
    )
    departments = ("心内科", "内分泌科", "神经内科", "呼吸内科", "普通外科")
    hospitals = [i for i in institutions if i.level in ("tertiary", "secondary")]
    months = []
    day = start
    while day <= end:
        months.append(day)
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    for inst in hospitals:
        factor = 1.6 if rng.random() < 0.1 else 0.9
        base = BASE_VOLUME.get(inst.level, 2400)
        for item in items:
            product = plans[item.pk][0]
            for month in months:
                for d, dept in enumerate(departments[:2]):
                    qty = max(1, int(base / 12 / 2 * factor * (0.7 + 0.6 * rng.random())))
                    writer.add(
                        (
                            inst.pk,
                            product.pk,
                            dept,
                            f"D{inst.pk % 1000:03d}{d}",
                            qty,
                            month + dt.timedelta(days=14),
                        )
                    )
    writer.flush()
    return writer.count
