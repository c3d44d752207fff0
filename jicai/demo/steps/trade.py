"""Step: year 1 of the national batch up to the demo's today (about two thirds of it) of orders, deliveries,
receipts, payments and usage, ordered at the pace of a whole year (at `--scale province` ≥ 20 M order lines a
year, SPEC §13), with the variety monitoring must find: institutions ahead of and behind their agreed volumes, some
buying non-winning or substitute products, one main supplier that serves grassroots institutions poorly,
late receipts, late payers, lines the institution cancelled or the supplier rejected.

At `--scale province` this is over 13 million order lines by the demo's today, so rows are never built in
Python:

1. Python decides the *plan* with the step's seeded rng — per institution its pace and habits, per
   (institution, item) pair its yearly volume and the products it buys: the main product (A) and possibly a
   second one (B: a backup, a non-winning product or a substitute) used in a fixed share of rounds. The plan
   (~1.5 M pairs at province), the (institution, supplier) order slots and a day table go to temporary tables.
2. The year is `rounds` ordering rounds; every pair orders once per round on or before the demo's today. Orders (one per institution,
   supplier and round that has lines), order lines with their final running totals, then one delivery,
   receipt and payment per line and the HIS usage are each written by one INSERT … SELECT. What varies per
   line (quantity, cancellation, partial delivery, delays, payment) comes from integer hashes of the line
   id, identical on SQLite and PostgreSQL; money is computed in integer cents (round half up), never floats.
3. The inserts run inside core.bulkload.bulk_load, which drops the tables' secondary indexes (and on
   PostgreSQL foreign keys and unique constraints) and rebuilds them once at the end.

Ids are dense and computed (line id = first + pair × rounds + round; order id = slot base + round), so the
same seed gives identical rows on both databases.
"""

import datetime as dt
import math
import threading
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from jicai.agreements.models import AgreedVolume, DeliveryRelationship
from jicai.batches.models import AgreementYear, ListingPrice, Substitute
from jicai.core.bulkload import bulk_load, drop_for_load, rebuild
from jicai.demo.context import DemoContext
from jicai.ingest.schemas.trade_common import copy_rows
from jicai.policy.resolve import effective_policy
from jicai.registry.models import Institution
from jicai.trade.models import Delivery, Order, OrderLine, Payment, Receipt, UsageLine
from jicai.trade.rules import payment_due_date

# Ordering rounds over the year (every pair orders once per round); the province scale is sized to a year of
# 20 M lines (SPEC §13), of which the rounds up to the demo's today are written.
ROUNDS = {"small": 12, "medium": 12}
PROVINCE_TARGET_LINES = 20_100_000
# Yearly volume of an item by institution level when no agreed volume exists yet (same profile every run).
BASE_VOLUME = {"tertiary": 60_000, "secondary": 24_000, "primary": 6_000, "grassroots": 2_400}
# (name, low, high, share of institutions): most buy on pace (a little above the agreed volume, since partial
# deliveries, receipt delays and second products take some off); monitoring should find the few that do not.
PACES = (("ahead", 1.45, 1.65, 0.1), ("on_track", 1.18, 1.35, 0.78), ("behind", 0.35, 0.7, 0.12))
NONWINNING_BUYERS = 0.1  # institutions buying non-winning products for some items
SUBSTITUTE_BUYERS = 0.1
LATE_RECEIVERS = 0.08
LATE_PAYERS = 0.06
OFFLINE_USERS = 0.1  # hospitals whose HIS usage exceeds what they received (offline-purchase suspects)
# Of the items an institution reported 0 for, this share is bought anyway (UNREPORTED_PURCHASE), in small
# amounts; the rest are not bought at all.
UNREPORTED_BUYERS = 0.03
# Per mille of lines: cancelled by the institution, rejected by the supplier.
CANCELLED, REJECTED = 20, 10
USAGE_DEPARTMENTS = ("心内科", "内分泌科")
MAX_LINES = 256  # line numbers per order slot (an institution buys at most one line per item per round)
LOADED = (Order, OrderLine, Delivery, Receipt, Payment, UsageLine)
# PostgreSQL: loads of at least this many pairs are split over this many connections (one per core).
PARALLEL_MIN_PAIRS, PARALLEL_SHARDS = 100_000, 2


