"""API of SPEC §11 with scoping: wrong organisation or department answers 404 and changes nothing."""

import json

from jicai.accounts.models import ApiToken
from jicai.agreements.models import AgreedVolume
from jicai.hospital.models import DepartmentTarget, DoctorTarget, InterviewRecord, TargetChange
from tests.hospital.conftest import current_usage


def put(client, url, body):
    return client.put(url, data=json.dumps(body), content_type="application/json")


def snapshot():
    return (
        sorted(DepartmentTarget.objects.values_list("department__code", "target")),
        sorted(DoctorTarget.objects.values_list("doctor__code", "target")),
        TargetChange.objects.count(),
    )


def test_departments_and_doctors_are_scoped(hosp, api_client_for):
    w = hosp.w
    body = api_client_for(w.pharmacist).get("/api/v1/departments").json()
    assert [d["code"] for d in body["results"]] == ["D01", "D02", "D03"]
    assert api_client_for(w.other_pharmacist).get("/api/v1/departments").json()["count"] == 0
    assert api_client_for(w.county_bureau).get("/api/v1/doctors").json()["count"] == 0
    doctors = api_client_for(w.pharmacist).get("/api/v1/doctors").json()["results"]
    assert [(d["code"], d["department"], d["status"]) for d in doctors][2] == ("DR03", "D01", "away")


def test_quotas_endpoint_is_scoped_per_role(hosp, client_for, api_client_for):
    current_usage(hosp.w)
    url = "/api/v1/quotas?as_of=2024-04-10"
    rows = client_for(hosp.doctor).get(url).json()["quotas"]
    assert [(r["doctor"], r["target"], r["used"], r["remaining"]) for r in rows] == [
        ("DR01", 452, 50.0, 402.0)
    ]
    rows = client_for(hosp.head).get(url).json()["quotas"]
    assert [(r["department"], r["doctor"]) for r in rows] == [("D01", None), ("D01", "DR01"), ("D01", "DR02")]
    rows = api_client_for(hosp.w.county_bureau).get(url).json()["quotas"]
    assert [(r["department"], r["target"], r["used"]) for r in rows] == [(None, 1000, 70.0)]
    assert api_client_for(hosp.w.other_pharmacist).get(url).json()["quotas"] == []
    assert len(api_client_for(hosp.w.pharmacist).get(url).json()["quotas"]) == 8


def test_department_edit_via_api_and_wrong_organisation(hosp, api_client_for, client_for):
    volume = AgreedVolume.objects.get()
    url = f"/api/v1/quotas/{volume.pk}/departments"
    body = {"targets": {"D01": 593, "D02": 407}, "reason": "调整"}
    before = snapshot()
    response = put(api_client_for(hosp.w.other_pharmacist), url, body)
    assert response.status_code == 404
    assert put(client_for(hosp.head), url, body).status_code == 403
    bad = put(api_client_for(hosp.w.pharmacist), url, {"targets": {"D01": 500}, "reason": "x"})
    assert bad.status_code == 400
    assert "不一致" in bad.json()["error"]["message"]
    assert snapshot() == before
    ok = put(api_client_for(hosp.w.pharmacist), url, body)
    assert ok.status_code == 200
    assert [(c["department"], c["old_target"], c["new_target"]) for c in ok.json()] == [
        ("D01", 603, 593),
        ("D02", 397, 407),
    ]
    log = client_for(hosp.head).get(f"/api/v1/quotas/{volume.pk}/changes").json()
    assert [c["department"] for c in log] == ["D01"]
    assert client_for(hosp.w.other_pharmacist).get(f"/api/v1/quotas/{volume.pk}/changes").status_code == 404


def test_doctor_edit_via_api_wrong_department(hosp, client_for):
    d01 = DepartmentTarget.objects.get(department__code="D01")
    url = f"/api/v1/department-targets/{d01.pk}/doctors"
    before = snapshot()
    assert put(client_for(hosp.other_head), url, {"targets": {"DR01": 400, "DR02": 203}}).status_code == 404
    assert put(client_for(hosp.doctor), url, {"targets": {"DR01": 400, "DR02": 203}}).status_code == 404
    assert (
        put(client_for(hosp.w.other_pharmacist), url, {"targets": {"DR01": 400, "DR02": 203}}).status_code
        == 404
    )
    assert snapshot() == before
    response = put(client_for(hosp.head), url, {"targets": {"DR01": 400, "DR02": 203}, "reason": "门诊量"})
    assert response.status_code == 200
    assert dict(DoctorTarget.objects.values_list("doctor__code", "target"))["DR02"] == 203


def test_interview_list_and_action(hosp, api_client_for):
    w = hosp.w
    current_usage(w)
    client = api_client_for(w.pharmacist)
    rows = client.get("/api/v1/interviews?quarter=2024Q2").json()
    # Q2 (04-01…06-30): DR04 used 40 non-winning × item_factor 0.5 = 20 and no winning → listed, all unexplained.
    # At 06-30 plan = 1000 × 122/306 share per department: D01 603 × 122/306 = 240.41 > used 90 → listed;
    # D02 397 → 158.28 > 0 → listed; D03 target 0 → plan 0, not below.
    assert [(r["kind"], r["department"], r["doctor"], r["unexplained"]) for r in rows] == [
        ("doctor", "D02", "DR04", 20.0),
        ("department", "D01", None, 0.0),
        ("department", "D02", None, 0.0),
    ]
    assert client.get("/api/v1/interviews?quarter=2024-2").status_code == 400
    action = {
        "item_code": "GY7-001",
        "quarter": "2024Q2",
        "department": "D02",
        "doctor": "DR04",
        "action": "interview",
    }
    other = api_client_for(w.other_pharmacist).post(
        "/api/v1/interviews/actions", data=json.dumps(action), content_type="application/json"
    )
    assert other.status_code == 404
    assert not InterviewRecord.objects.exists()
    ok = client.post("/api/v1/interviews/actions", data=json.dumps(action), content_type="application/json")
    assert ok.status_code == 201
    rows = client.get("/api/v1/interviews?quarter=2024Q2").json()
    assert rows[0]["actions"] == ["interview"]
    assert api_client_for(w.other_pharmacist).get("/api/v1/interviews?quarter=2024Q2").json() == []


def test_department_heads_do_not_issue_api_tokens(hosp, client_for):
    response = client_for(hosp.head).post(
        "/api/v1/tokens", data=json.dumps({"name": "HIS"}), content_type="application/json"
    )
    # Clinicians never reach the institution's token endpoints (SPEC §9: 404, as for any page not theirs).
    assert response.status_code == 404
    assert not ApiToken.objects.exists()
