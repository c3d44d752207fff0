"""The SPEC §7 indicators defined once, as SQL in DuckDB's dialect, for `jicai national` (SPEC §13).

Each step is one SELECT over the exported tables (every one carries a `province` column: ids are only unique
within the province's database, so every join matches on province too) and two small tables Python builds:
`ctx` (the dates and policy of each (region, batch), made by monitoring.facts._context, the same code as
`jicai monitor`) and `days` (order day → its twelve-month history window). engines.py runs the steps as they
are on DuckDB and compiled by SQLGlot on Spark. The reference semantics are monitoring.facts / evaluate.py;
this definition reads the order lines' running totals where those do (last_received_on, accepted_qty,
payment_due_on) and otherwise the delivery/receipt/payment rows themselves.

Values and thresholds that are ratios leave the engines as numerator and denominator (exact decimals) and are
divided in Python (alert_number), so no engine's decimal-division rules change an alert's value."""

from __future__ import annotations

from dataclasses import dataclass

from jicai.batches.models import SUPPLY_ROLES
from jicai.monitoring.facts import LINE_FINDINGS_OF_SUPERSEDED, OFFLINE_RATIO_DEN, OFFLINE_RATIO_NUM

# The exported tables (national.export.TABLES + policies) and the columns the steps read from each.
INPUT_COLUMNS = {
    "regions": ("id", "code", "name", "level", "path"),
    "institutions": ("id", "code", "name", "region_id"),
    "companies": ("id", "code", "name"),
    "products": ("id", "code", "generic_name", "dosage_form_group", "manufacturer_id"),
    "batches": ("id", "code", "cycle_start", "cycle_end"),
    "agreement_years": ("id", "batch_id", "number", "start", "end", "sign_due"),
    "items": ("id", "batch_id", "item_code", "generic_name", "dosage_form_group"),
    "winners": ("item_id", "product_id", "province_id", "role", "winning_price"),
    "listing_prices": ("product_id", "province_id", "price", "valid_from"),
    "item_factors": ("item_id", "product_id", "factor"),
    "substitutes": ("item_id", "product_id"),
    "agreements": ("institution_id", "supplier_id", "agreement_year_id", "item_id", "status", "due_date"),
    "agreed_volumes": ("agreement_year_id", "institution_id", "item_id", "reported_qty", "agreed_qty"),
    "orders": ("id", "order_id"),
    "order_lines": (
        "id",
        "order_id",
        "line_no",
        "institution_id",
        "supplier_id",
        "product_id",
        "item_id",
        "ordered_on",
        "qty",
        "unit_price",
        "status",
        "accepted_by_supplier",
        "accepted_qty",
        "last_received_on",
        "payment_due_on",
        "paid_amount",
        "last_paid_on",
        "delivered_qty",
        "rejected_qty",
        "last_delivered_on",
    ),
    "deliveries": ("line_id", "qty", "delivered_on"),
    "receipts": (
        "line_id",
        "accepted_qty",
        "rejected_qty",
        "received_on",
        "line_institution_id",
        "line_product_id",
        "line_item_id",
        "line_ordered_on",
    ),
    "payments": ("line_id", "amount", "paid_on"),
    "usage_lines": ("institution_id", "product_id", "qty", "used_on"),
    "policies": ("region_id", "batch_id"),
    "batch_overlaps": ("provincial_item_id", "applies_from", "confirmed_at"),
    "supplier_reports": ("company_id", "item_id", "month"),
    "tickets": ("id", "institution_id", "supplier_id", "status", "reply_due", "fix_due"),
    "prepayment_tranches": (
        "institution_id",
        "agreement_year_id",
        "tranche",
        "amount",
        "paid_amount",
        "due_on",
    ),
    "substitute_limits": (
        "institution_id",
        "item_id",
        "product_id",
        "quarter",
        "status",
        "limit_qty",
        "suspended",
    ),
}


# SPEC §15: from the national start of a confirmed overlap the provincial item has no progress facts and no
# item-level alerts; the findings about lines already placed stay (monitoring.facts.LINE_FINDINGS_OF_SUPERSEDED).
def _superseded(d: str, item: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM batch_overlaps ov WHERE ov.provincial_item_id = {item}"
        f" AND ov.confirmed_at IS NOT NULL AND ov.applies_from <= {d})"
    )


# A line can be late in receipt only when delivered and not received in full by D (the running totals say so
# as in monitoring.facts; its deliveries and receipts are read only then).
def _receipt_due(line: str, d: str) -> str:
    return (
        f"({line}.delivered_qty > 0 AND ({line}.last_received_on IS NULL OR {line}.last_received_on > {d}"
        f" OR {line}.accepted_qty + {line}.rejected_qty < {line}.delivered_qty))"
    )


# Alert types this definition computes: every §7 type whose inputs the export carries (and §13's
# FORECAST_SHORTFALL).
ALERT_TYPES = (
    "PROGRESS_LAG",
    "NONWINNING_EXCEEDS_WINNING",
    "SUBSTITUTE_EXCEEDS_LAST_YEAR",
    "SUBSTITUTE_GROWTH",
    "OVER_PURCHASE",
    "UNREPORTED_PURCHASE",
    "LOW_DELIVERY_RATE",
    "LATE_RECEIPT",
    "LATE_PAYMENT",
    "ABNORMAL_ORDER",
    "OFFLINE_PURCHASE_SUSPECT",
    "UNSIGNED_AGREEMENT",
    "FORECAST_SHORTFALL",
    "LATE_SUPPLIER_REPORT",
    "TICKET_REPLY_OVERDUE",
    "TICKET_FIX_OVERDUE",
    "PREPAYMENT_OVERDUE",
    "NOT_ADMITTED",
    "SUBSTITUTE_LIMIT_EXCEEDED",
    "PRICE_ABOVE_CAP",
)


@dataclass(frozen=True)
class Step:
    name: str
    sql: str
    # "view": a named query later steps read; "work": materialised for the later steps (an intermediate
    # several steps read: computed once, and Spark's plans stay shallow), dropped after the run; "result":
    # written as Parquet (the run's output) and read back from there by later steps. Nothing passes through
    # the driver.
    kind: str = "view"


# Purchase event kinds (ev.kind, ic.basis_kind): by receipt day, by order day (SPEC §7 progress_basis).
RECEIVED, ORDERED = 1, 2
SUPPLY = "(" + ", ".join(f"'{r}'" for r in SUPPLY_ROLES) + ")"
DEC = "DECIMAL(38, 10)"


def _alert(
    type_, inst, item, supplier, product, line, year, vnum, vden, tnum, tden, tier="NULL", tranche="NULL"
) -> str:
    """One alert row; `line` is NULL or the line as (its order's row id, its line_no): the alerts step then
    finds the order's code without reading the order lines again."""
    order_pk, line_no = ("NULL", "NULL") if line == "NULL" else line
    return (
        f"SELECT '{type_}' AS alert_type, x.province, {inst} AS institution_id, {item} AS item_id, "
        f"{supplier} AS supplier_id, {product} AS product_id, CAST({order_pk} AS BIGINT) AS order_pk, "
        f"CAST({line_no} AS BIGINT) AS line_no, {year} AS year_id, "
        f"CAST({vnum} AS {DEC}) AS value_num, CAST({vden} AS {DEC}) AS value_den, "
        f"CAST({tnum} AS {DEC}) AS threshold_num, CAST({tden} AS {DEC}) AS threshold_den, "
        f"CAST({tier} AS INTEGER) AS tier, CAST({tranche} AS VARCHAR) AS tranche"
    )


