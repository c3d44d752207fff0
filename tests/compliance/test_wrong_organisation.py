"""Wrong organisation on every page and endpoint of the compliance app (SPEC §4 consistency, §14, §15):
another organisation gets 404 (or, on lists, none of the other organisation's rows) and nothing changes in
the database. The world: 山东 data of the trade world; 江苏 has a bureau of its own and nothing else."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from jicai.accounts.models import OrganisationKind, Role
from jicai.agreements import actions as agreement_actions
from jicai.agreements.models import PurchaseAgreement
from jicai.compliance import consistency, overlaps, ratings, signing
from jicai.compliance.models import (
    AgreementSignature,
    BatchOverlap,
    ConsistencyExemption,
    DeliveryRating,
    SigningKey,
)
from jicai.core.errors import NotFound
from jicai.core.models import AuditLog
from jicai.trade import actions
from tests import factories
from tests.compliance.test_overlaps import add_provincial_batch
from tests.compliance.test_signing import agreement  # noqa: F401  (fixture)
from tests.trade.conftest import TODAY

pytestmark = pytest.mark.django_db
JUNE = dt.date(2025, 6, 1)


def snapshot():
    """Every row the compliance pages and endpoints write, and the audit log."""
    return {
        "exemptions": list(ConsistencyExemption.objects.values_list("province_id", "generic_name", "reason")),
        "overlaps": list(BatchOverlap.objects.values_list("pk", "confirmed_at", "confirmed_by")),
        "ratings": list(
            DeliveryRating.objects.values_list(
                "institution_id", "month", "timeliness", "completeness", "service"
            )
        ),
        "keys": list(SigningKey.objects.order_by("pk").values_list("organisation_id", "fingerprint")),
        "signatures": list(AgreementSignature.objects.values_list("agreement_id", "party", "signature")),
        "agreements": list(PurchaseAgreement.objects.values_list("pk", "status")),
        "audit": AuditLog.objects.count(),
    }


@pytest.fixture
def w(trade, monkeypatch):
    """The trade world plus: a 江苏 bureau, an exemption of 山东, an unconfirmed overlap of 山东's SD-001,
    the Weihai hospital's June rating of 齐鲁/国药, and demo certificates of the hospital and 齐鲁."""
    w = add_provincial_batch(
        trade, "SD-2023", "SD-001", dt.date(2023, 6, 1), dt.date(2026, 5, 31), dt.date(2023, 6, 1)
    )
    jiangsu = factories.region("320000", "江苏省")
    w.js_bureau = factories.user(
        "js_bureau", factories.org(OrganisationKind.BUREAU, region=jiangsu), Role.BUREAU
    )
    w.exemption = consistency.save_exemption(
        actor=w.province_bureau, province=w.province, generic_name="阿托伐他汀钙", reason="暂不撤网"
    )
    w.overlap = BatchOverlap.objects.get()
    monkeypatch.setattr(ratings, "today", lambda: TODAY)
    actions.place_order(
        actor=w.pharmacist, lines=[actions.LineInput(w.product, 10)]
    )  # 齐鲁 serves it in June
    ratings.save_rating(
        actor=w.pharmacist,
        supplier_code=w.maker.code,
        distributor_code=w.distributor.code,
        month=JUNE,
        timeliness=5,
        completeness=5,
        service=5,
    )
    for org in (w.hospital_org, w.maker_org):
        signing.issue_demo_certificate(actor=w.admin, organisation=org)
    return w


