"""Prepayment ledger pages and API: institution sees its own, bureau its subtree, suppliers nothing; the
bureau records a disbursement through the page and the API; wrong organisations get 404 with nothing written."""

import datetime as dt
import io
import json
from decimal import Decimal as D

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jicai.funds.models import Disbursement, PrepaymentTranche
from jicai.funds.prepayment import trigger_tranches
from tests.funds.conftest import effective_agreement


@pytest.fixture
def tranches(world):
    w = world
    effective_agreement(w, w.hospital, 1_000_000, dt.date(2024, 3, 1))  # T1 36 000.00
    effective_agreement(w, w.other_hospital, 416_667, dt.date(2024, 3, 1))  # T1 15 000.01
    trigger_tranches(as_of=dt.date(2024, 3, 31))
    w.t1 = PrepaymentTranche.objects.get(institution=w.hospital, tranche="1")
    w.other_t1 = PrepaymentTranche.objects.get(institution=w.other_hospital, tranche="1")
    return w


def test_institution_sees_only_its_own_ledger(tranches, client_for):
    w = tranches
    client = client_for(w.pharmacist)
    page = client.get("/funds/prepayment/").content.decode()
    assert "36000.00" in page and "15000.01" not in page
    assert client.get(f"/funds/prepayment/tranches/{w.other_t1.pk}/").status_code == 404
    assert client.get(f"/funds/prepayment/institutions/{w.other_hospital.code}/").status_code == 404
    assert client.get(f"/funds/prepayment/tranches/{w.t1.pk}/").status_code == 200
    # No form for the institution, and a POST changes nothing.
    response = client.post(
        f"/funds/prepayment/tranches/{w.t1.pk}/", {"amount": "1.00", "paid_on": "2024-03-10"}
    )
    assert response.status_code == 404
    assert Disbursement.objects.count() == 0


def test_region_ledger_chart_and_xlsx(tranches, client_for):
    w = tranches
    client = client_for(w.province_bureau)
    response = client.get("/funds/prepayment/")
    assert response.status_code == 200
    chart = response.context["chart"]
    assert chart["labels"] == [w.hospital.name, w.other_hospital.name]
    assert chart["series"][0]["values"] == [36000.0, 15000.01]
    xlsx = client.get("/funds/prepayment/?export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["机构代码", "机构名称"] and "应预付金额（元）" in header
    assert sheet.max_row == 3
    # The city bureau sees only its city; queries do not grow with rows.
    city = client_for(w.city_bureau)
    page = city.get("/funds/prepayment/").content.decode()
    assert w.hospital.name in page and w.other_hospital.name not in page
    with CaptureQueriesContext(connection) as few:
        city.get("/funds/prepayment/")
    for n in range(3):
        effective_agreement(w, w.clinic, 1000 + n, dt.date(2024, 3, 1), item=_item(w, n))
    trigger_tranches(as_of=dt.date(2024, 3, 31))
    with CaptureQueriesContext(connection) as more:
        city.get("/funds/prepayment/")
    assert len(more) == len(few)


def _item(w, n):
    from jicai.batches.models import Item

    return Item.objects.create(
        batch=w.batch, item_code=f"GY7-1{n}", generic_name=f"品种{n}", dosage_form_group="注射剂"
    )


def test_bureau_records_a_disbursement_on_the_page(tranches, client_for):
    w = tranches
    client = client_for(w.city_bureau)
    url = f"/funds/prepayment/tranches/{w.t1.pk}/"
    response = client.post(url, {"amount": "20000.00", "paid_on": "2024-03-10"})
    assert response.status_code == 302
    w.t1.refresh_from_db()
    assert w.t1.paid_amount == D("20000.00")
    too_much = client.post(url, {"amount": "16000.01", "paid_on": "2024-03-11"})
    assert "超过该笔预付款未拨付金额 16000.00" in too_much.content.decode()
    bad = client.post(url, {"amount": "1.001", "paid_on": "x"})
    assert "最多两位小数" in bad.content.decode() or "2 位小数" in bad.content.decode()
    w.t1.refresh_from_db()
    assert w.t1.paid_amount == D("20000.00")
    # Another city's bureau: 404, nothing written.
    other = client_for(w.other_city_bureau)
    assert other.post(url, {"amount": "1.00", "paid_on": "2024-03-10"}).status_code == 404
    assert other.get(url).status_code == 404
    w.t1.refresh_from_db()
    assert w.t1.paid_amount == D("20000.00")
    for supplier in (w.manufacturer, w.distributor_user):
        assert client_for(supplier).get("/funds/prepayment/").status_code == 404
        assert client_for(supplier).get(url).status_code == 404


def test_api_lists_and_records_disbursements(tranches, api_client_for):
    w = tranches
    body = api_client_for(w.pharmacist).get("/api/v1/prepayment/tranches").json()
    assert [(r["institution"], r["tranche"], r["amount"]) for r in body["results"]] == [
        (w.hospital.code, "1", "36000.00")
    ]
    assert api_client_for(w.manufacturer).get("/api/v1/prepayment/tranches").json()["count"] == 0
    url = f"/api/v1/prepayment/tranches/{w.t1.pk}/disbursements"
    payload = json.dumps({"amount": "36000.00", "paid_on": "2024-03-12"})
    for actor in (w.other_city_bureau, w.pharmacist, w.manufacturer):
        response = api_client_for(actor).post(url, payload, content_type="application/json")
        assert response.status_code == 404
    assert Disbursement.objects.count() == 0
    response = api_client_for(w.city_bureau).post(url, payload, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["paid_amount"] == "36000.00"
    again = api_client_for(w.city_bureau).post(
        url, json.dumps({"amount": "0.01", "paid_on": "2024-03-12"}), content_type="application/json"
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "over_tranche"