def _item_alert(type_, vnum, vden, tnum, tden) -> str:
    """An alert about an (institution, item) of an agreement year, read from the progress facts `x`."""
    return _alert(
        type_, "x.institution_id", "x.item_id", "NULL", "NULL", "NULL", "x.year_id", vnum, vden, tnum, tden
    )


def _line_alert(type_, vnum, vden, tnum, tden) -> str:
    """An alert about one order line `x` (institution, item, supplier, product, line, year)."""
    return _alert(
        type_,
        "x.institution_id",
        "x.item_id",
        "x.supplier_id",
        "x.product_id",
        ("x.order_id", "x.line_no"),
        "x.year_id",
        vnum,
        vden,
        tnum,
        tden,
    )


def _supplier_alert(type_, vnum, vden, tnum, tden, tier="NULL") -> str:
    """An alert about a (supplier, institution) pair `x` of an agreement year."""
    return _alert(
        type_,
        "x.institution_id",
        "NULL",
        "x.supplier_id",
        "NULL",
        "NULL",
        "x.agreement_year_id",
        vnum,
        vden,
        tnum,
        tden,
        tier,
    )


def steps(as_of_literal: str) -> list[Step]:
    """The steps in order; `as_of_literal` is D as a SQL date literal (the only per-run value not in ctx)."""
    return [
        Step(step.name, step.sql, "work") if step.name in WORK_STEPS and step.kind == "view" else step
        for step in _steps(as_of_literal)
    ]