def post_json(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_consistency_exemptions(w, client_for, api_client_for):
    """Only 山东's province bureau (and the admin) edits 山东's exemptions: 江苏's bureau and every
    institution or company get 404 on 山东's page, list and exemption endpoints, 山东's city bureaus on
    the edits."""
    page = reverse("compliance:consistency")
    for user in (w.js_bureau, w.city_bureau, w.pharmacist, w.manufacturer, w.distributor_user):
        web, api = client_for(user), api_client_for(user)
        before = snapshot()  # issuing the API token is audited
        # a city bureau of 山东 may look at its province's list, not edit it
        looks = 200 if user is w.city_bureau else 404
        assert web.get(page + "?province=370000").status_code == looks
        assert api.get("/api/v1/consistency?province=370000").status_code == looks
        assert web.post(page + "?province=370000", {"delete": w.exemption.pk}).status_code == 404
        assert (
            web.post(page + "?province=370000", {"generic_name": "阿托伐他汀钙", "reason": "改"}).status_code
            == 404
        )
        assert api.delete(f"/api/v1/consistency/exemptions/{w.exemption.pk}").status_code == 404
        body = {"generic_name": "阿托伐他汀钙", "reason": "改", "province": "370000"}
        assert post_json(api, "/api/v1/consistency/exemptions", body).status_code == 404
        assert snapshot() == before, user


def test_overlap_list_and_confirm(w, client_for, api_client_for):
    """江苏's bureau does not see 山东's overlap (empty list) and gets 404 confirming it; institutions and
    companies get 404 on the page, the list and the confirmation."""
    js_api = api_client_for(w.js_bureau)
    assert js_api.get("/api/v1/batch-overlaps").json()["results"] == []
    assert "SD-001" not in client_for(w.js_bureau).get(reverse("compliance:overlaps")).content.decode()
    for user in (w.js_bureau, w.pharmacist, w.manufacturer, w.distributor_user):
        web, api = client_for(user), api_client_for(user)
        before = snapshot()
        assert web.post(reverse("compliance:overlaps"), {"confirm": w.overlap.pk}).status_code == 404
        assert post_json(api, f"/api/v1/batch-overlaps/{w.overlap.pk}/confirm").status_code == 404
        if user is not w.js_bureau:
            assert web.get(reverse("compliance:overlaps")).status_code == 404
            assert api.get("/api/v1/batch-overlaps").status_code == 404
        assert snapshot() == before, user
    with pytest.raises(NotFound):
        overlaps.confirm(actor=w.js_bureau, overlap_id=w.overlap.pk)
    assert BatchOverlap.objects.get().confirmed_at is None


def test_delivery_ratings(w, client_for, api_client_for):
    """The Weihai hospital's June rating: another hospital, another company, 江苏's bureau and a doctor neither
    see it nor change it; only institutions rate (others 404)."""
    form = {
        "month": "2025-06",
        "supplier": w.maker.code,
        "distributor": w.distributor.code,
        "timeliness": "1",
        "completeness": "1",
        "service": "1",
    }
    body = {
        "supplier_code": w.maker.code,
        "distributor_code": w.distributor.code,
        "month": "2025-06",
        "timeliness": 1,
        "completeness": 1,
        "service": 1,
    }
    for user in (w.manufacturer, w.other_manufacturer, w.distributor_user, w.js_bureau, w.province_bureau):
        web, api = client_for(user), api_client_for(user)
        before = snapshot()
        assert web.post(reverse("compliance:ratings"), form).status_code == 404
        assert post_json(api, "/api/v1/delivery-ratings", body).status_code == 404
        assert snapshot() == before, user
    doctor = client_for(w.doctor)
    assert doctor.get(reverse("compliance:ratings")).status_code == 404
    assert doctor.post(reverse("compliance:ratings"), form).status_code == 404
    assert api_client_for(w.doctor).get("/api/v1/delivery-ratings").status_code == 404
    for user in (w.other_pharmacist, w.other_manufacturer, w.js_bureau, w.other_city_bureau):
        api = api_client_for(user)
        assert api.get("/api/v1/delivery-ratings?month=2025-06").json()["results"] == [], user
        assert api.get("/api/v1/delivery-ratings/averages?quarter=2025Q2").json() == [], user
    assert list(DeliveryRating.objects.values_list("timeliness", "completeness", "service")) == [(5, 5, 5)]


def test_demand_review(w, client_for, api_client_for):
    url = reverse("compliance:review") + f"?batch={w.batch.code}&year=1"
    for user in (w.pharmacist, w.doctor, w.manufacturer, w.distributor_user):
        web, api = client_for(user), api_client_for(user)
        before = snapshot()
        assert web.get(url).status_code == 404
        assert web.get(url + "&export=xlsx").status_code == 404
        assert api.get(f"/api/v1/demand-review?batch={w.batch.code}&year=1").status_code == 404
        assert snapshot() == before, user


def test_signatures_signing_and_certificates(w, agreement, client_for, api_client_for):  # noqa: F811
    """The Weihai hospital and 齐鲁's agreement: the other hospital and 华北 get 404 signing it (web, bulk
    and API), reading its signatures and its printable page; nobody but the admin registers certificates."""
    agreement_actions.sign_agreement(actor=w.pharmacist, agreement_id=agreement.pk)
    for user in (w.other_pharmacist, w.other_manufacturer):
        web, api = client_for(user), api_client_for(user)
        before = snapshot()
        assert web.post(reverse("agreements:sign", args=[agreement.pk])).status_code == 404
        assert web.get(reverse("agreements:print", args=[agreement.pk])).status_code == 404
        assert post_json(api, f"/api/v1/agreements/{agreement.pk}/sign").status_code == 404
        assert post_json(api, "/api/v1/agreements/sign", {"ids": [agreement.pk]}).status_code == 404
        assert api.get(f"/api/v1/agreements/{agreement.pk}/signatures").status_code == 404
        assert snapshot() == before, user
    for user in (w.js_bureau, w.province_bureau, w.pharmacist, w.manufacturer, w.distributor_user):
        web = client_for(user)
        before = snapshot()
        assert web.get(reverse("compliance:certificates")).status_code == 404
        for action in ("demo", "register"):
            form = {"organisation": w.other_hospital_org.pk, "action": action, "certificate_pem": "x"}
            assert web.post(reverse("compliance:certificates"), form).status_code == 404
        assert snapshot() == before, user
    assert list(AgreementSignature.objects.values_list("party", flat=True)) == ["institution"]