def _hash(expr: str, salt: int, multiplier: int) -> str:
    """A pseudo-random integer in [0, 2³¹ − 1) from an integer expression (Lehmer step with a distinct
    multiplier per use, so different uses of one id are unrelated). Operands stay below 2⁶³ on SQLite."""
    return f"(((({expr}) % 1000000007) + {salt}) * {multiplier} % 2147483647)"


def _line_id(first_line: int, rounds: int) -> str:
    """Line ids follow (order, line_no): order slot × rounds + round, times MAX_LINES, plus the line number.
    Sparse, but lines are then written in the order of both the table and its (order, line_no) unique
    index, which SQLite must maintain row by row (inline constraint); random order made it twice as slow."""
    return f"({first_line} + (s.slot * {rounds} + r.rnd) * {MAX_LINES} + sl.line_no)"


def _bit(mask: str, bit: str) -> str:
    return f"(({mask} >> CAST({bit} AS integer)) & 1)"


class _Sql:
    """The few fragments SQLite and PostgreSQL spell differently."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"

    @property
    def barrier(self) -> str:
        """Appended to a sub-query so it is computed once per row instead of being inlined into the outer
        query, which would repeat its expressions wherever the outer query uses a column (an OFFSET stops
        both planners from flattening it; SQLite then streams it as a co-routine)."""
        return "OFFSET 0" if self.postgres else "LIMIT -1 OFFSET 0"

    def padded(self, prefix: str, number: str, width: int) -> str:
        if self.postgres:
            return f"('{prefix}' || lpad(CAST({number} AS text), {width}, '0'))"
        return f"('{prefix}' || printf('%0{width}d', {number}))"

    def add_days(self, day: str, days: str) -> str:
        if self.postgres:
            return f"({day} + CAST({days} AS integer))"
        return f"date({day}, '+' || ({days}) || ' days')"


def _execute(cursor, statement: str, params=None) -> int:
    """Run a statement whose SQL contains literal `%` (modulo, printf) with or without parameters."""
    if params:
        statement = statement.replace("%", "%%").replace("%%s", "%s")
    cursor.execute(statement, params)
    return cursor.rowcount


def _temp_table(name: str, columns: str, rows, column_names) -> None:
    """A temporary table of this connection filled with `rows`. `KEY` in `columns` is the integer primary key
    type: on SQLite only the exact spelling INTEGER PRIMARY KEY makes it the rowid (one B-tree, no index)."""
    key = "integer PRIMARY KEY" if connection.vendor == "sqlite" else "bigint PRIMARY KEY"
    columns = columns.replace("KEY", key)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns})")
    copy_rows(name, column_names, rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {name}")


def _pick_pace(r: float) -> tuple:
    for entry in PACES:
        if r < entry[3]:
            return entry
        r -= entry[3]
    return PACES[-1]


def _uses_b(round_no: int, seed: int, share: int) -> bool:
    """Whether a pair buys its second product in this round (the SQL below applies the same rule)."""
    return (round_no * 7 + seed) % 10 < share


B_RULE = "((r.rnd * 7 + p.b_seed) % 10 < p.b_share)"


class _Plan:
    """Everything Python decides: pairs, order slots and the per-institution habits."""

    def __init__(self):
        self.pairs: list[tuple] = []
        self.slots: dict[tuple[int, int], list] = {}  # (institution, supplier) → [index, mask, next line_no]
        self.late_payers: list[int] = []
        self.offline: set[int] = set()
        self.kinds = {"ahead": 0, "on_track": 0, "behind": 0}


def _plan(ctx, institutions, items, plans, agreed, poor_supplier, rounds_for) -> tuple[_Plan, int]:
    """The pairs and order slots (a hot loop at province scale: 1.5 M pairs, so plain tuples and locals)."""
    rng = ctx.rng
    rand = rng.random
    plan = _Plan()
    choices = []
    for item in items:
        main, backups, others, subs = plans[item.pk]
        choices.append(
            (
                item.pk,
                (main.pk, main.manufacturer_id),
                [(p.pk, p.manufacturer_id) for p in backups],
                [(p.pk, p.manufacturer_id) for p in others],
                [(p.pk, p.manufacturer_id) for p in subs],
            )
        )
    volumes = []  # (institution, item, yearly volume, main, second, share, seed, poor, late receiver)
    append = volumes.append
    for inst in institutions:
        pace_name, low, high, _ = _pick_pace(rand())
        plan.kinds[pace_name] += 1
        pace = low + (high - low) * rand()
        nonwinning = rand() < NONWINNING_BUYERS
        substitute = rand() < SUBSTITUTE_BUYERS
        late_receiver = int(rand() < LATE_RECEIVERS)
        if rand() < LATE_PAYERS:
            plan.late_payers.append(inst.pk)
        if inst.level in ("tertiary", "secondary") and rand() < OFFLINE_USERS:
            plan.offline.add(inst.pk)
        grassroots = inst.level == "grassroots"
        base = BASE_VOLUME.get(inst.level, 2400)
        inst_id = inst.pk
        for item_id, main, backups, others, subs in choices:
            agreed_qty = agreed.get((inst_id, item_id))
            if agreed_qty == 0:  # reported zero: usually not bought at all
                if rand() >= UNREPORTED_BUYERS:
                    continue
                volume = int(base * 0.1)
            else:
                volume = agreed_qty or int(base * (0.5 + rand()))
            second, share = None, 0
            x = rand()
            if nonwinning and others and x < 0.4:
                second, share = others[int(rand() * len(others))], 3 + int(rand() * 6)
            elif substitute and subs and x < 0.3:
                second, share = subs[int(rand() * len(subs))], 2 + int(rand() * 5)
            elif backups and x > 0.93:
                second, share = backups[int(rand() * len(backups))], 1 + int(rand() * 3)
            if second is not None and second[1] == main[1]:
                second, share = None, 0
            append(
                (
                    inst_id,
                    item_id,
                    max(1, int(volume * pace)),
                    main,
                    second,
                    share,
                    int(rand() * 10),
                    int(grassroots and main[1] == poor_supplier),
                    late_receiver,
                )
            )
    rounds = rounds_for(len(volumes))
    every = (1 << rounds) - 1
    masks = {
        (seed, share): sum(1 << r for r in range(rounds) if _uses_b(r, seed, share))
        for seed in range(10)
        for share in range(11)
    }
    slots, pairs = plan.slots, plan.pairs
    for inst_id, item_id, volume, main, second, share, seed, poor, late in volumes:
        b_mask = masks[seed, share] if second else 0
        a_slot = slots.get((inst_id, main[1]))
        if a_slot is None:
            a_slot = slots[inst_id, main[1]] = [len(slots), 0, 0]
        a_slot[1] |= every & ~b_mask
        a_slot[2] += 1
        if second is None:
            b = (None, None, None, None)
        else:
            b_slot = slots.get((inst_id, second[1]))
            if b_slot is None:
                b_slot = slots[inst_id, second[1]] = [len(slots), 0, 0]
            b_slot[1] |= b_mask
            b_slot[2] += 1
            b = (second[0], second[1], b_slot[0], b_slot[2])
        pairs.append(
            (len(pairs), inst_id, item_id, max(1, volume // rounds), main[0], main[1], a_slot[0], a_slot[2])
            + b
            + (share, seed, poor, late)
        )
    if any(slot[2] >= MAX_LINES for slot in slots.values()):
        raise ValueError(f"an order slot has more than {MAX_LINES - 1} lines")
    return plan, rounds


def build_trade(ctx: DemoContext) -> None:
    rng = ctx.rng
    batch = next((b for b in ctx.batches if b.kind == "national"), None)
    if batch is None:
        ctx.log("没有国家集采批次，跳过")
        return
    year = AgreementYear.objects.get(batch=batch, number=1)
    start, end = year.start, year.end
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
    agreed = dict(
        ((i, g), q)
        for i, g, q in AgreedVolume.objects.filter(agreement_year=year).values_list(
            "institution_id", "item_id", "agreed_qty"
        )
    )
    # One main supplier delivers badly to grassroots institutions (供应不平衡).
    main_suppliers = sorted({plan[0].manufacturer_id for plan in plans.values()})
    poor_supplier = rng.choice(main_suppliers)
    policy = effective_policy(region=ctx.province, batch=batch)

    def rounds_for(pairs: int) -> int:
        return ROUNDS.get(ctx.scale.name) or math.ceil(PROVINCE_TARGET_LINES / max(pairs, 1))

    started = time.perf_counter()
    plan, rounds = _plan(ctx, institutions, items, plans, agreed, poor_supplier, rounds_for)
    load = _Load(
        rounds=rounds,
        first_order=(Order.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1,
        first_line=(OrderLine.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1,
        start=start,
        end=end,
        today=ctx.today,
        policy=policy,
        prices={pk: int(price * 10000) for pk, price in prices.items()},
        relationships=relationships,
        default_distributor=default_distributor,
        now=timezone.now(),
        log=ctx.log,
    )
    ctx.log(
        f"计划：{len(plan.pairs)} 个机构×品种组合、{len(plan.slots)} 个机构×企业订单槽、{rounds} 轮订货"
        f"（{time.perf_counter() - started:.1f} 秒）"
    )
    shards = _shards(plan, PARALLEL_SHARDS if _parallel(plan) else 1)
    if len(shards) == 1:
        with transaction.atomic(), bulk_load(*LOADED, progress=ctx.log):
            counts = load.run(shards[0])
    else:
        counts = _load_in_parallel(load, shards)
    _reset_sequences()
    seconds = time.perf_counter() - started
    ctx.extra["trade"] = {
        "orders": counts["orders"],
        "lines": counts["lines"],
        "poor_supplier": poor_supplier,
        "late_payers": len(plan.late_payers),
        "paces": plan.kinds,
        "usage": counts["usage"],
        "seconds": round(seconds, 1),
        "shards": len(shards),
    }
    kinds = plan.kinds
    ctx.log(
        f"{batch.code} 第1协议年度：订单 {counts['orders']}、订单明细 {counts['lines']}、配送 {counts['deliveries']}、"
        f"入库 {counts['receipts']}、付款 {counts['payments']}、使用数据 {counts['usage']} 条（{seconds:.1f} 秒，"
        f"{len(shards)} 路并行）；超序时 {kinds['ahead']}、正常 {kinds['on_track']}、滞后 {kinds['behind']} 家机构，"
        f"回款拖延 {len(plan.late_payers)} 家"
    )


def _parallel(plan: _Plan) -> bool:
    """PostgreSQL runs one backend per connection, so a large load is split over PARALLEL_SHARDS
    connections, each in its own transaction. Not inside a caller's transaction (tests): other connections
    could not see its rows."""
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and len(plan.pairs) >= PARALLEL_MIN_PAIRS
    )


@dataclass
class _Shard:
    """A contiguous block of institutions: its pairs and its order slots (slot_lo ≤ slot < slot_hi; slots are
    numbered institution by institution, so a block's slots are contiguous and so are its line ids)."""

    pairs: list
    slots: list
    late_payers: list
    offline: set
    slot_lo: int
    slot_hi: int


def _shards(plan: _Plan, count: int) -> list[_Shard]:
    pairs = plan.pairs
    cuts = [0]
    for k in range(1, count):
        cut = len(pairs) * k // count
        while 0 < cut < len(pairs) and pairs[cut][1] == pairs[cut - 1][1]:
            cut += 1  # never split an institution
        cuts.append(cut)
    cuts.append(len(pairs))
    slot_rows = [(inst, supplier, index, mask) for (inst, supplier), (index, mask, _) in plan.slots.items()]
    shards = []
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        if lo >= hi:
            continue
        institutions = {row[1] for row in pairs[lo:hi]}
        slots = [row for row in slot_rows if row[0] in institutions]
        indexes = [row[2] for row in slots]
        assert max(indexes) - min(indexes) + 1 == len(slots), "slots of a block must be contiguous"
        shards.append(
            _Shard(
                pairs=pairs[lo:hi],
                slots=slots,
                late_payers=[i for i in plan.late_payers if i in institutions],
                offline={i for i in plan.offline if i in institutions},
                slot_lo=min(indexes),
                slot_hi=max(indexes) + 1,
            )
        )
    return shards


def _load_in_parallel(load: "_Load", shards: list[_Shard]) -> dict:
    """Drop indexes and constraints (committed, so the loading connections are not blocked by the lock),
    load every shard in its own thread, connection and transaction, then rebuild everything. A failed shard
    still gets the tables their indexes back before the error is raised."""
    with transaction.atomic():
        restore = drop_for_load(*LOADED)
    results: list = [None] * len(shards)

    def work(index: int) -> None:
        try:
            with transaction.atomic():
                results[index] = load.run(shards[index])
        except BaseException as exc:  # reported by the main thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(shards))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The keys are computed consistently (the single-connection load, which validates, writes the same
    # rows: tests/demo/test_trade_parallel.py), so the foreign keys are not re-checked row by row here. The
    # indexes are built over as many connections as loaded the rows.
    rebuild(restore, *LOADED, progress=load.log, validate=False, connections=len(shards))
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise failed[0]
    return {name: sum(r[name] for r in results) for name in results[0]}


@dataclass
class _Load:
    """Writes one shard's rows in the current connection (its temporary tables are per connection)."""

    rounds: int
    first_order: int
    first_line: int
    start: dt.date
    end: dt.date
    today: dt.date  # the demo's day: nothing is ordered after it (and HIS usage is reported up to it)
    policy: object
    prices: dict
    relationships: dict
    default_distributor: int | None
    now: object
    log: object

    def run(self, shard: _Shard) -> dict:
        _write_plan(self, shard)
        sql = _Sql()
        lines = (
            self.first_line + shard.slot_lo * self.rounds * MAX_LINES,
            self.first_line + shard.slot_hi * self.rounds * MAX_LINES - 1,
        )
        statements = list(_statements(sql, self, lines, shard.late_payers))
        statements.append(("usage", _usage(shard.offline, self.rounds)))
        counts = {}
        with connection.cursor() as cursor:
            for name, statement in statements:
                began = time.perf_counter()
                counts[name] = _execute(cursor, statement, [self.now] if "%s" in statement else None)
                self.log(f"{name}：{counts[name]} 行（{time.perf_counter() - began:.1f} 秒）")
        return counts


def _write_plan(load: _Load, shard: _Shard) -> None:
    """The shard's temporary tables: demo_pair, demo_slot, demo_round, demo_month and demo_day (offset →
    date, and the payment due date of a receipt on that date with its offset)."""
    prices = load.prices
    pairs = (
        (*p[:5], prices[p[4]], *p[5:9], prices[p[8]] if p[8] is not None else None, *p[9:])
        for p in shard.pairs
    )
    _temp_table(
        "demo_pair",
        "pid KEY, inst_id bigint, item_id bigint, per_round bigint, a_product bigint,"
        " a_price bigint, a_supplier bigint, a_slot bigint, a_line integer, b_product bigint, b_price bigint,"
        " b_supplier bigint, b_slot bigint, b_line integer, b_share integer, b_seed integer, poor integer,"
        " late_recv integer",
        pairs,
        (
            "pid inst_id item_id per_round a_product a_price a_supplier a_slot a_line b_product b_price"
            " b_supplier b_slot b_line b_share b_seed poor late_recv"
        ).split(),
    )
    slots = (
        (index, inst_id, supplier_id, load.relationships.get(supplier_id, load.default_distributor), mask)
        for inst_id, supplier_id, index, mask in shard.slots
    )
    _temp_table(
        "demo_slot",
        "slot KEY, inst_id bigint, supplier_id bigint, distributor_id bigint, mask bigint",
        slots,
        ("slot", "inst_id", "supplier_id", "distributor_id", "mask"),
    )
    # Where each pair's lines go: (slot × MAX_LINES + line number) → pair, and whether it is the B product.
    slotlines = []
    for p in shard.pairs:
        slotlines.append((p[6] * MAX_LINES + p[7], p[6], p[7], p[0], 0))
        if p[8] is not None:
            slotlines.append((p[10] * MAX_LINES + p[11], p[10], p[11], p[0], 1))
    slotlines.sort()
    # SQLite walks the rowid range of k per slot; PostgreSQL hash-joins on the slot column.
    _temp_table(
        "demo_slotline",
        "k KEY, slot bigint, line_no integer, pid bigint, b integer",
        slotlines,
        ("k", "slot", "line_no", "pid", "b"),
    )
    _temp_table("demo_round", "rnd KEY", [(r,) for r in range(load.rounds)], ("rnd",))
    start, end, policy = load.start, load.end, load.policy
    # Offsets reach past the year end: deliveries, receipts and the due dates of December receipts.
    horizon = (end - start).days + 120
    due_rows = []
    for offset in range(horizon + 1):
        day = start + dt.timedelta(days=offset)
        due = payment_due_date(day, days=policy.payment_due_days, rule=policy.payment_due_rule)
        due_rows.append((offset, day.isoformat(), due.isoformat(), (due - start).days))
    _temp_table(
        "demo_day",
        "off KEY, day date, due date, due_off integer",
        due_rows,
        ("off", "day", "due", "due_off"),
    )
    # HIS usage is reported on the 15th of every month of the year.
    months, day = [], start.replace(day=15)
    while day <= min(end, load.today):
        months.append((len(months), day.isoformat()))
        day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=15)
    _temp_table("demo_month", "m KEY, day date", months, ("m", "day"))


