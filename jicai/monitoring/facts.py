"""The indicator engine of SPEC §7 behind one entry point, `compute_facts(as_of, scope)`.

Everything is set-based SQL that runs unchanged on SQLite and PostgreSQL: Python only resolves the policy
of each (region, batch) pair once and writes it, with the dates the formulas need (S, E, min(D, E),
S − 1 year, …), into a small temporary table `mon_ctx`; every big query joins order lines to that table, so
there is no loop over institutions and no date arithmetic in SQL. Results:

* ProgressFact (institution × item) and DeliveryFact (supplier × institution × agreement year) rows of the
  scope are merged in bulk, writing only the rows whose quantities changed (see _merge_facts); the run's
  date and the year's time progress go to one FactDate row per (institution, agreement year), so a run for
  the next day on unchanged data moves the date without rewriting the facts;
* line-level facts that are themselves alert conditions (late receipts, late payments, abnormal orders,
  offline-purchase suspects, prices above cap, unsigned agreements, missing supplier reports) go to the
  temporary table `mon_finding`, which evaluate.py turns into alerts in the same database session.

Keeping the engine behind this module means it can move to a columnar engine (DuckDB over Parquet) later
without touching callers.

Speed: order lines carry running totals and the dates of their last delivery/receipt, and deliveries and
receipts can never predate the order (trade.actions refuses them), so a line whose whole life lies inside
a window contributes its running total directly; only lines straddling a window edge look at their
Receipt/Delivery rows (evaluated for those lines only: a correlated sub-query on SQLite, a PARALLEL SAFE
function on PostgreSQL, see line_received).
"""

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from django.db import connection, transaction
from django.utils import timezone

from jicai.agreements.models import AgreedVolume, PurchaseAgreement
from jicai.batches.models import (
    SUPPLY_ROLES,
    AgreementYear,
    Batch,
    Item,
    ItemFactor,
    ListingPrice,
    Substitute,
    Winner,
)
from jicai.compliance import overlaps
from jicai.core.pg import local_settings
from jicai.monitoring.models import Alert, DeliveryFact, FactDate, MonitoringRun, ProgressFact
from jicai.policy import rules as policy_rules
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Institution, Product, Region
from jicai.trade import rules as trade_rules
from jicai.trade.models import Delivery, OrderLine, Payment, Receipt, SupplierMonthlyReport, UsageLine

# SPEC §7 OFFLINE_PURCHASE_SUSPECT: usage in [S, D] > received in [S − 90 days, D] × 1.1. These two numbers
# are part of the definition in the SPEC table, not §3 policy parameters, hence constants here.
OFFLINE_LOOKBACK_DAYS = 90
OFFLINE_RATIO_NUM, OFFLINE_RATIO_DEN = 11, 10  # × 1.1, compared as integers: usage × 10 > received × 11
NO_BATCH = 0  # mon_ctx rows with batch_id 0 carry the region's policy for lines of no item


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


T = {}  # table names, filled lazily (models are importable before the connection is configured)


def tables() -> dict[str, str]:
    if not T:
        T.update(
            line=_t(OrderLine),
            receipt=_t(Receipt),
            delivery=_t(Delivery),
            payment=_t(Payment),
            usage=_t(UsageLine),
            inst=_t(Institution),
            item=_t(Item),
            product=_t(Product),
            winner=_t(Winner),
            factor=_t(ItemFactor),
            substitute=_t(Substitute),
            agreed=_t(AgreedVolume),
            agreement=_t(PurchaseAgreement),
            year=_t(AgreementYear),
            progress=_t(ProgressFact),
            deliveryfact=_t(DeliveryFact),
        )
    return T


def one_year_before(day: dt.date) -> dt.date:
    """Same calendar day a year earlier; 29 February falls back to 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def agreement_year_for(years: list[AgreementYear], as_of: dt.date) -> AgreementYear | None:
    """The year containing as_of; the last one after the cycle; None before the cycle starts (SPEC §7)."""
    ordered = sorted(years, key=lambda y: y.number)
    if not ordered or as_of < ordered[0].start:
        return None
    for year in ordered:
        if year.start <= as_of <= year.end:
            return year
    return ordered[-1] if as_of > ordered[-1].end else None


def _param(value):
    """Dates go to SQLite as ISO text (how Django stores DateField there); PostgreSQL takes date objects."""
    if isinstance(value, dt.date) and connection.vendor == "sqlite":
        return value.isoformat()
    return value


CTX_COLUMNS = (
    ("region_id", "bigint"),
    ("batch_id", "bigint"),
    ("province_id", "bigint"),
    ("year_id", "bigint"),
    ("s", "date"),
    ("e", "date"),
    ("d", "date"),  # D itself: SPEC §7 counts purchased(·, S, D) to D, also when D is after E
    ("ly_s", "date"),  # S − 1 year
    ("ly_e", "date"),  # S − 1 day
    ("sd_e", "date"),  # D − 1 year (end of the same days one year earlier)
    ("s90", "date"),  # S − 90 days
    ("grace_cut", "date"),  # min(E, D − delivery_grace_days)
    ("receipt_cut", "date"),  # deliveries before this day are late if not yet received
    ("basis", "varchar(16)"),
    ("tp", "numeric(20,10)"),
    ("elapsed", "integer"),
    ("total_days", "integer"),
    ("tolerance", "numeric(20,10)"),
    ("over_mult", "numeric(20,10)"),
    ("floor_rate", "numeric(20,10)"),
    ("t1", "numeric(20,10)"),
    ("t2", "numeric(20,10)"),
    ("t3", "numeric(20,10)"),
    ("growth", "numeric(20,10)"),
    ("receipt_days", "integer"),
    ("pay_days", "integer"),
    ("abnormal_multiple", "numeric(20,10)"),
    # SPEC §13 year-end forecast (policy.rules.forecast_window): the run-rate window [fw_s, D] of fw_days
    # days, the fw_remaining = E − D days it is projected over, and fw_ready = 1 once D ≥ S + window.
    ("fw_s", "date"),
    ("fw_days", "integer"),
    ("fw_remaining", "integer"),
    ("fw_ready", "integer"),
)
FINDING_COLUMNS = (
    ("type", "varchar(32)"),
    ("institution_id", "bigint"),
    ("item_id", "bigint"),
    ("supplier_id", "bigint"),
    ("product_id", "bigint"),
    ("line_id", "bigint"),
    ("ticket_id", "bigint"),
    ("batch_id", "bigint"),
    ("year_id", "bigint"),
    ("province_id", "bigint"),
    ("value", "numeric(30,10)"),
    ("threshold", "numeric(30,10)"),
    ("tier", "integer"),
    # A prepayment tranche label ("1", "2", "topup-YYYY-MM") for PREPAYMENT_OVERDUE (SPEC §12: one alert per
    # institution and tranche); NULL for every other type, whose keys it leaves unchanged.
    ("tranche", "varchar(16)"),
)


def _temp_table(cursor, name: str, columns) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cols = ", ".join(f"{c} {t}" for c, t in columns)
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({cols})")


def _work_table(cursor, facts: "Facts", name: str, select_sql: str, params=(), index: str = "") -> str:
    """A work table filled by `select_sql` that the big line statements read. PostgreSQL: a regular
    UNLOGGED table named after the session (temporary tables are invisible to parallel workers, so a
    statement reading one cannot run in parallel); it is created and dropped inside the run's transaction,
    so no other session ever sees it. SQLite: a temporary table. Returns the table's name."""
    table = f"{name}_{facts.work['pid']}" if _is_pg() else name
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    kind = "UNLOGGED TABLE" if _is_pg() else "TEMPORARY TABLE"
    cursor.execute(f"CREATE {kind} {table} AS {select_sql}", list(params))
    if index:
        cursor.execute(f"CREATE INDEX {table}_key ON {table} ({index})")
    _analyze(cursor, table)
    facts.work[name] = table
    return table


def _drop_work_tables(cursor, facts: "Facts") -> None:
    for name, table in facts.work.items():
        if name.startswith("mon_"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _create_as(cursor, name: str, select_sql: str, params=()) -> int:
    """CREATE TEMPORARY TABLE … AS SELECT: on PostgreSQL the SELECT may use parallel workers (an INSERT …
    SELECT never does). Returns the number of rows."""
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} AS {select_sql}", list(params))
    cursor.execute(f"SELECT COUNT(*) FROM {name}")
    return cursor.fetchone()[0]


def _insert_rows(cursor, name: str, columns, rows) -> None:
    """Rows may be shorter than `columns`: the trailing columns they leave out are NULL."""
    if not rows:
        return
    names = [c for c, _ in columns[: max(len(row) for row in rows)]]
    sql = f"INSERT INTO {name} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
    cursor.executemany(sql, [[_param(v) for v in row] for row in rows])


