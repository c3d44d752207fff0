import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jicai.ingest.models import ImportJob
from jicai.registry.models import Company, Region
from tests.ingest.conftest import csv_bytes, state

REGIONS = csv_bytes("code,name,parent_code,level", "320000,江苏省,,province", "320100,南京市,320000,city")
BAD_REGIONS = csv_bytes(
    "code,name,parent_code,level", "320000,江苏省,,province", "320100,南京市,,city", "3201,短,320000,county"
)


def upload(client, kind, content, name="regions.csv", **extra):
    return client.post("/imports/", {"kind": kind, "file": SimpleUploadedFile(name, content), **extra})


def test_admin_uploads_file_and_sees_counts_and_job(world, client_for):
    client = client_for(world.admin)
    response = upload(client, "regions", REGIONS)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="created">2<' in html and "导入成功" in html
    assert Region.objects.filter(code__in=["320000", "320100"]).count() == 2
    job = ImportJob.objects.get()
    assert (job.source, job.actor, job.organisation_id, job.filename) == (
        "web",
        world.admin,
        world.admin_org.pk,
        "regions.csv",
    )
    page = client.get("/imports/").content.decode()
    assert "regions.csv" in page and "已导入" in page


def test_upload_with_errors_writes_nothing_and_lists_every_error(world, client_for):
    before = state()
    response = upload(client_for(world.admin), "regions", BAD_REGIONS)
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="import-errors"' in html
    assert html.count('<tr><td class="num">') == 2
    assert "<code>parent_code</code>" in html and "<code>code</code>" in html
    assert state() == before


def test_upload_dry_run_writes_nothing(world, client_for):
    before = state()
    response = upload(client_for(world.admin), "regions", REGIONS, dry_run="on")
    assert "试运行通过" in response.content.decode()
    assert state() == before


def test_province_bureau_sees_only_batch_kinds(world, client_for):
    client = client_for(world.province_bureau)
    page = client.get("/imports/").content.decode()
    assert 'value="winners"' in page and 'value="regions"' not in page
    before = state()
    assert upload(client, "regions", REGIONS).status_code == 404
    assert state() == before
    assert client.get("/imports/templates/regions.csv").status_code == 404
    assert client.get("/imports/templates/winners.csv").status_code == 200


def test_doctors_may_not_import_anything(world, client_for):
    client = client_for(world.doctor)
    before = state()
    assert client.get("/imports/").status_code == 404
    assert upload(client, "orders", REGIONS).status_code == 404
    assert state() == before and ImportJob.objects.count() == 0


@pytest.mark.parametrize("persona", ["pharmacist", "manufacturer", "city_bureau"])
def test_master_data_kinds_are_404_for_users_who_may_only_send_transactions(world, client_for, persona):
    client = client_for(getattr(world, persona))
    before = state()
    page = client.get("/imports/").content.decode()
    assert 'value="regions"' not in page
    assert upload(client, "regions", REGIONS).status_code == 404
    assert client.get("/imports/templates/regions.xlsx").status_code == 404
    assert state() == before and ImportJob.objects.count() == 0


def test_templates_csv_has_bom_header_and_example_and_xlsx_reimports_in_dry_run(world, client_for, load):
    client = client_for(world.admin)
    csv_response = client.get("/imports/templates/products.csv")
    body = csv_response.content
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "code,generic_name,dosage_form,spec,pack,unit,units_per_pack,manufacturer_code,category,"
        "consistency_passed,originator,dosage_form_group"
    )
    assert len(lines) == 2
    xlsx = client.get("/imports/templates/companies.xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    # The example row of every template is itself a valid row.
    result = load("companies", xlsx.content, filename="companies.xlsx", dry_run=True)
    assert result.rows == 1 and result.created + result.updated + result.unchanged == 1
    assert client.get("/imports/templates/nothing.csv").status_code == 404


# ---- API ------------------------------------------------------------------------------------------


def post_json(client, kind, body):
    return client.post(f"/api/v1/imports/{kind}", data=json.dumps(body), content_type="application/json")


def test_api_imports_rows(world, api_client_for):
    client = api_client_for(world.admin)
    rows = [{"code": "320000", "name": "江苏省", "parent_code": "", "level": "province"}]
    response = post_json(client, "regions", {"rows": rows})
    assert response.status_code == 200
    assert response.json() == {
        "kind": "regions",
        "rows": 1,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "dry_run": False,
        "warnings": [],
    }
    again = post_json(client, "regions", {"rows": rows}).json()
    assert (again["created"], again["unchanged"]) == (0, 1)
    job = ImportJob.objects.filter(source="api").first()
    assert job.actor is None and job.organisation_id == world.admin_org.pk
    listing = client.get("/api/v1/imports").json()
    assert listing["count"] == 2 and listing["items"][0]["kind"] == "regions"


def test_api_rejects_with_422_and_single_error_shape(world, api_client_for):
    before = state()
    rows = [
        {"code": "320000", "name": "江苏省", "parent_code": "", "level": "province"},
        {"code": "320100", "name": "南京市", "parent_code": "", "level": "city"},
        {"code": "32x100", "name": "坏", "parent_code": "320000", "level": "city"},
    ]
    response = post_json(api_client_for(world.admin), "regions", {"rows": rows})
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "import_rejected"
    assert [(d["row"], d["column"]) for d in body["error"]["details"]] == [(2, "parent_code"), (3, "code")]
    assert state() == before


def test_api_file_upload_and_batch_option(world, api_client_for):
    client = api_client_for(world.province_bureau)
    content = csv_bytes(
        "batch_code,item_code,generic_name,dosage_form_group", ",GY7-050,氨氯地平,口服常释剂型"
    )
    response = client.post(
        "/api/v1/imports/items/file",
        {"file": SimpleUploadedFile("items.csv", content), "batch": "GY-YD2023-1"},
    )
    assert response.status_code == 200 and response.json()["created"] == 1


@pytest.mark.parametrize("persona", ["pharmacist", "manufacturer", "county_bureau"])
def test_api_actor_without_import_right_gets_404_and_nothing_written(world, api_client_for, persona):
    before = state()
    client = api_client_for(getattr(world, persona))
    rows = [{"code": world.maker.code, "name": "改名", "kind": "both"}]
    response = post_json(client, "companies", {"rows": rows})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert state() == before and Company.objects.get(pk=world.maker.pk).name == world.maker.name
    assert ImportJob.objects.count() == 0
    assert client.get("/api/v1/imports").json()["count"] == 0


def test_api_job_list_shows_only_own_organisation(world, api_client_for, load):
    load("regions", REGIONS)  # a CLI job: organisation None
    post_json(api_client_for(world.admin), "regions", {"rows": [], "dry_run": True})
    bureau = api_client_for(world.province_bureau).get("/api/v1/imports").json()
    assert bureau["count"] == 0
