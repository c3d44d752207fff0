"""A province bureau drills down its monitoring dashboard: province → 威海市 (by clicking the chart's bar) →
环翠区 → the hospital → its lagging item → that item's order lines."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from e2e.session import log_in
from jicai.monitoring.models import AlertType
from tests import factories
from tests.monitoring.conftest import add_line
from tests.monitoring.report_factories import alert, progress, second_item, year1

pytestmark = pytest.mark.browser
D = dt.date


def build(w):
    w.year1 = year1(w)
    w.item2 = second_item(w)
    progress(w.hospital, w.item, w.year1, agreed=1000, winning=400)
    progress(w.hospital, w.item2, w.year1, agreed=500, winning=300)
    progress(w.clinic, w.item, w.year1, agreed=200, winning=150)
    progress(w.other_hospital, w.item, w.year1, agreed=800, winning=600)
    alert(
        AlertType.PROGRESS_LAG,
        institution=w.hospital,
        item=w.item,
        year=w.year1,
        value="0.4",
        threshold="0.5",
    )
    w.line = add_line(
        w.hospital,
        w.product,
        400,
        D(2024, 4, 2),
        item=w.item,
        delivered=400,
        delivered_on=D(2024, 4, 3),
        accepted=400,
        received_on=D(2024, 4, 4),
    )
    add_line(w.other_hospital, w.product, 600, D(2024, 4, 2), item=w.item)  # another city's line
    # The same hospital's line of its other item (GY7-002 氨氯地平): not among GY7-001's orders.
    amlodipine = factories.product("XC08CAA001A001010100001", w.maker, generic_name="氨氯地平", spec="5mg")
    w.other_item_line = add_line(w.hospital, amlodipine, 300, D(2024, 4, 2), item=w.item2)
    return w


def test_bureau_drills_down_to_a_lagging_item_and_its_orders(e2e_world, live_server, page, artifacts):
    w = build(e2e_world)
    base = live_server.url
    log_in(page, base, "sd_bureau")
    page.goto(f"{base}/monitoring/dashboard/")
    expect(page.get_by_test_id("dashboard-title")).to_have_text("山东省 · 集采监测看板")
    chart = page.get_by_test_id("drill-chart")
    expect(chart).to_have_attribute("data-rendered", "1")
    expect(page.get_by_test_id("drill-row-371000")).to_contain_text("50.0%")
    # The substitute-trend panel arrives after the page (htmx) and is drawn like the others.
    expect(page.get_by_test_id("trend-chart")).to_have_attribute("data-rendered", "1")
    expect(page.get_by_test_id("trend-table")).to_contain_text("2024-03")
    page.screenshot(path=artifacts / "monitoring-province.png", full_page=True)

    # Click the 威海市 bar (second category) in the chart: ECharts says where it is drawn.
    x, y = page.evaluate(
        """() => {
            const el = document.querySelector("[data-testid='drill-chart']");
            const chart = echarts.getInstanceByDom(el);
            const point = chart.convertToPixel({seriesIndex: 0}, [1, 25]);
            const box = el.getBoundingClientRect();
            return [box.left + point[0], box.top + point[1]];
        }"""
    )
    page.mouse.click(x, y)
    page.wait_for_url("**/monitoring/dashboard/regions/371000/**")
    expect(page.get_by_test_id("dashboard-title")).to_have_text("威海市 · 集采监测看板")

    page.get_by_test_id("drill-row-371002").get_by_role("link", name="环翠区").click()
    expect(page.get_by_test_id("dashboard-title")).to_have_text("环翠区 · 集采监测看板")
    hospital_row = page.get_by_test_id("drill-row-H37100200001")
    expect(hospital_row).to_contain_text("46.7%")  # 700 / 1500
    hospital_row.get_by_role("link", name="威海市环翠区人民医院").click()

    expect(page.get_by_test_id("dashboard-title")).to_contain_text("威海市环翠区人民医院")
    lagging = page.get_by_test_id("item-row-GY7-001")
    expect(lagging.get_by_test_id("lagging")).to_have_text("进度滞后")
    expect(lagging).to_contain_text("40.0%")
    expect(page.get_by_test_id("items-chart")).to_have_attribute("data-rendered", "1")
    page.screenshot(path=artifacts / "monitoring-institution.png", full_page=True)

    page.get_by_test_id("orders-GY7-001").click()
    page.wait_for_url("**/trade/lines/**")
    # Exactly the hospital's order lines of that item (GY7-001 阿托伐他汀钙), filtered by batch + item code.
    expect(page.locator("#f-item")).to_have_value("GY7-001")
    rows = page.get_by_test_id("list-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(w.line.order.order_id)
    expect(rows.first).to_contain_text("阿托伐他汀钙")
    table = page.get_by_test_id("list-table")
    expect(table).not_to_contain_text(w.other_item_line.order.order_id)
    expect(table).not_to_contain_text("氨氯地平")
    expect(table).not_to_contain_text("青岛市市南区人民医院")
    page.screenshot(path=artifacts / "monitoring-orders.png", full_page=True)
    assert page.console_problems == []
