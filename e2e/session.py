"""Signing in and out in the browser tests (one copy for every flow)."""

from tests.factories import PASSWORD


def log_in(page, base_url, username, password=PASSWORD):
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def log_out(page):
    page.get_by_role("button", name="退出").click()
