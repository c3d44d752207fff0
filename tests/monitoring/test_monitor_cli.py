"""`jicai monitor` (SPEC §10): exact JSON shape and exit status."""

import datetime as dt
import io
import json

from django.core.management import call_command

from tests.monitoring.conftest import agreed, received

D = dt.date
KEYS = [
    "type",
    "institution",
    "item",
    "supplier",
    "product",
    "order_id",
    "line_no",
    "value",
    "threshold",
    "tier",
    "agreement_year",
]


def test_json_shape(mworld):
    w = mworld
    agreed(w, w.hospital, 365)
    received(w.hospital, w.product, 10, D(2024, 4, 1), item=w.item)
    out, err = io.StringIO(), io.StringIO()
    call_command("monitor", "--as-of", "2024-06-08", "--format", "json", stdout=out, stderr=err)
    data = json.loads(out.getvalue())
    assert list(data) == ["as_of", "alerts"] and data["as_of"] == "2024-06-08"
    lag = [a for a in data["alerts"] if a["type"] == "PROGRESS_LAG"]
    assert lag == [
        {
            "type": "PROGRESS_LAG",
            "institution": "H37100200001",
            "item": "GY7-001",
            "supplier": None,
            "product": None,
            "order_id": None,
            "line_no": None,
            "value": round(10 / 365, 6),
            "threshold": round(100 / 365, 6),
            "tier": None,
            "agreement_year": 1,
        }
    ]
    for alert in data["alerts"]:
        assert list(alert) == KEYS
        assert isinstance(alert["value"], int | float)


def test_exit_zero_with_nothing_found_and_table_format(world):
    import subprocess  # noqa: F401  (call_command raising would mean a non-zero exit)

    out = io.StringIO()
    call_command("monitor", "--as-of", "2020-01-01", stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue()) == {"as_of": "2020-01-01", "alerts": []}
    out = io.StringIO()
    call_command(
        "monitor",
        "--as-of",
        "2020-01-01",
        "--format",
        "table",
        "--region",
        "371000",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert out.getvalue().split() == KEYS