@dataclass
class Facts:
    """What one run computed: the run row, the context per (region, batch) and row counts."""

    as_of: dt.date
    scope: Region | None
    run: MonitoringRun
    contexts: list[dict] = field(default_factory=list)
    provinces: list[Region] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    cap_batches: list = field(default_factory=list)  # (product, batch) of the §4 order price caps
    work: dict = field(default_factory=dict)  # logical name → table name of shared work tables (PostgreSQL)
    # Real time (monitoring.realtime): only these institutions' facts and alerts; None = the whole scope.
    institutions: frozenset | None = None
    # SPEC §15: provincial item → national item of the confirmed overlaps in force on as_of.
    superseded: dict = field(default_factory=dict)
    # Rows each merge wrote: {"progress": {"deleted": n, "updated": n, "inserted": n}, "delivery": …, "dates": …}.
    written: dict = field(default_factory=dict)


# ---- SQL fragments -------------------------------------------------------------------------------------


def line_received(line_id: str, a: str, b: str) -> str:
    """Accepted receipt qty of one line with receipt date in [a, b], read from its Receipt rows. PostgreSQL:
    the PARALLEL SAFE function of migration 0004 (a correlated sub-query would keep the statement's
    aggregation out of the parallel workers); SQLite: the sub-query itself."""
    if _is_pg():
        return f"jicai_line_received({line_id}, {a}, {b})"
    return (
        f"(SELECT COALESCE(SUM(r.accepted_qty), 0) FROM {tables()['receipt']} r "
        f"WHERE r.line_id = {line_id} AND r.received_on >= {a} AND r.received_on <= {b})"
    )


def line_delivered_by(line_id: str, d: str) -> str:
    """Delivered qty of one line with delivery date on or before d (see line_received)."""
    if _is_pg():
        return f"jicai_line_delivered_by({line_id}, {d})"
    return (
        f"(SELECT COALESCE(SUM(dl.qty), 0) FROM {tables()['delivery']} dl "
        f"WHERE dl.line_id = {line_id} AND dl.delivered_on <= {d})"
    )


def received_between(a: str, b: str, l: str = "l") -> str:  # noqa: E741
    """Accepted receipt qty of line `l` with receipt date in [a, b] (fast path from the running totals)."""
    return (
        f"(CASE WHEN {l}.last_received_on IS NULL OR {l}.ordered_on > {b} OR {l}.last_received_on < {a} THEN 0 "
        f"WHEN {l}.ordered_on >= {a} AND {l}.last_received_on <= {b} THEN {l}.accepted_qty "
        f"ELSE {line_received(f'{l}.id', a, b)} END)"
    )


def ordered_between(a: str, b: str, l: str = "l") -> str:  # noqa: E741
    return (
        f"(CASE WHEN {l}.status <> 'cancelled' AND {l}.ordered_on >= {a} AND {l}.ordered_on <= {b} "
        f"THEN {l}.qty ELSE 0 END)"
    )


def purchased_between(a: str, b: str, l: str = "l") -> str:  # noqa: E741
    """purchased(·, a, b) of one line under the context's progress_basis (SPEC §7)."""
    return (
        f"(CASE WHEN c.basis = 'received' THEN {received_between(a, b, l)} "
        f"ELSE {ordered_between(a, b, l)} END)"
    )


def purchased_window(lo: str, hi: str) -> str:
    """WHERE clause keeping only lines that can contribute to some window inside [lo, hi]."""
    return (
        f"((c.basis = 'received' AND l.last_received_on >= {lo} AND l.ordered_on <= {hi}) "
        f"OR (c.basis <> 'received' AND l.status <> 'cancelled' AND l.ordered_on >= {lo} AND l.ordered_on <= {hi}))"
    )


SUPPLY_ROLE_SQL = "(" + ", ".join(f"'{r}'" for r in SUPPLY_ROLES) + ")"
# LATE_PAYMENT: what a line owes (its accepted value, trade.rules.payable_amount) and which lines can owe.
# A line is a candidate when received by D, past its due date and either not fully paid or paid after D
# (only then are its payments read: otherwise paid_amount is what was paid by D).
# Money columns hold integer cents and prices integer 1/10,000 yuan (core.fields): accepted qty × price is in
# 1/10,000 yuan, and (x + 50) / 100 the integer division that rounds it half up to cents.
PAYABLE = "((l.accepted_qty * l.unit_price + 50) / 100)"
LATE_PAYMENT_LINE = (
    "(l.status <> 'cancelled' AND l.accepted_qty > 0 AND l.last_received_on <= c.d AND l.payment_due_on < c.d "
    f"AND (l.paid_amount < {PAYABLE} OR l.last_paid_on > c.d))"
)


# ---- session set-up --------------------------------------------------------------------------------------

# Tables whose planner statistics matter to the big statements (PostgreSQL only; see _refresh_stale_statistics).
STAT_MODELS = (
    OrderLine,
    Delivery,
    Receipt,
    Payment,
    UsageLine,
    Institution,
    Item,
    Product,
    Winner,
    ItemFactor,
    Substitute,
    AgreedVolume,
    PurchaseAgreement,
    ProgressFact,
    DeliveryFact,
    FactDate,
    Alert,
)


def _is_pg() -> bool:
    return connection.vendor == "postgresql"


def _yuan(scaled: str, places: int) -> str:
    """A money/price column's scaled integer as yuan, for alert values and thresholds."""
    divisor = 10**places
    return f"(CAST({scaled} AS numeric) / {divisor})" if _is_pg() else f"(({scaled}) / {divisor}.0)"


def _session_settings(cursor) -> None:
    """PostgreSQL, for this transaction only: enough memory for the big hash aggregates to stay in memory
    (the default 4 MB makes them spill to disk or pick sort-based plans), and no JIT (its compile time
    per statement costs more than it saves on these statements; the one pass over the order lines turns it
    on for itself).

    Hash tables may grow to 8 × work_mem = 2 GB (sorts keep 256 MB): the one pass over order lines groups
    a province's 20 million lines into ~700 thousand groups of ~30 aggregates each, 430 MB per parallel
    worker and 1.3 GB when the leader combines them. Given that room the planner hashes (measured at
    province: 46 s) instead of sorting 13 million wide rows through disk (70 s); with more groups than fit,
    PostgreSQL's hash aggregate spills to disk instead of failing."""
    if _is_pg():
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL hash_mem_multiplier = 8")
        cursor.execute("SET LOCAL jit = off")