def _day_offset(days: int, rounds: int) -> str:
    """The day of an institution's round: evenly spaced rounds, jittered within the round by a hash."""
    jitter = _hash("p.inst_id * 64 + r.rnd", 1, 48271)
    return f"((r.rnd * {days} + {jitter} % {days}) / {rounds})"


def _statements(sql: _Sql, load: _Load, lines: tuple[int, int], late_payers: list[int]):
    """Orders, order lines, deliveries, receipts and payments of the shard (line ids in `lines`, inclusive).
    One payment per paid line: 8–27 days after receipt, 45–84 days for the late payers (past the 30-day
    due date)."""
    quote = connection.ops.quote_name
    rounds, first_order, first_line = load.rounds, load.first_order, load.first_line
    end_off = (load.end - load.start).days
    days = end_off + 1
    # The rounds are spread over the whole year (its yearly volume); those after the demo's today are not
    # ordered yet.
    today_off = (load.today - load.start).days
    shard_lines = f"id BETWEEN {lines[0]} AND {lines[1]}"
    order_table, line_table = quote(Order._meta.db_table), quote(OrderLine._meta.db_table)
    yield (
        "orders",
        f"""
        INSERT INTO {order_table} (id, order_id, institution_id, supplier_id, distributor_id, ordered_on,
            source, routing_reason, created_at, created_by_id)
        SELECT {first_order} + p.slot * {rounds} + r.rnd,
               {sql.padded("DM", f"{first_order} + p.slot * {rounds} + r.rnd", 9)},
               p.inst_id, p.supplier_id, p.distributor_id, d.day, 'import', '', %s, NULL
        FROM demo_slot p CROSS JOIN demo_round r
        JOIN demo_day d ON d.off = {_day_offset(days, rounds)}
        WHERE {_bit("p.mask", "r.rnd")} = 1 AND d.off <= {today_off}
        """,
    )
    # Innermost: one row per pair and round with the product of that round and the line's hashes.
    base = f"""
        SELECT {_line_id(first_line, rounds)} AS id, p.inst_id, p.item_id, p.poor, p.late_recv,
            {_day_offset(days, rounds)} AS day_off,
            CASE WHEN sl.b = 1 THEN p.b_product ELSE p.a_product END AS product_id,
            CASE WHEN sl.b = 1 THEN p.b_supplier ELSE p.a_supplier END AS supplier_id,
            CASE WHEN sl.b = 1 THEN p.b_price ELSE p.a_price END AS price,
            {first_order} + s.slot * {rounds} + r.rnd AS order_pk, sl.line_no,
            CASE WHEN sl.b = 1 THEN 0 ELSE p.poor END AS poor_line,
            p.per_round * (750 + {_hash("p.pid * 64 + r.rnd", 3, 16807)} % 501) / 1000 AS raw_qty,
            d.day AS ordered_on
        FROM demo_slot s CROSS JOIN demo_round r CROSS JOIN demo_slotline sl CROSS JOIN demo_pair p
        JOIN demo_day d ON d.off = {_day_offset(days, rounds)}
        WHERE sl.slot = s.slot AND sl.k BETWEEN s.slot * {MAX_LINES} AND s.slot * {MAX_LINES} + {MAX_LINES - 1}
          AND p.pid = sl.pid AND (CASE WHEN {B_RULE} THEN 1 ELSE 0 END) = sl.b AND d.off <= {today_off}
          {sql.barrier}
    """
    line_id = "b.id"
    status = f"({_hash(line_id, 5, 69621)} % 1000)"
    partial = f"({_hash(line_id, 7, 39373)} % 1000)"
    spread = f"({_hash(line_id, 11, 40692)} % 400)"
    delay = f"({_hash(line_id, 13, 48271)} % 30)"
    late_draw = f"({_hash(line_id, 17, 630360016)} % 1000)"
    reject_draw = f"({_hash(line_id, 19, 742938285)} % 1000)"
    pay_draw = f"({_hash(line_id, 23, 950706376)} % 1000)"
    # Second level: quantities and the status; third: delivery and receipt days.
    shaped = f"""
        SELECT b.*, CASE WHEN b.raw_qty < 1 THEN 1 ELSE b.raw_qty END AS qty,
            CASE WHEN {status} < {CANCELLED} THEN 'cancelled'
                 WHEN {status} < {CANCELLED + REJECTED} THEN 'rejected' ELSE 'open' END AS status,
            CASE WHEN b.poor_line = 1 THEN 300 + {spread}
                 WHEN {partial} < 50 THEN 500 + {spread} ELSE 1000 END AS delivered_pm,
            b.day_off + CASE WHEN b.poor_line = 1 THEN 6 + {delay} % 10 ELSE 1 + {delay} % 3 END AS dl_off,
            CASE WHEN b.late_recv = 0 OR {late_draw} >= 500 THEN {delay} % 3
                 WHEN {late_draw} < 100 THEN 25 + {spread} % 40 ELSE 8 + {delay} % 14 END AS rc_gap,
            {reject_draw} AS reject_draw, {pay_draw} AS pay_draw
        FROM ({base}) b {sql.barrier}
    """
    delivered = f"""
        SELECT s.*, CASE WHEN s.status = 'open' THEN s.qty * s.delivered_pm / 1000 ELSE 0 END AS delivered
        FROM ({shaped}) s {sql.barrier}
    """
    received = f"""
        SELECT v.*, CASE WHEN v.delivered > 0 AND v.dl_off + v.rc_gap <= {end_off} THEN 1 ELSE 0 END AS received,
            CASE WHEN v.delivered > 0 AND v.dl_off + v.rc_gap <= {end_off} AND v.reject_draw < 15
                 THEN v.delivered * 5 / 100 ELSE 0 END AS rejected,
            dd.day AS delivered_on, rd.day AS received_on, rd.due AS due, rd.due_off AS due_off
        FROM ({delivered}) v
        JOIN demo_day dd ON dd.off = v.dl_off
        JOIN demo_day rd ON rd.off = v.dl_off + v.rc_gap
    """
    accepted = "(CASE WHEN x.received = 1 THEN x.delivered - x.rejected ELSE 0 END)"
    # Paid: every received line due by the demo's today, half of those due later (received, not yet paid).
    paid_cents = (
        f"CASE WHEN x.received = 1 AND (x.due_off <= {today_off} OR x.pay_draw < 500)"
        f" THEN ({accepted} * x.price + 50) / 100 ELSE 0 END"
    )
    late = ",".join(str(i) for i in late_payers) or "0"
    pay_offset = f"(CASE WHEN x.inst_id IN ({late}) THEN 45 + x.id % 40 ELSE 8 + x.id % 20 END)"
    yield (
        "lines",
        f"""
        INSERT INTO {line_table} (id, order_id, line_no, institution_id, supplier_id, ordered_on, product_id,
            item_id, qty, unit_price, amount, status, accepted_by_supplier, reject_reason, delivered_qty,
            accepted_qty, rejected_qty, paid_amount, last_delivered_on, last_received_on, last_paid_on,
            payment_due_on)
        SELECT x.id, x.order_pk, x.line_no, x.inst_id, x.supplier_id, x.ordered_on, x.product_id, x.item_id, x.qty,
            x.price, (x.qty * x.price + 50) / 100, x.status,
            CASE WHEN x.status = 'rejected' THEN FALSE WHEN x.delivered > 0 THEN TRUE END,
            CASE WHEN x.status = 'rejected' THEN '库存不足' ELSE '' END,
            x.delivered, {accepted}, x.rejected, {paid_cents},
            CASE WHEN x.delivered > 0 THEN x.delivered_on END, CASE WHEN x.received = 1 THEN x.received_on END,
            CASE WHEN {paid_cents} > 0 THEN {sql.add_days("x.received_on", pay_offset)} END,
            CASE WHEN x.received = 1 THEN x.due END
        FROM ({received}) x
        """,
    )
    yield (
        "deliveries",
        f"""
        INSERT INTO {quote(Delivery._meta.db_table)} (line_id, qty, delivered_on, created_at)
        SELECT id, delivered_qty, last_delivered_on, %s FROM {line_table}
        WHERE {shard_lines} AND delivered_qty > 0
        """,
    )
    yield (
        "receipts",
        f"""
        INSERT INTO {quote(Receipt._meta.db_table)} (line_id, accepted_qty, rejected_qty, received_on, reason,
            created_at)
        SELECT id, accepted_qty, rejected_qty, last_received_on,
            CASE WHEN rejected_qty > 0 THEN '外包装破损' ELSE '' END, %s
        FROM {line_table} WHERE {shard_lines} AND last_received_on IS NOT NULL
        """,
    )
    yield (
        "payments",
        f"""
        INSERT INTO {quote(Payment._meta.db_table)} (line_id, amount, paid_on, invoice_no, created_at)
        SELECT id, paid_amount, last_paid_on, '', %s FROM {line_table} WHERE {shard_lines} AND paid_amount > 0
        """,
    )