def _steps(as_of_literal: str) -> list[Step]:
    d = as_of_literal
    fac = "COALESCE(f.factor, 1)"
    same_product = "f.item_id = {i} AND f.product_id = {a}.product_id"
    # The progress rules: each alert's select list over the flagged facts `pf x`, and its condition.
    progress_rules = [
        (
            _item_alert(
                "PROGRESS_LAG",
                "x.purchased_winning",
                "x.agreed_qty",
                "x.elapsed * x.tolerance",
                "x.total_days",
            ),
            "x.agreed_qty > 0"
            " AND x.purchased_winning * x.total_days < x.tolerance * x.elapsed * x.agreed_qty",
        ),
        (
            _item_alert(
                "NONWINNING_EXCEEDS_WINNING",
                "x.purchased_nonwinning",
                "1",
                "x.purchased_winning",
                "1",
            ),
            "x.purchased_nonwinning > x.purchased_winning",
        ),
        (
            _item_alert(
                "SUBSTITUTE_EXCEEDS_LAST_YEAR",
                "x.purchased_substitute",
                "1",
                "x.substitute_last_year",
                "1",
            ),
            "x.purchased_substitute > x.substitute_last_year",
        ),
        (
            _item_alert(
                "SUBSTITUTE_GROWTH",
                "x.purchased_substitute",
                "1",
                "(1 + x.growth) * x.substitute_same_days_last_year",
                "1",
            ),
            "x.purchased_substitute > (1 + x.growth) * x.substitute_same_days_last_year",
        ),
        (
            _item_alert(
                "OVER_PURCHASE",
                "x.purchased_winning",
                "1",
                "x.over_mult * x.agreed_qty",
                "1",
            ),
            "x.agreed_qty > 0 AND x.purchased_winning > x.over_mult * x.agreed_qty",
        ),
        (
            _item_alert(
                "UNREPORTED_PURCHASE",
                "x.purchased_winning + x.purchased_nonwinning + x.purchased_substitute",
                "1",
                "0",
                "1",
            ),
            "(x.reported_qty IS NULL OR x.reported_qty = 0)"
            " AND x.purchased_winning + x.purchased_nonwinning + x.purchased_substitute > 0",
        ),
        # SPEC §13 (policy.rules.forecast_shortfall): projected W at E = W + window W / window days × (E − D)
        # below agreed × tolerance, once D ≥ S + window; cross-multiplied by the window days. Value: the
        # projected completion; threshold: progress_tolerance.
        (
            _item_alert(
                "FORECAST_SHORTFALL",
                "x.purchased_winning * x.fw_days + x.purchased_winning_window * x.fw_remaining",
                "x.fw_days * x.agreed_qty",
                "x.tolerance",
                "1",
            ),
            "x.agreed_qty > 0 AND x.fw_ready = 1 AND x.purchased_winning * x.fw_days"
            " + x.purchased_winning_window * x.fw_remaining < x.tolerance * x.agreed_qty * x.fw_days",
        ),
    ]
    # The line rules' conditions on a row of lc with its agreed volume and factor (line_cands). Those of
    # LATE_PAYMENT and ABNORMAL_ORDER compare in doubles with a margin that covers their rounding: they pick a
    # superset of the lines (decimal products of every line took half of this scan), and the exact rule runs
    # on the candidates (late_payments: payable > paid; abnormal). A line not paid in full has paid + 0.005 ≤ x
    # (paid < ROUND(x, 2), paid in cents), tested as paid + 0.0049 ≤ x (x has 4 places: the few more are lines
    # of value paid + 0.0049, rounded down to paid); 12 × qty × f > agreed × k is tested less a billionth.
    double = "CAST({} AS DOUBLE)".format
    receipt_due = f"(x.ordered_on < x.receipt_cut AND {_receipt_due('x', d)})"
    payment_due = (
        f"(x.status <> 'cancelled' AND x.accepted_qty > 0 AND x.last_received_on <= {d} AND x.payment_due_on < {d}"
        f" AND ({double('x.paid_amount')} + 0.0049 <= {double('x.accepted_qty')} * {double('x.unit_price')}"
        f" OR x.last_paid_on > {d}))"
    )
    abnormal_candidate = (
        "(x.item_id IS NOT NULL AND x.status <> 'cancelled' AND x.ordered_on >= x.s AND x.ordered_on <= x.d"
        f" AND {double('x.qty')} * 12 * {double('x.factor')}"
        f" > {double('x.agreed')} * {double('x.k')} * (1 - 1e-9))"
    )
    return [
        # Every institution with the context of each started batch of its region (and batch 0).
        Step(
            "ic",
            f"""
            SELECT i.province, i.id AS institution_id, c.region_id, c.batch_id, c.province_id, c.year_id,
                   c.s, c.d, c.ly_s, c.ly_e, c.sd_e, c.s90, c.grace_cut, c.receipt_cut, c.elapsed,
                   c.total_days, c.tolerance, c.over_mult, c.floor_rate, c.t1, c.t2, c.t3, c.growth,
                   c.receipt_days, c.pay_days, c.abnormal_multiple, c.fw_s, c.fw_days, c.fw_remaining,
                   c.fw_ready, c.admission_month, c.admission_check_month, c.quarter, c.quarter_start,
                   CASE c.basis WHEN 'received' THEN {RECEIVED} WHEN 'ordered' THEN {ORDERED} END AS basis_kind
            FROM institutions i JOIN ctx c ON c.region_id = i.region_id
            """,
        ),
        Step(
            "supply_winners",
            f"SELECT DISTINCT province, item_id, product_id, province_id FROM winners WHERE role IN {SUPPLY}",
        ),
        # Order lines ordered on or before D (nothing of §7 looks at a later order), with their item's batch.
        Step(
            "ln",
            f"""
            SELECT l.province, l.id AS line_id, l.order_id, l.line_no, l.institution_id, l.supplier_id,
                   l.product_id, l.item_id, l.ordered_on, l.qty, l.unit_price, l.status, l.accepted_by_supplier,
                   l.accepted_qty, l.last_received_on, l.payment_due_on, l.paid_amount, l.last_paid_on,
                   l.delivered_qty, l.rejected_qty,
                   l.last_delivered_on, COALESCE(g.batch_id, 0) AS batch_id
            FROM order_lines l LEFT JOIN items g ON g.id = l.item_id
            WHERE l.ordered_on <= {d}
            """,
        ),
        # Lines last delivered after D: their running totals count deliveries after D, so their delivery rows
        # are read (for these lines only). A table of its own, so that the engines see how few they are and
        # build the join's hash table on them, not on all the delivery rows.
        Step(
            "delivered_after_d",
            f"SELECT province, id AS line_id FROM order_lines WHERE ordered_on <= {d} AND last_delivered_on > {d}",
        ),
        # Purchase events of both progress bases: accepted receipts by receipt day (kind RECEIVED; each receipt
        # carries its line's institution, product, item and order day, national.export.LINE_COLUMNS, and a
        # receipt of a line ordered after D counts no more than the line), and non-cancelled order lines by
        # order day (kind ORDERED). purchased(P, a, b) = Σ qty of the events of
        # the context's basis with a ≤ on_day ≤ b (× item_factor). Every reader looks at days up to D only, so
        # later receipts are left out here; the order-day events only when some context counts by order day.
        # The kind is a number (ic.basis_kind): 13 M strings took an eighth of the step to store.
        Step(
            "ev",
            f"""
            SELECT r.province, r.line_institution_id AS institution_id, r.line_product_id AS product_id,
                   r.line_item_id AS item_id, COALESCE(g.batch_id, 0) AS batch_id, {RECEIVED} AS kind,
                   r.received_on AS on_day, r.accepted_qty AS qty
            FROM receipts r LEFT JOIN items g ON g.id = r.line_item_id
            WHERE r.received_on <= {d} AND r.line_ordered_on <= {d}
            UNION ALL
            SELECT l.province, l.institution_id, l.product_id, l.item_id, l.batch_id, {ORDERED}, l.ordered_on,
                   l.qty
            FROM ln l WHERE l.status <> 'cancelled' AND EXISTS (SELECT 1 FROM ctx WHERE ctx.basis = 'ordered')
            """,
        ),
        # W and N of the lines counted for the item. A pair has a fact once a line of it can count in
        # [S, D] (received basis: a receipt on or after S; ordered: ordered in [S, D]), even when 0 counted.
        # Quantities are summed per product first and then weighed (f × Σ qty = Σ f × qty, exact decimals):
        # the item, product, winner and factor lookups then run once per product, not once per event.
        Step(
            "bought",
            f"""
            SELECT e.province, e.institution_id, e.item_id,
                   SUM(CASE WHEN w.product_id IS NOT NULL THEN e.q * {fac} ELSE 0 END) AS w,
                   SUM(CASE WHEN w.product_id IS NOT NULL THEN e.q_fw * {fac} ELSE 0 END) AS fw,
                   SUM(CASE WHEN w.product_id IS NULL AND p.generic_name = g.generic_name
                            AND p.dosage_form_group = g.dosage_form_group THEN e.q * {fac} ELSE 0 END) AS n
            FROM (SELECT e.province, e.institution_id, e.item_id, e.product_id, c.province_id,
                         SUM(CASE WHEN e.on_day <= c.d THEN e.qty ELSE 0 END) AS q,
                         SUM(CASE WHEN e.on_day >= c.fw_s AND e.on_day <= c.d THEN e.qty ELSE 0 END) AS q_fw
                  FROM ev e
                  JOIN ic c ON c.institution_id = e.institution_id
                       AND c.batch_id = e.batch_id
                  WHERE e.kind = c.basis_kind AND e.on_day >= c.s
                  GROUP BY e.province, e.institution_id, e.item_id, e.product_id, c.province_id) e
            JOIN items g ON g.id = e.item_id
            JOIN products p ON p.id = e.product_id
            LEFT JOIN supply_winners w ON w.item_id = e.item_id
                 AND w.product_id = e.product_id AND w.province_id = e.province_id
            LEFT JOIN item_factors f ON {same_product.format(a="e", i="e.item_id")}
            GROUP BY e.province, e.institution_id, e.item_id
            """,
        ),
        # U: the item's listed substitutes, whatever item their lines count for, in the item's context. The
        # events of listed products are picked out first (a step of its own: planned together with the
        # contexts, DuckDB built a hash table of every institution × substitute pair and probed all events).
        Step(
            "substitute_events",
            """
            SELECT e.province, e.institution_id, e.product_id, su.item_id, g.batch_id, e.kind, e.on_day, e.qty
            FROM ev e
            JOIN substitutes su ON su.product_id = e.product_id
            JOIN items g ON g.id = su.item_id
            """,
        ),
        Step(
            "substituted",
            f"""
            SELECT e.province, e.institution_id, e.item_id,
                   SUM(CASE WHEN e.on_day >= c.s AND e.on_day <= c.d THEN e.qty * {fac} ELSE 0 END) AS u,
                   SUM(CASE WHEN e.on_day <= c.ly_e THEN e.qty * {fac} ELSE 0 END) AS u_ly,
                   SUM(CASE WHEN e.on_day <= c.sd_e THEN e.qty * {fac} ELSE 0 END) AS u_sd
            FROM substitute_events e
            JOIN ic c ON c.institution_id = e.institution_id
                 AND c.batch_id = e.batch_id
            LEFT JOIN item_factors f ON {same_product.format(a="e", i="e.item_id")}
            WHERE e.kind = c.basis_kind AND e.on_day >= c.ly_s AND c.s IS NOT NULL
            GROUP BY e.province, e.institution_id, e.item_id
            """,
        ),
        Step(
            "agreed_src",
            """
            SELECT av.province, av.institution_id, av.item_id, av.agreed_qty, av.reported_qty
            FROM agreed_volumes av
            JOIN items g ON g.id = av.item_id
            JOIN ic c ON c.institution_id = av.institution_id
                 AND c.batch_id = g.batch_id AND c.year_id = av.agreement_year_id
            """,
        ),
        # ProgressFact: sums rounded to the 4 places monitoring stores (its rules read the stored facts).
        Step(
            "progress_facts",
            """
            SELECT k.province, k.institution_id, k.item_id, c.year_id AS agreement_year_id, g.batch_id,
                   COALESCE(a.agreed_qty, 0) AS agreed_qty, a.reported_qty,
                   ROUND(COALESCE(b.w, 0), 4) AS purchased_winning,
                   ROUND(COALESCE(b.n, 0), 4) AS purchased_nonwinning,
                   ROUND(COALESCE(s.u, 0), 4) AS purchased_substitute,
                   ROUND(COALESCE(s.u_ly, 0), 4) AS substitute_last_year,
                   ROUND(COALESCE(s.u_sd, 0), 4) AS substitute_same_days_last_year,
                   ROUND(COALESCE(b.fw, 0), 4) AS purchased_winning_window,
                   CAST(c.elapsed AS DOUBLE) / c.total_days AS time_progress,
                   CASE WHEN a.agreed_qty > 0 THEN CAST(COALESCE(b.w, 0) AS DOUBLE) / a.agreed_qty END
                       AS completion
            FROM (SELECT province, institution_id, item_id FROM bought
                  UNION SELECT province, institution_id, item_id FROM substituted
                  UNION SELECT province, institution_id, item_id FROM agreed_src) k
            JOIN items g ON g.id = k.item_id
            JOIN ic c ON c.institution_id = k.institution_id
                 AND c.batch_id = g.batch_id
            LEFT JOIN bought b ON b.institution_id = k.institution_id
                 AND b.item_id = k.item_id
            LEFT JOIN substituted s ON s.institution_id = k.institution_id
                 AND s.item_id = k.item_id
            LEFT JOIN agreed_src a ON a.institution_id = k.institution_id
                 AND a.item_id = k.item_id
            WHERE NOT """
            + _superseded(d, "k.item_id"),
            "result",
        ),
        # Lines of supply winners ordered in [S, D], not cancelled, per (supplier, institution, item, year): what
        # the delivery facts count (ordered up to min(E, D − grace); delivered by D, nothing for lines the
        # supplier rejected) and whether a line the supplier did not reject exists (NOT_ADMITTED). One pass
        # over the lines for both.
        Step(
            "winner_lines",
            f"""
            SELECT l.province, l.supplier_id, l.institution_id, l.item_id, c.year_id,
                   SUM(CASE WHEN l.ordered_on <= c.grace_cut THEN l.qty ELSE 0 END) AS ordered_qty,
                   SUM(CASE WHEN l.ordered_on > c.grace_cut THEN 0
                            WHEN l.status = 'rejected' OR l.accepted_by_supplier = FALSE THEN 0
                            WHEN l.last_delivered_on IS NULL THEN 0
                            WHEN l.last_delivered_on <= {d} THEN l.delivered_qty
                            ELSE COALESCE(dd.qty, 0) END) AS delivered_qty,
                   MAX(CASE WHEN l.ordered_on <= c.grace_cut THEN 1 ELSE 0 END) AS counted,
                   MAX(CASE WHEN l.status <> 'rejected' THEN 1 ELSE 0 END) AS admitted
            FROM ln l
            JOIN ic c ON c.institution_id = l.institution_id
                 AND c.batch_id = l.batch_id
            JOIN supply_winners w ON w.item_id = l.item_id
                 AND w.product_id = l.product_id AND w.province_id = c.province_id
            LEFT JOIN (SELECT dv.province, dv.line_id, SUM(dv.qty) AS qty FROM deliveries dv
                       JOIN delivered_after_d o ON o.line_id = dv.line_id
                       WHERE dv.delivered_on <= {d}
                       GROUP BY dv.province, dv.line_id) dd
                 ON dd.line_id = l.line_id
            WHERE l.status <> 'cancelled' AND l.ordered_on >= c.s
            GROUP BY l.province, l.supplier_id, l.institution_id, l.item_id, c.year_id
            """,
        ),
        # DeliveryFact: per (supplier, institution, year) with a line ordered in [S, min(E, D − grace)].
        Step(
            "delivery_facts",
            """
            SELECT x.province, x.supplier_id, x.institution_id, x.agreement_year_id, x.ordered_qty,
                   x.delivered_qty,
                   CASE WHEN x.ordered_qty > 0 THEN
                       CASE WHEN x.delivered_qty >= x.ordered_qty THEN 1.0
                            ELSE CAST(x.delivered_qty AS DOUBLE) / x.ordered_qty END END AS rate
            FROM (SELECT province, supplier_id, institution_id, year_id AS agreement_year_id,
                         SUM(ordered_qty) AS ordered_qty, SUM(delivered_qty) AS delivered_qty
                  FROM winner_lines
                  GROUP BY province, supplier_id, institution_id, year_id
                  HAVING MAX(counted) = 1) x
            """,
            "result",
        ),
        # Rankings (province → city → institution), from the facts alone (so they come before the alerts, and
        # the driver writes rankings.xlsx while the engine finds the alerts): completion of the agreed volumes
        # (W over the items with an agreed volume / Σ agreed), winning share W / (W + N), delivery rate
        # Σ delivered / Σ ordered.
        Step(
            "institution_totals",
            """
            SELECT i.province, i.code AS institution, i.name AS institution_name,
                   COALESCE(ct.code, pr.code) AS city, COALESCE(ct.name, pr.name) AS city_name,
                   pr.name AS province_name,
                   COALESCE(pf.agreed, 0) AS agreed, COALESCE(pf.w_agreed, 0) AS w_agreed,
                   COALESCE(pf.w, 0) AS w, COALESCE(pf.n, 0) AS n,
                   COALESCE(df.ordered, 0) AS ordered, COALESCE(df.delivered, 0) AS delivered
            FROM institutions i
            JOIN regions r ON r.id = i.region_id
            JOIN regions pr ON pr.province = i.province AND pr.code = SUBSTRING(r.path, 1, 6)
            LEFT JOIN regions ct ON ct.province = i.province AND ct.code = SUBSTRING(r.path, 8, 6)
            LEFT JOIN (SELECT province, institution_id, SUM(agreed_qty) AS agreed,
                              SUM(CASE WHEN agreed_qty > 0 THEN purchased_winning ELSE 0 END) AS w_agreed,
                              SUM(purchased_winning) AS w, SUM(purchased_nonwinning) AS n
                       FROM progress_facts GROUP BY province, institution_id) pf
                 ON pf.institution_id = i.id
            LEFT JOIN (SELECT province, institution_id, SUM(ordered_qty) AS ordered,
                              SUM(delivered_qty) AS delivered
                       FROM delivery_facts GROUP BY province, institution_id) df
                 ON df.institution_id = i.id
            WHERE pf.institution_id IS NOT NULL OR df.institution_id IS NOT NULL
            """,
        ),
        *(
            Step(f"ranking_{level}", _ranking_sql(keys), "result")
            for level, keys in (
                ("province", ("province", "province_name")),
                ("city", ("province", "province_name", "city", "city_name")),
                (
                    "institution",
                    ("province", "province_name", "city", "city_name", "institution", "institution_name"),
                ),
            )
        ),
        # The progress facts with their context that some progress rule flags (stored once: the seven rules
        # each read it).
        Step(
            "pf",
            """
            SELECT x.* FROM (
                SELECT f.*, c.year_id, c.elapsed, c.total_days, c.tolerance, c.growth, c.over_mult, c.fw_days,
                       c.fw_remaining, c.fw_ready
                FROM progress_facts f
                JOIN ic c ON c.institution_id = f.institution_id
                     AND c.batch_id = f.batch_id AND c.year_id = f.agreement_year_id) x
            WHERE """
            + " OR ".join(f"({condition})" for _alert_sql, condition in progress_rules),
        ),
        # Line level: the line's own context (its item's batch, batch 0 for lines of no item).
        Step(
            "lc",
            """
            SELECT l.*, c.year_id, c.s, c.d, c.basis_kind, c.receipt_cut, c.receipt_days, c.pay_days,
                   c.abnormal_multiple
            FROM ln l JOIN ic c ON c.institution_id = l.institution_id
                 AND c.batch_id = l.batch_id
            """,
        ),
        # The lines a line rule may flag, read from lc in one pass (each of the rules below then reads this
        # small table, not the 13.5 M lines of a province again), with what they need and a flag per rule:
        # - receipt_due (LATE_RECEIPT): ordered before the receipt cut and, by the running totals, delivered and
        #   not received in full by D (monitoring.facts' late_receipt);
        # - payment_due (LATE_PAYMENT): received by D, past its due date, and not paid in full by its running
        #   total or last paid after D (monitoring.facts.LATE_PAYMENT_LINE);
        # - abnormal_candidate (ABNORMAL_ORDER): a line of an item ordered in [S, D] passing the cheap necessary
        #   condition 12 × qty × f > k × agreed (only facts with an agreed volume are joined: a missing one
        #   gives agreed 0 all the same; a fact's year is its context's, so institution and item name it).
        # Only the columns the rules below read are kept.
        Step(
            "line_cands",
            f"""
            SELECT x.province, x.line_id, x.order_id, x.line_no, x.institution_id, x.item_id, x.supplier_id,
                   x.product_id, x.year_id, x.ordered_on, x.qty, x.unit_price, x.accepted_qty, x.paid_amount,
                   x.last_paid_on, x.receipt_cut, x.receipt_days, x.pay_days, x.basis_kind, x.k, x.agreed, x.factor,
                   CASE WHEN {receipt_due} THEN 1 ELSE 0 END AS receipt_due,
                   CASE WHEN {payment_due} THEN 1 ELSE 0 END AS payment_due,
                   CASE WHEN {abnormal_candidate} THEN 1 ELSE 0 END AS abnormal_candidate
            FROM (SELECT l.province, l.line_id, l.order_id, l.line_no, l.institution_id, l.item_id, l.supplier_id,
                         l.product_id, l.year_id, l.s, l.d, l.ordered_on, l.qty, l.unit_price, l.status,
                         l.delivered_qty, l.accepted_qty, l.rejected_qty, l.last_received_on, l.payment_due_on,
                         l.paid_amount, l.last_paid_on, l.receipt_cut, l.receipt_days, l.pay_days, l.basis_kind,
                         l.abnormal_multiple AS k, COALESCE(pf.agreed_qty, 0) AS agreed, {fac} AS factor
                  FROM lc l
                  LEFT JOIN (SELECT province, institution_id, item_id, agreed_qty
                             FROM progress_facts WHERE agreed_qty > 0) pf
                       ON pf.institution_id = l.institution_id AND pf.item_id = l.item_id
                  LEFT JOIN item_factors f ON {same_product.format(a="l", i="l.item_id")}) x
            WHERE {receipt_due} OR {payment_due} OR {abnormal_candidate}
            """,
        ),
        # LATE_RECEIPT: delivered before D − receipt_confirm_days more than received (accepted + rejected) by D;
        # the candidates' deliveries and receipts.
        Step(
            "late_receipts",
            f"""
            SELECT l.*, COALESCE(rc.qty, 0) AS received
            FROM (SELECT l.province, l.line_id, l.order_id, l.line_no, l.institution_id, l.item_id, l.supplier_id,
                         l.product_id, l.year_id, l.receipt_days, SUM(dv.qty) AS delivered
                  FROM line_cands l JOIN deliveries dv ON dv.line_id = l.line_id
                  WHERE l.receipt_due = 1 AND dv.delivered_on < l.receipt_cut
                  GROUP BY l.province, l.line_id, l.order_id, l.line_no, l.institution_id, l.item_id, l.supplier_id,
                           l.product_id, l.year_id, l.receipt_days) l
            LEFT JOIN (SELECT r.province, r.line_id, SUM(r.accepted_qty + r.rejected_qty) AS qty FROM receipts r
                       JOIN line_cands o ON o.line_id = r.line_id
                       WHERE o.receipt_due = 1 AND r.received_on <= {d} GROUP BY r.province, r.line_id) rc
                 ON rc.line_id = l.line_id
            WHERE l.delivered > COALESCE(rc.qty, 0)
            """,
        ),
        # LATE_PAYMENT: received by D, past its due date, its accepted value (to the cent, half up) not paid by
        # D: the line's running total unless it was last paid after D; only those lines read their payments.
        Step(
            "late_payments",
            f"""
            SELECT x.province, x.order_id, x.line_no, x.institution_id, x.item_id, x.supplier_id, x.product_id,
                   x.year_id, x.pay_days, x.payable, x.paid
            FROM (SELECT l.province, l.order_id, l.line_no, l.institution_id, l.item_id, l.supplier_id,
                         l.product_id, l.year_id, l.pay_days, ROUND(l.accepted_qty * l.unit_price, 2) AS payable,
                         CASE WHEN l.last_paid_on IS NULL OR l.last_paid_on <= {d} THEN l.paid_amount
                              ELSE COALESCE(pa.amount, 0) END AS paid
                  FROM line_cands l
                  LEFT JOIN (SELECT pa.province, pa.line_id, SUM(pa.amount) AS amount FROM payments pa
                             JOIN line_cands o ON o.line_id = pa.line_id
                             WHERE o.payment_due = 1 AND o.last_paid_on > {d} AND pa.paid_on <= {d}
                             GROUP BY pa.province, pa.line_id) pa
                       ON pa.line_id = l.line_id
                  WHERE l.payment_due = 1) x
            WHERE x.payable > x.paid
            """,
        ),
        Step(
            "abn_candidates",
            """
            SELECT province, line_id, order_id, line_no, institution_id, item_id, supplier_id, product_id, year_id,
                   qty, basis_kind, k, agreed, factor, ordered_on
            FROM line_cands WHERE abnormal_candidate = 1
            """,
        ),
        Step(
            "abnormal",
            """
            SELECT x.*, COALESCE(h.hist, 0) AS hist
            FROM abn_candidates x
            LEFT JOIN (SELECT x.province, x.line_id, SUM(e.qty) AS hist
                       FROM abn_candidates x
                       JOIN days dy ON dy.on_day = x.ordered_on
                       JOIN ev e ON e.institution_id = x.institution_id
                            AND e.product_id = x.product_id AND e.kind = x.basis_kind
                            AND e.on_day >= dy.a AND e.on_day <= dy.b
                       GROUP BY x.province, x.line_id) h
                 ON h.line_id = x.line_id
            WHERE (COALESCE(h.hist, 0) > 0 OR x.agreed > 0)
              AND x.qty * 12 * x.factor > x.k * (CASE WHEN COALESCE(h.hist, 0) * x.factor > x.agreed
                                                      THEN COALESCE(h.hist, 0) * x.factor ELSE x.agreed END)
            """,
        ),
        # OFFLINE_PURCHASE_SUSPECT: each used product's item among the started batches: the item of its own
        # generic name and form group of the latest cycle, else the item listing it as a substitute (ties as
        # monitoring.facts._offline_suspects: batch code, then item code).
        Step(
            "live_items",
            """
            SELECT g.province, g.id AS item_id, g.batch_id, g.item_code, g.generic_name, g.dosage_form_group,
                   b.cycle_start, b.code AS batch_code
            FROM items g JOIN batches b ON b.id = g.batch_id
            WHERE EXISTS (SELECT 1 FROM ctx c WHERE c.batch_id = g.batch_id
                          AND c.s IS NOT NULL)
            """,
        ),
        Step(
            "product_items",
            """
            SELECT province, product_id, item_id, batch_id FROM (
                SELECT m.*, ROW_NUMBER() OVER (PARTITION BY m.province, m.product_id
                                               ORDER BY m.pass, m.cycle_start DESC, m.batch_code, m.item_code)
                           AS rn
                FROM (SELECT p.province, p.id AS product_id, g.item_id, g.batch_id, g.cycle_start, g.batch_code,
                             g.item_code, 1 AS pass
                      FROM products p JOIN live_items g ON g.province = p.province
                           AND g.generic_name = p.generic_name AND g.dosage_form_group = p.dosage_form_group
                      UNION ALL
                      SELECT su.province, su.product_id, g.item_id, g.batch_id, g.cycle_start, g.batch_code,
                             g.item_code, 2
                      FROM substitutes su JOIN live_items g ON g.item_id = su.item_id
                     ) m) r
            WHERE rn = 1
            """,
        ),
        Step(
            "offline",
            f"""
            SELECT x.*, COALESCE(rv.qty, 0) AS received
            FROM (SELECT u.province, u.institution_id, u.product_id, mp.item_id, c.year_id, c.s90, c.d,
                         SUM(u.qty) AS used
                  FROM usage_lines u
                  JOIN product_items mp ON mp.product_id = u.product_id
                  JOIN ic c ON c.institution_id = u.institution_id
                       AND c.batch_id = mp.batch_id
                  WHERE u.used_on >= c.s AND u.used_on <= c.d
                  GROUP BY u.province, u.institution_id, u.product_id, mp.item_id, c.year_id, c.s90, c.d) x
            LEFT JOIN (SELECT x.province, x.institution_id, x.product_id, x.item_id, SUM(e.qty) AS qty
                       FROM (SELECT DISTINCT u.province, u.institution_id, u.product_id, mp.item_id, c.s90, c.d
                             FROM usage_lines u
                             JOIN product_items mp ON mp.product_id = u.product_id
                             JOIN ic c ON c.institution_id = u.institution_id
                                  AND c.batch_id = mp.batch_id) x
                       JOIN ev e ON e.institution_id = x.institution_id
                            AND e.product_id = x.product_id AND e.kind = {RECEIVED}
                            AND e.on_day >= x.s90 AND e.on_day <= x.d
                       GROUP BY x.province, x.institution_id, x.product_id, x.item_id) rv
                 ON rv.institution_id = x.institution_id
                 AND rv.product_id = x.product_id AND rv.item_id = x.item_id
            WHERE x.used * {OFFLINE_RATIO_DEN} > COALESCE(rv.qty, 0) * {OFFLINE_RATIO_NUM}
            """,
        ),
        # LATE_SUPPLIER_REPORT (monitoring.facts._missing_reports): per province and started batch, the
        # context of the province's own region, else of its region with the lowest code (the report day is
        # set province-wide); the batch's cycle must overlap the overdue month; per supply-role winner's
        # manufacturer, the items (not superseded) without a report for that month.
        Step(
            "report_ctx",
            """
            SELECT province, province_id, batch_id, year_id, company_report_day, report_month, report_due,
                   listing_cap_multiple
            FROM (SELECT c.*, ROW_NUMBER() OVER (PARTITION BY c.province, c.batch_id
                                                 ORDER BY CASE WHEN c.region_id = c.province_id THEN 0 ELSE 1 END,
                                                          r.code) AS rn
                  FROM ctx c JOIN regions r ON r.id = c.region_id
                  WHERE c.batch_id <> 0) x
            WHERE rn = 1
            """,
        ),
        Step(
            "missing_reports",
            f"""
            SELECT k.province, x.manufacturer_id AS supplier_id, k.batch_id, k.year_id AS agreement_year_id,
                   k.company_report_day, COUNT(*) AS n
            FROM report_ctx k
            JOIN batches b ON b.id = k.batch_id
            JOIN (SELECT DISTINCT w.province, g.batch_id, w.province_id, p.manufacturer_id, w.item_id
                  FROM winners w
                  JOIN items g ON g.id = w.item_id
                  JOIN products p ON p.id = w.product_id
                  WHERE w.role IN {SUPPLY}) x
                 ON x.batch_id = k.batch_id AND x.province_id = k.province_id
            WHERE b.cycle_start <= k.report_due AND b.cycle_end >= k.report_month
              AND NOT EXISTS (SELECT 1 FROM supplier_reports sr WHERE sr.company_id = x.manufacturer_id AND sr.item_id = x.item_id
                              AND sr.month = k.report_month)
              AND NOT {_superseded(d, "x.item_id")}
            GROUP BY k.province, x.manufacturer_id, k.batch_id, k.year_id, k.company_report_day
            """,
        ),
        # PRICE_ABOVE_CAP (monitoring.facts._cap_table, _price_caps; SPEC §4 policy.rules.listing_verdict): the
        # cap of every winning product of a started batch, in each province with that batch's context (the
        # province's own, as report_ctx): a supplier in the province is held to its winning price there, any
        # other winner to max(listing_cap_multiple × its winning price, the item's highest winning price),
        # exact (not rounded). A product's item is the item of its first winners row in the monitor's order
        # (batch by latest cycle, then codes; the province and role order only rows of that same item), its
        # role and price in the province those of its last row there.
        Step(
            "cap_winners",
            """
            SELECT w.province, w.item_id, w.product_id, w.province_id, w.role, w.winning_price, g.batch_id,
                   ROW_NUMBER() OVER (PARTITION BY w.province, w.product_id
                                      ORDER BY b.cycle_start DESC, b.code, g.item_code) AS first_rn,
                   ROW_NUMBER() OVER (PARTITION BY w.province, w.product_id, w.province_id
                                      ORDER BY b.cycle_start, b.code DESC, g.item_code DESC, w.role DESC) AS last_rn
            FROM winners w
            JOIN items g ON g.id = w.item_id
            JOIN batches b ON b.id = g.batch_id
            WHERE EXISTS (SELECT 1 FROM report_ctx k WHERE k.batch_id = g.batch_id)
            """,
        ),
        Step(
            "caps",
            f"""
            SELECT k.province, k.province_id, fw.product_id, fw.item_id, fw.batch_id, k.year_id,
                   CASE WHEN r.role IN {SUPPLY} THEN COALESCE(r.winning_price, o.own)
                        ELSE GREATEST(k.listing_cap_multiple * COALESCE(r.winning_price, o.own), h.highest)
                   END AS cap
            FROM cap_winners fw
            JOIN report_ctx k ON k.batch_id = fw.batch_id
            JOIN (SELECT province, product_id, MAX(winning_price) AS own FROM cap_winners
                  GROUP BY province, product_id) o ON o.product_id = fw.product_id
            JOIN (SELECT province, item_id, MAX(winning_price) AS highest FROM cap_winners
                  GROUP BY province, item_id) h ON h.item_id = fw.item_id
            LEFT JOIN cap_winners r ON r.product_id = fw.product_id
                 AND r.province_id = k.province_id AND r.last_rn = 1
            WHERE fw.first_rn = 1
            """,
        ),
        # Listing prices in force on D (the latest valid_from on or before D) above the cap; and per
        # institution the highest price of its order lines of the product (not cancelled, ordered in [S, D]
        # of the cap's batch) when above the cap.
        Step(
            "caps_listed",
            f"""
            SELECT cp.province, cp.item_id, cp.product_id, cp.year_id, lp.price, cp.cap
            FROM caps cp
            JOIN (SELECT province, product_id, province_id, price,
                         ROW_NUMBER() OVER (PARTITION BY province, product_id, province_id
                                            ORDER BY valid_from DESC) AS rn
                  FROM listing_prices WHERE valid_from <= {d}) lp
                 ON lp.product_id = cp.product_id
                 AND lp.province_id = cp.province_id AND lp.rn = 1
            WHERE lp.price > cp.cap
            """,
        ),
        Step(
            "caps_ordered",
            """
            SELECT cp.province, c.institution_id, cp.item_id, cp.product_id, cp.year_id,
                   MAX(l.unit_price) AS price, cp.cap
            FROM ln l
            JOIN caps cp ON cp.product_id = l.product_id AND l.unit_price > cp.cap
            JOIN ic c ON c.batch_id = cp.batch_id AND c.province_id = cp.province_id
                 AND c.institution_id = l.institution_id
            WHERE l.status <> 'cancelled' AND l.ordered_on >= c.s
            GROUP BY cp.province, c.institution_id, cp.item_id, cp.product_id, cp.year_id, cp.cap
            """,
        ),
        # Every alert: subjects as ids of the province's database, value and threshold as numerator and
        # denominator.
        Step(
            "alert_rows",
            " UNION ALL ".join(
                [f"{alert_sql} FROM pf x WHERE {condition}" for alert_sql, condition in progress_rules]
                + [
                    _supplier_alert(
                        "LOW_DELIVERY_RATE",
                        "x.delivered_qty",
                        "x.ordered_qty",
                        "c.floor_rate",
                        "1",
                        "CASE WHEN x.delivered_qty < c.t3 * x.ordered_qty THEN 3"
                        " WHEN x.delivered_qty < c.t2 * x.ordered_qty THEN 2"
                        " WHEN x.delivered_qty < c.t1 * x.ordered_qty THEN 1 END",
                    )
                    + " FROM delivery_facts x JOIN agreement_years y ON y.id = x.agreement_year_id"
                    " JOIN ic c ON c.institution_id = x.institution_id"
                    " AND c.batch_id = y.batch_id"
                    " WHERE x.ordered_qty > 0 AND x.delivered_qty < c.floor_rate * x.ordered_qty",
                    _line_alert(
                        "LATE_RECEIPT",
                        "x.delivered - x.received",
                        "1",
                        "x.receipt_days",
                        "1",
                    )
                    + " FROM late_receipts x",
                    _line_alert(
                        "LATE_PAYMENT",
                        "x.payable - x.paid",
                        "1",
                        "x.pay_days",
                        "1",
                    )
                    + " FROM late_payments x",
                    _line_alert(
                        "ABNORMAL_ORDER",
                        "x.qty",
                        "1",
                        "x.k * (CASE WHEN x.hist * x.factor > x.agreed THEN x.hist * x.factor"
                        " ELSE x.agreed END)",
                        "12 * x.factor",
                    )
                    + " FROM abnormal x",
                    _alert(
                        "OFFLINE_PURCHASE_SUSPECT",
                        "x.institution_id",
                        "x.item_id",
                        "NULL",
                        "x.product_id",
                        "NULL",
                        "x.year_id",
                        "x.used",
                        "1",
                        f"x.received * {OFFLINE_RATIO_NUM}",
                        str(OFFLINE_RATIO_DEN),
                    )
                    + " FROM offline x",
                    _supplier_alert(
                        "UNSIGNED_AGREEMENT",
                        "x.n",
                        "1",
                        "NULL",
                        "NULL",
                    )
                    + f"""
                    FROM (SELECT a.province, a.institution_id, a.supplier_id, a.agreement_year_id, COUNT(*) AS n
                          FROM agreements a
                          JOIN agreement_years y ON y.id = a.agreement_year_id
                          JOIN ic c ON c.institution_id = a.institution_id
                               AND c.batch_id = y.batch_id
                          WHERE a.status <> 'effective' AND COALESCE(a.due_date, y.sign_due) < {d}
                          GROUP BY a.province, a.institution_id, a.supplier_id, a.agreement_year_id) x
                    """,
                    _alert(
                        "LATE_SUPPLIER_REPORT",
                        "NULL",
                        "NULL",
                        "x.supplier_id",
                        "NULL",
                        "NULL",
                        "x.agreement_year_id",
                        "x.n",
                        "1",
                        "x.company_report_day",
                        "1",
                    )
                    + " FROM missing_reports x",
                    # TICKET_REPLY_OVERDUE / TICKET_FIX_OVERDUE (tickets.queries.overdue_tickets): a reply owed
                    # (open, reopened) past reply_due, or the fix owed (replied) past fix_due, of an
                    # institution of the run; value = days overdue on D, threshold 0.
                    *(
                        _alert(
                            type_,
                            "x.institution_id",
                            "NULL",
                            "x.supplier_id",
                            "NULL",
                            "NULL",
                            "NULL",
                            f"DATE_DIFF('day', x.{due}, {d})",
                            "1",
                            "0",
                            "1",
                        )
                        + f"""
                        FROM tickets x
                        WHERE x.status IN {statuses} AND x.{due} < {d}
                          AND EXISTS (SELECT 1 FROM ic c WHERE c.institution_id = x.institution_id)
                        """
                        for type_, statuses, due in (
                            ("TICKET_REPLY_OVERDUE", "('open', 'reopened')", "reply_due"),
                            ("TICKET_FIX_OVERDUE", "('replied')", "fix_due"),
                        )
                    ),
                    # PREPAYMENT_OVERDUE (funds.findings.prepayment_overdue): a tranche not fully paid after its
                    # due day; value = the unpaid rest, threshold 0, subject institution × year × tranche.
                    _alert(
                        "PREPAYMENT_OVERDUE",
                        "x.institution_id",
                        "NULL",
                        "NULL",
                        "NULL",
                        "NULL",
                        "x.agreement_year_id",
                        "x.amount - x.paid_amount",
                        "1",
                        "0",
                        "1",
                        tranche="x.tranche",
                    )
                    + f"""
                    FROM prepayment_tranches x
                    WHERE x.due_on < {d} AND x.paid_amount < x.amount
                      AND EXISTS (SELECT 1 FROM ic c WHERE c.institution_id = x.institution_id)
                    """,
                    # NOT_ADMITTED (funds.findings.not_admitted): an effective agreement of the year running on
                    # D, from month admission_check_month of that year on, with no line of a supply winner
                    # of the item in the institution's province (not cancelled or rejected) ordered in
                    # [start, D] (start = S of the context: winner_lines.admitted); value = the month,
                    # threshold = admission_check_month; one per subject.
                    _alert(
                        "NOT_ADMITTED",
                        "x.institution_id",
                        "x.item_id",
                        "NULL",
                        "NULL",
                        "NULL",
                        "x.year_id",
                        "x.admission_month",
                        "1",
                        "x.admission_check_month",
                        "1",
                    )
                    + """
                    FROM (SELECT DISTINCT a.province, a.institution_id, a.item_id, c.year_id, c.admission_month,
                                 c.admission_check_month
                          FROM agreements a
                          JOIN agreement_years y ON y.id = a.agreement_year_id
                          JOIN ic c ON c.institution_id = a.institution_id
                               AND c.batch_id = y.batch_id AND c.year_id = a.agreement_year_id
                          LEFT JOIN (SELECT province, institution_id, item_id, year_id, MAX(admitted) AS admitted
                                     FROM winner_lines GROUP BY province, institution_id, item_id, year_id) m
                               ON m.institution_id = a.institution_id
                               AND m.item_id = a.item_id AND m.year_id = c.year_id
                          WHERE a.status = 'effective' AND c.admission_month IS NOT NULL
                            AND c.admission_month >= c.admission_check_month
                            AND (m.admitted IS NULL OR m.admitted = 0)) x
                    """,
                    # SUBSTITUTE_LIMIT_EXCEEDED (prescribing.catalogue.limit_exceeded): a confirmed limit of D's
                    # quarter (suspended = limit 0) below the institution's use of the product from the
                    # quarter's first day to D; value = the use, threshold = the limit.
                    _alert(
                        "SUBSTITUTE_LIMIT_EXCEEDED",
                        "x.institution_id",
                        "x.item_id",
                        "NULL",
                        "x.product_id",
                        "NULL",
                        "NULL",
                        "x.used",
                        "1",
                        "x.lim",
                        "1",
                    )
                    + f"""
                    FROM (SELECT k.province, k.institution_id, k.item_id, k.product_id,
                                 CASE WHEN k.suspended THEN 0 ELSE k.limit_qty END AS lim,
                                 COALESCE(u.used, 0) AS used
                          FROM substitute_limits k
                          JOIN (SELECT DISTINCT province, institution_id, quarter, quarter_start FROM ic) q
                               ON q.institution_id = k.institution_id
                               AND q.quarter = k.quarter
                          LEFT JOIN (SELECT u.province, u.institution_id, u.product_id, SUM(u.qty) AS used
                                     FROM usage_lines u
                                     JOIN (SELECT DISTINCT province, quarter_start FROM ic) qs
                                          ON qs.province = u.province
                                     WHERE u.used_on >= qs.quarter_start AND u.used_on <= {d}
                                     GROUP BY u.province, u.institution_id, u.product_id) u
                               ON u.institution_id = k.institution_id
                               AND u.product_id = k.product_id
                          WHERE k.status = 'confirmed') x
                    WHERE x.lim IS NOT NULL AND x.used > x.lim
                    """,
                    _alert(
                        "PRICE_ABOVE_CAP",
                        "NULL",
                        "x.item_id",
                        "NULL",
                        "x.product_id",
                        "NULL",
                        "x.year_id",
                        "x.price",
                        "1",
                        "x.cap",
                        "1",
                    )
                    + " FROM caps_listed x",
                    _alert(
                        "PRICE_ABOVE_CAP",
                        "x.institution_id",
                        "x.item_id",
                        "NULL",
                        "x.product_id",
                        "NULL",
                        "x.year_id",
                        "x.price",
                        "1",
                        "x.cap",
                        "1",
                    )
                    + " FROM caps_ordered x",
                ]
            ),
        ),
        # The alerts with business codes (what `jicai monitor` prints), one row each.
        Step(
            "alerts",
            """
            SELECT a.alert_type, a.province, i.code AS institution, g.item_code AS item, co.code AS supplier,
                   p.code AS product, o.order_id, a.line_no, y.number AS agreement_year,
                   a.value_num, a.value_den, a.threshold_num, a.threshold_den, a.tier, a.tranche
            FROM alert_rows a
            LEFT JOIN institutions i ON i.id = a.institution_id
            LEFT JOIN items g ON g.id = a.item_id
            LEFT JOIN companies co ON co.id = a.supplier_id
            LEFT JOIN products p ON p.id = a.product_id
            LEFT JOIN orders o ON o.id = a.order_pk
            LEFT JOIN agreement_years y ON y.id = a.year_id
            WHERE a.alert_type IN """
            + "("
            + ", ".join(f"'{t}'" for t in LINE_FINDINGS_OF_SUPERSEDED)
            + ")"
            + " OR a.item_id IS NULL OR NOT "
            + _superseded(d, "a.item_id"),
            "result",
        ),
    ]


