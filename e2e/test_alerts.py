"""Alerts in the browser: the subject hospital explains a lagging-progress alert, the county bureau finds it
with the list filters, escalates one step and resolves it; the other city's bureau gets a 404; no console
errors (strict CSP: the pages carry no inline script or style)."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from e2e.session import log_in, log_out
from jicai.monitoring.models import Alert
from tests.monitoring.conftest import agreed, monitor, received

pytestmark = pytest.mark.browser
D = dt.date


def test_explain_escalate_resolve_in_the_browser(e2e_world, live_server, page, artifacts):
    w = e2e_world
    agreed(w, w.hospital, 365)
    received(w.hospital, w.product, 10, D(2024, 4, 1), item=w.item)
    monitor(D(2024, 6, 8))
    alert = Alert.objects.get(type="PROGRESS_LAG")
    base = live_server.url

    log_in(page, base, "hc_pharmacy")
    page.goto(f"{base}/monitoring/alerts/{alert.pk}/")
    expect(page.get_by_test_id("alert-value")).to_have_text("2.74%")
    expect(page.get_by_test_id("alert-threshold")).to_have_text("27.40%")
    page.fill("#explain-reason", "五月门诊装修停诊")
    page.get_by_role("button", name="提交说明").click()
    expect(page.get_by_test_id("alert-status")).to_have_text("已说明")
    log_out(page)

    log_in(page, base, "hc_bureau")
    page.goto(f"{base}/monitoring/alerts/")
    page.select_option("#f-type", "PROGRESS_LAG")
    page.select_option("#f-status", "explained")
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name=f"#{alert.pk}").click()
    expect(page.get_by_test_id("alert-explanation")).to_contain_text("五月门诊装修停诊")
    page.fill("#escalate-reason", "电话提醒医院加快采购")
    page.get_by_role("button", name="记录：已提醒").click()
    expect(page.get_by_test_id("alert-escalation")).to_have_text("已提醒")
    page.fill("#resolve-reason", "医院已整改")
    page.get_by_role("button", name="办结").click()
    expect(page.get_by_test_id("alert-status")).to_have_text("已办结")
    expect(page.get_by_test_id("events")).to_contain_text("医院已整改")
    page.screenshot(path=artifacts / "alert-resolved.png", full_page=True)
    # Strict CSP: nothing refused, no script errors (a favicon 404 under load is not a page problem).
    problems = [m for m in page.console_problems if "Failed to load resource" not in m]
    assert problems == []
    log_out(page)

    log_in(page, base, "qd_bureau")
    response = page.goto(f"{base}/monitoring/alerts/{alert.pk}/")
    assert response.status == 404
