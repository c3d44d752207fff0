"""A supply ticket in the browser: the institution opens it with an attachment, the supplier replies with a
promised fix date, the promise passes (the SLA evaluation escalates the ticket to the county bureau), the
bureau records an interview, the institution confirms the fix; every step shows in the ticket's log, and
another institution gets 404."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from e2e.session import log_in, log_out
from jicai.tickets import actions, queries
from tests.tickets.conftest import PDF

pytestmark = pytest.mark.browser


def test_open_reply_overdue_escalation_interview_fix(
    e2e_world, live_server, page, artifacts, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    clock = {"today": dt.date(2025, 9, 30)}
    monkeypatch.setattr(actions, "today", lambda: clock["today"])
    monkeypatch.setattr(queries, "today", lambda: clock["today"])
    w = e2e_world
    base = live_server.url

    # The institution opens a ticket against the main supplier, with a PDF.
    log_in(page, base, "hc_pharmacy")
    page.goto(f"{base}/tickets/new/")
    page.select_option("#id_supplier", w.maker.code)
    page.select_option("#id_category", "shortage")
    page.fill("#id_product", w.product.code)
    page.fill("#id_description", "阿托伐他汀钙断货两周，门诊无法续方")
    page.set_input_files(
        "#attachments", files=[{"name": "断货证明.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="提交诉求").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("待企业答复")
    expect(page.get_by_test_id("reply-due")).to_have_text("2025-10-10")  # National Day holidays skipped
    ticket_url = page.url
    expect(page.get_by_test_id("events")).to_contain_text("断货证明.pdf")
    log_out(page)

    # The supplier replies on 10-09 with a promise within 5 working days.
    clock["today"] = dt.date(2025, 10, 9)
    log_in(page, base, "qilu")
    page.goto(ticket_url)
    # The form offers at most 5 working days after the reply (10-10, 10-11 make-up, 10-13, 10-14, 10-15);
    # the server refuses a later date too (tests/tickets).
    expect(page.locator("#reply-promise")).to_have_attribute("max", "2025-10-15")
    page.fill("#reply-text", "已协调加急生产，10 月 13 日前送达")
    page.fill("#reply-promise", "2025-10-13")
    page.get_by_role("button", name="提交答复").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("企业已答复，待整改")
    expect(page.get_by_test_id("fix-due")).to_contain_text("2025-10-13（企业承诺）")
    log_out(page)

    # The promise passes: the SLA evaluation of 10-14 escalates the ticket to the county bureau.
    clock["today"] = dt.date(2025, 10, 14)
    assert actions.evaluate_sla(as_of=dt.date(2025, 10, 13)).steps == []  # on the due date: not yet
    assert [s.escalated_to for s in actions.evaluate_sla(as_of=dt.date(2025, 10, 14)).steps] == ["371002"]

    log_in(page, base, "hc_bureau")
    page.goto(f"{base}/tickets/?overdue=1")
    expect(page.get_by_test_id("list-table")).to_contain_text("逾期未解决")
    page.goto(ticket_url)
    expect(page.get_by_test_id("ticket-supervision")).to_contain_text("环翠区")
    page.select_option("#act-kind", "interview")
    page.fill("#act-text", "约谈企业负责人，要求立即送货")
    page.get_by_role("button", name="记录督办措施").click()
    expect(page.get_by_test_id("ticket-interviewed")).to_contain_text("2025-10-14")
    log_out(page)

    # The institution confirms the fix.
    clock["today"] = dt.date(2025, 10, 15)
    log_in(page, base, "hc_pharmacy")
    page.goto(ticket_url)
    page.fill("#confirm-text", "已到货验收")
    page.get_by_role("button", name="确认已解决").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("已确认解决")
    # 10-09, 10-10, Saturday 10-11 (make-up), 10-13, 10-14, 10-15.
    expect(page.get_by_test_id("fixed-on")).to_contain_text("用时 6 个工作日")
    events = page.get_by_test_id("events")
    for text in ("提出诉求", "企业答复", "逾期并升级督办", "约谈", "确认解决"):
        expect(events).to_contain_text(text)
    page.screenshot(path=artifacts / "ticket-fixed.png", full_page=True)
    assert page.console_problems == []
    log_out(page)

    # Another institution cannot open it.
    log_in(page, base, "qd_pharmacy")
    assert page.goto(ticket_url).status == 404