def _refresh_stale_statistics(cursor) -> None:
    """ANALYZE the input tables whose statistics are missing or stale by autovacuum's own rule (50 rows +
    10 % modified since the last analyze). Bulk-loaded data (the demo, imports) on a server whose
    autovacuum has not caught up otherwise leaves the planner guessing from empty-table statistics, and
    its nested-loop plans over millions of lines take minutes instead of seconds."""
    if not _is_pg():
        return
    names = [m._meta.db_table for m in STAT_MODELS]
    cursor.execute(
        "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
        "WHERE s.relname = ANY(%s) AND s.n_mod_since_analyze > 50 + 0.1 * GREATEST(c.reltuples, 0)",
        [names],
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")


def _analyze(cursor, name: str) -> None:
    """PostgreSQL: statistics for a freshly filled temporary table (autovacuum never sees temporary tables).
    Not on SQLite: statistics on the temporary tables only (the main tables have none) make its planner
    loop over the wrong side of the joins."""
    if _is_pg():
        cursor.execute(f"ANALYZE {name}")


def _institution_contexts(cursor, institutions: frozenset | None = None) -> None:
    """mon_ic: the context of every institution of the scope for every batch (and batch 0), so the big
    statements join order lines to one small indexed table by (institution, batch). Every statement of the
    run reaches its rows through mon_ic: restricting it to `institutions` restricts the whole run."""
    t = tables()
    only = ""
    if institutions is not None:
        only = f" WHERE i.id IN ({','.join(str(int(i)) for i in sorted(institutions)) or '0'})"
    cursor.execute("DROP TABLE IF EXISTS mon_ic")
    cursor.execute(
        f"CREATE TEMPORARY TABLE mon_ic AS SELECT i.id AS institution_id, c.* "
        f"FROM {t['inst']} i JOIN mon_ctx c ON c.region_id = i.region_id{only}"
    )
    cursor.execute("CREATE UNIQUE INDEX mon_ic_key ON mon_ic (institution_id, batch_id)")
    _analyze(cursor, "mon_ic")


# ---- context ---------------------------------------------------------------------------------------------


def _scope_regions(scope: Region | None, institutions: frozenset | None = None) -> list[Region]:
    qs = Region.objects.filter(institutions__isnull=False)
    if scope is not None:
        qs = qs.filter(path__startswith=scope.path)
    if institutions is not None:
        qs = qs.filter(institutions__in=institutions)
    return list(qs.distinct())


def build_contexts(
    as_of: dt.date, scope: Region | None, institutions: frozenset | None = None
) -> tuple[list[dict], list[Region]]:
    """One dict per (institution region, started batch) plus one per region with batch_id 0 (policy of
    lines of no item). Policies come from one PolicyResolver (one query for every profile)."""
    regions = _scope_regions(scope, institutions)
    province_codes = {r.province_code for r in regions}
    provinces = {p.code: p for p in Region.objects.filter(code__in=province_codes)}
    years_by_batch: dict[int, list[AgreementYear]] = {}
    batches = {b.pk: b for b in Batch.objects.filter(cycle_start__lte=as_of)}
    for year in AgreementYear.objects.filter(batch_id__in=batches):
        years_by_batch.setdefault(year.batch_id, []).append(year)
    resolver = PolicyResolver.load()
    contexts = []
    for region in regions:
        province = provinces.get(region.province_code)
        if province is None:
            continue
        policy = resolver.resolve(region, None)
        contexts.append(_context(region, province, None, None, as_of, policy))
        for batch_id, batch in batches.items():
            year = agreement_year_for(years_by_batch.get(batch_id, []), as_of)
            if year is None:
                continue
            contexts.append(_context(region, province, batch, year, as_of, resolver.resolve(region, batch)))
    return contexts, sorted(provinces.values(), key=lambda p: p.code)


def _context(region, province, batch, year, as_of, policy) -> dict:
    ctx = {
        "region_id": region.pk,
        "batch_id": batch.pk if batch else NO_BATCH,
        "province_id": province.pk,
        "year_id": year.pk if year else None,
        "d": as_of,
        "receipt_cut": as_of - dt.timedelta(days=policy.receipt_confirm_days),
        "basis": policy.progress_basis,
        "tolerance": policy.progress_tolerance,
        "over_mult": policy.over_purchase_multiple,
        "floor_rate": policy.delivery_rate_floor,
        "t1": policy.delivery_rate_tiers[0],
        "t2": policy.delivery_rate_tiers[1],
        "t3": policy.delivery_rate_tiers[2],
        "growth": policy.substitute_growth_threshold,
        "receipt_days": policy.receipt_confirm_days,
        "pay_days": policy.payment_due_days,
        "abnormal_multiple": policy.abnormal_order_multiple,
        "listing_cap_multiple": policy.listing_cap_multiple,
        "company_report_day": policy.company_report_day,
    }
    if year is not None:
        s, e = year.start, year.end
        d_eff = min(as_of, e)
        ctx.update(
            s=s,
            e=e,
            ly_s=one_year_before(s),
            ly_e=s - dt.timedelta(days=1),
            sd_e=one_year_before(as_of),
            s90=s - dt.timedelta(days=OFFLINE_LOOKBACK_DAYS),
            grace_cut=min(e, as_of - dt.timedelta(days=policy.delivery_grace_days)),
            tp=policy_rules.time_progress(s, e, as_of),
            elapsed=(d_eff - s).days + 1,
            total_days=(e - s).days + 1,
        )
        window = policy_rules.forecast_window(s, e, as_of, policy.forecast_window_days)
        ctx.update(
            fw_s=window.start, fw_days=window.days, fw_remaining=window.remaining, fw_ready=int(window.ready)
        )
    return ctx


# ---- the entry point ---------------------------------------------------------------------------------


def compute_facts(
    as_of: dt.date, scope: Region | None = None, institutions: frozenset | None = None
) -> Facts:
    """Compute SPEC §7 facts for every institution of `scope` (a Region, or None for all) as of `as_of`:
    store ProgressFact/DeliveryFact rows (replacing the scope's previous ones) and a MonitoringRun, and
    leave the line-level findings in the session's temporary table `mon_finding` for evaluate.py.
    `institutions` (real time, monitoring.realtime): only those institutions, and no MonitoringRun row
    (the run list stays the list of full runs)."""
    started = time.perf_counter()
    contexts, provinces = build_contexts(as_of, scope, institutions)
    run = MonitoringRun(as_of=as_of, region=scope)
    if institutions is None:
        run.save()
    facts = Facts(
        as_of=as_of,
        scope=scope,
        run=run,
        contexts=contexts,
        provinces=provinces,
        institutions=institutions,
        superseded=overlaps.superseded_items(as_of),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        setup_started = time.perf_counter()
        _session_settings(cursor)
        _refresh_stale_statistics(cursor)
        _temp_table(cursor, "mon_ctx", CTX_COLUMNS)
        _insert_rows(cursor, "mon_ctx", CTX_COLUMNS, [[c.get(n) for n, _ in CTX_COLUMNS] for c in contexts])
        _analyze(cursor, "mon_ctx")
        _institution_contexts(cursor, institutions)
        _temp_table(cursor, "mon_finding", FINDING_COLUMNS)
        if _is_pg():
            cursor.execute("SELECT pg_backend_pid()")
            facts.work["pid"] = cursor.fetchone()[0]
        facts.timings["setup"] = round(time.perf_counter() - setup_started, 3)
        steps = (
            ("caps", _cap_table),
            ("lines", _line_totals),
            ("progress", _progress_facts),
            ("delivery", _delivery_facts),
            ("dates", _fact_dates),
            ("late_receipt", _late_receipts),
            ("late_payment", _late_payments),
            ("abnormal_order", _abnormal_orders),
            ("offline", _offline_suspects),
            ("price_cap", _price_caps),
            ("unsigned", _unsigned_agreements),
            ("supplier_report", _missing_reports),
        )
        for name, step in steps:
            step_started = time.perf_counter()
            facts.counts[name] = step(cursor, facts)
            facts.timings[name] = round(time.perf_counter() - step_started, 3)
        _drop_work_tables(cursor, facts)
    run.seconds = round(time.perf_counter() - started, 3)
    run.counts = {"facts": facts.counts, "seconds": facts.timings, "written": facts.written}
    run.finished_at = timezone.now()
    if run.pk:
        run.save(update_fields=["seconds", "counts", "finished_at"])
    return facts


def _scope_filter(alias: str = "i") -> str:
    return f"{alias}.region_id IN (SELECT region_id FROM mon_ctx)"


def _basis_variants(facts: Facts) -> list[str]:
    """Which purchased() variants the run needs: 'r' (received basis) and/or 'o' (ordered)."""
    return sorted({"r" if c["basis"] == "received" else "o" for c in facts.contexts if c.get("s")})


def _received_window(a: str, l: str = "l") -> str:  # noqa: E741
    """Lines (ordered on or before D) that can have receipts on or after `a`."""
    return f"{l}.last_received_on >= {a}"


def _ordered_window(a: str, l: str = "l") -> str:  # noqa: E741
    return f"({l}.status <> 'cancelled' AND {l}.ordered_on >= {a})"


def _product_slots(facts: Facts) -> list[tuple]:
    """mon_pslot rows: per product bought as a listed substitute of an item of a started batch, or priced
    against a §4 cap, the distinct agreement-year starts S of those batches (its "slots"). The windows
    of the substitute facts ([S, D], [S − 1 year, S − 1 day], [S − 1 year, D − 1 year]) and of the order
    price check ([S, D]) depend on S only, so the one pass over order lines sums each line once per
    slot of its product, and the facts pick the slot of their own batch's S afterwards."""
    start_of = {c["batch_id"]: c["s"] for c in facts.contexts if c.get("s")}
    slots: dict[int, dict] = {}  # product → {S: [substitute?, cap?]}
    for product_id, batch_id in Substitute.objects.filter(item__batch_id__in=start_of).values_list(
        "product_id", "item__batch_id"
    ):
        slots.setdefault(product_id, {}).setdefault(start_of[batch_id], [0, 0])[0] = 1
    for product_id, batch_id in facts.cap_batches:
        if batch_id in start_of:
            slots.setdefault(product_id, {}).setdefault(start_of[batch_id], [0, 0])[1] = 1
    width = max((len(v) for v in slots.values()), default=0)
    rows = []
    for product_id, by_start in slots.items():
        row = [product_id]
        for start in sorted(by_start) + [None] * (width - len(by_start)):
            if start is None:
                row += [None, None, None, 0, 0]
            else:
                sub, cap = by_start[start]
                row += [start, one_year_before(start), start - dt.timedelta(days=1), sub, cap]
        rows.append(row)
    return rows


def _count_if(condition: str) -> str:
    """How many rows of the group meet `condition`. COUNT of a CASE without ELSE skips the rows that do not
    (a NULL is not counted), where SUM(CASE … ELSE 0 END) adds a zero for each of them: most of the one
    pass's columns are about few lines (substitutes, a window), and those additions were a good share of
    its aggregation time."""
    return f"COUNT(CASE WHEN {condition} THEN 1 END)"


def _sum_if(condition: str, amount: str) -> str:
    """Σ amount over the rows meeting `condition`, 0 when none (see _count_if). `amount` is a quantity of one
    line, at most core.money.QTY_MAX, so it is summed as a 32-bit integer: PostgreSQL then keeps a 64-bit
    running total, which its parallel workers hand to the leader as is, where the sum of 64-bit integers
    keeps a 128-bit state that each worker serialises per group and the leader decodes again (3.4 s of the
    pass at province). On PostgreSQL a larger amount raises an error; it is never wrapped."""
    return f"COALESCE(SUM(CASE WHEN {condition} THEN CAST({amount} AS integer) END), 0)"


def _line_totals(cursor, facts: Facts) -> int:
    """mon_lagg: the one pass over the order lines (ordered on or before D; nothing of SPEC §7 looks at a
    later order), grouped per institution × item × product × supplier, with the context of the line's
    item's batch (batch 0 for lines of no item; no dates for batches not started):

    * purchased(·, S, D) and the ordered/delivered quantities of the delivery rate ([S, min(E, D − grace)],
      delivered by D), with counts saying which groups had lines in each window, so the facts keep
      exactly the subjects the per-line formulation had;
    * per slot of the product (see _product_slots): the three substitute sums with their line count, and
      the highest order price in [S, D];
    * the largest qty ordered in [S, D] (abnormal-order candidates) and how many lines may be late
      receipts: the line-level checks then revisit only the (institution, product) pairs so flagged.
    """
    t = tables()
    d = _param(facts.as_of)
    # Context of every (institution of the scope, batch): mon_ic plus rows without dates for batches not
    # started, so a substitute line counts whatever item its own product belongs to.
    # SQLite must not CAST to date (the type name gives the text numeric affinity: '2024-06-08' → 2024).
    day = "CAST(%s AS date)" if _is_pg() else "%s"
    lc = _work_table(
        cursor,
        facts,
        "mon_lc",
        f"""
        SELECT institution_id, batch_id, s, {day} AS d, grace_cut, receipt_cut, basis, fw_s, 1 AS live
        FROM mon_ic
        UNION ALL
        SELECT i.institution_id, b.id, NULL, {day}, NULL, NULL, NULL, NULL, 0
        FROM (SELECT DISTINCT institution_id FROM mon_ic) i CROSS JOIN {_t(Batch)} b
        WHERE NOT EXISTS (SELECT 1 FROM mon_ic c WHERE c.institution_id = i.institution_id AND c.batch_id = b.id)
        """,
        [d, d],
        index="institution_id, batch_id",
    )
    slot_rows = [[r[0], one_year_before(facts.as_of), *r[1:]] for r in _product_slots(facts)]
    width = (len(slot_rows[0]) - 2) // 5 if slot_rows else 0
    slot_cols = [("product_id", "bigint"), ("sde", "date")]
    for j in range(1, width + 1):
        slot_cols += [(f"s{j}", "date"), (f"lys{j}", "date"), (f"lye{j}", "date"), (f"u{j}", "integer")]
        slot_cols += [(f"c{j}", "integer")]
    _temp_table(cursor, "mon_pslot", slot_cols)
    _insert_rows(cursor, "mon_pslot", slot_cols, slot_rows)
    sp = _work_table(cursor, facts, "mon_sp", "SELECT * FROM mon_pslot", index="product_id")
    variants = _basis_variants(facts)
    # The own-context sums (as the per-line formulation: window guard first, then the amount).
    delivery_window = "(l.status <> 'cancelled' AND l.ordered_on >= c.s AND l.ordered_on <= c.grace_cut)"
    delivered_by_d = (
        f"(CASE WHEN l.status = 'rejected' OR l.accepted_by_supplier = %s THEN 0 "
        f"WHEN l.last_delivered_on IS NULL THEN 0 "
        f"WHEN l.last_delivered_on <= c.d THEN l.delivered_qty "
        f"ELSE {line_delivered_by('l.id', 'c.d')} END)"
    )
    params = [False]
    window = purchased_window("c.s", "c.d")
    late_receipt = (
        "(l.delivered_qty > 0 AND l.ordered_on < c.receipt_cut AND (l.last_received_on IS NULL "
        "OR l.last_received_on > c.d OR l.accepted_qty + l.rejected_qty < l.delivered_qty))"
    )
    late_payment = f"(c.live = 1 AND {LATE_PAYMENT_LINE})"
    # The forecast's run-rate window [fw_s, D] lies inside [S, D] (fw_s ≥ S).
    forecast_window = purchased_window("c.fw_s", "c.d")
    columns = [
        f"{_sum_if(window, purchased_between('c.s', 'c.d'))} AS pur",
        f"{_count_if(window)} AS npw",
        f"{_sum_if(forecast_window, purchased_between('c.fw_s', 'c.d'))} AS pfw",
        f"{_sum_if(delivery_window, 'l.qty')} AS d_ord",
        f"{_sum_if(delivery_window, delivered_by_d)} AS d_del",
        f"{_count_if(delivery_window)} AS d_cnt",
        "MAX(CASE WHEN l.status <> 'cancelled' AND l.ordered_on >= c.s THEN l.qty END) AS max_qty",
        f"{_count_if(late_receipt)} AS lr_cnt",
        f"{_count_if(late_payment)} AS lp_cnt",
    ]
    for j in range(1, width + 1):
        s_j, lys_j, lye_j = f"sp.s{j}", f"sp.lys{j}", f"sp.lye{j}"
        for v in variants:
            if v == "r":
                win, amount = _received_window(lys_j), received_between
            else:
                win, amount = _ordered_window(lys_j), ordered_between
            guard = f"sp.u{j} = 1 AND {win}"
            columns += [
                f"{_count_if(guard)} AS n{j}{v}",
                f"{_sum_if(guard, amount(s_j, 'c.d'))} AS u{j}{v}",
                f"{_sum_if(guard, amount(lys_j, lye_j))} AS uly{j}{v}",
                f"{_sum_if(guard, amount(lys_j, 'sp.sde'))} AS usd{j}{v}",
            ]
        columns.append(
            f"MAX(CASE WHEN sp.c{j} = 1 AND l.status <> 'cancelled' AND l.ordered_on >= {s_j} "
            f"THEN l.unit_price END) AS p{j}"
        )
    select = f"""
        SELECT l.institution_id, l.item_id, l.product_id, l.supplier_id, c.batch_id, {", ".join(columns)}
        FROM {t["line"]} l
        LEFT JOIN {t["item"]} g ON g.id = l.item_id
        JOIN {lc} c ON c.institution_id = l.institution_id AND c.batch_id = COALESCE(g.batch_id, {NO_BATCH})
        LEFT JOIN {sp} sp ON sp.product_id = l.product_id
        WHERE l.ordered_on <= %s
        GROUP BY l.institution_id, l.item_id, l.product_id, l.supplier_id, c.batch_id
    """
    params.append(d)
    facts.work["slots"] = width
    facts.work["variants"] = variants
    # JIT for this statement only: compiling its ~30 aggregate expressions and the tuple deforming takes a
    # few seconds per process, and saves more over 13.5 million lines (21.5 s → 15.7 s at province).
    with local_settings(cursor, jit="on"):
        count = _create_as(cursor, "mon_lagg", select, params)
    _analyze(cursor, "mon_lagg")
    return count


def _slot_pick(column: str, facts: Facts, flag: str = "u", per_variant: bool = True) -> str:
    """The value of `column` (n, u, uly, usd or p) of the slot whose S is the context's (c.s), for the
    context's basis; NULL when the product has no such slot."""
    whens = []
    variants = facts.work.get("variants", []) if per_variant else [""]
    for j in range(1, facts.work.get("slots", 0) + 1):
        for v in variants:
            basis = ""
            if len(variants) > 1:
                basis = " AND c.basis = 'received'" if v == "r" else " AND c.basis <> 'received'"
            whens.append(f"WHEN sp.s{j} = c.s AND sp.{flag}{j} = 1{basis} THEN a.{column}{j}{v}")
    if not whens:
        return "CAST(NULL AS numeric)"
    return f"(CASE {' '.join(whens)} END)"


def _not_superseded(facts: Facts, column: str) -> str:
    """`{column} NOT IN (…)` over the provincial items superseded on D (SPEC §15), or "" when none: from the
    national start such an item's agreements stop accruing and its monitoring stops (their products' new
    lines count for the national item, trade.queries.items_for_products)."""
    if not facts.superseded:
        return ""
    return f"{column} NOT IN ({', '.join(str(int(i)) for i in sorted(facts.superseded))})"


# Findings about order lines already placed stay after an item is superseded: the delivery, receipt and
# payment still owed and the price paid do not end with the provincial item.
LINE_FINDINGS_OF_SUPERSEDED = ("LATE_RECEIPT", "LATE_PAYMENT", "PRICE_ABOVE_CAP")


def drop_superseded_findings(cursor, facts: Facts) -> int:
    """Remove the item-level findings (abnormal orders, offline suspects, not admitted, substitute limits …)
    of provincial items superseded on D; evaluate.py calls it once every finding is in mon_finding."""
    where = _not_superseded(facts, "item_id")
    if not where:
        return 0
    kept = ", ".join(f"'{t}'" for t in LINE_FINDINGS_OF_SUPERSEDED)
    cursor.execute(f"DELETE FROM mon_finding WHERE NOT ({where}) AND type NOT IN ({kept})")
    return cursor.rowcount


def _progress_facts(cursor, facts: Facts) -> int:
    """ProgressFact per institution × item of a started batch that was bought (W, N or U) or has an agreed
    volume. The three sources are grouped separately, each carrying the context's agreement year (one per
    institution and batch, so per item; the date and time progress go to FactDate, see _fact_dates), and
    combined by one GROUP BY of their UNION ALL: each has at most one row per (institution, item), the
    others NULL there, so MAX picks it. (Not a FULL JOIN: SQLite runs one as nested loops over the unindexed
    sources, quadratic at province.) The sums are rounded to the 4 places of ProgressFact in SQL:
    PostgreSQL's numeric(20, 4) rounds them on insert, SQLite stored them as computed, so a factor like
    0.333333 gave the alert rules different inputs on each."""
    t = tables()
    fac = "COALESCE(f.factor, 1)"
    sp = facts.work["mon_sp"]
    n, u, uly, usd = (_slot_pick(col, facts) for col in ("n", "u", "uly", "usd"))
    # W and N: lines counted for the item (OrderLine.item), split by the province's supply winners; N are
    # only products of the item itself (same generic name and form group), never substitutes. From the
    # line totals: purchased × factor summed per product is the per-line sum (the factor is per product).
    bought = f"""
        SELECT a.institution_id, a.item_id, c.year_id,
               SUM(CASE WHEN w.id IS NOT NULL THEN a.pur * {fac} ELSE 0 END) AS w,
               SUM(CASE WHEN w.id IS NOT NULL THEN a.pfw * {fac} ELSE 0 END) AS fw,
               SUM(CASE WHEN w.id IS NULL AND p.generic_name = g.generic_name
                        AND p.dosage_form_group = g.dosage_form_group THEN a.pur * {fac} ELSE 0 END) AS n,
               CAST(NULL AS numeric) AS u, CAST(NULL AS numeric) AS u_ly, CAST(NULL AS numeric) AS u_sd,
               CAST(NULL AS bigint) AS agreed, CAST(NULL AS bigint) AS reported, 0 AS has_av
        FROM mon_lagg a
        JOIN mon_ic c ON c.institution_id = a.institution_id AND c.batch_id = a.batch_id
        JOIN {t["item"]} g ON g.id = a.item_id
        JOIN {t["product"]} p ON p.id = a.product_id
        LEFT JOIN {t["winner"]} w ON w.item_id = a.item_id AND w.product_id = a.product_id
             AND w.province_id = c.province_id AND w.role IN {SUPPLY_ROLE_SQL}
        LEFT JOIN {t["factor"]} f ON f.item_id = a.item_id AND f.product_id = a.product_id
        WHERE a.npw > 0
        GROUP BY a.institution_id, a.item_id, c.year_id"""
    # U: substitutes listed for the item, whatever item their lines count for; three periods at once, from
    # the slot of the line totals whose S is the item's batch's (per group × factor = Σ per line × factor).
    substituted = f"""
        SELECT x.institution_id, x.item_id, x.year_id, NULL, NULL, NULL, SUM(x.u), SUM(x.u_ly),
               SUM(x.u_sd), NULL, NULL, 0
        FROM (SELECT a.institution_id, su.item_id, c.year_id, {u} * {fac} AS u, {uly} * {fac} AS u_ly,
                     {usd} * {fac} AS u_sd, {n} AS n
              FROM mon_lagg a
              JOIN {sp} sp ON sp.product_id = a.product_id
              JOIN {t["substitute"]} su ON su.product_id = a.product_id
              JOIN {t["item"]} g ON g.id = su.item_id
              JOIN mon_ic c ON c.institution_id = a.institution_id AND c.batch_id = g.batch_id
              LEFT JOIN {t["factor"]} f ON f.item_id = su.item_id AND f.product_id = a.product_id) x
        WHERE x.n > 0
        GROUP BY x.institution_id, x.item_id, x.year_id"""
    agreed = f"""
        SELECT av.institution_id, av.item_id, c.year_id, NULL, NULL, NULL, NULL, NULL, NULL,
               av.agreed_qty, av.reported_qty, 1
        FROM {t["agreed"]} av
        JOIN {t["item"]} g ON g.id = av.item_id
        JOIN mon_ic c ON c.institution_id = av.institution_id AND c.batch_id = g.batch_id
             AND c.year_id = av.agreement_year_id"""
    return _merge_facts(
        cursor,
        ProgressFact,
        ("institution_id", "item_id", "agreement_year_id"),
        (
            "agreed_qty",
            "reported_qty",
            "purchased_winning",
            "purchased_nonwinning",
            "purchased_substitute",
            "substitute_last_year",
            "substitute_same_days_last_year",
            "completion",
            "purchased_winning_window",
        ),
        f"""
        SELECT x.institution_id, x.item_id, x.year_id, x.agreed,
               CASE WHEN x.has_av > 0 THEN x.reported END, ROUND(x.w, 4), ROUND(x.n, 4), ROUND(x.u, 4),
               ROUND(x.u_ly, 4), ROUND(x.u_sd, 4),
               CASE WHEN x.agreed > 0 THEN x.w * 1.0 / x.agreed END, ROUND(x.fw, 4)
        FROM (SELECT institution_id, item_id, MAX(year_id) AS year_id,
                     COALESCE(MAX(w), 0) AS w, COALESCE(MAX(fw), 0) AS fw, COALESCE(MAX(n), 0) AS n,
                     COALESCE(MAX(u), 0) AS u,
                     COALESCE(MAX(u_ly), 0) AS u_ly, COALESCE(MAX(u_sd), 0) AS u_sd,
                     COALESCE(MAX(agreed), 0) AS agreed, MAX(reported) AS reported, MAX(has_av) AS has_av
              FROM ({bought} UNION ALL {substituted} UNION ALL {agreed}) s
              GROUP BY institution_id, item_id) x
        {_not_superseded(facts, "WHERE x.item_id")}
        """,
        [],
        facts.written.setdefault("progress", {}),
    )


def _delivery_facts(cursor, facts: Facts) -> int:
    """DeliveryFact per supplier × institution × agreement year from the line totals of winning products."""
    t = tables()
    return _merge_facts(
        cursor,
        DeliveryFact,
        ("supplier_id", "institution_id", "agreement_year_id"),
        ("ordered_qty", "delivered_qty", "rate"),
        f"""
        SELECT x.supplier_id, x.institution_id, x.year_id, x.ordered, x.delivered,
               CASE WHEN x.ordered > 0 THEN
                   CASE WHEN x.delivered >= x.ordered THEN 1 ELSE x.delivered * 1.0 / x.ordered END
               END
        FROM (SELECT a.supplier_id, a.institution_id, c.year_id, SUM(a.d_ord) AS ordered,
                     SUM(a.d_del) AS delivered
              FROM mon_lagg a
              JOIN mon_ic c ON c.institution_id = a.institution_id AND c.batch_id = a.batch_id
              JOIN {t["winner"]} w ON w.item_id = a.item_id AND w.product_id = a.product_id
                   AND w.province_id = c.province_id AND w.role IN {SUPPLY_ROLE_SQL}
              WHERE a.d_cnt > 0
              GROUP BY a.supplier_id, a.institution_id, c.year_id) x
        """,
        [],
        facts.written.setdefault("delivery", {}),
    )


def _fact_dates(cursor, facts: Facts) -> int:
    """FactDate per institution of the scope and agreement year of a started batch: the run's D and the
    year's time progress, the date-dependent part of that institution's facts of the year (both merges
    above store quantities only). Written like the facts, only where changed: the next day's run updates
    these rows (a province: institutions × running batches) where it used to rewrite every fact.
    Pairs of the scope's institutions no longer in a context (a finished year) lose their row, as their
    facts do."""
    return _merge_facts(
        cursor,
        FactDate,
        ("institution_id", "agreement_year_id"),
        ("as_of", "time_progress"),
        "SELECT institution_id, year_id, %s, tp FROM mon_ic WHERE year_id IS NOT NULL",
        [_param(facts.as_of)],
        facts.written.setdefault("dates", {}),
    )


def _merge_facts(
    cursor, model, keys: tuple, values: tuple, select_sql: str, params: list, written: dict | None = None
) -> int:
    """Replace the scope's rows of a fact table by the rows of `select_sql` (columns: keys, then values),
    writing only what changed: rows of the scope not found again are deleted, found rows whose values
    differ are updated in place (same id; on PostgreSQL a HOT update, the indexed key columns being
    unchanged), new keys are inserted. A re-run on the same data writes nothing, and so does a run for the
    next day on the rows whose quantities did not move (the date is in FactDate). Returns the number of
    facts; `written` receives the rows each statement wrote (deleted / updated / inserted).

    The old and new rows are matched once (one FULL JOIN into `mon_diff`, keeping only what differs); the
    delete, update and insert then read that usually small table."""
    target = connection.ops.quote_name(model._meta.db_table)
    tmp = f"mon_new_{model._meta.model_name}"
    fields = {f.column: f for f in model._meta.concrete_fields}
    columns = keys + values
    _temp_table(cursor, tmp, [(c, fields[c].db_type(connection)) for c in columns])
    with _hash_joins(cursor):
        cursor.execute(f"INSERT INTO {tmp} ({', '.join(columns)}) {select_sql}", params)
    count = cursor.rowcount
    if _is_pg():
        # No index: PostgreSQL hash-joins the 1.6 million facts of a province in a second or two, where
        # walking a fresh index over them (random reads of the new rows) took 5 s.
        _analyze(cursor, tmp)
    else:
        # SQLite joins by nested loops only: without the index the join below would be quadratic.
        cursor.execute(f"CREATE UNIQUE INDEX {tmp}_key ON {tmp} ({', '.join(keys)})")
    distinct = "IS DISTINCT FROM" if _is_pg() else "IS NOT"
    found = f"n.{keys[0]}"  # a key column: NULL only for old rows not found again
    cursor.execute("DROP TABLE IF EXISTS mon_diff")
    with _hash_joins(cursor):
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE mon_diff AS
            SELECT p.id AS old_id, {", ".join(f"n.{c}" for c in columns)}
            FROM (SELECT * FROM {target} WHERE institution_id IN (SELECT institution_id FROM mon_ic)) p
            FULL JOIN {tmp} n ON {" AND ".join(f"p.{k} = n.{k}" for k in keys)}
            WHERE p.id IS NULL OR {found} IS NULL OR {" OR ".join(f"p.{v} {distinct} n.{v}" for v in values)}
            """
        )
    cursor.execute(f"DELETE FROM {target} WHERE id IN (SELECT old_id FROM mon_diff WHERE {keys[0]} IS NULL)")
    deleted = cursor.rowcount
    cursor.execute(
        f"UPDATE {target} AS p SET {', '.join(f'{v} = n.{v}' for v in values)} FROM mon_diff n "
        f"WHERE p.id = n.old_id AND {found} IS NOT NULL"
    )
    updated = cursor.rowcount
    cursor.execute(
        f"INSERT INTO {target} ({', '.join(columns)}) SELECT {', '.join(f'n.{c}' for c in columns)} "
        f"FROM mon_diff n WHERE n.old_id IS NULL"
    )
    if written is not None:
        written.update(deleted=deleted, updated=updated, inserted=cursor.rowcount)
    return count


def _hash_joins(cursor):
    """Hash joins only, for the fact merge. Its inputs are fresh work tables whose joins PostgreSQL's
    planner misjudges: the FULL JOINs of the 1.6 million old and new facts and of the progress sources
    looked cheaper sorted and merged (5.5 s against 2.7 s hashed at province), and the line totals joined
    to the supply winners were estimated at 800 rows instead of 650 thousand, so each was looked up in the
    contexts' index in turn (3 s against 1 s)."""
    return local_settings(cursor, enable_mergejoin="off", enable_nestloop="off")


def _line_ctx_join() -> str:
    """Joins a line to its institution and the context of its item's batch (batch 0 for lines of no item)."""
    t = tables()
    return (
        f"LEFT JOIN {t['item']} g ON g.id = l.item_id "
        f"JOIN mon_ic c ON c.institution_id = l.institution_id AND c.batch_id = COALESCE(g.batch_id, {NO_BATCH})"
    )


def _candidate_pairs(cursor, name: str, select_sql: str) -> int:
    """A small table of (institution, product) pairs whose lines a line-level check must look at: the
    pairs the one pass over order lines flagged with a cheap necessary condition. The check then reads
    only their lines, by the (institution, product, ordered_on) index, and applies its full condition."""
    _temp_table(cursor, name, (("institution_id", "bigint"), ("product_id", "bigint")))
    cursor.execute(f"INSERT INTO {name} {select_sql}")
    count = cursor.rowcount
    cursor.execute(f"CREATE INDEX {name}_key ON {name} (institution_id, product_id)")
    _analyze(cursor, name)
    return count


def _late_receipts(cursor, facts: Facts) -> int:
    """LATE_RECEIPT: delivered qty delivered more than receipt_confirm_days before D (FIFO) exceeds what
    was received (accepted + rejected) by D. Value: the uncovered qty; threshold: the days allowed.
    Only lines of the pairs whose line totals counted a possibly late line (same necessary condition)."""
    t = tables()
    as_of = _param(facts.as_of)
    if not _candidate_pairs(
        cursor, "mon_lr_pairs", "SELECT DISTINCT institution_id, product_id FROM mon_lagg WHERE lr_cnt > 0"
    ):
        return 0
    delivered_before = (
        f"(CASE WHEN l.last_delivered_on < c.receipt_cut THEN l.delivered_qty "
        f"ELSE (SELECT COALESCE(SUM(dl.qty), 0) FROM {t['delivery']} dl "
        f"WHERE dl.line_id = l.id AND dl.delivered_on < c.receipt_cut) END)"
    )
    received_by = (
        "(CASE WHEN l.last_received_on IS NULL THEN 0 "
        "WHEN l.last_received_on <= %s THEN l.accepted_qty + l.rejected_qty "
        f"ELSE (SELECT COALESCE(SUM(r.accepted_qty + r.rejected_qty), 0) FROM {t['receipt']} r "
        "WHERE r.line_id = l.id AND r.received_on <= %s) END)"
    )
    return _flagged_line_findings(
        cursor,
        "LATE_RECEIPT",
        "mon_lr_pairs",
        computed=f"c.receipt_days AS threshold, {delivered_before} AS db, {received_by} AS rb",
        value="x.db - x.rb",
        condition="l.delivered_qty > 0 AND l.ordered_on < c.receipt_cut AND (l.last_received_on IS NULL "
        "OR l.last_received_on > %s OR l.accepted_qty + l.rejected_qty < l.delivered_qty)",
        found="x.db > x.rb",
        params=[as_of, as_of, as_of, as_of],
    )


def _flagged_line_findings(
    cursor, type_: str, pairs: str, *, computed: str, value: str, condition: str, found: str, params: list
) -> int:
    """Findings of a line-level check over the lines (ordered on or before D) of the candidate pairs in
    table `pairs`: `computed` adds columns (threshold among them) per line meeting `condition`, `found`
    keeps the lines the finding is about, `value` is its value. `params`: those of `computed`, then D,
    then those of `condition`."""
    cursor.execute(
        f"""
        INSERT INTO mon_finding (type, institution_id, item_id, supplier_id, product_id, line_id, batch_id,
            year_id, province_id, value, threshold)
        SELECT '{type_}', x.institution_id, x.item_id, x.supplier_id, x.product_id, x.id, x.batch_id,
               x.year_id, x.province_id, {value}, x.threshold
        FROM (SELECT l.id, l.institution_id, l.item_id, l.supplier_id, l.product_id, g.batch_id, c.year_id,
                     c.province_id, {computed}
              FROM {pairs} p CROSS JOIN {tables()["line"]} l {_line_ctx_join()}
              WHERE l.institution_id = p.institution_id AND l.product_id = p.product_id
                AND l.ordered_on <= %s AND {condition}) x
        WHERE {found}
        """,
        params,
    )
    return cursor.rowcount


def _late_payments(cursor, facts: Facts) -> int:
    """LATE_PAYMENT: a line received by D (its last receipt on or before D) whose accepted value is not
    fully paid by D while D is after its payment due date. Value: the outstanding amount (yuan);
    threshold: payment_due_days. Lines partly received after D are judged once their receipts are in.
    Only lines of the pairs whose line totals counted a possibly late line (same condition, with the
    payments after D read only for lines paid after D)."""
    t = tables()
    as_of = _param(facts.as_of)
    if not _candidate_pairs(
        cursor, "mon_lp_pairs", "SELECT DISTINCT institution_id, product_id FROM mon_lagg WHERE lp_cnt > 0"
    ):
        return 0
    paid_by = (
        "(CASE WHEN l.last_paid_on IS NULL OR l.last_paid_on <= %s THEN l.paid_amount "
        f"ELSE l.paid_amount - (SELECT COALESCE(SUM(pa.amount), 0) FROM {t['payment']} pa "
        "WHERE pa.line_id = l.id AND pa.paid_on > %s) END)"
    )
    return _flagged_line_findings(
        cursor,
        "LATE_PAYMENT",
        "mon_lp_pairs",
        computed=f"c.pay_days AS threshold, {PAYABLE} AS payable, {paid_by} AS paid",
        value=_yuan("x.payable - x.paid", 2),
        condition=LATE_PAYMENT_LINE,
        found="x.payable > x.paid",
        params=[as_of] * 3,
    )


def _abnormal_orders(cursor, facts: Facts) -> int:
    """ABNORMAL_ORDER: qty > k × max(average monthly purchased qty of the product by the institution over
    the 12 months before the order date, agreed qty of the item / 12); not applicable when both are 0.

    Units: the line qty and the product's history are in the product's own minimum units (no factor: it
    is one product throughout), while the agreed qty is in the item's reference units, so it is converted
    to the product's units by dividing by the product's item_factor f (agreed 120 of a 20 mg reference is
    240 tablets of 10 mg, f = 0.5). Compared without division: 12 × qty × f > k × max(history × f, agreed).

    Lines ordered in [S, D] are checked, set-based: a cheap necessary condition (12 × qty × f > k × agreed)
    keeps the candidates, and each candidate's history is one correlated sum over the same institution's
    lines of the same product (index institution, product, ordered_on) between the dates of `mon_days`
    (order date → [the same day a year earlier, the day before], computed in Python for exact calendar
    years on both databases)."""
    t = tables()
    starts = [c["s"] for c in facts.contexts if c.get("s") is not None]
    if not starts:
        return 0
    first = min(starts)
    days = [first + dt.timedelta(days=n) for n in range((facts.as_of - first).days + 1)]
    cols = (("day", "date"), ("a", "date"), ("b", "date"))
    _temp_table(cursor, "mon_days", cols)
    _insert_rows(cursor, "mon_days", cols, [(d, one_year_before(d), d - dt.timedelta(days=1)) for d in days])
    _analyze(cursor, "mon_days")
    # The agreed qty of (institution, item) in the context's year: the progress facts just merged carry it
    # (0 where none was agreed; a pair bought without one has a fact with 0, or none when nothing of it was
    # received yet, hence the LEFT JOIN), 1.6 million rows where the agreed volumes hold every year's.
    agreed = (
        f"LEFT JOIN {t['progress']} av ON av.agreement_year_id = c.year_id "
        "AND av.institution_id = {i} AND av.item_id = {g}"
    )
    # 0. The (institution, product) pairs with a line that can pass the cheap condition: from the largest
    # qty per group of the line totals (same item, batch context and factor as its lines).
    if not _candidate_pairs(
        cursor,
        "mon_abn_pairs",
        f"""
        SELECT DISTINCT a.institution_id, a.product_id
        FROM mon_lagg a
        JOIN mon_ic c ON c.institution_id = a.institution_id AND c.batch_id = a.batch_id
        {agreed.format(i="a.institution_id", g="a.item_id")}
        LEFT JOIN {t["factor"]} f ON f.item_id = a.item_id AND f.product_id = a.product_id
        WHERE a.item_id IS NOT NULL AND a.max_qty IS NOT NULL
          AND a.max_qty * 12 * COALESCE(f.factor, 1) > COALESCE(av.agreed_qty, 0) * c.abnormal_multiple
        """,
    ):
        return 0
    # 1. Candidates (the cheap condition only) into a small table, each with its history: one correlated
    # sum over the institution's lines of the product between the dates of its history window.
    _temp_table(
        cursor,
        "mon_abn",
        (
            ("id", "bigint"),
            ("institution_id", "bigint"),
            ("item_id", "bigint"),
            ("supplier_id", "bigint"),
            ("product_id", "bigint"),
            ("qty", "bigint"),
            ("batch_id", "bigint"),
            ("year_id", "bigint"),
            ("province_id", "bigint"),
            ("k", "numeric(20,10)"),
            ("agreed", "bigint"),
            ("factor", "numeric(20,10)"),
            ("hist", "numeric(30,6)"),
        ),
    )
    hist = purchased_between("k.a", "k.b", "h")
    window = (
        "((c.basis = 'received' AND h.last_received_on >= k.a) "
        "OR (c.basis <> 'received' AND h.status <> 'cancelled' AND h.ordered_on >= k.a))"
    )
    cursor.execute(
        f"""
        INSERT INTO mon_abn
        SELECT l.id, l.institution_id, l.item_id, l.supplier_id, l.product_id, l.qty, g.batch_id, c.year_id,
               c.province_id, c.abnormal_multiple, COALESCE(av.agreed_qty, 0), COALESCE(f.factor, 1),
               COALESCE((SELECT SUM({hist}) FROM {t["line"]} h
                         WHERE h.institution_id = l.institution_id AND h.product_id = l.product_id
                           AND h.ordered_on <= k.b AND {window}), 0)
        FROM mon_abn_pairs p
        CROSS JOIN {t["line"]} l
        JOIN {t["item"]} g ON g.id = l.item_id
        JOIN mon_ic c ON c.institution_id = l.institution_id AND c.batch_id = g.batch_id
        JOIN mon_days k ON k.day = l.ordered_on
        {agreed.format(i="l.institution_id", g="l.item_id")}
        LEFT JOIN {t["factor"]} f ON f.item_id = l.item_id AND f.product_id = l.product_id
        WHERE l.institution_id = p.institution_id AND l.product_id = p.product_id AND l.ordered_on <= %s
          AND l.status <> 'cancelled' AND l.ordered_on >= c.s AND l.ordered_on <= c.d
          AND l.qty * 12 * COALESCE(f.factor, 1) > COALESCE(av.agreed_qty, 0) * c.abnormal_multiple
        """,
        [_param(facts.as_of)],
    )
    if not cursor.rowcount:
        return 0
    # 3. The condition on the stored numbers.
    cursor.execute(
        """
        INSERT INTO mon_finding (type, institution_id, item_id, supplier_id, product_id, line_id, batch_id,
            year_id, province_id, value, threshold)
        SELECT 'ABNORMAL_ORDER', x.institution_id, x.item_id, x.supplier_id, x.product_id, x.id, x.batch_id,
               x.year_id, x.province_id, x.qty,
               x.k * (CASE WHEN x.hist * x.factor > x.agreed THEN x.hist * 1.0
                           ELSE x.agreed * 1.0 / x.factor END) / 12.0
        FROM mon_abn x
        WHERE (x.hist > 0 OR x.agreed > 0)
          AND x.qty * 12 * x.factor > x.k * (CASE WHEN x.hist * x.factor > x.agreed
                                                  THEN x.hist * x.factor ELSE x.agreed END)
        """
    )
    return cursor.rowcount


def _offline_suspects(cursor, facts: Facts) -> int:
    """OFFLINE_PURCHASE_SUSPECT: usage of a product in [S, D] > accepted receipts of it in
    [S − 90 days, D] × 1.1, for products of an item (or listed substitutes) of a started batch."""
    t = tables()
    # Product → (item, batch): the products of each item (same generic name and form group) and its listed
    # substitutes; a product counted for several batches takes the latest cycle.
    mapping: dict[int, tuple[int, int, dt.date]] = {}
    batch_ids = {c["batch_id"] for c in facts.contexts if c["batch_id"] != NO_BATCH}
    items = list(
        Item.objects.filter(batch_id__in=batch_ids).values_list(
            "pk", "batch_id", "generic_name", "dosage_form_group", "batch__cycle_start"
        )
    )
    by_key = {}
    for pk, batch_id, generic, form, start in items:
        by_key.setdefault((generic, form), []).append((pk, batch_id, start))
    used = UsageLine.objects.values_list("product_id", flat=True).distinct()
    for pid, generic, form in Product.objects.filter(pk__in=used).values_list(
        "pk", "generic_name", "dosage_form_group"
    ):
        for pk, batch_id, start in by_key.get((generic, form), []):
            if pid not in mapping or start > mapping[pid][2]:
                mapping[pid] = (pk, batch_id, start)
    for item_id, pid, batch_id, start in Substitute.objects.filter(item__batch_id__in=batch_ids).values_list(
        "item_id", "product_id", "item__batch_id", "item__batch__cycle_start"
    ):
        if pid not in mapping:
            mapping[pid] = (item_id, batch_id, start)
    if not mapping:
        return 0
    cols = (("product_id", "bigint"), ("item_id", "bigint"), ("batch_id", "bigint"))
    _temp_table(cursor, "mon_prod", cols)
    _insert_rows(cursor, "mon_prod", cols, [(p, i, b) for p, (i, b, _) in mapping.items()])
    _analyze(cursor, "mon_prod")
    _temp_table(
        cursor,
        "mon_use",
        (("institution_id", "bigint"), ("product_id", "bigint"), ("item_id", "bigint"), ("used", "bigint")),
    )
    cursor.execute(
        f"""
        INSERT INTO mon_use
        SELECT u.institution_id, u.product_id, mp.item_id, SUM(u.qty)
        FROM {t["usage"]} u
        JOIN mon_prod mp ON mp.product_id = u.product_id
        JOIN mon_ic c ON c.institution_id = u.institution_id AND c.batch_id = mp.batch_id
        WHERE u.used_on >= c.s AND u.used_on <= c.d
        GROUP BY u.institution_id, u.product_id, mp.item_id
        """
    )
    _analyze(cursor, "mon_use")
    received = received_between("c.s90", "c.d")
    cursor.execute(
        f"""
        INSERT INTO mon_finding (type, institution_id, item_id, product_id, batch_id, year_id, province_id,
            value, threshold)
        SELECT 'OFFLINE_PURCHASE_SUSPECT', x.institution_id, x.item_id, x.product_id, x.batch_id, x.year_id,
               x.province_id, x.used, x.received * {OFFLINE_RATIO_NUM}.0 / {OFFLINE_RATIO_DEN}
        FROM (SELECT mu.institution_id, mu.product_id, mu.item_id, mu.used, c.batch_id, c.year_id,
                     c.province_id,
                     COALESCE((SELECT SUM({received}) FROM {t["line"]} l
                               WHERE l.institution_id = mu.institution_id AND l.product_id = mu.product_id
                                 AND l.last_received_on >= c.s90 AND l.ordered_on <= c.d), 0) AS received
              FROM mon_use mu
              JOIN mon_prod mp ON mp.product_id = mu.product_id
              JOIN mon_ic c ON c.institution_id = mu.institution_id AND c.batch_id = mp.batch_id) x
        WHERE x.used * {OFFLINE_RATIO_DEN} > x.received * {OFFLINE_RATIO_NUM}
        """
    )
    return cursor.rowcount


def _cap_table(cursor, facts: Facts) -> int:
    """PRICE_ABOVE_CAP, part 1 (before the pass over order lines, which needs the capped products): the
    §4 cap of every winning product per province (policy.rules.listing_verdict) into mon_cap, and the
    listing prices in force on D above their cap as findings."""
    batch_ids = {c["batch_id"] for c in facts.contexts if c["batch_id"] != NO_BATCH}
    ctx_by = _province_contexts(facts)
    winners = list(
        Winner.objects.filter(item__batch_id__in=batch_ids).values_list(
            "item_id", "item__batch_id", "product_id", "province_id", "role", "winning_price"
        )
    )
    if not winners:
        return 0
    highest: dict[int, Decimal] = {}
    own: dict[int, Decimal] = {}
    role_in: dict[tuple[int, int], tuple[str, Decimal]] = {}
    item_of: dict[int, tuple[int, int]] = {}
    for item_id, batch_id, product_id, province_id, role, price in winners:
        highest[item_id] = max(highest.get(item_id, price), price)
        own[product_id] = max(own.get(product_id, price), price)
        role_in[(product_id, province_id)] = (role, price)
        item_of.setdefault(product_id, (item_id, batch_id))
    caps = []  # (product, province, cap, item, batch)
    listing_findings = []
    for province in facts.provinces:
        listed = {}
        for product_id, price in (
            ListingPrice.objects.filter(province=province, valid_from__lte=facts.as_of, product_id__in=own)
            .order_by("product_id", "valid_from")
            .values_list("product_id", "price")
        ):
            listed[product_id] = price  # the latest valid_from on or before D wins
        for product_id in own:
            item_id, batch_id = item_of[product_id]
            c = ctx_by.get((province.pk, batch_id))
            if c is None:
                continue
            role, province_price = role_in.get((product_id, province.pk), (None, None))
            own_price = province_price if province_price is not None else own[product_id]
            verdict = policy_rules.listing_verdict(
                price=listed.get(product_id, own_price),
                role=role,
                own_winning_price=own_price,
                highest_winning_price=highest[item_id],
                multiple=c["listing_cap_multiple"],
                other_spec_of_winner=False,
            )
            if verdict.cap is None:
                continue
            exact = verdict.exact_cap
            # In the unit of the order lines' price column (core.fields.PriceField: 1/10,000 yuan), rounded
            # down from the exact cap (SPEC §4, not its 4-decimal display): for prices on that grid,
            # price > cap exactly when price > the cap rounded down to it (0.1853 > 0.18525 ⇔ 1853 > 1852).
            scaled_cap = int((exact * 10000).to_integral_value(rounding=ROUND_FLOOR))
            caps.append((product_id, province.pk, scaled_cap, item_id, batch_id, exact))
            if product_id in listed and listed[product_id] > exact:
                listing_findings.append(
                    (
                        "PRICE_ABOVE_CAP",
                        None,
                        item_id,
                        None,
                        product_id,
                        None,
                        None,
                        batch_id,
                        c["year_id"],
                        province.pk,
                        listed[product_id],
                        exact,
                        None,
                    )
                )
    _insert_rows(cursor, "mon_finding", FINDING_COLUMNS, listing_findings)
    facts.work["listings"] = len(listing_findings)
    facts.cap_batches = sorted({(product_id, batch_id) for product_id, _, _, _, batch_id, _ in caps})
    cols = (
        ("product_id", "bigint"),
        ("province_id", "bigint"),
        ("cap", "bigint"),  # compared with the lines' scaled prices
        ("item_id", "bigint"),
        ("batch_id", "bigint"),
        ("cap_yuan", "numeric(30,10)"),  # the exact cap, the alert's threshold
    )
    _temp_table(cursor, "mon_cap", cols)
    _insert_rows(cursor, "mon_cap", cols, caps)
    _analyze(cursor, "mon_cap")
    return len(caps)


def _price_caps(cursor, facts: Facts) -> int:
    """PRICE_ABOVE_CAP, part 2: order lines of the current agreement year ([S, D], not cancelled) priced
    above their product's cap in the institution's province, per institution and product: from the
    highest price of the line totals' slot of the cap's batch (value = the highest price above the cap)."""
    if "listings" not in facts.work:
        return 0
    sp = facts.work["mon_sp"]
    price = _slot_pick("p", facts, flag="c", per_variant=False)
    cursor.execute(
        f"""
        INSERT INTO mon_finding (type, institution_id, item_id, product_id, batch_id, year_id, province_id,
            value, threshold)
        SELECT 'PRICE_ABOVE_CAP', x.institution_id, x.item_id, x.product_id, x.batch_id, x.year_id,
               x.province_id, {_yuan("MAX(x.price)", 4)}, MAX(x.cap_yuan)
        FROM (SELECT a.institution_id, k.item_id, a.product_id, k.batch_id, c.year_id, c.province_id,
                     {price} AS price, k.cap, k.cap_yuan
              FROM mon_lagg a
              JOIN {sp} sp ON sp.product_id = a.product_id
              JOIN mon_cap k ON k.product_id = a.product_id
              JOIN mon_ic c ON c.institution_id = a.institution_id AND c.batch_id = k.batch_id
                   AND c.province_id = k.province_id) x
        WHERE x.price > x.cap
        GROUP BY x.institution_id, x.item_id, x.product_id, x.batch_id, x.year_id, x.province_id
        """
    )
    return facts.work["listings"] + cursor.rowcount


def _province_contexts(facts: Facts) -> dict[tuple[int, int], dict]:
    """(province id, batch id) → a context of that province and batch: the province's own when it has
    institutions of its own, else one of its regions' (province-wide rules such as listing caps and report
    days are set at province level, so any region of the province carries the same values)."""
    by = {}
    for c in facts.contexts:
        key = (c["province_id"], c["batch_id"])
        if key not in by or c["region_id"] == c["province_id"]:
            by[key] = c
    return by


def _unsigned_agreements(cursor, facts: Facts) -> int:
    """UNSIGNED_AGREEMENT: agreements not effective after their due date (the agreement's own, else its
    agreement year's sign_due), per institution × supplier × agreement year; value = how many."""
    t = tables()
    cursor.execute(
        f"""
        INSERT INTO mon_finding (type, institution_id, supplier_id, batch_id, year_id, province_id, value)
        SELECT 'UNSIGNED_AGREEMENT', a.institution_id, a.supplier_id, y.batch_id, a.agreement_year_id,
               c.province_id, COUNT(*)
        FROM {t["agreement"]} a
        JOIN {t["year"]} y ON y.id = a.agreement_year_id
        JOIN mon_ic c ON c.institution_id = a.institution_id AND c.batch_id = y.batch_id
        WHERE a.status <> 'effective' AND COALESCE(a.due_date, y.sign_due) < %s
        GROUP BY a.institution_id, a.supplier_id, y.batch_id, a.agreement_year_id, c.province_id
        """,
        [_param(facts.as_of)],
    )
    return cursor.rowcount


def _missing_reports(cursor, facts: Facts) -> int:
    """LATE_SUPPLIER_REPORT: per province, batch and supply-role company, the items whose report for the
    latest month past its due day (company_report_day) is missing; value = how many items."""
    ctx_by = _province_contexts(facts)
    findings = []
    for province in facts.provinces:
        if (facts.scope is not None and facts.scope.level != "province") or facts.institutions is not None:
            continue  # supplier-only alerts belong to the province's run
        for batch in Batch.objects.filter(
            pk__in={c["batch_id"] for c in facts.contexts}, items__winners__province=province
        ).distinct():
            c = ctx_by.get((province.pk, batch.pk))
            if c is None:
                continue
            day = c["company_report_day"]
            month = trade_rules.latest_overdue_report_month(facts.as_of, day)
            if batch.cycle_start > trade_rules.monthly_report_due(month, day) or batch.cycle_end < month:
                continue
            filed = set(
                SupplierMonthlyReport.objects.filter(item__batch=batch, month=month).values_list(
                    "company_id", "item_id"
                )
            )
            missing: dict[int, int] = {}
            for company_id, item_id in (
                Winner.objects.filter(item__batch=batch, province=province, role__in=SUPPLY_ROLES)
                .exclude(item_id__in=list(facts.superseded))
                .values_list("product__manufacturer_id", "item_id")
                .distinct()
            ):
                if (company_id, item_id) not in filed:
                    missing[company_id] = missing.get(company_id, 0) + 1
            for company_id, count in missing.items():
                findings.append(
                    (
                        "LATE_SUPPLIER_REPORT",
                        None,
                        None,
                        company_id,
                        None,
                        None,
                        None,
                        batch.pk,
                        c["year_id"],
                        province.pk,
                        count,
                        day,
                        None,
                    )
                )
    _insert_rows(cursor, "mon_finding", FINDING_COLUMNS, findings)
    return len(findings)
