"""Alert evaluation (SPEC §7 table): turns the facts of one compute_facts run into stored alerts.

Conditions on the stored facts are applied in SQL with the policy values of each (region, batch) context
and compared by cross-multiplication (completion < time_progress × k ⇔ W × days < k × elapsed × agreed),
so equality never fires because of rounding. Alerts are upserted by their stable key (type + subject +
agreement year), set-based against the run's found set `mon_new` (one row per key, indexed): an UPDATE … FROM
of the known keys whose values changed (re-running updates value and last_seen_on; a closed alert whose
condition returns is reopened; unchanged rows are not rewritten), then an INSERT of the new keys; an alert
of the scope not found again is closed with closed_on = D. Opened/reopened/closed steps are logged in
AlertEvent in bulk. The cost grows with the number of alerts, not with a per-alert loop.
"""

import datetime as dt
import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from jicai.batches.models import AgreementYear, Item
from jicai.monitoring.facts import (
    Facts,
    _analyze,
    _param,
    compute_facts,
    drop_superseded_findings,
    tables,
)
from jicai.monitoring.models import Alert, AlertEvent, DirtyInstitution
from jicai.registry.models import Company, Institution, Product, Region
from jicai.trade.models import Order

log = logging.getLogger(__name__)

# (type, condition, value, threshold) over `pf`: a progress fact with its institution's context columns.
_PROGRESS_RULES = (
    (
        "PROGRESS_LAG",
        "pf.agreed_qty > 0 AND pf.purchased_winning * pf.total_days < pf.tolerance * pf.elapsed * pf.agreed_qty",
        "pf.purchased_winning * 1.0 / pf.agreed_qty",
        "pf.tp * pf.tolerance",
    ),
    (
        "NONWINNING_EXCEEDS_WINNING",
        "pf.purchased_nonwinning > pf.purchased_winning",
        "pf.purchased_nonwinning",
        "pf.purchased_winning",
    ),
    (
        "SUBSTITUTE_EXCEEDS_LAST_YEAR",
        "pf.purchased_substitute > pf.substitute_last_year",
        "pf.purchased_substitute",
        "pf.substitute_last_year",
    ),
    (
        "SUBSTITUTE_GROWTH",
        "pf.purchased_substitute > (1 + pf.growth) * pf.substitute_same_days_last_year",
        "pf.purchased_substitute",
        "(1 + pf.growth) * pf.substitute_same_days_last_year",
    ),
    (
        "OVER_PURCHASE",
        "pf.agreed_qty > 0 AND pf.purchased_winning > pf.over_mult * pf.agreed_qty",
        "pf.purchased_winning",
        "pf.over_mult * pf.agreed_qty",
    ),
    (
        "UNREPORTED_PURCHASE",
        "(pf.reported_qty IS NULL OR pf.reported_qty = 0)"
        " AND pf.purchased_winning + pf.purchased_nonwinning + pf.purchased_substitute > 0",
        "pf.purchased_winning + pf.purchased_nonwinning + pf.purchased_substitute",
        "0",
    ),
    # SPEC §13: projected = W + window W / window days × (E − D) < agreed × tolerance, once D ≥ S + window;
    # cross-multiplied by the window days (policy.rules.forecast_shortfall). Value: the projected
    # completion (projected / agreed); threshold: the completion required (progress_tolerance).
    (
        "FORECAST_SHORTFALL",
        "pf.agreed_qty > 0 AND pf.fw_ready = 1 AND pf.purchased_winning * pf.fw_days"
        " + pf.purchased_winning_window * pf.fw_remaining < pf.tolerance * pf.agreed_qty * pf.fw_days",
        "(pf.purchased_winning * pf.fw_days + pf.purchased_winning_window * pf.fw_remaining) * 1.0"
        " / (pf.fw_days * pf.agreed_qty)",
        "pf.tolerance",
    ),
)


@dataclass
class Outcome:
    facts: Facts
    found: int
    opened: int
    reopened: int
    closed: int
    seconds: float
    sla: str  # what happened to ticket SLA evaluation ("ran", "unavailable: …")


