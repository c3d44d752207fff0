"""Pages of SPEC §11: each role sees its rows; wrong organisation or department answers 404 and changes
nothing; edits through the page; XLSX export of every list."""

import io

import openpyxl
import pytest

from jicai.agreements.models import AgreedVolume
from jicai.hospital import queries
from jicai.hospital.models import DepartmentTarget, DoctorTarget, InterviewRecord, TargetChange
from tests.hospital.conftest import AS_OF, current_usage


def snapshot():
    return (
        sorted(DepartmentTarget.objects.values_list("department__code", "target")),
        sorted(DoctorTarget.objects.values_list("doctor__code", "target")),
        TargetChange.objects.count(),
    )


def test_quota_list_per_role(hosp, client_for):
    current_usage(hosp.w)
    body = client_for(hosp.doctor).get("/hospital/?as_of=2024-04-10").content.decode()
    assert "张伟（DR01）" in body and "王芳" not in body and "452" in body
    body = client_for(hosp.head).get("/hospital/?as_of=2024-04-10").content.decode()
    assert "王芳（DR02）" in body and "刘洋" not in body
    body = client_for(hosp.w.pharmacist).get("/hospital/?as_of=2024-04-10").content.decode()
    assert "刘洋（DR04）" in body and "进度滞后" in body


