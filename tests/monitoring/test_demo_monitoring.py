"""The small demo province shows every alert type of SPEC §7: `jicai monitor --format json` on it lists
all 16 types (the demo's monitoring step adds the few cases the other steps never produce)."""

import io
import json

import pytest
from django.core.management import call_command

from jicai.demo.runner import run_demo
from jicai.demo.scales import BASE_TODAY
from jicai.monitoring.models import AlertType


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db(transaction=True)
def test_monitor_on_the_small_demo_lists_every_alert_type():
    ctx = run_demo(scale="small", seed=1, today=BASE_TODAY, write=lambda _: None)
    as_of = ctx.extra["monitoring"]["as_of"]
    assert set(ctx.extra["monitoring"]["alerts"]) == set(AlertType.values)
    out = io.StringIO()
    call_command("monitor", "--as-of", as_of, "--region", "370000", stdout=out, stderr=io.StringIO())
    data = json.loads(out.getvalue())
    assert data["as_of"] == as_of
    found = {a["type"] for a in data["alerts"]}
    assert found == set(AlertType.values), sorted(set(AlertType.values) - found)
    # Each type names the subjects of its row in the SPEC table.
    sample = {a["type"]: a for a in data["alerts"]}
    assert sample["UNSIGNED_AGREEMENT"]["institution"] and sample["UNSIGNED_AGREEMENT"]["supplier"]
    assert sample["PRICE_ABOVE_CAP"]["product"]
    assert sample["OVER_PURCHASE"]["institution"] and sample["OVER_PURCHASE"]["item"]
    assert (
        sample["LATE_SUPPLIER_REPORT"]["supplier"] and sample["LATE_SUPPLIER_REPORT"]["institution"] is None
    )
    assert sample["TICKET_REPLY_OVERDUE"]["supplier"] and sample["TICKET_FIX_OVERDUE"]["supplier"]
