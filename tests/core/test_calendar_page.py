"""The /calendar/ page: admins only, year sources, upload (all-or-nothing), template, date check."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from jicai.core.models import AuditLog, CalendarDay, CalendarYear

URL = "/calendar/"


def csv_file(text: str, name: str = "2027.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8-sig"), content_type="text/csv")


def test_url_name_resolves():
    assert reverse("core:calendar") == URL


def test_admin_sees_each_year_with_its_source(world, client_for):
    response = client_for(world.admin).get(URL)
    assert response.status_code == 200
    this_year = timezone.localdate().year
    years = [(row["year"], row["source_label"]) for row in response.context["years"]]
    expected = []
    for year in (this_year + 1, this_year, this_year - 1):
        label = "chinesecalendar 包" if year <= 2026 else "临时：周一至周五"
        expected.append((year, label))
    assert years == expected
    assert "节假日安排" in response.content.decode()


@pytest.mark.parametrize(
    "who", ["province_bureau", "city_bureau", "pharmacist", "doctor", "manufacturer", "distributor_user"]
)
def test_non_admins_get_404_and_cannot_upload(world, client_for, who):
    client = client_for(getattr(world, who))
    assert client.get(URL).status_code == 404
    response = client.post(
        URL, {"year": 2027, "file": csv_file("date,is_workday,name\n2027-01-01,false,元旦\n")}
    )
    assert response.status_code == 404
    assert client.get(reverse("core:calendar_template")).status_code == 404
    assert not CalendarYear.objects.exists()
    assert not AuditLog.objects.filter(action="upload_calendar_year").exists()


def test_anonymous_users_are_sent_to_login(db, client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_admin_uploads_a_year_and_it_becomes_the_source(world, client_for):
    client = client_for(world.admin)
    response = client.post(
        URL,
        {
            "year": 2027,
            "note": "国办通知",
            "file": csv_file("date,is_workday,name\n2027-01-01,否,元旦\n2027-01-09,是,调休\n"),
        },
    )
    assert response.status_code == 302
    assert list(CalendarDay.objects.values_list("date", "is_workday")) == [
        (dt.date(2027, 1, 1), False),
        (dt.date(2027, 1, 9), True),
    ]
    page = client.get(URL)
    rows = {row["year"]: row for row in page.context["years"]}
    assert rows[2027]["source_label"] == "已上传"
    assert (rows[2027]["uploaded"].holidays, rows[2027]["uploaded"].makeup_days) == (1, 1)


def test_bad_file_reports_every_row_and_writes_nothing(world, client_for):
    client = client_for(world.admin)
    response = client.post(
        URL,
        {
            "year": 2027,
            "file": csv_file(
                "date,is_workday,name\n2027-01-01,false,元旦\n2026-12-31,false,\n2027-02-30,也许,\n"
            ),
        },
    )
    assert response.status_code == 400
    errors = [e.as_dict() for e in response.context["row_errors"]]
    assert errors == [
        {"row": 3, "column": "date", "reason": "日期 2026-12-31 不在 2027 年内"},
        {"row": 4, "column": "date", "reason": "日期格式应为 YYYY-MM-DD，实际为“2027-02-30”"},
        {"row": 4, "column": "is_workday", "reason": "应为 true/false（或 是/否），实际为“也许”"},
    ]
    html = response.content.decode()
    assert "日期 2026-12-31 不在 2027 年内" in html and "未写入任何数据" in html
    assert not CalendarYear.objects.exists() and not CalendarDay.objects.exists()
    assert not AuditLog.objects.filter(action="upload_calendar_year").exists()


def test_wrong_file_type_is_refused(world, client_for):
    response = client_for(world.admin).post(URL, {"year": 2027, "file": csv_file("x", name="2027.txt")})
    assert response.status_code == 400
    assert response.context["upload_form"].errors["file"] == ["只接受 .csv 或 .xlsx 文件"]
    assert not CalendarYear.objects.exists()


def test_template_download(world, client_for):
    response = client_for(world.admin).get(reverse("core:calendar_template"), {"year": "2027"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="calendar-2027.csv"'
    assert response.content.decode("utf-8-sig") == "date,is_workday,name\r\n2027-01-01,false,元旦\r\n"


def test_check_form_shows_the_official_answer(world, client_for):
    response = client_for(world.admin).get(URL, {"check_date": "2025-09-30", "n": "1"})
    result = response.context["check_result"]
    assert (result["date"], result["provisional"], result["start_is_workday"]) == (
        dt.date(2025, 10, 9),
        False,
        True,
    )
    assert "2025-10-09" in response.content.decode()


def test_check_form_marks_an_unpublished_year_provisional(world, client_for):
    response = client_for(world.admin).get(URL, {"check_date": "2027-01-01", "n": "1"})
    result = response.context["check_result"]
    assert (result["date"], result["provisional"], result["start_source"]) == (
        dt.date(2027, 1, 4),
        True,
        "临时：周一至周五",
    )
    assert 'data-testid="check-provisional"' in response.content.decode()


def test_check_form_rejects_bad_input(world, client_for):
    response = client_for(world.admin).get(URL, {"check_date": "nope", "n": "-1"})
    assert response.status_code == 200
    assert response.context["check_result"] is None
    assert set(response.context["check_form"].errors) == {"check_date", "n"}