WORK_STEPS = {
    "ic",
    "supply_winners",
    "ln",
    "delivered_after_d",
    "ev",
    "bought",
    "substitute_events",
    "substituted",
    "agreed_src",
    "winner_lines",
    "lc",
    "line_cands",
    "late_receipts",
    "late_payments",
    "pf",
    "abnormal",
    "offline",
    "institution_totals",
}


def _ranking_sql(keys: tuple[str, ...]) -> str:
    cols = ", ".join(keys)
    return f"""
        SELECT {cols}, SUM(agreed) AS agreed_qty, SUM(w) AS purchased_winning, SUM(n) AS purchased_nonwinning,
               CASE WHEN SUM(agreed) > 0 THEN CAST(SUM(w_agreed) AS DOUBLE) / SUM(agreed) END AS completion,
               CASE WHEN SUM(w) + SUM(n) > 0 THEN CAST(SUM(w) AS DOUBLE) / (SUM(w) + SUM(n)) END AS winning_share,
               SUM(ordered) AS ordered_qty, SUM(delivered) AS delivered_qty,
               CASE WHEN SUM(ordered) > 0 THEN CAST(SUM(delivered) AS DOUBLE) / SUM(ordered) END AS delivery_rate
        FROM institution_totals GROUP BY {cols}
    """
