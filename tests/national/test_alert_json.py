"""alert_json: the alerts' JSON text DuckDB builds on the driver is what json.dumps printed of the dicts."""

import json
from decimal import Decimal as Dec

import pyarrow as pa

from jicai.national.alert_json import alerts_json, ratio_text

DEC = pa.decimal128(38, 10)


def _texts(pairs):
    num = pa.array([Dec(a) if a is not None else None for a, _ in pairs], DEC)
    den = pa.array([Dec(b) if b is not None else None for _, b in pairs], DEC)
    return ratio_text(num, den).to_pylist()


def test_ratios_rounded_half_up_to_six_places_and_printed_as_python_does():
    assert _texts(
        [
            ("1", "3"),  # 0.3333333… → 0.333333
            ("2", "3"),  # 0.6666666… → 0.666667
            ("-1", "8"),  # −0.125 exactly
            ("10", "2"),  # whole: an integer
            ("10.5", "2.1"),  # 5 exactly, from decimals of different scales
            ("0.0012345", "1"),  # a half at the 7th place: up
            ("0.0012344999", "1"),  # below the half: down
            ("-0.0000125", "1"),  # −0.0000125 → −0.000013 (half away from zero), printed −1.3e-05
            ("0.0001", "1"),  # the smallest positional float repr
            ("0.00005", "1"),  # 5e-05: Python's exponent form
            ("0.0000004", "1"),  # rounds to 0: integer 0
            ("1234567.5", "1"),
            ("7", "0.3"),  # 23.3333333… → 23.333333
            ("999999999.9999994", "1"),  # the largest value printed by SQL: 999999999.999999
            ("-123456789.1234565", "1"),  # half away from zero: −123456789.123457
            ("100000000000000000000", "3"),  # beyond int64: Python prints float(33333333333333333333.333333)
            (None, "1"),
            ("1", None),
        ]
    ) == [
        "0.333333",
        "0.666667",
        "-0.125",
        "5",
        "5",
        "0.001235",
        "0.001234",
        "-1.3e-05",
        "0.0001",
        "5e-05",
        "0",
        "1234567.5",
        "23.333333",
        "999999999.999999",
        "-123456789.123457",
        "3.333333333333333e+19",
        "null",
        "null",
    ]


def _alert(province, type_, institution, order_id="", line_no=None, year=1, value="1", text_value=None):
    return {
        "alert_type": type_,
        "province": province,
        "institution": institution,
        "item": "I1",
        "supplier": None,
        "product": None,
        "order_id": order_id,
        "line_no": line_no,
        "agreement_year": year,
        "value_num": Dec(value),
        "value_den": Dec(3),
        "threshold_num": Dec("0.5"),
        "threshold_den": Dec(1),
        "tier": None,
    }


SCHEMA = pa.schema(
    [
        ("alert_type", pa.string()),
        ("province", pa.string()),
        ("institution", pa.string()),
        ("item", pa.string()),
        ("supplier", pa.string()),
        ("product", pa.string()),
        ("order_id", pa.string()),
        ("line_no", pa.int32()),
        ("agreement_year", pa.int32()),
        ("value_num", DEC),
        ("value_den", DEC),
        ("threshold_num", DEC),
        ("threshold_den", DEC),
        ("tier", pa.int32()),
    ]
)


def test_alerts_sorted_by_province_then_monitor_key_and_printed_as_json_dumps():
    rows = [
        _alert("920000", "LATE_RECEIPT", "H2", order_id="O-1", line_no=2),
        _alert("910000", "PROGRESS_LAG", "H1", year=2),
        _alert("910000", "PROGRESS_LAG", "H1", year=1),
        _alert("910000", "PROGRESS_LAG", None),  # no institution sorts first (as "")
        _alert("910000", "LATE_RECEIPT", 'H"3\\', order_id="O-1", line_no=1, value="2"),
        _alert("910000", "LATE_RECEIPT", "医院", order_id="O-1", line_no=None),
    ]
    count, text = alerts_json(pa.Table.from_pylist(rows, schema=SCHEMA))
    assert count == 6
    expected = [
        ("910000", "LATE_RECEIPT", 'H"3\\', "O-1", 1, "0.666667", 1),
        ("910000", "LATE_RECEIPT", "医院", "O-1", None, "0.333333", 1),
        ("910000", "PROGRESS_LAG", None, None, None, "0.333333", 1),
        ("910000", "PROGRESS_LAG", "H1", None, None, "0.333333", 1),
        ("910000", "PROGRESS_LAG", "H1", None, None, "0.333333", 2),
        ("920000", "LATE_RECEIPT", "H2", "O-1", 2, "0.333333", 1),
    ]
    assert text == json.dumps(
        [
            {
                "type": type_,
                "province": province,
                "institution": institution,
                "item": "I1",
                "supplier": None,
                "product": None,
                "order_id": order_id,
                "line_no": line_no,
                "value": float(value),
                "threshold": 0.5,
                "tier": None,
                "agreement_year": year,
            }
            for province, type_, institution, order_id, line_no, value, year in expected
        ],
        ensure_ascii=False,
    )
    assert '"institution": "H\\"3\\\\"' in text and '"institution": "医院"' in text


def test_escapes_tranches_exact_ratios_and_batches_give_json_dumps_text(monkeypatch):
    """Control characters, quotes and backslashes escaped as json.dumps does; tranches printed as numbers
    when all digits; quotients SQL cannot print (exponent form, beyond 64 bits) joined in from Python; and the
    text is the same whether DuckDB hands the rows over in one batch or in batches of 2."""
    from jicai.national import alert_json

    rows = [
        _alert("910000", "LATE_RECEIPT", f"H{i}", order_id=f"O-{i}", line_no=i, value=str(i))
        for i in range(5)
    ] + [
        _alert("910000", "PROGRESS_LAG", 'H"9\\\n\x01\x1f'),
        _alert("920000", "PROGRESS_LAG", "医院", value="0.0000001"),
        _alert("920000", "PROGRESS_LAG", "H7", value="0.00003"),  # 1e-05: Python's exponent form
        _alert("920000", "PROGRESS_LAG", "H8", value="100000000000000000000"),  # beyond int64
    ]
    tranches = [None] * 5 + ["2", "007", 'A"b', ""]
    table = pa.Table.from_pylist(
        [r | {"tranche": t} for r, t in zip(rows, tranches, strict=True)],
        schema=SCHEMA.append(pa.field("tranche", pa.string())),
    )
    count, text = alerts_json(table)
    monkeypatch.setattr(alert_json, "BATCH_ROWS", 2)
    assert alerts_json(table) == (count, text)
    assert count == 9
    printed = json.loads(text)
    assert [a.get("tranche") for a in printed] == [None] * 5 + [2, 'A"b', None, 7]  # 920000: H7, H8, 医院
    assert printed[5]["institution"] == 'H"9\\\n\x01\x1f'
    assert '"institution": "H\\"9\\\\\\n\\u0001\\u001f"' in text
    assert [a["value"] for a in printed[6:]] == [1e-05, 3.333333333333333e19, 0]
    assert '"value": 1e-05' in text and '"value": 3.333333333333333e+19' in text
    for alert in printed:  # every alert as json.dumps prints its dict
        assert json.dumps(alert, ensure_ascii=False) in text


def test_no_alerts():
    assert alerts_json(pa.Table.from_pylist([], schema=SCHEMA)) == (0, "[]")
