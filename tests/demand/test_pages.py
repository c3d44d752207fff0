"""Demand pages: the form saves, refuses with the line named, submits; review; XLSX round trip; and every
page answers 404 to another institution, a bureau outside the subtree and a company, changing nothing."""

import io

import openpyxl
import pytest
from django.urls import reverse

from jicai.demand import actions
from jicai.demand.models import DemandLine, DemandReport, ReportingWindow, ReportTransition
from jicai.registry.models import Institution
from tests.demand.conftest import fill, report_of

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(
            DemandReport.objects.order_by("pk").values_list("pk", "status", "return_reason", "flagged_lines")
        ),
        list(DemandLine.objects.order_by("pk").values_list("reported_qty", "explanation", "return_reason")),
        ReportTransition.objects.count(),
        ReportingWindow.objects.count(),
    )


def test_institution_fills_is_refused_with_the_line_named_then_submits(dw, window, client_for):
    report = report_of(window, dw.hospital)
    client = client_for(dw.pharmacist)
    url = reverse("demand:report", args=[report.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="qty-GY7-001"' in page.content.decode()
    response = client.post(url, {"qty-GY7-001": "79", "qty-GY7-002": "40", "action": "submit"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "GY7-001 阿托伐他汀钙：报量 79 低于历史采购量 100 的 80%，须填写说明" in text
    report.refresh_from_db()
    assert report.status == "draft" and report.lines.get(item=dw.item).reported_qty == 79
    response = client.post(
        url, {"qty-GY7-001": "79", "exp-GY7-001": "门诊量下降", "qty-GY7-002": "40", "action": "submit"}
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "submitted"
    assert "已提交" in client.get(url).content.decode()


def test_text_in_a_quantity_is_refused_and_nothing_saved(dw, window, client_for):
    report = report_of(window, dw.hospital)
    response = client_for(dw.pharmacist).post(
        reverse("demand:report", args=[report.pk]),
        {"qty-GY7-001": "十", "qty-GY7-002": "4", "action": "save"},
    )
    assert response.status_code == 400 and "GY7-001：报量“十”不是不小于 0 的整数" in response.content.decode()
    assert set(report.lines.values_list("reported_qty", flat=True)) == {None}


def test_bureau_returns_with_line_reason_and_approves_after_resubmission(dw, window, client_for):
    report = report_of(window, dw.hospital)
    fill(dw.pharmacist, report, {"GY7-001": 100, "GY7-002": 40})
    actions.submit_report(actor=dw.pharmacist, report=report)
    bureau = client_for(dw.county_bureau)
    page = bureau.get(reverse("demand:report", args=[report.pk])).content.decode()
    assert 'data-testid="approve"' in page and 'name="reason-GY7-002"' in page
    bureau.post(reverse("demand:report_return", args=[report.pk]), {"reason": "", "reason-GY7-002": "偏高"})
    report.refresh_from_db()
    assert report.status == "returned"
    inst_page = client_for(dw.pharmacist).get(reverse("demand:report", args=[report.pk])).content.decode()
    assert "偏高" in inst_page and 'name="qty-GY7-001"' in inst_page
    client_for(dw.pharmacist).post(
        reverse("demand:report", args=[report.pk]),
        {"qty-GY7-001": "100", "qty-GY7-002": "36", "action": "submit"},
    )
    bureau.post(reverse("demand:report_approve", args=[report.pk]))
    report.refresh_from_db()
    assert report.status == "approved"
    # The edit turned the returned report into a draft before the resubmission.
    assert list(ReportTransition.objects.filter(report=report).values_list("from_status", "to_status")) == [
        ("draft", "submitted"),
        ("submitted", "returned"),
        ("returned", "draft"),
        ("draft", "submitted"),
        ("submitted", "approved"),
    ]
    log = bureau.get(reverse("demand:report", args=[report.pk])).content.decode()
    assert log.count("<tr><td>") == 5 and "GY7-002 苯磺酸氨氯地平：偏高" in log


def test_member_sees_lead_filed_report_read_only_and_cannot_post(dw, window, client_for):
    member_report = report_of(window, dw.clinic)
    fill(dw.pharmacist, member_report, {"GY7-001": 10, "GY7-002": 0})
    client = client_for(dw.clinic_pharmacist)
    page = client.get(reverse("demand:report", args=[member_report.pk])).content.decode()
    assert 'data-testid="read-only"' in page and 'name="qty-GY7-001"' not in page
    before = snapshot()
    response = client.post(
        reverse("demand:report", args=[member_report.pk]),
        {"qty-GY7-001": "1", "qty-GY7-002": "1", "action": "submit"},
    )
    assert response.status_code == 404 and snapshot() == before
    lead_page = client_for(dw.pharmacist).get(reverse("demand:window", args=[window.pk])).content.decode()
    assert "环翠区竹岛街道社区卫生服务中心" in lead_page and 'data-testid="submit-all"' in lead_page


def test_xlsx_round_trip(dw, window, client_for):
    report = report_of(window, dw.hospital)
    client = client_for(dw.pharmacist)
    response = client.get(reverse("demand:report_xlsx", args=[report.pk]))
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["报量"]
    assert [c.value for c in sheet[1]] == ["品种编码", "通用名", "剂型组", "历史采购量", "报量", "说明"]
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)] == [
        ["GY7-001", "阿托伐他汀钙", "口服常释剂型", 100, None, None],
        ["GY7-002", "苯磺酸氨氯地平", "口服常释剂型", 40, None, None],
    ]
    sheet["E2"], sheet["E3"] = 79, 40

    def upload(wb):
        buf = io.BytesIO()
        wb.save(buf)
        buf.seek(0)
        buf.name = "report.xlsx"
        return client.post(reverse("demand:report_upload", args=[report.pk]), {"file": buf}, follow=True)

    refused = upload(book).content.decode()
    assert "第 2 行「说明」：GY7-001 阿托伐他汀钙：报量 79 低于历史采购量 100 的 80%，须填写说明" in refused
    assert set(report.lines.values_list("reported_qty", flat=True)) == {None}
    sheet["E3"] = "abc"
    refused = upload(book).content.decode()
    assert "第 3 行「报量」：应为不小于 0 的整数：abc" in refused
    sheet["E3"], sheet["F2"] = 40, "门诊量下降"
    upload(book)
    assert sorted(report.lines.values_list("item__item_code", "reported_qty", "explanation")) == [
        ("GY7-001", 79, "门诊量下降"),
        ("GY7-002", 40, ""),
    ]
    again = openpyxl.load_workbook(
        io.BytesIO(client.get(reverse("demand:report_xlsx", args=[report.pk])).content)
    )
    assert [c.value for c in again["报量"][2]][4:] == [79, "门诊量下降"]


def test_bureau_opens_a_window_from_the_form(dw, client_for):
    client = client_for(dw.city_bureau)
    response = client.post(
        reverse("demand:window_create"),
        {
            "title": "威海报量",
            "batch": dw.batch.code,
            "agreement_year": "1",
            "opens_on": "2024-01-15",
            "deadline": "2024-02-15",
            "scope": "institutions",
            "institution_codes": "H37100200001，H37100200002",
        },
    )
    window = ReportingWindow.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("demand:window", args=[window.pk])
    assert sorted(window.reports.values_list("institution__code", flat=True)) == [
        "H37100200001",
        "H37100200002",
    ]
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="completion"' in page and "环翠区" in page


def test_completion_page_and_reminders(dw, window, client_for):
    client = client_for(dw.province_bureau)
    page = client.get(reverse("demand:window", args=[window.pk])).content.decode()
    assert "威海市" in page and "青岛市" in page and "向未提交机构发送催报（3）" in page
    client.post(reverse("demand:window_remind", args=[window.pk]), {"region": "370200"})
    from jicai.accounts.models import Notification

    assert list(Notification.objects.values_list("organisation_id", flat=True)) == [dw.other_hospital_org.pk]


def test_home_card_lists_open_window_with_deadline(dw, window, client_for):
    from django.template import Context, Template
    from django.test import RequestFactory

    template = Template("{% load demand_tags %}{% open_reporting_windows %}")
    html = template.render(Context({"user": dw.pharmacist, "request": RequestFactory().get("/")}))
    assert "第七批国家集采报量" in html and "截止 2024-02-15" in html
    assert template.render(Context({"user": dw.manufacturer})).strip() == ""


def test_lists_and_queue_are_scoped(dw, window, client_for):
    page = client_for(dw.pharmacist).get(reverse("demand:reports")).content.decode()
    assert "H37100200001" in page and "H37100200002" in page and "H37020200001" not in page
    page = client_for(dw.other_city_bureau).get(reverse("demand:reports")).content.decode()
    assert "H37020200001" in page and "H37100200001" not in page
    assert client_for(dw.manufacturer).get(reverse("demand:reports")).content.decode().count("<tr>") == 1
    assert client_for(dw.pharmacist).get(reverse("demand:queue")).status_code == 404
    assert client_for(dw.county_bureau).get(reverse("demand:queue")).status_code == 200
    assert client_for(dw.pharmacist).get(reverse("demand:window_create")).status_code == 404


# ---- wrong organisation: 404 and nothing changed ----------------------------------------------------

OUTSIDERS = ["other_pharmacist", "other_city_bureau", "manufacturer", "distributor_user"]


def _pages(report, window):
    get = [
        reverse("demand:report", args=[report.pk]),
        reverse("demand:report_xlsx", args=[report.pk]),
        reverse("demand:window", args=[window.pk]),
    ]
    post = [
        (
            reverse("demand:report", args=[report.pk]),
            {"qty-GY7-001": "1", "qty-GY7-002": "1", "action": "submit"},
        ),
        (reverse("demand:report_approve", args=[report.pk]), {}),
        (reverse("demand:report_return", args=[report.pk]), {"reason": "x"}),
        (reverse("demand:window_remind", args=[window.pk]), {}),
        (reverse("demand:window_submit_all", args=[window.pk]), {}),
    ]
    return get, post


@pytest.mark.parametrize("who", OUTSIDERS)
def test_every_report_page_is_404_for_another_organisation(dw, client_for, who):
    # A window of the Weihai city bureau: Qingdao's bureau and hospital are outside it, as are companies.
    window = actions.open_window(
        actor=dw.city_bureau,
        batch=dw.batch,
        title="威海",
        opens_on=dw.batch.cycle_start,
        deadline=dw.batch.cycle_start,
    )
    report = report_of(window, dw.hospital)
    fill(dw.pharmacist, report, {"GY7-001": 100, "GY7-002": 40})
    actions.submit_report(actor=dw.pharmacist, report=report)
    get, post = _pages(report, window)
    client = client_for(getattr(dw, who))
    before = snapshot()
    for url in get:
        assert client.get(url).status_code == 404, url
    for url, data in post:
        assert client.post(url, data).status_code == 404, url
    upload = io.BytesIO(b"item_code,reported_qty\nGY7-001,1\nGY7-002,1\n")
    upload.name = "x.csv"
    assert client.post(reverse("demand:report_upload", args=[report.pk]), {"file": upload}).status_code == 404
    assert snapshot() == before


def test_bureau_above_sees_but_only_the_reviewer_acts(dw, window, client_for):
    report = report_of(window, dw.hospital)
    fill(dw.pharmacist, report, {"GY7-001": 100, "GY7-002": 40})
    actions.submit_report(actor=dw.pharmacist, report=report)
    client = client_for(dw.province_bureau)
    page = client.get(reverse("demand:report", args=[report.pk])).content.decode()
    assert 'data-testid="approve"' not in page
    before = snapshot()
    assert client.post(reverse("demand:report_approve", args=[report.pk])).status_code == 404
    assert snapshot() == before
    assert Institution.objects.count() == 3
