"""The alerts of `jicai national` as the `jicai monitor` JSON text, sorted and formatted by DuckDB on the driver
from the engine's alerts (whichever engine wrote them): one SQL statement, on every core, no Python object per
alert.

The text is exactly what `json.dumps(alert, ensure_ascii=False)` gives for each alert dict of the SPEC §10
shape: the exact quotient num / den rounded half up to 6 places (run.alert_number), printed as an integer
when whole and otherwise as Python prints the float. The quotient is worked out in integers from the
decimals' unscaled 64-bit values; the few that do not fit (or whose float Python prints in exponent form,
|value| < 0.0001, or with more digits than it has, |value| ≥ 10⁹) are formatted by run.alert_number first,
once per distinct pair, and joined in.

Measured on a province's 795,408 alerts (bench/RESULTS.md, session 15): 1.1–1.4 s, against 2.2–2.6 s for the
same text built with Arrow compute kernels on two threads."""

from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

# The JSON keys in print order, with the alerts column each comes from.
STRING_FIELDS = {
    "type": "alert_type",
    "province": "province",
    "institution": "institution",
    "item": "item",
    "supplier": "supplier",
    "product": "product",
    "order_id": "order_id",
}
# Then these keys, each from the column of its name: line_no (an integer), value and threshold (quotients of
# the columns `<key>_num` and `<key>_den`), tier and agreement_year (integers).
RATIOS = ("value", "threshold")
# Rows per Arrow batch of the formatted texts (each batch's text buffer is copied into the result once).
BATCH_ROWS = 1_000_000
SCALE = 10**6  # an Alert's value and threshold have 6 decimal places
# Below 10¹⁵ a 6-place decimal has at most 15 significant digits, so Python's float repr prints it as written.
EXACT_FLOAT = 10**15
# Python prints a float in exponent form below 1e-4: those quotients are formatted by Python itself.
POSITIONAL = 100
# json.dumps(ensure_ascii=False) escapes these characters and no others.
JSON_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"} | {
    chr(c): f"\\u{c:04x}" for c in range(0x20) if chr(c) not in "\b\f\n\r\t"
}


def _literal(text: str) -> str:
    """A Python string as a DuckDB string literal (control characters through chr())."""
    parts = []
    for ch in text:
        parts.append(f"' || chr({ord(ch)}) || '" if ord(ch) < 0x20 else ("''" if ch == "'" else ch))
    return "'" + "".join(parts) + "'"


# The bytes json.dumps leaves as they are (UTF-8 continuation and lead bytes included).
PLAIN_BYTES = bytes(b for b in range(256) if b >= 0x20 and b not in b'"\\')


