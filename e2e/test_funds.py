"""Money in the browser (SPEC §12): the bureau records tranche 1 for a hospital, the hospital sees it in its
ledger; the bureau finalises the year's assessment and exports the region ranking to XLSX (opened here with
openpyxl, Chinese headers checked); no console errors under the strict CSP (charts from json_script)."""

import datetime as dt

import openpyxl
import pytest
from playwright.sync_api import expect

from e2e.session import log_in, log_out
from jicai.agreements.models import AgreedVolume
from jicai.batches.models import AgreementYear
from jicai.funds.models import AssessmentResult, ReferencePrice
from jicai.funds.prepayment import trigger_tranches
from tests.funds.conftest import effective_agreement, receive

pytestmark = pytest.mark.browser


def test_tranche_disbursement_and_assessment_in_the_browser(e2e_world, live_server, page, artifacts):
    w = e2e_world
    year = AgreementYear.objects.get(batch=w.batch, number=1)
    effective_agreement(w, w.hospital, 1_000_000, dt.date(2024, 3, 1))  # budget 120 000.00 → T1 36 000.00
    trigger_tranches(as_of=dt.date(2024, 3, 31))
    for institution, qty in ((w.hospital, 10_000), (w.clinic, 10_000)):
        AgreedVolume.objects.create(
            agreement_year=year,
            institution=institution,
            item=w.item,
            supplier=w.maker,
            agreed_qty=qty,
            source="imported",
        )
    ReferencePrice.objects.create(item=w.item, province=w.province, reference_price="0.5000")
    receive(w, w.hospital, 8_000, dt.date(2024, 6, 1))  # 80.00 → A
    receive(w, w.clinic, 6_000, dt.date(2024, 6, 1))  # 60.00 → C
    base = live_server.url

    log_in(page, base, "wh_bureau")
    page.goto(f"{base}/funds/prepayment/")
    page.get_by_role("link", name="第1笔").click()
    page.fill("#id_amount", "36000.00")
    page.fill("#id_paid_on", "2024-03-12")
    page.get_by_role("button", name="记录拨付").click()
    expect(page.get_by_test_id("paid-amount")).to_have_text("36000.00")
    expect(page.get_by_test_id("disbursements")).to_contain_text("2024-03-12")
    log_out(page)

    log_in(page, base, "hc_pharmacy")
    page.goto(f"{base}/funds/prepayment/")
    expect(page.get_by_test_id("total-paid")).to_have_text("36000.00")
    expect(page.get_by_test_id("list-table")).to_contain_text("2024-03-12")
    log_out(page)

    log_in(page, base, "wh_bureau")
    page.goto(f"{base}/funds/assessment/?batch=GY-YD2023-1&year=1")
    expect(page.get_by_test_id("list-table")).to_contain_text("80.00")
    page.get_by_role("button", name="定稿考核结果").click()
    expect(page.locator(".alert-success")).to_contain_text("已定稿 2 家机构")
    assert AssessmentResult.objects.filter(agreement_year=year).count() == 2
    expect(page.get_by_test_id("list-table")).to_contain_text("已定稿")
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    path = artifacts / "assessment_ranking.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["排名", "机构代码", "机构名称", "得分", "等级"]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert [(r[1], r[3], r[4]) for r in rows] == [(w.hospital.code, 80.0, "A"), (w.clinic.code, 60.0, "C")]
    page.screenshot(path=str(artifacts / "funds_ranking.png"), full_page=True)
    assert page.console_problems == []