def _tickets_module():
    """The tickets app's monitoring inputs, when installed (evaluate_sla may land later than overdue_tickets)."""
    try:
        from jicai.tickets import queries as ticket_queries
    except ImportError:  # pragma: no cover - the app is part of the project
        return None, None
    evaluate_sla = None
    for module_name in ("jicai.tickets.actions", "jicai.tickets.sla", "jicai.tickets.queries"):
        try:
            module = __import__(module_name, fromlist=["evaluate_sla"])
        except ImportError:
            continue
        evaluate_sla = getattr(module, "evaluate_sla", None)
        if evaluate_sla:
            break
    return getattr(ticket_queries, "overdue_tickets", None), evaluate_sla


def run_sla(as_of: dt.date) -> str:
    _, evaluate_sla = _tickets_module()
    if evaluate_sla is None:
        return "unavailable"
    evaluate_sla(as_of=as_of)
    return "ran"


def run_monitoring(
    as_of: dt.date, scope: Region | None = None, *, sla: bool = True, institutions: frozenset | None = None
) -> Outcome:
    """SLA evaluation, then compute_facts and the alert evaluation, in one transaction. `institutions`:
    the real-time path (monitoring.realtime), the same run restricted to those institutions."""
    started = time.perf_counter()
    sla_state = run_sla(as_of) if sla else "skipped"
    with transaction.atomic():
        if scope is None and institutions is None:
            # A full run covers every write committed before it starts: the real-time keys waiting so far
            # are done by it (rows committed later stay for monitoring.realtime).
            DirtyInstitution.objects.all().delete()
        facts = compute_facts(as_of, scope, institutions)
        outcome = evaluate(facts)
    outcome.sla = sla_state
    outcome.seconds = round(time.perf_counter() - started, 3)
    facts.run.counts = {
        **facts.run.counts,
        "alerts_found": outcome.found,
        "alerts_opened": outcome.opened,
        "alerts_reopened": outcome.reopened,
        "alerts_closed": outcome.closed,
        "sla": sla_state,
    }
    facts.run.seconds = outcome.seconds
    if facts.run.pk:
        facts.run.save(update_fields=["counts", "seconds"])
    return outcome


def _progress_findings(cursor) -> None:
    """The findings of every progress rule from one join of the progress facts to their contexts (`pf`).
    The facts meeting some rule (`hit`, a fifth of them at province) are kept once and read once per rule:
    PostgreSQL and SQLite materialise a CTE used more than once. A statement per rule joined the facts
    again each time, and a planner that underestimated a rule's selectivity walked the facts' index
    institution by institution (5 s at province, against 1 s for a hash join)."""
    t = tables()
    rules = " UNION ALL ".join(
        f"SELECT '{type_}', pf.institution_id, pf.item_id, pf.batch_id, pf.agreement_year_id, pf.province_id, "
        f"{value}, {threshold} FROM hit AS pf WHERE {condition}"
        for type_, condition, value, threshold in _PROGRESS_RULES
    )
    any_rule = " OR ".join(f"({condition})" for _, condition, _, _ in _PROGRESS_RULES)
    cursor.execute(
        f"""
        WITH pf AS (
            SELECT f.institution_id, f.item_id, f.agreement_year_id, f.agreed_qty, f.reported_qty,
                   f.purchased_winning, f.purchased_nonwinning, f.purchased_substitute, f.substitute_last_year,
                   f.substitute_same_days_last_year, f.purchased_winning_window, g.batch_id, c.province_id,
                   c.total_days, c.elapsed, c.tp, c.tolerance, c.growth, c.over_mult, c.fw_days, c.fw_remaining,
                   c.fw_ready
            FROM {t["progress"]} f
            JOIN {t["item"]} g ON g.id = f.item_id
            JOIN mon_ic c ON c.institution_id = f.institution_id AND c.batch_id = g.batch_id
                 AND c.year_id = f.agreement_year_id)
        , hit AS (SELECT * FROM pf WHERE {any_rule})
        INSERT INTO mon_finding (type, institution_id, item_id, batch_id, year_id, province_id, value, threshold)
        {rules}
        """
    )