def needs_escape(column) -> bool:
    """Whether some string of the column has a character json.dumps escapes (read off the Arrow data buffers in
    one pass; a column of another layout counts as needing it)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return True
        data = chunk.buffers()[2]
        if data is not None and bytes(data).translate(None, PLAIN_BYTES):
            return True
    return False


def _string_sql(column: str, escape: bool = True, empty_is_null: bool = False) -> str:
    """JSON text of a VARCHAR column as arguments of concat(): quoted, "null" for a null; escaped as
    json.dumps(ensure_ascii=False) does where a character needs it, when `escape` (else the column has none:
    then three pieces, the quotes around the value itself, as concat() skips nulls, so no string is built per
    value before the row's)."""
    value = f"NULLIF({column}, '')" if empty_is_null else column
    if not escape:
        return f"""CASE WHEN {value} IS NULL THEN 'null' ELSE '"' END, {value}, CASE WHEN {value} IS NOT NULL THEN '"' END"""
    escaped = value
    for ch, replacement in JSON_ESCAPES.items():  # the backslash first
        escaped = f"replace({escaped}, {_literal(ch)}, {_literal(replacement)})"
    needs = "regexp_matches(" + value + ", '[\\x00-\\x1f\"\\\\]')"
    return (
        f"CASE WHEN {value} IS NULL THEN 'null' WHEN {needs} THEN '\"' || {escaped} || '\"'"
        f" ELSE '\"' || {value} || '\"' END"
    )


def _int_sql(column: str) -> str:
    return f"COALESCE(CAST({column} AS VARCHAR), 'null')"


def _quotient_sql(name: str, scale: int | None) -> str:
    """n/d rounded half away from zero to 6 places, × 10⁶ (n, d: the unscaled int64 of num and den, NULL when
    they do not fit): (2|n|·10⁶ + |d|) div 2|d| in 128 bits with the sign of n/d; in 64 bits when den is 1
    (d = 10^scale, the common case: a value or threshold that is not a ratio)."""
    n, d = f"{name}_n", f"{name}_d"
    q = f"((2 * abs(CAST({n} AS HUGEINT)) * {SCALE} + abs({d})) // (2 * abs(CAST({d} AS HUGEINT))))"
    whole = ""
    if scale is not None and scale >= 6:
        k = 10 ** (scale - 6)
        whole = f" WHEN {d} = {10**scale} AND abs({n}) < {2**61} THEN sign({n}) * ((2 * abs({n}) + {k}) // {2 * k})"
    return f"(CASE WHEN {d} = 0 THEN NULL{whole} WHEN ({n} < 0) <> ({d} < 0) THEN -{q} ELSE {q} END)"


def _fast_ratio_sql(name: str) -> str:
    """The quotient's JSON text where SQL prints it as Python would, else NULL: a whole value as the integer;
    otherwise the double q / 10⁶ (the double nearest the 6-place value, as float() of it is), which DuckDB and
    Python both print as the shortest text that reads back as that double, positionally for 0.0001 ≤ |v| < 10⁹
    (checked on 400,000 random quotients of every magnitude, and on the 795,408 alerts of a province against
    the text Python gives; the boundaries are in tests/national/test_alert_json.py)."""
    q = f"{name}_q"
    return (
        f"CASE WHEN {q} IS NULL OR abs({q}) >= {EXACT_FLOAT} OR ({q} % {SCALE} <> 0 AND abs({q}) < {POSITIONAL})"
        f" THEN NULL WHEN {q} % {SCALE} = 0 THEN CAST({q} // {SCALE} AS VARCHAR)"
        f" ELSE CAST(CAST({q} AS DOUBLE) / {SCALE} AS VARCHAR) END"
    )


def _unscaled(table: pa.Table, name: str) -> tuple[pa.Array, pa.Array]:
    """The unscaled int64 of the `name_num` and `name_den` decimals (null when they are not two decimals of one
    scale or an |x| ≥ 2⁶²): n / d = num / den."""
    num = table[f"{name}_num"].combine_chunks()
    den = table[f"{name}_den"].combine_chunks()
    if not (pa.types.is_decimal128(num.type) and num.type == den.type):
        nothing = pa.nulls(len(num), pa.int64())
        return nothing, nothing

    def int64(array):
        unscaled = array.view(pa.decimal128(array.type.precision, 0))
        fits = pc.less(pc.abs(unscaled), pa.scalar(Decimal(2**62), unscaled.type))
        return pc.cast(pc.if_else(fits, unscaled, pa.scalar(None, unscaled.type)), pa.int64())

    return int64(num), int64(den)


def _prepared(table: pa.Table, names=RATIOS) -> pa.Table:
    """The alerts with the unscaled numerators and denominators of the ratios `names` (`value_n`, …) and a
    tranche column."""
    for name in names:
        n, d = _unscaled(table, name)
        table = table.append_column(f"{name}_n", n).append_column(f"{name}_d", d)
    if "tranche" not in table.column_names:
        table = table.append_column("tranche", pa.nulls(table.num_rows, pa.string()))
    return table


def _connect():
    import duckdb

    return duckdb.connect()


def _slow_ratios(con, names) -> str:
    """Registers `slow_ratios` (num, den, text): run.alert_number's text of every distinct pair SQL may not
    print (unscaled values beyond 64 bits, a zero den, or a quotient whose float Python prints in exponent form
    or rounded: |v| < 0.0001 or ≥ 10⁹, found with a double quotient and a wide margin; a pair SQL does print
    gets the same text here); returns the joins that bring their texts in (none when there are no such
    pairs)."""
    from jicai.national.run import alert_number  # the row-wise reference

    def maybe_slow(n):
        v = f"abs(CAST({n}_num AS DOUBLE) / CAST({n}_den AS DOUBLE))"
        return (
            f"{n}_num IS NOT NULL AND {n}_den IS NOT NULL AND ({n}_n IS NULL OR {n}_d IS NULL OR {n}_d = 0"
            f" OR {v} > 5e8 OR ({v} < 2e-4 AND {n}_n <> 0))"
        )

    pairs = " UNION ".join(
        f"SELECT {n}_num AS num, {n}_den AS den FROM alerts_in WHERE {maybe_slow(n)}" for n in names
    )
    rows = con.sql(pairs).fetchall()
    if not rows:
        return ""
    texts = [json.dumps(alert_number(num, den)) for num, den in rows]
    con.register(
        "slow_ratios",
        pa.table(
            {
                "num": pa.array([num for num, _ in rows], pa.decimal128(38, 10)),
                "den": pa.array([den for _, den in rows], pa.decimal128(38, 10)),
                "text": pa.array(texts, pa.string()),
            }
        ),
    )
    return " ".join(
        f"LEFT JOIN slow_ratios s_{n} ON s_{n}.num = a.{n}_num AND s_{n}.den = a.{n}_den" for n in names
    )


def _ratio_text_sql(name: str, joined: bool) -> str:
    slow = f"s_{name}.text" if joined else "NULL"
    return (
        f"CASE WHEN a.{name}_num IS NULL OR a.{name}_den IS NULL THEN 'null'"
        f" ELSE COALESCE({_fast_ratio_sql('a.' + name)}, {slow}) END"
    )


def _quotients_view(con, table: pa.Table, names) -> None:
    def scale(n):
        kind = table.schema.field(f"{n}_num").type
        return kind.scale if pa.types.is_decimal(kind) else None

    columns = ", ".join(f"{_quotient_sql(n, scale(n))} AS {n}_q" for n in names)
    con.execute(f"CREATE OR REPLACE TEMP VIEW quotients AS SELECT *, {columns} FROM alerts_in")


def ratio_text(num, den) -> pa.Array:
    """JSON text of run.alert_number(num, den) for two decimal columns ("null" for a null), in their order."""
    table = _prepared(pa.table({"value_num": num, "value_den": den}), ("value",))
    table = table.append_column("rn", pa.array(range(len(num)), pa.int64()))
    con = _connect()
    try:
        con.register("alerts_in", table)
        _quotients_view(con, table, ("value",))
        joins = _slow_ratios(con, ("value",))
        result = con.sql(
            f"SELECT {_ratio_text_sql('value', bool(joins))} AS t FROM quotients a {joins} ORDER BY a.rn"
        ).to_arrow_table(BATCH_ROWS)
    finally:
        con.close()
    return result["t"].combine_chunks()


def _tranche_sql() -> str:
    """`, "tranche": …` for alerts with a tranche, printed as monitoring.evaluate.found_alerts does (a number
    when all digits, else a string); nothing for the others, so their keys stay as they were."""
    t = "COALESCE(CAST(a.tranche AS VARCHAR), '')"
    number = f"CASE WHEN ltrim({t}, '0') = '' THEN '0' ELSE ltrim({t}, '0') END"
    return (
        f"CASE WHEN {t} = '' THEN '' WHEN regexp_full_match({t}, '[0-9]+') THEN ', \"tranche\": ' || {number}"
        f" ELSE ', \"tranche\": ' || ({_string_sql(t)}) END"
    )


def _order_sql() -> str:
    """The printed order: province, then alert_sort_key (type, institution, supplier, item, product, order,
    line, tranche; nulls as "" and 0), then agreement year (0 for none); alerts still tied (e.g. an
    institution's two items of one code in two batches) by value, threshold and tier, so the printed order
    does not depend on the engine's parallel output order. Strings compare bytewise (DuckDB's default)."""
    keys = ["a.province", "a.alert_type"]
    keys += [f"COALESCE(a.{c}, '')" for c in ("institution", "supplier", "item", "product", "order_id")]
    keys += [
        "COALESCE(a.line_no, 0)",
        "COALESCE(CAST(a.tranche AS VARCHAR), '')",
        "COALESCE(a.agreement_year, 0)",
    ]
    keys += [f"COALESCE(CAST(a.{n}_num AS DOUBLE) / CAST(a.{n}_den AS DOUBLE), -1.0)" for n in RATIOS]
    keys += ["COALESCE(a.tier, 0)"]
    return ", ".join(keys)


def alerts_json(table: pa.Table) -> tuple[int, str]:
    """(number of alerts, the JSON array text of the sorted alerts): each row's text starts with ", " (the list
    separator); the texts are contiguous in the result's string buffers, so the list is those buffers without
    the first separator."""
    if table.num_rows == 0:
        return 0, "[]"
    con = _connect()
    try:
        table = _prepared(table)
        con.register("alerts_in", table)
        _quotients_view(con, table, RATIOS)
        joins = _slow_ratios(con, RATIOS)
        fields = [
            (key, _string_sql(f"a.{c}", needs_escape(table[c]), empty_is_null=key == "order_id"))
            for key, c in STRING_FIELDS.items()
        ]
        fields += [("line_no", _int_sql("a.line_no"))]
        fields += [(key, _ratio_text_sql(key, bool(joins))) for key in RATIOS]
        fields += [(key, _int_sql(f"a.{key}")) for key in ("tier", "agreement_year")]
        parts = []
        for i, (key, value) in enumerate(fields):
            parts += [_literal((", {" if i == 0 else ", ") + f'"{key}": '), value]
        parts += [_tranche_sql(), "'}'"]
        rows = con.sql(
            f"SELECT concat({', '.join(parts)}) AS t FROM quotients a {joins} ORDER BY {_order_sql()}"
        ).to_arrow_table(BATCH_ROWS)
    finally:
        con.close()
    parts = ["["]
    for chunk in (c for c in rows["t"].chunks if len(c)):
        width = pa.int64() if pa.types.is_large_string(chunk.type) else pa.int32()
        offsets = pa.Array.from_buffers(
            width, len(chunk) + 1, [None, chunk.buffers()[1]], offset=chunk.offset
        )
        start = offsets[0].as_py() + (2 if len(parts) == 1 else 0)  # without the first row's separator
        parts.append(str(memoryview(chunk.buffers()[2])[start : offsets[-1].as_py()], "utf-8"))
    parts.append("]")
    return rows.num_rows, "".join(parts)
