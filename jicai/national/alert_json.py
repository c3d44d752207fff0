"""The alerts of `jicai national` as the `jicai monitor` JSON text, built column-wise with Arrow compute from
the engine's alerts.parquet (no Python object per alert).

The text is exactly what `json.dumps(alert, ensure_ascii=False)` gives for each alert dict of the SPEC §10
shape: the exact quotient num / den rounded half up to 6 places (run.alert_number), printed as an integer
when whole and otherwise as Python prints the float. The quotients are worked out in 64-bit integers after
dividing numerator and denominator by their common powers of ten; the few values that do not fit (or whose
float Python prints in exponent form, |value| < 0.0001) go through run.alert_number one by one."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

# The JSON keys in print order, with the alerts.parquet column each comes from.
STRING_FIELDS = {
    "type": "alert_type",
    "province": "province",
    "institution": "institution",
    "item": "item",
    "supplier": "supplier",
    "product": "product",
    "order_id": "order_id",
}
SCALE = 10**6  # an Alert's value and threshold have 6 decimal places
# |n| and d below this keep 2·|n|·10⁶ + d within int64.
SAFE = 4 * 10**12
# Below 10¹⁵ a 6-place decimal has at most 15 significant digits, so Python's float repr prints it as written.
EXACT_FLOAT = 10**15
# Python prints a float in exponent form below 1e-4: those quotients are formatted by Python itself.
POSITIONAL = 100


def _int64(array) -> tuple[pa.Array, pa.Array]:
    """The unscaled integers of a decimal128 array as int64 (0 where null or too large), and where they are
    usable (not null, |x| < 2⁶²)."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    unscaled = array.view(pa.decimal128(array.type.precision, 0))
    fits = pc.fill_null(pc.less(pc.abs(unscaled), pa.scalar(Decimal(2**62), unscaled.type)), False)
    zero = pa.scalar(Decimal(0), unscaled.type)
    return pc.cast(pc.if_else(fits, unscaled, zero), pa.int64()), fits


def _decimal_text(q: pa.Array) -> pa.Array:
    """q / 10⁶ (|q| < 10¹⁵) as Python prints int(v) when whole, else float(v)."""
    a = pc.abs(q)
    whole = pc.cast(pc.divide(a, SCALE), pa.string())
    rest = pc.modulo(a, SCALE)
    frac = pc.utf8_rtrim(
        pc.utf8_slice_codeunits(pc.cast(pc.add(rest, SCALE), pa.string()), 1, 7), characters="0"
    )
    sign = pc.if_else(pc.less(q, 0), "-", "")
    return pc.if_else(
        pc.equal(rest, 0),
        pc.binary_join_element_wise(sign, whole, ""),
        pc.binary_join_element_wise(sign, whole, ".", frac, ""),
    )


def ratio_text(num, den) -> pa.Array:
    """JSON text of run.alert_number(num, den) for two decimal128 columns of the same scale ("null" for a
    null)."""
    from jicai.national.run import alert_number  # the row-wise reference, for the rest

    length = len(num)
    if pa.types.is_decimal128(num.type) and num.type == den.type:
        n, n_ok = _int64(num)
        d, d_ok = _int64(den)
        ok = pc.and_(pc.and_(n_ok, d_ok), pc.not_equal(d, 0))
    else:  # not two decimals of one scale: Python only
        n = d = pa.array([0] * length, pa.int64())
        ok = pa.array([False] * length)
    # num / den = n / d: strip their common powers of ten (the scale first), so the quotient fits in int64.
    while True:
        both = pc.and_(pc.equal(pc.modulo(n, 10), 0), pc.equal(pc.modulo(d, 10), 0))
        both = pc.and_(both, pc.not_equal(d, 0))
        if not pc.any(both).as_py():
            break
        n, d = pc.if_else(both, pc.divide(n, 10), n), pc.if_else(both, pc.divide(d, 10), d)
    n = pc.if_else(pc.less(d, 0), pc.negate(n), n)
    d = pc.abs(d)
    ok = pc.and_(ok, pc.and_(pc.less(pc.abs(n), SAFE), pc.less(d, SAFE)))
    n, d = pc.if_else(ok, n, 0), pc.if_else(ok, d, 1)
    # Rounded half away from zero (ROUND_HALF_UP): ⌊(2|n|·10⁶ + d) / 2d⌋ with the sign of n.
    q = pc.divide(pc.add(pc.multiply(pc.abs(n), 2 * SCALE), d), pc.multiply(d, 2))
    q = pc.if_else(pc.less(n, 0), pc.negate(q), q)
    positional = pc.or_(pc.equal(pc.modulo(q, SCALE), 0), pc.greater_equal(pc.abs(q), POSITIONAL))
    ok = pc.and_(ok, pc.and_(pc.less(pc.abs(q), EXACT_FLOAT), positional))
    text = _decimal_text(pc.if_else(ok, q, 0))
    rest = pc.indices_nonzero(pc.invert(ok))
    if len(rest):
        values = [
            json.dumps(alert_number(a, b))
            for a, b in zip(num.take(rest).to_pylist(), den.take(rest).to_pylist(), strict=True)
        ]
        text = text.to_pylist()
        for i, value in zip(rest.to_pylist(), values, strict=True):
            text[i] = value
        text = pa.array(text, pa.string())
    return text


