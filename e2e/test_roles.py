"""Each role logs in through the form, sees its home page, one list page, and the 404 page on another
organisation's record; the home page must raise no CSP violation in the browser console."""

import re

import pytest
from playwright.sync_api import expect

from e2e.session import log_in

pytestmark = pytest.mark.browser

# persona → (username, home heading, expected home text, list url, expected list text, foreign detail url)
ROLES = {
    "admin": (
        "admin",
        "平台管理首页",
        "主数据记录数",
        "/registry/companies/",
        "齐鲁制药有限公司",
        "/registry/institutions/H99999999999/",
    ),
    "province_bureau": (
        "sd_bureau",
        "山东省医疗保障局 · 工作台",
        "辖区医疗机构（按等级）",
        "/registry/institutions/",
        "青岛市市南区人民医院",
        "/registry/regions/110000/",
    ),
    "city_bureau": (
        "wh_bureau",
        "威海市医疗保障局 · 工作台",
        "环翠区",
        "/registry/institutions/",
        "环翠区竹岛街道社区卫生服务中心",
        "/registry/regions/370200/",
    ),
    "county_bureau": (
        "hc_bureau",
        "环翠区医疗保障局 · 工作台",
        "无下级区划",
        "/registry/regions/",
        "371002",
        "/registry/institutions/H37020200001/",
    ),
    "institution": (
        "hc_pharmacy",
        "威海市环翠区人民医院 · 药学部工作台",
        "GY-YD2023-1",
        "/batches/",
        "GY-YD2023-1 集采",
        "/registry/institutions/H37020200001/",
    ),
    "doctor": (
        "hc_doctor",
        "医师工作台",
        "处方提示",
        "/registry/products/",
        "XC10AAA001A001010100001",
        "/registry/institutions/H37020200001/",
    ),
    "manufacturer": (
        "qilu",
        "齐鲁制药有限公司 · 企业工作台",
        "主供",
        "/batches/GY-YD2023-1/winners/",
        "XC10AAA001A001010100001",
        "/registry/institutions/H11010100001/",
    ),
    "distributor": (
        "guoyao",
        "国药控股山东有限公司 · 配送工作台",
        "配送企业",
        "/registry/companies/",
        "华北制药股份有限公司",
        "/registry/institutions/H37100200001/",
    ),
}


@pytest.mark.parametrize("persona", list(ROLES))
def test_role_logs_in_sees_home_list_and_404(e2e_world, live_server, page, artifacts, persona):
    username, heading, home_text, list_url, list_text, foreign_url = ROLES[persona]
    base = live_server.url
    log_in(page, base, username)

    expect(page.get_by_test_id("home-title")).to_have_text(heading)
    expect(page.locator("main")).to_contain_text(home_text)
    page.wait_for_load_state("networkidle")
    charts = page.locator("[data-chart='bar']")
    for i in range(charts.count()):
        expect(charts.nth(i)).to_have_attribute("data-rendered", "1")
        expect(charts.nth(i).locator("canvas")).to_have_count(1)
    page.screenshot(path=artifacts / f"{persona}-home.png", full_page=True)
    csp = [m for m in page.console_problems if re.search(r"Content Security Policy|Refused to", m)]
    assert csp == [], csp
    assert page.console_problems == []

    page.goto(f"{base}{list_url}")
    expect(page.get_by_test_id("list-table")).to_contain_text(list_text)
    page.screenshot(path=artifacts / f"{persona}-list.png", full_page=True)

    response = page.goto(f"{base}{foreign_url}")
    assert response.status == 404
    expect(page.get_by_test_id("not-found")).to_contain_text("未找到该页面或记录")
    page.screenshot(path=artifacts / f"{persona}-404.png")


def test_bureau_outside_scope_does_not_see_foreign_institutions_in_list(e2e_world, live_server, page):
    log_in(page, live_server.url, "wh_bureau")
    page.goto(f"{live_server.url}/registry/institutions/")
    table = page.get_by_test_id("list-table")
    expect(table).to_contain_text("威海市环翠区人民医院")
    expect(table).not_to_contain_text("青岛市市南区人民医院")
    expect(table).not_to_contain_text("北京市东城区第一人民医院")


def test_search_filter_and_export_from_the_list_page(e2e_world, live_server, page, artifacts):
    log_in(page, live_server.url, "sd_bureau")
    page.goto(f"{live_server.url}/registry/institutions/")
    page.fill("#f-q", "社区")
    page.click("form[data-testid=filters] button[type=submit]")
    expect(page.get_by_test_id("list-table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("list-table")).to_contain_text("H37100200002")
    page.select_option("#f-level", "tertiary")
    page.click("form[data-testid=filters] button[type=submit]")
    expect(page.get_by_test_id("list-table")).to_contain_text("没有符合条件的记录")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-xlsx").click()
    download = download_info.value
    assert download.suggested_filename.startswith("医疗机构_") and download.suggested_filename.endswith(
        ".xlsx"
    )
    page.screenshot(path=artifacts / "filters.png", full_page=True)


def test_pharmacist_creates_and_revokes_a_token(e2e_world, live_server, page, artifacts):
    log_in(page, live_server.url, "hc_pharmacy")
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.fill("#id_name", "HIS 接口")
    page.click("form[data-testid=token-form] button[type=submit]")
    expect(page.get_by_test_id("new-key")).to_contain_text("jc_")
    page.screenshot(path=artifacts / "tokens-created.png", full_page=True)
    page.get_by_role("button", name="吊销").click()
    expect(page.get_by_test_id("tokens")).to_contain_text("已吊销")
    expect(page.get_by_test_id("new-key")).to_have_count(0)
