"""The supply chain in the browser: the institution orders at the listing price, the supplier accepts and
delivers part of it, the institution receives with a reject and pays; statuses follow the quantities."""

import pytest
from playwright.sync_api import expect

from e2e.session import log_in, log_out
from jicai.trade import actions
from tests.trade.conftest import TODAY, build_trade

pytestmark = pytest.mark.browser


def test_order_delivery_receipt_payment(e2e_world, live_server, page, artifacts, monkeypatch):
    monkeypatch.setattr(actions, "today", lambda: TODAY)
    w = build_trade(e2e_world)
    base = live_server.url

    # The institution sees its agreed volume and orders the proposed main supplier's product.
    log_in(page, base, "hc_pharmacy")
    page.goto(f"{base}/trade/order/")
    progress = page.get_by_test_id("progress")
    expect(progress).to_contain_text("1000")
    progress.get_by_role("link", name="下单").click()
    expect(page.get_by_test_id("proposed")).to_contain_text("齐鲁制药有限公司")
    expect(page.get_by_test_id("proposed")).to_contain_text("国药控股山东有限公司")
    expect(page.get_by_label(w.product.code)).to_be_checked()
    page.fill("#id_qty", "100")
    page.get_by_role("button", name="提交订单").click()
    expect(page.get_by_test_id("order-status")).to_have_text("待确认")
    order_url = page.url
    page.screenshot(path=artifacts / "trade-ordered.png", full_page=True)
    log_out(page)

    # The supplier accepts the line and delivers 60 of 100.
    log_in(page, base, "qilu")
    page.goto(order_url)
    page.get_by_role("button", name="确认订单行").click()
    expect(page.get_by_test_id("line-status-1")).to_have_text("已确认待配送")
    page.fill("#dq-1", "60")
    expect(page.locator("#dd-1")).to_have_value("2025-06-30")
    page.get_by_role("button", name="登记配送").click()
    expect(page.get_by_test_id("line-status-1")).to_have_text("部分配送")
    log_out(page)

    # The institution receives 55 and rejects 5, then pays for what it accepted.
    log_in(page, base, "hc_pharmacy")
    page.goto(order_url)
    page.fill("#ra-1", "55")
    page.fill("#rr-1", "5")
    page.fill("#rn-1", "外包装破损")
    page.get_by_role("button", name="确认入库").click()
    expect(page.get_by_test_id("line-status-1")).to_have_text("部分入库")
    expect(page.get_by_test_id("history-1")).to_contain_text("2025-06-30 入库 55，拒收 5（外包装破损）")
    expect(page.locator("#pa-1")).to_have_value("6.60")
    page.fill("#pi-1", "FP-001")
    page.get_by_role("button", name="登记付款").click()
    expect(page.get_by_test_id("history-1")).to_contain_text("付款 6.60 元（发票 FP-001）")
    lines = page.get_by_test_id("lines")
    expect(lines).to_contain_text("2025-07-30")  # 30 days after receipt
    page.screenshot(path=artifacts / "trade-paid.png", full_page=True)
    assert page.console_problems == []

    # Another institution cannot open the order.
    log_out(page)
    log_in(page, base, "qd_pharmacy")
    assert page.goto(order_url).status == 404