def _string_text(column: pa.Array, empty_is_null: bool = False) -> pa.Array:
    """JSON text of a string column (quoted and escaped as json.dumps(ensure_ascii=False) does, "null" for
    a null)."""
    column = column.cast(pa.string())
    if empty_is_null:
        column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
    needs_escape = pc.any(pc.match_substring_regex(column, r'["\\\x00-\x1f]')).as_py()
    if needs_escape:
        quoted = pa.array([json.dumps(v, ensure_ascii=False) for v in column.to_pylist()], pa.string())
    else:
        quoted = pc.binary_join_element_wise('"', column, '"', "")
    return pc.fill_null(quoted, "null")


def _int_text(column: pa.Array) -> pa.Array:
    return pc.fill_null(column.cast(pa.int64()).cast(pa.string()), "null")


def _tranche(table: pa.Table) -> pa.Array:
    """PREPAYMENT_OVERDUE's tranche ("" for every other alert, as alert_sort_key has it)."""
    if "tranche" not in table.column_names:
        return pa.array([""] * table.num_rows, pa.string())
    return pc.fill_null(table["tranche"].cast(pa.string()), "")


def _tranche_text(table: pa.Table) -> pa.Array:
    """`, "tranche": …` for alerts with a tranche, printed as monitoring.evaluate.found_alerts does (a number
    when all digits, else a string); nothing for the others, so their keys stay as they were."""
    tranche = _tranche(table)
    digits = pc.match_substring_regex(tranche, r"^[0-9]+$")
    as_int = pc.cast(pc.if_else(digits, tranche, "0"), pa.int64()).cast(pa.string())
    value = pc.if_else(digits, as_int, _string_text(tranche))
    return pc.if_else(pc.equal(tranche, ""), "", pc.binary_join_element_wise(', "tranche": ', value, ""))


def sort_order(table: pa.Table) -> pa.Array:
    """The printed order: province, then alert_sort_key (type, institution, supplier, item, product,
    order, line, tranche; nulls as "" and 0), then agreement year (0 for none), value, threshold and tier; as indices
    into the table."""
    keys = {"province": table["province"], "alert_type": table["alert_type"]}
    for name in ("institution", "supplier", "item", "product", "order_id"):
        keys[name] = pc.fill_null(table[name].cast(pa.string()), "")
    keys["line_no"] = pc.fill_null(table["line_no"].cast(pa.int64()), 0)
    keys["tranche"] = _tranche(table)
    keys["agreement_year"] = pc.fill_null(table["agreement_year"].cast(pa.int64()), 0)
    # Alerts still tied (e.g. an institution's two items of one code in two batches) by value, threshold and
    # tier, so the printed order does not depend on the engine's parallel output order.
    for name in ("value", "threshold"):
        num, den = (pc.cast(table[f"{name}_{part}"], pa.float64()) for part in ("num", "den"))
        keys[name] = pc.fill_null(pc.divide(num, den), -1.0)
    keys["tier"] = pc.fill_null(table["tier"].cast(pa.int64()), 0)
    return pc.sort_indices(pa.table(keys), sort_keys=[(name, "ascending") for name in keys])


def alert_rows(table: pa.Table) -> pa.Array:
    """One JSON object text per alert row, in the table's order, each after ", " (the list separator)."""
    table = table.combine_chunks()
    if table.num_rows == 0:
        return pa.array([], pa.string())
    parts: list = []
    for key, column in STRING_FIELDS.items():
        parts += [f'{", " if parts else ", {"}"{key}": ', _string_text(table[column], key == "order_id")]
    parts += [', "line_no": ', _int_text(table["line_no"])]
    parts += [', "value": ', ratio_text(table["value_num"], table["value_den"])]
    parts += [', "threshold": ', ratio_text(table["threshold_num"], table["threshold_den"])]
    parts += [', "tier": ', _int_text(table["tier"])]
    parts += [', "agreement_year": ', _int_text(table["agreement_year"]), _tranche_text(table), "}"]
    arrays = [p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, "").cast(pa.large_string())


# Rows per slice formatted on a thread of its own: Arrow's kernels run without the GIL, one core each (795,408
# alerts of a province: 1.4–1.7 s on one thread, 1.1 s on two).
SLICE_ROWS = 100_000


def _parallel_rows(table: pa.Table) -> pa.Array:
    workers = min(os.cpu_count() or 1, -(-table.num_rows // SLICE_ROWS))
    if workers <= 1:
        return alert_rows(table)
    table = table.combine_chunks()
    size = -(-table.num_rows // workers)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(alert_rows, (table.slice(i, size) for i in range(0, table.num_rows, size))))
    return pa.concat_arrays(parts)


def alerts_json(table: pa.Table) -> tuple[int, str]:
    """(number of alerts, the JSON array text of the sorted alerts): the rows' texts are contiguous in the
    string array's data buffer, so the list is that buffer without the first separator."""
    if table.num_rows == 0:
        return 0, "[]"
    # Sorted before formatting: taking the narrow columns is cheaper than taking the formatted texts.
    rows = _parallel_rows(table.take(sort_order(table)))
    offsets = pa.Array.from_buffers(pa.int64(), len(rows) + 1, [None, rows.buffers()[1]], offset=rows.offset)
    text = bytearray(b"[")
    text += memoryview(rows.buffers()[2])[offsets[0].as_py() + 2 : offsets[-1].as_py()]
    text += b"]"
    return len(rows), text.decode()
