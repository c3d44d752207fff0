"""`jicai quotas` prints exactly the SPEC §10 JSON shape."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.hospital.conftest import current_usage


def run(*args) -> str:
    out = StringIO()
    call_command("quotas", *args, stdout=out)
    return out.getvalue()


def test_quotas_json(hosp):
    current_usage(hosp.w)
    data = json.loads(run("--as-of", "2024-04-10", "--institution", "H37100200001"))
    assert data["as_of"] == "2024-04-10"
    rows = data["quotas"]
    assert rows[0] == {
        "institution": "H37100200001",
        "item": "GY7-001",
        "agreement_year": 1,
        "department": None,
        "doctor": None,
        "target": 1000,
        "monthly": [100] * 10 + [0, 0],
        "plan_to_date": 133.99,
        "used": 70.0,
        "completion": 0.07,
    }
    assert rows[1] == {
        "institution": "H37100200001",
        "item": "GY7-001",
        "agreement_year": 1,
        "department": "D01",
        "doctor": None,
        "target": 603,
        "monthly": None,
        "plan_to_date": 80.79,
        "used": 70.0,
        "completion": 0.1161,
    }
    assert rows[2]["department"] == "D01" and rows[2]["doctor"] == "DR01" and rows[2]["target"] == 452
    assert [(r["department"], r["doctor"]) for r in rows] == [
        (None, None),
        ("D01", None),
        ("D01", "DR01"),
        ("D01", "DR02"),
        ("D02", None),
        ("D02", "DR04"),
        ("D03", None),
        ("D03", "DR05"),
    ]


def test_quotas_table_and_errors(hosp):
    table = run("--as-of", "2024-04-10", "--format", "table")
    assert table.splitlines()[0].split() == [
        "institution", "item", "agreement_year", "department", "doctor", "target", "monthly", "plan_to_date",
        "used", "completion",
    ]  # fmt: skip
    with pytest.raises(CommandError, match="未知的医疗机构代码"):
        run("--as-of", "2024-04-10", "--institution", "H99999999999")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("--as-of", "10/04/2024")
