"""Usage of an item read straight from the usage lines (SPEC §11 "real time": no nightly job in between).

One grouped SQL statement per call: Σ qty × item_factor per (institution, item, department, doctor),
split into winning (W: the institution's province's main/backup/backup2 products) and the rest of the
item (N). The (institution, product, department, doctor_code, used_on) unique index of usage lines serves
the institution filter."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection

from jicai.batches.models import SUPPLY_ROLES, Item, ItemFactor, Winner
from jicai.registry.models import Institution, Product, Region
from jicai.trade.models import UsageLine

ROLE_SQL = "(" + ", ".join(f"'{r.value}'" for r in SUPPLY_ROLES) + ")"


def to_decimal(value) -> Decimal:
    """SQLite hands back a float for SUM(qty × factor); six decimals is the factor's own precision."""
    if value is None:
        return Decimal(0)
    return Decimal(str(value)).quantize(Decimal("0.000001")).normalize() + Decimal(0)


def _in_list(column: str, values: list[int]) -> tuple[str, list]:
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def usage_by_key(
    *, institution_ids: Iterable[int], item_ids: Iterable[int], start: dt.date, end: dt.date
) -> dict[tuple[int, int, str, str], tuple[Decimal, Decimal]]:
    """{(institution_id, item_id, department, doctor_code): (used W, used N)} for usage in [start, end]."""
    institution_ids, item_ids = sorted(set(institution_ids)), sorted(set(item_ids))
    if not institution_ids or not item_ids or end < start:
        return {}
    inst_sql, inst_params = _in_list("u.institution_id", institution_ids)
    item_sql, item_params = _in_list("g.id", item_ids)
    sql = f"""
        SELECT u.institution_id, g.id, u.department, u.doctor_code,
               SUM(CASE WHEN w.id IS NOT NULL THEN u.qty * COALESCE(f.factor, 1) ELSE 0 END),
               SUM(CASE WHEN w.id IS NULL THEN u.qty * COALESCE(f.factor, 1) ELSE 0 END)
        FROM {UsageLine._meta.db_table} u
        JOIN {Product._meta.db_table} p ON p.id = u.product_id
        JOIN {Item._meta.db_table} g
             ON g.generic_name = p.generic_name AND g.dosage_form_group = p.dosage_form_group
        JOIN {Institution._meta.db_table} i ON i.id = u.institution_id
        JOIN {Region._meta.db_table} r ON r.id = i.region_id
        JOIN {Region._meta.db_table} pr ON pr.code = SUBSTR(r.path, 1, 6)
        LEFT JOIN {ItemFactor._meta.db_table} f ON f.item_id = g.id AND f.product_id = p.id
        LEFT JOIN {Winner._meta.db_table} w
             ON w.item_id = g.id AND w.product_id = p.id AND w.province_id = pr.id AND w.role IN {ROLE_SQL}
        WHERE {inst_sql} AND {item_sql} AND u.used_on BETWEEN %s AND %s
        GROUP BY u.institution_id, g.id, u.department, u.doctor_code"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*inst_params, *item_params, start, end])
        return {
            (inst, item, dept, doctor): (to_decimal(won), to_decimal(other))
            for inst, item, dept, doctor, won, other in cursor.fetchall()
        }


def rollup(usage: dict, level: str) -> dict:
    """Sum usage_by_key rows to (inst, item) for level "institution", (inst, item, dept) for "department",
    or keep (inst, item, dept, doctor) for "doctor"."""
    size = {"institution": 2, "department": 3, "doctor": 4}[level]
    result: dict = {}
    for key, (won, other) in usage.items():
        k = key[:size]
        w0, n0 = result.get(k, (Decimal(0), Decimal(0)))
        result[k] = (w0 + won, n0 + other)
    return result


def substitute_usage_by_key(
    *, institution_ids: Iterable[int], item_ids: Iterable[int], start: dt.date, end: dt.date
) -> dict[tuple[int, int, str, str], Decimal]:
    """{(institution_id, item_id, department, doctor_code): Σ qty × item_factor of the item's substitutes}
    (the batch's substitute list, U of SPEC §7) used in [start, end]."""
    from jicai.batches.models import Substitute

    institution_ids, item_ids = sorted(set(institution_ids)), sorted(set(item_ids))
    if not institution_ids or not item_ids or end < start:
        return {}
    inst_sql, inst_params = _in_list("u.institution_id", institution_ids)
    item_sql, item_params = _in_list("s.item_id", item_ids)
    sql = f"""
        SELECT u.institution_id, s.item_id, u.department, u.doctor_code, SUM(u.qty * COALESCE(f.factor, 1))
        FROM {UsageLine._meta.db_table} u
        JOIN {Substitute._meta.db_table} s ON s.product_id = u.product_id
        LEFT JOIN {ItemFactor._meta.db_table} f ON f.item_id = s.item_id AND f.product_id = u.product_id
        WHERE {inst_sql} AND {item_sql} AND u.used_on BETWEEN %s AND %s
        GROUP BY u.institution_id, s.item_id, u.department, u.doctor_code"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*inst_params, *item_params, start, end])
        return {(i, g, d, doc): to_decimal(q) for i, g, d, doc, q in cursor.fetchall()}