def _usage(offline: set[int], rounds: int) -> str:
    """Monthly HIS usage of the main product of every item a hospital (tertiary/secondary) buys, in two
    departments: 0.9 of the pair's yearly volume, spread ±30 % by month; the offline users use 1.6× it
    (offline purchases monitoring should suspect)."""
    quote, sql = connection.ops.quote_name, _Sql()
    heavy = ",".join(str(i) for i in sorted(offline)) or "0"
    factor = f"(CASE WHEN p.inst_id IN ({heavy}) THEN 16 ELSE 9 END)"
    draw = _hash("p.pid * 64 + m.m * 2 + dep.n", 29, 16807)
    # Monthly qty per department: per_round × rounds / 12 months / 2 departments × factor/10 × draw/1000
    # Only the share of rounds bought as the main product (A) is used as it.
    qty = f"(p.per_round * {rounds} * (10 - p.b_share) * {factor} * (700 + {draw} % 601) / 2400000)"
    departments = " UNION ALL ".join(
        f"SELECT {n} AS n, '{name}' AS name" for n, name in enumerate(USAGE_DEPARTMENTS)
    )
    return f"""
        INSERT INTO {quote(UsageLine._meta.db_table)} (institution_id, product_id, department, doctor_code, qty,
            used_on)
        SELECT p.inst_id, p.a_product, dep.name, {sql.padded("D", "p.inst_id % 1000", 3)} || dep.n,
            CASE WHEN {qty} < 1 THEN 1 ELSE {qty} END,
            m.day
        FROM demo_pair p
        JOIN {quote(Institution._meta.db_table)} i ON i.id = p.inst_id AND i.level IN ('tertiary', 'secondary')
        CROSS JOIN demo_month m CROSS JOIN ({departments}) dep
    """


def _reset_sequences() -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT continues after the largest id written
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Order, OrderLine]):
            cursor.execute(sql)
