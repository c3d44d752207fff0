"""departments and doctors imports (SPEC §10): exact columns, every bad row named, nothing written on error,
re-import a no-op; the same schema behind the CLI, the web upload (with templates) and the bulk API."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jicai.core.errors import ImportRejected
from jicai.hospital.models import Department, Doctor
from jicai.ingest.schemas import SCHEMAS
from tests.hospital.conftest import DEPARTMENTS, DOCTORS, load


def test_columns_are_exactly_the_spec_columns():
    assert SCHEMAS["departments"].column_names() == [
        "institution_code",
        "department_code",
        "name",
        "parent_code",
    ]
    assert SCHEMAS["doctors"].column_names() == [
        "institution_code",
        "doctor_code",
        "name",
        "department_code",
        "status",
    ]


def test_reimport_is_a_noop_and_a_ward_points_at_its_department(world):
    first = load("departments", world.pharmacist, *DEPARTMENTS, "H37100200001,D0101,心内一病区,D01")
    assert first.created == 4
    again = load("departments", world.pharmacist, *DEPARTMENTS, "H37100200001,D0101,心内一病区,D01")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert Department.objects.get(code="D0101").parent.code == "D01"
    load("doctors", world.pharmacist, *DOCTORS)
    again = load("doctors", world.pharmacist, *DOCTORS)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)


def test_every_bad_row_is_named_and_nothing_is_written(world):
    with pytest.raises(ImportRejected) as exc:
        load(
            "departments",
            world.pharmacist,
            "institution_code,department_code,name,parent_code",
            "H37100200001,D01,心血管内科,",
            "H37020200001,D02,神经内科,",
            "H37100200001,D03,急诊科,D99",
            "H37100200001,D04,,",
            "H37100200001,D01,重复,",
        )
    errors = [(e.row, e.column) for e in exc.value.errors]
    assert (3, "institution_code") in errors  # another hospital's row
    assert (4, "parent_code") in errors and (5, "name") in errors
    assert any(e.row == 6 for e in exc.value.errors)  # duplicate key
    assert not Department.objects.exists()
    load("departments", world.pharmacist, *DEPARTMENTS)
    with pytest.raises(ImportRejected) as exc:
        load(
            "doctors",
            world.pharmacist,
            "institution_code,doctor_code,name,department_code,status",
            "H37100200001,DR01,张伟,D09,active",
            "H37100200001,DR02,王芳,D01,retired",
        )
    assert [(e.row, e.column) for e in exc.value.errors] == [(2, "department_code"), (3, "status")]
    assert "科室不存在：D09" in exc.value.errors[0].reason
    assert not Doctor.objects.exists()


def test_doctors_and_department_heads_cannot_import(world):
    from jicai.core.errors import NotFound

    with pytest.raises(NotFound):
        load("departments", world.doctor, *DEPARTMENTS)


def test_web_upload_template_and_bulk_api(world, client_for, api_client_for):
    client = client_for(world.pharmacist)
    template = client.get("/imports/templates/departments.csv")
    assert template.status_code == 200
    body = b"".join(template.streaming_content) if template.streaming else template.content
    assert b"institution_code,department_code,name,parent_code" in body
    upload = SimpleUploadedFile("d.csv", "\n".join(DEPARTMENTS).encode(), content_type="text/csv")
    client.post("/imports/", {"kind": "departments", "file": upload})
    assert Department.objects.count() == 3
    rows = [dict(zip(DOCTORS[0].split(","), line.split(","), strict=True)) for line in DOCTORS[1:]]
    response = api_client_for(world.pharmacist).post(
        "/api/v1/imports/doctors", data=json.dumps({"rows": rows}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert Doctor.objects.count() == 5
    other = api_client_for(world.other_pharmacist).post(
        "/api/v1/imports/doctors", data=json.dumps({"rows": rows}), content_type="application/json"
    )
    assert other.status_code == 422
