"""`jicai national` on DuckDB, one hand-worked scenario per alert type added to the export after the first
version (FORECAST_SHORTFALL, …): the exact alerts worked out by hand, and the same answers as `jicai monitor`
(assert_same_answers compares every alert and fact)."""

import datetime as dt

import pytest

from tests.monitoring.conftest import agreed, received
from tests.national.scenarios import assert_same_answers

D = dt.date


def _of_type(alerts, type_):
    return [a for a in alerts if a["type"] == type_]


def _alert(type_, institution=None, item=None, supplier=None, product=None, value=None, threshold=None, **kw):
    return {
        "type": type_,
        "institution": institution,
        "item": item,
        "supplier": supplier,
        "product": product,
        "order_id": kw.get("order_id"),
        "line_no": kw.get("line_no"),
        "value": value,
        "threshold": threshold,
        "tier": kw.get("tier"),
        "agreement_year": kw.get("agreement_year", 1),
        **({"tranche": kw["tranche"]} if "tranche" in kw else {}),
    }


# ---- FORECAST_SHORTFALL ------------------------------------------------------------------------------------
# Year 1 = 2024-03-01 … 2025-02-28, forecast window 90 days, progress_tolerance 1.
# On 2024-06-08: window [2024-03-11, 2024-06-08] (90 days), 265 days left.
#   hospital: agreed 355, 90 received on 05-01: 90 × 90 + 90 × 265 = 31950 = 355 × 90 → at the bar, no alert.
#   other hospital: agreed 356, same purchases: 31950 < 32040 → value 31950 / 32040 = 0.997191.
#   clinic: agreed 1000, 100 received on 03-05 (before the window): 9000 / 90000 = 0.1.
# On 2024-05-30 (first ready day, S + 90): window [03-02, 05-30], 274 days left: hospital and other hospital
#   project 90 + 274 = 364 (≥ 355, 356); clinic 100 × 90 + 100 × 274 = 36400 / 90000 = 0.404444.
# On 2024-05-29: D < S + 90, not ready: no alert.


def build_forecast(w):
    agreed(w, w.hospital, 355)
    agreed(w, w.other_hospital, 356)
    agreed(w, w.clinic, 1000)
    received(w.hospital, w.product, 90, D(2024, 5, 1), item=w.item)
    received(w.other_hospital, w.product, 90, D(2024, 5, 1), item=w.item)
    received(w.clinic, w.product, 100, D(2024, 3, 5), item=w.item)


@pytest.mark.parametrize(
    "as_of, expected",
    [
        (D(2024, 6, 8), [("H37020200001", 0.997191), ("H37100200002", 0.1)]),
        (D(2024, 5, 30), [("H37100200002", 0.404444)]),
        (D(2024, 5, 29), []),
    ],
)
def test_forecast_shortfall(mworld, tmp_path, as_of, expected):
    build_forecast(mworld)
    alerts = assert_same_answers(as_of, tmp_path, ["duckdb"])
    assert _of_type(alerts, "FORECAST_SHORTFALL") == [
        _alert("FORECAST_SHORTFALL", institution, "GY7-001", value=value, threshold=1)
        for institution, value in expected
    ]