def _delivery_findings(cursor) -> None:
    t = tables()
    cursor.execute(
        f"""
        INSERT INTO mon_finding (type, institution_id, supplier_id, batch_id, year_id, province_id, value,
            threshold, tier)
        SELECT 'LOW_DELIVERY_RATE', df.institution_id, df.supplier_id, y.batch_id, df.agreement_year_id,
               c.province_id, df.delivered_qty * 1.0 / df.ordered_qty, c.floor_rate,
               CASE WHEN df.delivered_qty < c.t3 * df.ordered_qty THEN 3
                    WHEN df.delivered_qty < c.t2 * df.ordered_qty THEN 2
                    WHEN df.delivered_qty < c.t1 * df.ordered_qty THEN 1 END
        FROM {t["deliveryfact"]} df
        JOIN {t["year"]} y ON y.id = df.agreement_year_id
        JOIN mon_ic c ON c.institution_id = df.institution_id AND c.batch_id = y.batch_id
        WHERE df.ordered_qty > 0 AND df.delivered_qty < c.floor_rate * df.ordered_qty
        """
    )


def _ticket_findings(cursor, facts: Facts) -> None:
    overdue_tickets, _ = _tickets_module()
    if overdue_tickets is None:
        return
    ctx_province = {c["region_id"]: c["province_id"] for c in facts.contexts}
    region_of = dict(Institution.objects.filter(region_id__in=ctx_province).values_list("pk", "region_id"))
    rows = []
    for ticket in overdue_tickets(facts.as_of, region=facts.scope):
        region_id = region_of.get(ticket.institution_id)
        if region_id is None:
            continue
        type_ = "TICKET_REPLY_OVERDUE" if ticket.kind == "reply" else "TICKET_FIX_OVERDUE"
        overdue_days = (facts.as_of - ticket.due).days
        rows.append(
            (
                type_,
                ticket.institution_id,
                ticket.supplier_id,
                ticket.ticket_id,
                ctx_province[region_id],
                overdue_days,
            )
        )
    if rows:
        sql = (
            "INSERT INTO mon_finding (type, institution_id, supplier_id, ticket_id, province_id, value, threshold)"
            " VALUES (%s, %s, %s, %s, %s, %s, 0)"
        )
        cursor.executemany(sql, rows)


