"""Demand reporting in the browser: an institution fills its report and is refused until the line below
history is explained, submits; the county bureau returns it with a reason; the institution sees the reason
and resubmits it as it was; the bureau approves; the report's log shows the four transitions.
(An edit of a returned report would add returned → draft before the resubmission: tests/demand.)"""

import datetime as dt

import pytest
from playwright.sync_api import expect

from e2e.session import log_in
from jicai.batches.models import Item
from jicai.demand import actions
from jicai.demand.models import DemandReport, ImportedHistory

pytestmark = pytest.mark.browser


def log_out(page):
    page.click("nav form button[type=submit]")


def test_report_submit_return_resubmit_approve(e2e_world, live_server, page, artifacts):
    w = e2e_world
    Item.objects.create(
        batch=w.batch, item_code="GY7-002", generic_name="苯磺酸氨氯地平", dosage_form_group="口服常释剂型"
    )
    ImportedHistory.objects.create(institution=w.hospital, item=w.item, qty=100)
    today = dt.date.today()
    window = actions.open_window(
        actor=w.province_bureau,
        batch=w.batch,
        title="第七批国家集采报量",
        opens_on=today,
        deadline=today + dt.timedelta(days=20),
    )
    report = DemandReport.objects.get(window=window, institution=w.hospital)
    base = live_server.url
    report_url = f"{base}/demand/reports/{report.pk}/"

    log_in(page, base, "hc_pharmacy")
    page.goto(report_url)
    expect(page.get_by_test_id("report-title")).to_contain_text("威海市环翠区人民医院")
    page.fill("input[name='qty-GY7-001']", "79")
    page.fill("input[name='qty-GY7-002']", "0")
    page.get_by_test_id("submit").click()
    expect(page.locator(".alert-danger")).to_contain_text(
        "GY7-001 阿托伐他汀钙：报量 79 低于历史采购量 100 的 80%，须填写说明"
    )
    expect(page.get_by_test_id("status")).to_have_text("草稿")
    page.fill("input[name='exp-GY7-001']", "门诊量下降")
    page.get_by_test_id("submit").click()
    expect(page.locator(".alert-success")).to_contain_text("报量已提交")
    expect(page.get_by_test_id("status")).to_have_text("已提交")
    page.screenshot(path=artifacts / "demand-submitted.png", full_page=True)
    log_out(page)

    log_in(page, base, "hc_bureau")
    page.goto(f"{base}/demand/queue/")
    expect(page.get_by_test_id("list-table")).to_contain_text("H37100200001")
    page.goto(report_url)
    expect(page.locator("tr[data-item='GY7-001']")).to_contain_text("低于历史")
    page.fill("input[name='reason-GY7-001']", "请补充说明依据")
    page.fill("#return-reason", "请核实下降原因")
    page.get_by_test_id("return").click()
    expect(page.get_by_test_id("status")).to_have_text("已退回")
    log_out(page)

    log_in(page, base, "hc_pharmacy")
    page.goto(report_url)
    expect(page.get_by_test_id("return-reason")).to_contain_text("请核实下降原因")
    expect(page.locator("tr[data-item='GY7-001']")).to_contain_text("请补充说明依据")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("status")).to_have_text("已提交")
    log_out(page)

    log_in(page, base, "hc_bureau")
    page.goto(report_url)
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("status")).to_have_text("已通过")
    rows = page.get_by_test_id("log").locator("tbody tr")
    expect(rows).to_have_count(4)
    transitions = [
        ("草稿", "已提交", ""),
        ("已提交", "已退回", "请核实下降原因；GY7-001 阿托伐他汀钙：请补充说明依据"),
        ("已退回", "已提交", ""),
        ("已提交", "已通过", ""),
    ]
    for i, (src, dst, reason) in enumerate(transitions):
        cells = rows.nth(i).locator("td")
        expect(cells.nth(3)).to_have_text(src)
        expect(cells.nth(4)).to_have_text(dst)
        expect(cells.nth(5)).to_have_text(reason)
    page.screenshot(path=artifacts / "demand-approved.png", full_page=True)
    assert [m for m in page.console_problems if "Content Security Policy" in m] == []
