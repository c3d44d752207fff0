"""Browser tests: Playwright (sync API) driving Debian's /usr/bin/chromium against pytest-django's live_server.

Never `playwright install`: the system chromium is used. Screenshots go to test-artifacts/ (git-ignored)."""

import os
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop on the main thread; Django's async-safety guard would then
# refuse the ORM calls that build each test's data. The live server runs in its own thread either way.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("需要 /usr/bin/chromium（make chromium）")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.console_problems = []
    page.on(
        "console",
        lambda msg: page.console_problems.append(msg.text) if msg.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda exc: page.console_problems.append(str(exc)))
    yield page
    context.close()


@pytest.fixture
def e2e_world(transactional_db):
    """build_world() plus a second province (北京) with one hospital: outside every Shandong actor's scope."""
    from tests import factories

    world = factories.build_world()
    world.beijing = factories.region("110000", "北京市")
    world.beijing_district = factories.region("110101", "东城区", world.beijing)
    world.beijing_hospital = factories.institution(
        "H11010100001", "北京市东城区第一人民医院", world.beijing_district, level="tertiary"
    )
    return world


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
