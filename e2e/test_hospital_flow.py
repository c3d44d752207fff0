"""Inside the hospital in the browser (SPEC §11): the pharmacy opens an item's department split and moves 10
units between two departments with a reason, the department head redistributes over two doctors, the doctor
logs in and sees the new target; the change log shows each step. No console errors (strict CSP)."""

import pytest
from playwright.sync_api import expect

from e2e.session import log_in, log_out
from jicai.agreements.models import AgreedVolume
from tests.hospital.conftest import build_hospital

pytestmark = pytest.mark.browser


def test_pharmacy_head_and_doctor_change_targets(e2e_world, live_server, page, artifacts):
    build_hospital(e2e_world)
    volume = AgreedVolume.objects.get()
    base = live_server.url
    url = f"{base}/hospital/volumes/{volume.pk}/?as_of=2024-04-10"

    log_in(page, base, "hc_pharmacy")
    page.goto(url)
    expect(page.get_by_test_id("dept-input-D01")).to_have_value("603")
    page.get_by_test_id("dept-input-D01").fill("593")
    page.get_by_test_id("dept-input-D02").fill("407")
    page.get_by_test_id("dept-reason").fill("神经内科病人增加")
    page.get_by_test_id("dept-save").click()
    expect(page.get_by_role("alert")).to_have_text("科室目标已调整")
    expect(page.get_by_test_id("dept-input-D02")).to_have_value("407")
    page.screenshot(path=str(artifacts / "hospital-pharmacy.png"), full_page=True)
    log_out(page)

    log_in(page, base, "hc_head")
    page.goto(url)
    expect(page.get_by_test_id("doctor-input-DR01")).to_have_value("445")
    page.get_by_test_id("doctor-input-DR01").fill("400")
    page.get_by_test_id("doctor-input-DR02").fill("193")
    page.get_by_test_id("doctor-reason-D01").fill("王芳门诊量增加")
    page.get_by_test_id("doctor-save-D01").click()
    expect(page.get_by_role("alert")).to_have_text("医师目标已调整")
    log_out(page)

    log_in(page, base, "hc_doctor")
    page.goto(url)
    expect(page.get_by_test_id("doctor-DR01")).to_contain_text("400")
    expect(page.get_by_test_id("monthly-chart")).to_be_visible()
    log = page.get_by_test_id("change-log")
    expect(log).to_contain_text("王芳门诊量增加")
    page.screenshot(path=str(artifacts / "hospital-doctor.png"), full_page=True)
    log_out(page)

    log_in(page, base, "hc_pharmacy")
    page.goto(url)
    log = page.get_by_test_id("change-log")
    expect(log.locator("tbody tr")).to_have_count(4)
    expect(log).to_contain_text("神经内科病人增加")
    expect(log).to_contain_text("王芳门诊量增加")
    assert page.console_problems == []