def _funds_findings(cursor, facts: Facts) -> None:
    """PREPAYMENT_OVERDUE and NOT_ADMITTED (SPEC §12) from the funds app, for the institutions of the scope."""
    try:
        from jicai.funds import findings
    except ImportError:  # pragma: no cover - the app is part of the project
        return
    ctx_province = {c["region_id"]: c["province_id"] for c in facts.contexts}
    rows = [
        (
            "PREPAYMENT_OVERDUE",
            f["institution_id"],
            None,
            f["agreement_year__batch_id"],
            f["agreement_year_id"],
            ctx_province[f["institution__region_id"]],
            f["unpaid"],
            0,
            None,
            f["tranche"],
        )
        for f in findings.prepayment_overdue(facts.as_of, ctx_province)
    ]
    rows += [
        (
            "NOT_ADMITTED",
            f["institution_id"],
            f["item_id"],
            f["agreement_year__batch_id"],
            f["agreement_year_id"],
            ctx_province[f["institution__region_id"]],
            f["month"],
            f["threshold"],
            None,
            None,
        )
        for f in findings.not_admitted(facts.as_of, ctx_province)
    ]
    if rows:
        cursor.executemany(
            "INSERT INTO mon_finding (type, institution_id, item_id, batch_id, year_id, province_id, value,"
            " threshold, tier, tranche) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def _prescribing_findings(cursor, facts: Facts) -> None:
    """SUBSTITUTE_LIMIT_EXCEEDED (SPEC §11) from the prescribing app: usage above a confirmed limit."""
    from jicai.prescribing.catalogue import limit_exceeded

    ctx_province = {c["region_id"]: c["province_id"] for c in facts.contexts}
    rows = [
        (
            "SUBSTITUTE_LIMIT_EXCEEDED",
            f["institution_id"],
            f["item_id"],
            f["product_id"],
            ctx_province[f["region_id"]],
            f["used"],
            f["limit"],
        )
        for f in limit_exceeded(facts.as_of, ctx_province)
    ]
    if rows:
        cursor.executemany(
            "INSERT INTO mon_finding (type, institution_id, item_id, product_id, province_id, value, threshold)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def _key_sql(alias: str = "f") -> str:
    def part(tag, column):
        return f"'{tag}' || COALESCE(CAST({alias}.{column} AS VARCHAR(20)), '-')"

    parts = [
        part(":i", "institution_id"),
        part(":g", "item_id"),
        part(":c", "supplier_id"),
        part(":p", "product_id"),
        part(":l", "line_id"),
        part(":t", "ticket_id"),
        part(":r", "province_id"),
        part(":y", "year_id"),
        # Only alerts with a tranche carry this part, so every other key stays as it was.
        f"COALESCE(':n' || {alias}.tranche, '')",
    ]
    return f"{alias}.type || " + " || ".join(parts)


def evaluate(facts: Facts) -> Outcome:
    """Add the fact-based findings to mon_finding, then upsert/close alerts of the scope in bulk."""
    t = tables()
    alert, event = (connection.ops.quote_name(m._meta.db_table) for m in (Alert, AlertEvent))
    order = connection.ops.quote_name(Order._meta.db_table)
    as_of = _param(facts.as_of)
    now = timezone.now()
    # Rows whose values did not change are not rewritten (no dead row versions, no index entries).
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    with transaction.atomic(), connection.cursor() as cursor:
        _progress_findings(cursor)
        _delivery_findings(cursor)
        _ticket_findings(cursor, facts)
        _funds_findings(cursor, facts)
        _prescribing_findings(cursor, facts)
        drop_superseded_findings(cursor, facts)
        if facts.institutions is not None:
            # The restricted run is responsible for its institutions' alerts only.
            cursor.execute(
                "DELETE FROM mon_finding WHERE institution_id IS NULL"
                " OR institution_id NOT IN (SELECT institution_id FROM mon_ic)"
            )
        _analyze(cursor, "mon_finding")
        cursor.execute("DROP TABLE IF EXISTS mon_new")
        # One row per key: grouped by the key's parts (integers, cheaper than the concatenated text).
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE mon_new AS
            SELECT {_key_sql("x")} AS akey, x.type, x.institution_id, x.item_id, x.supplier_id, x.product_id,
                   x.batch_id, x.year_id, x.line_id, x.ticket_id, x.province_id, x.value, x.threshold, x.tier,
                   x.tranche
            FROM (SELECT f.type, f.institution_id, f.item_id, f.supplier_id, f.product_id, f.line_id,
                         f.ticket_id, f.province_id, f.year_id, f.tranche, MAX(f.batch_id) AS batch_id,
                         MAX(f.value) AS value, MAX(f.threshold) AS threshold, MAX(f.tier) AS tier
                  FROM mon_finding f
                  GROUP BY f.type, f.institution_id, f.item_id, f.supplier_id, f.product_id, f.line_id,
                           f.ticket_id, f.province_id, f.year_id, f.tranche) x
            """
        )
        if connection.vendor != "postgresql":
            # The stale-alert test is an anti-join on the key: without this index SQLite runs it as a nested
            # loop over both tables (quadratic: hours for a province's hundreds of thousands of alerts).
            # PostgreSQL hash-joins mon_new instead, and building the index cost it 1.3 s at province.
            cursor.execute("CREATE INDEX mon_new_akey ON mon_new (akey)")
        _analyze(cursor, "mon_new")
        cursor.execute("SELECT COUNT(*) FROM mon_new")
        found = cursor.fetchone()[0]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {alert}")
        last_id = cursor.fetchone()[0]
        # Reopen: log first, while the rows still say closed.
        cursor.execute(
            f"""
            INSERT INTO {event} (alert_id, at, action, from_value, to_value, reason)
            SELECT a.id, %s, 'reopened', 'closed', 'open', ''
            FROM {alert} a JOIN mon_new n ON n.akey = a.key WHERE a.status = 'closed'
            """,
            [now],
        )
        reopened = cursor.rowcount
        # Known keys: update in place, and only rows whose values changed (a re-run on the same data writes
        # nothing; on PostgreSQL, value/last_seen_on changes are HOT updates, see migration 0003).
        changed = " OR ".join(
            f"a.{column} {distinct} {_as_column(f'n.{column}', column)}" for column in ("value", "threshold")
        )
        cursor.execute(
            f"""
            UPDATE {alert} AS a SET value = n.value, threshold = n.threshold, tier = n.tier, last_seen_on = %s,
                status = CASE WHEN a.status = 'closed' THEN 'open' ELSE a.status END,
                closed_on = CASE WHEN a.status = 'closed' THEN NULL ELSE a.closed_on END
            FROM mon_new n
            WHERE n.akey = a.key
              AND (a.status = 'closed' OR a.last_seen_on <> %s OR {changed} OR a.tier {distinct} n.tier)
            """,
            [as_of, as_of],
        )
        # New keys (ON CONFLICT only guards against a concurrent run having inserted the same key), with the
        # order number and line number of line-level findings by primary key: looked up for new alerts only.
        cursor.execute(
            f"""
            INSERT INTO {alert} (key, type, institution_id, item_id, supplier_id, product_id, batch_id,
                agreement_year_id, order_id, line_no, ticket_id, tranche, province_id, value, threshold, tier,
                status, escalation, explanation, first_seen_on, last_seen_on, closed_on)
            SELECT n.akey, n.type, n.institution_id, n.item_id, n.supplier_id, n.product_id, n.batch_id,
                   n.year_id,
                   CASE WHEN n.line_id IS NULL THEN '' ELSE
                       (SELECT o.order_id FROM {t["line"]} l JOIN {order} o ON o.id = l.order_id
                        WHERE l.id = n.line_id) END,
                   CASE WHEN n.line_id IS NOT NULL THEN
                       (SELECT l.line_no FROM {t["line"]} l WHERE l.id = n.line_id) END,
                   n.ticket_id, COALESCE(n.tranche, ''), n.province_id, n.value,
                   n.threshold, n.tier, 'open', '', '', %s, %s, NULL
            FROM mon_new n WHERE NOT EXISTS (SELECT 1 FROM {alert} a WHERE a.key = n.akey)
            ON CONFLICT (key) DO NOTHING
            """,
            [as_of, as_of],
        )
        cursor.execute(
            f"""
            INSERT INTO {event} (alert_id, at, action, from_value, to_value, reason)
            SELECT a.id, %s, 'opened', '', 'open', '' FROM {alert} a WHERE a.id > %s
            """,
            [now, last_id],
        )
        opened = cursor.rowcount
        in_scope = _closing_scope(facts)
        stale = (
            f"a.status IN ('open', 'explained') AND ({in_scope}) "
            f"AND NOT EXISTS (SELECT 1 FROM mon_new n WHERE n.akey = a.key)"
        )
        # The stale alerts once (one anti-join of the scope's open alerts against the found keys), then
        # their log and their update by id.
        cursor.execute("DROP TABLE IF EXISTS mon_stale")
        cursor.execute(
            f"CREATE TEMPORARY TABLE mon_stale AS SELECT a.id, a.status FROM {alert} a WHERE {stale}"
        )
        cursor.execute(
            f"""
            INSERT INTO {event} (alert_id, at, action, from_value, to_value, reason)
            SELECT s.id, %s, 'closed', s.status, 'closed', '条件不再满足，自动关闭' FROM mon_stale s
            """,
            [now],
        )
        closed = cursor.rowcount
        if closed:
            cursor.execute(
                f"UPDATE {alert} SET status = 'closed', closed_on = %s WHERE id IN (SELECT id FROM mon_stale)",
                [as_of],
            )
    return Outcome(
        facts=facts, found=found, opened=opened, reopened=reopened, closed=closed, seconds=0.0, sla=""
    )


def _as_column(expression: str, column: str) -> str:
    """`expression` rounded to the Alert column's type on PostgreSQL (numeric(20, 6)), so a value is
    compared with what storing it would keep; SQLite stores the number as it is."""
    if connection.vendor != "postgresql":
        return expression
    return f"CAST({expression} AS {Alert._meta.get_field(column).db_type(connection)})"


def _closing_scope(facts: Facts) -> str:
    """Alerts this run is responsible for: those of institutions in the scope, and the institution-less
    alerts (listing prices, supplier reports) of provinces the run covered entirely."""
    parts = ["a.institution_id IN (SELECT institution_id FROM mon_ic)"]
    if facts.institutions is None and (facts.scope is None or facts.scope.level == "province"):
        ids = ",".join(str(p.pk) for p in facts.provinces) or "0"
        parts.append(f"(a.institution_id IS NULL AND a.province_id IN ({ids}))")
    return " OR ".join(parts)


# ---- output ----------------------------------------------------------------------------------------------


def _number(value):
    """JSON numbers: integers stay integers, other decimals become floats (SPEC §10 value/threshold)."""
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return float(value.quantize(Decimal("0.000001")).normalize())


def found_alerts(facts: Facts) -> list[dict]:
    """The alerts found by the run (mon_new of this session) in the SPEC §10 JSON shape, ordered by type
    and subject. Codes are the business codes (institution/item/product code, supplier USCC)."""
    alert = connection.ops.quote_name(Alert._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a.id FROM {alert} a JOIN mon_new n ON n.akey = a.key")
        ids = [r[0] for r in cursor.fetchall()]
    rows = []
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        rows += list(
            Alert.objects.filter(pk__in=chunk).values_list(
                "type",
                "institution_id",
                "item_id",
                "supplier_id",
                "product_id",
                "order_id",
                "line_no",
                "value",
                "threshold",
                "tier",
                "agreement_year_id",
                "tranche",
            )
        )
    inst = dict(Institution.objects.filter(pk__in={r[1] for r in rows if r[1]}).values_list("pk", "code"))
    items = dict(Item.objects.filter(pk__in={r[2] for r in rows if r[2]}).values_list("pk", "item_code"))
    companies = dict(Company.objects.filter(pk__in={r[3] for r in rows if r[3]}).values_list("pk", "code"))
    products = dict(Product.objects.filter(pk__in={r[4] for r in rows if r[4]}).values_list("pk", "code"))
    years = dict(
        AgreementYear.objects.filter(pk__in={r[10] for r in rows if r[10]}).values_list("pk", "number")
    )
    out = [
        {
            "type": r[0],
            "institution": inst.get(r[1]),
            "item": items.get(r[2]),
            "supplier": companies.get(r[3]),
            "product": products.get(r[4]),
            "order_id": r[5] or None,
            "line_no": r[6],
            "value": _number(r[7]),
            "threshold": _number(r[8]),
            "tier": r[9],
            "agreement_year": years.get(r[10]),
            # PREPAYMENT_OVERDUE's subject is a tranche (SPEC §12); no other alert carries the key.
            **({"tranche": int(r[11]) if r[11].isdigit() else r[11]} if r[11] else {}),
        }
        for r in rows
    ]
    out.sort(key=alert_sort_key)
    return out


def alert_sort_key(a: dict) -> tuple:
    """The order of printed alerts: by type, then subject (also `jicai national`'s, after the province)."""
    return (
        a["type"],
        a["institution"] or "",
        a["supplier"] or "",
        a["item"] or "",
        a["product"] or "",
        a["order_id"] or "",
        a["line_no"] or 0,
        str(a.get("tranche", "")),
    )
