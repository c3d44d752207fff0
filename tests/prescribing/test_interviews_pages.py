"""Override reasons feed the interview list (SPEC §11 "unexplained"), prompts reach it through the real
feedback endpoint; the per-doctor prompt page, the catalogue and limit pages are scoped and export XLSX."""

import datetime as dt
import io

import openpyxl
import pytest
from django.utils import timezone

from jicai.accounts.actions import create_api_token
from jicai.prescribing import service
from jicai.prescribing.cache import cache
from jicai.prescribing.models import Prompt, SubstituteLimit
from tests.hospital.conftest import build_hospital, current_usage
from tests.prescribing.conftest import bearer, hook_request, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def hosp_rx(world, monkeypatch):
    monkeypatch.setattr(service, "today", lambda: dt.date(2024, 5, 10))
    cache.clear()
    hosp = build_hospital(world)
    current_usage(world)
    _, hosp.key = create_api_token(
        actor=world.pharmacist, organisation=world.hospital_org, name="HIS", role="institution"
    )
    yield hosp
    cache.clear()


def prompt_overridden(hosp, doctor, qty, *, reason="condition", when=dt.datetime(2024, 5, 10, 10)):
    client = bearer(hosp.key)
    (card,) = post_json(
        client, "/cds-services/vbp-prompt", hook_request(hosp.w.other_product.code, doctor=doctor, qty=qty)
    ).json()["cards"]
    if reason:
        fb = {
            "feedback": [
                {
                    "card": card["uuid"],
                    "outcome": "overridden",
                    "overrideReason": {"reason": {"code": reason}},
                }
            ]
        }
    else:
        fb = {"feedback": [{"card": card["uuid"], "outcome": "accepted"}]}
    assert post_json(client, "/cds-services/vbp-prompt/feedback", fb).status_code == 200
    Prompt.objects.filter(uuid=card["uuid"]).update(created_at=timezone.make_aware(when))


def doctor_rows(client):
    return [
        (r["doctor"], r["unexplained"])
        for r in client.get("/api/v1/interviews?quarter=2024Q2").json()
        if r["kind"] == "doctor"
    ]


def test_override_reasons_reduce_unexplained_use(hosp_rx, client_for):
    """2024Q2: DR04 used 40 non-winning × 0.5 = 20, no winning use → listed with 20 unexplained.
    DR04 overrides 15 with a reason → 5; an accepted prompt (100), a prompt in Q1 (50) and DR01's override
    (30) change nothing; DR04 overrides 5 more → 0 → no longer listed."""
    pharmacy = client_for(hosp_rx.w.pharmacist)
    assert doctor_rows(pharmacy) == [("DR04", 20.0)]
    prompt_overridden(hosp_rx, "DR04", 15)
    prompt_overridden(hosp_rx, "DR04", 100, reason="")
    prompt_overridden(hosp_rx, "DR04", 50, when=dt.datetime(2024, 3, 30, 9))
    prompt_overridden(hosp_rx, "DR01", 30)
    assert doctor_rows(pharmacy) == [("DR04", 5.0)]
    prompt_overridden(hosp_rx, "DR04", 5, reason="shortage")
    assert doctor_rows(pharmacy) == []


def test_doctor_prompt_page_is_scoped_and_exports(hosp_rx, client_for):
    prompt_overridden(hosp_rx, "DR04", 15)
    prompt_overridden(hosp_rx, "DR01", 30, reason="allergy")
    w = hosp_rx.w
    page = client_for(w.pharmacist).get("/prescribing/doctors/DR04/")
    body = page.content.decode()
    assert (
        page.status_code == 200 and "刘洋" in body and "患者病情需要" in body and "过敏或不耐受" not in body
    )
    export = client_for(w.pharmacist).get("/prescribing/doctors/DR04/?export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "医师" and len(rows) == 2 and rows[1][1] == "DR04" and rows[1][4] == 15
    # A doctor sees only their own page; the other hospital sees nothing of this one.
    assert client_for(hosp_rx.doctor).get("/prescribing/doctors/DR01/").status_code == 200
    assert client_for(hosp_rx.doctor).get("/prescribing/doctors/DR04/").status_code == 404
    assert client_for(w.other_pharmacist).get("/prescribing/doctors/DR04/").status_code == 404
    other_list = client_for(w.other_pharmacist).get("/prescribing/").content.decode()
    assert "DR04" not in other_list


def test_catalogue_and_limit_pages(hosp_rx, client_for):
    w = hosp_rx.w
    from jicai.batches.models import Substitute
    from tests import factories

    sub = factories.product("XC10AAB001A001010100001", w.maker, generic_name="瑞舒伐他汀钙", spec="10mg")
    Substitute.objects.create(item=w.item, product=sub, degree="most")
    pharmacy = client_for(w.pharmacist)
    assert sub.code in pharmacy.get("/prescribing/catalogue/").content.decode()
    pharmacy.post(
        "/prescribing/catalogue/",
        {"item": "GY7-001", "product": sub.code, "action": "remove", "reason": "停用"},
    )
    assert "已移出" in pharmacy.get("/prescribing/catalogue/").content.decode()
    # Other hospital: its own page works, it cannot act on this hospital's limit (404, unchanged).
    limit = SubstituteLimit.objects.create(
        institution=w.hospital, item=w.item, product=sub, quarter="2024Q3", proposed_qty=4
    )
    other = client_for(w.other_pharmacist)
    assert other.get("/prescribing/limits/").status_code == 200
    assert other.post("/prescribing/limits/", {"limit": limit.pk, "decision": "confirm"}).status_code == 404
    limit.refresh_from_db()
    assert limit.status == "proposed"
    pharmacy.post("/prescribing/limits/", {"limit": limit.pk, "decision": "edit", "limit_qty": "3"})
    limit.refresh_from_db()
    assert (limit.status, limit.limit_qty) == ("confirmed", 3)
    assert pharmacy.get("/prescribing/limits/?export=xlsx").status_code == 200
    # Doctors and department heads do not reach the catalogue or limits.
    assert client_for(hosp_rx.doctor).get("/prescribing/catalogue/").status_code == 404
    assert client_for(hosp_rx.head).get("/prescribing/limits/").status_code == 404
