"""The live demo in the browser: after `jicai demo --today D` with D = today in China (the pages judge
deadlines by the real date, so the demo must be built for it), the institution persona finds a reporting
window still open and a ticket whose reply is due on the next working day next to overdue ones, and the
supplier persona sees the same tickets. Fixed-date checks of the same data are in tests/demo/test_today.py."""

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from jicai.core.calendar import WorkdayCalendar
from jicai.demo.runner import local_today
from jicai.demo.steps.accounts import DEMO_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_today(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = local_today()
    call_command("demo", scale="small", seed=1, today=today.isoformat(), stdout=io.StringIO())
    return today


def login(page, base_url, username):
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base_url}/")


def logout(page):
    page.click("nav form button[type=submit]")


def test_demo_built_for_today_shows_open_window_and_tickets_due_tomorrow_and_overdue(
    demo_today, live_server, page, artifacts
):
    base = live_server.url
    tomorrow = WorkdayCalendar.from_database().add_workdays(demo_today, 1).date.isoformat()

    login(page, base, "pharmacist")
    tickets = page.get_by_test_id("home-ticket-list")
    # The home list shows the earliest deadlines first: the escalated tickets, long overdue.
    expect(tickets.locator("li").filter(has_text="（已逾期）").first).to_be_visible()
    assert page.console_problems == []
    page.screenshot(path=artifacts / "demo-today-institution-home.png", full_page=True)

    # The window of next year's volumes opened a week ago and closes in three weeks; the persona's own
    # report in it can still be filled in and submitted.
    opens, deadline = demo_today - dt.timedelta(days=7), demo_today + dt.timedelta(days=21)
    page.goto(f"{base}/demand/reports/")
    page.get_by_role("link", name=re.compile("第2协议年度报量")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("第2协议年度报量")
    expect(page.locator("main")).to_contain_text(f"{opens.isoformat()} 至")
    expect(page.locator("main")).to_contain_text(deadline.isoformat())
    page.locator("table tbody tr").filter(has_text="本机构").first.get_by_role("link").first.click()
    expect(page.get_by_test_id("report-title")).to_contain_text("第2协议年度报量")
    expect(page.get_by_test_id("submit")).to_be_visible()
    expect(page.get_by_test_id("lines").locator("input[name^='qty-']").first).to_be_editable()

    # Among the open tickets: one due on the next working day, not overdue, and overdue ones.
    page.goto(f"{base}/tickets/?status=open")
    rows = page.locator("table tbody tr")
    due_tomorrow = rows.filter(has_text=tomorrow)
    expect(due_tomorrow.first).to_be_visible()
    expect(due_tomorrow.first).not_to_contain_text("逾期未答复")
    expect(rows.filter(has_text="逾期未答复").first).to_be_visible()
    page.screenshot(path=artifacts / "demo-today-institution-tickets.png", full_page=True)
    logout(page)

    # The county bureau that opened the window sees it running on its home page.
    login(page, base, "county")
    expect(page.locator("body")).to_contain_text("第2协议年度报量")
    page.screenshot(path=artifacts / "demo-today-county-home.png", full_page=True)
    logout(page)

    # The supplier persona sees the ticket due tomorrow among those it must answer.
    login(page, base, "manufacturer")
    page.screenshot(path=artifacts / "demo-today-manufacturer-home.png", full_page=True)
    page.goto(f"{base}/tickets/?status=open")
    expect(page.locator("table tbody tr").filter(has_text=tomorrow).first).to_be_visible()