def test_bureau_list_shows_institution_totals_paged_in_sql(hosp, client_for):
    """A bureau sees one row per agreed volume (the institution total, no department or doctor), the
    same figures the pharmacy's total row shows; a bureau of another city sees none."""
    current_usage(hosp.w)
    pharmacy = client_for(hosp.w.pharmacist).get("/hospital/?as_of=2024-04-10").context["rows"]
    bureau = client_for(hosp.w.county_bureau).get("/hospital/?as_of=2024-04-10")
    rows = bureau.context["rows"]
    assert [list(r) for r in rows] == [list(r) for r in pharmacy if r[3] == "全院"]
    assert len(rows) == 1 and rows[0][4] == "—"
    assert bureau.context["paginator"].count == 1
    assert client_for(hosp.w.county_bureau).get("/hospital/?as_of=2024-04-10&q=不存在").context["rows"] == []
    assert client_for(hosp.w.other_city_bureau).get("/hospital/?as_of=2024-04-10").context["rows"] == []
    export = client_for(hosp.w.county_bureau).get("/hospital/?as_of=2024-04-10&export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    assert [c.value for c in sheet[2]][3] == "全院" and sheet.max_row == 2


def test_volume_page_and_wrong_organisation(hosp, client_for):
    current_usage(hosp.w)
    volume = AgreedVolume.objects.get()
    url = f"/hospital/volumes/{volume.pk}/?as_of=2024-04-10"
    body = client_for(hosp.w.pharmacist).get(url).content.decode()
    assert 'data-testid="dept-input-D01"' in body and 'data-testid="split-chart"' in body
    body = client_for(hosp.doctor).get(url).content.decode()
    assert 'data-testid="monthly-chart"' in body and "王芳" not in body
    assert client_for(hosp.w.other_pharmacist).get(url).status_code == 404
    assert client_for(hosp.w.county_bureau).get(url).status_code == 200  # institution total only
    before = snapshot()
    post = {"form": "departments", "t_D01": "593", "t_D02": "407", "t_D03": "0", "reason": "x"}
    assert (
        client_for(hosp.w.other_pharmacist).post(f"/hospital/volumes/{volume.pk}/", post).status_code == 404
    )
    assert snapshot() == before


def test_pharmacy_head_and_doctor_through_the_pages(hosp, client_for, monkeypatch):
    from jicai.home import queries as web_queries

    monkeypatch.setattr(web_queries, "today", lambda: AS_OF)
    volume = AgreedVolume.objects.get()
    url = f"/hospital/volumes/{volume.pk}/"
    pharmacy = client_for(hosp.w.pharmacist)
    bad = pharmacy.post(
        url, {"form": "departments", "t_D01": "593", "t_D02": "397", "reason": "x"}, follow=True
    )
    assert "科室目标合计 990 与约定采购量 1000 不一致" in bad.content.decode()
    pharmacy.post(
        url, {"form": "departments", "t_D01": "593", "t_D02": "407", "t_D03": "0", "reason": "神经内科增量"}
    )
    d01 = DepartmentTarget.objects.get(department__code="D01")
    head = client_for(hosp.head)
    refused = head.post(
        url, {"form": "doctors", "department_target": d01.pk, "t_DR01": "300", "t_DR04": "10"}, follow=True
    )
    assert "不属于心血管内科" in refused.content.decode()
    head.post(
        url,
        {"form": "doctors", "department_target": d01.pk, "t_DR01": "300", "t_DR02": "293", "reason": "门诊"},
    )
    d02 = DepartmentTarget.objects.get(department__code="D02")
    before = snapshot()
    assert (
        head.post(url, {"form": "doctors", "department_target": d02.pk, "t_DR04": "407"}).status_code == 404
    )
    assert snapshot() == before  # another department's target: not found, nothing written
    home = client_for(hosp.doctor).get("/").content.decode()
    assert 'data-testid="my-quota-GY7-001-DR01"' in home and ">300<" in home
    log = client_for(hosp.w.pharmacist).get(url).content.decode()
    assert log.count("神经内科增量") == 2 and "门诊" in log


@pytest.mark.parametrize(
    "path",
    [
        "/hospital/?as_of=2024-04-10",
        "/hospital/departments/",
        "/hospital/doctors/",
        "/hospital/interviews/?quarter=2024Q2",
    ],
)
def test_every_list_exports_xlsx(hosp, client_for, path):
    current_usage(hosp.w)
    sep = "&" if "?" in path else "?"
    response = client_for(hosp.w.pharmacist).get(f"{path}{sep}export=xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row >= 2


def test_department_and_doctor_lists_are_scoped(hosp, client_for):
    assert (
        "心血管内科" not in client_for(hosp.w.other_pharmacist).get("/hospital/departments/").content.decode()
    )
    body = client_for(hosp.head).get("/hospital/doctors/").content.decode()
    assert "张伟" in body and "刘洋" not in body


def test_interview_page_records_an_action(hosp, client_for):
    current_usage(hosp.w)
    pharmacy = client_for(hosp.w.pharmacist)
    body = pharmacy.get("/hospital/interviews/?quarter=2024Q2").content.decode()
    assert "刘洋（DR04）" in body
    pharmacy.post("/hospital/interviews/?quarter=2024Q2", {"target": "GY7-001|D02|DR04", "action": "warning"})
    assert InterviewRecord.objects.get().action == "warning"
    other = client_for(hosp.w.other_pharmacist)
    assert (
        other.post(
            "/hospital/interviews/?quarter=2024Q2", {"target": "GY7-001|D02|DR04", "action": "notice"}
        ).status_code
        == 404
    )
    assert InterviewRecord.objects.count() == 1
    assert "刘洋" not in other.get("/hospital/interviews/?quarter=2024Q2").content.decode()


def test_department_head_sees_its_departments_interview_rows_read_only(hosp, client_for):
    current_usage(hosp.w)
    pharmacy = client_for(hosp.w.pharmacist).get("/hospital/interviews/?quarter=2024Q2").context["rows"]
    d02 = client_for(hosp.other_head).get("/hospital/interviews/?quarter=2024Q2")
    assert d02.status_code == 200
    assert [list(r) for r in d02.context["rows"]] == [list(r) for r in pharmacy if "（D02）" in r[2]]
    assert any("刘洋（DR04）" in r[3] for r in d02.context["rows"])
    assert 'name="action"' not in d02.content.decode()  # no action form: the pharmacy acts
    d01 = client_for(hosp.head).get("/hospital/interviews/?quarter=2024Q2").context["rows"]
    assert all("（D01）" in r[2] for r in d01) and not any("刘洋" in r[3] for r in d01)
    refused = client_for(hosp.other_head).post(
        "/hospital/interviews/?quarter=2024Q2", {"target": "GY7-001|D02|DR04", "action": "warning"}
    )
    assert refused.status_code in (302, 403, 404)
    assert InterviewRecord.objects.count() == 0
    assert client_for(hosp.doctor).get("/hospital/interviews/?quarter=2024Q2").context["rows"] == []


def test_admin_lists_every_hospital_model(hosp, client_for):
    from django.apps import apps
    from django.contrib import admin

    client = client_for(hosp.w.admin)
    for model in apps.get_app_config("hospital").get_models():
        assert admin.site.is_registered(model), model
        url = f"/admin/hospital/{model._meta.model_name}/"
        assert client.get(url, {"q": "D01"}).status_code == 200, url


def test_quota_pages_query_count_does_not_grow_with_doctors(hosp, client_for, django_assert_max_num_queries):
    """Targets and use are read in a fixed number of grouped queries, whatever the number of rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jicai.hospital.models import Doctor
    from tests.hospital.conftest import load

    current_usage(hosp.w)
    client = client_for(hosp.w.pharmacist)
    volume = AgreedVolume.objects.get()
    urls = ["/hospital/?as_of=2024-04-10", f"/hospital/volumes/{volume.pk}/?as_of=2024-04-10"]
    for url in urls:
        client.get(url)
    with CaptureQueriesContext(connection) as before:
        for url in urls:
            client.get(url)
    load(
        "doctors",
        hosp.w.pharmacist,
        "institution_code,doctor_code,name,department_code,status",
        *[f"H37100200001,DR{n},医师{n},D02,active" for n in range(20, 40)],
    )
    DepartmentTarget.objects.all().delete()
    from jicai.hospital.actions import generate_targets

    generate_targets(institution_ids=[hosp.w.hospital.pk])
    assert DoctorTarget.objects.count() > 20 and Doctor.objects.count() == 25
    with CaptureQueriesContext(connection) as after:
        for url in urls:
            client.get(url)
    assert len(after) == len(before)


def test_a_department_head_sees_only_its_department_on_the_item_page(hosp, client_for):
    volume = AgreedVolume.objects.get()
    body = (
        client_for(hosp.other_head).get(f"/hospital/volumes/{volume.pk}/?as_of=2024-04-10").content.decode()
    )
    assert 'data-testid="doctor-DR04"' in body
    assert "张伟" not in body and 'data-testid="dept-D01"' not in body and 'data-testid="total"' not in body
    assert client_for(hosp.doctor2).get("/hospital/?as_of=2024-04-10").content.decode().count("张伟") == 0


def test_department_head_sees_the_interview_list_of_their_department_only(hosp, client_for):
    current_usage(hosp.w)
    rows = queries.interview_list(hosp.w.pharmacist, "2024Q2")
    assert [(r.kind, r.department, r.doctor) for r in rows] == [
        ("doctor", "D02", "DR04"),
        ("department", "D01", None),
        ("department", "D02", None),
    ]
    # The head of D01: only D01 (lagging at quarter end), not neurology's doctor DR04 or department.
    rows = queries.interview_list(hosp.head, "2024Q2")
    assert [(r.kind, r.department, r.doctor) for r in rows] == [("department", "D01", None)]
    rows = queries.interview_list(hosp.other_head, "2024Q2")
    assert [(r.kind, r.department, r.doctor) for r in rows] == [
        ("doctor", "D02", "DR04"),
        ("department", "D02", None),
    ]
    assert queries.interview_list(hosp.doctor, "2024Q2") == []
    head = client_for(hosp.head)
    body = head.get("/hospital/interviews/?quarter=2024Q2").content.decode()
    assert "约谈名单" in body and "心血管内科" in body and "刘洋" not in body
    assert 'name="action"' not in body  # the head watches; only the pharmacy records actions
    sheet = openpyxl.load_workbook(
        io.BytesIO(b"".join(head.get("/hospital/interviews/?quarter=2024Q2&export=xlsx").streaming_content))
    ).active
    assert sheet.max_row == 2 and "刘洋" not in str([c.value for row in sheet.iter_rows() for c in row])
    response = head.post(
        "/hospital/interviews/?quarter=2024Q2", {"target": "GY7-001|D01|", "action": "warning"}
    )
    assert response.status_code in (302, 403, 404)
    assert not InterviewRecord.objects.exists()
    assert "刘洋" not in client_for(hosp.doctor).get("/hospital/interviews/?quarter=2024Q2").content.decode()
