"""Who sees and acts on agreed volumes and agreements, in the web UI and the API (SPEC §9):
everything outside the actor's scope answers 404 and changes nothing."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jicai.agreements import actions
from jicai.agreements.models import AgreedVolume, AgreedVolumeAdjustment, PurchaseAgreement
from jicai.batches.models import AgreementYear

API = "/api/v1"


@pytest.fixture
def not_found_body():
    return {"error": {"code": "not_found", "message": "未找到该记录，或您无权查看", "details": []}}


@pytest.fixture
def signed(world, reports):
    AgreementYear.objects.filter(batch=world.batch, number=1).update(sign_due=dt.date(2024, 3, 31))
    actions.compute_agreed_volumes(actor=world.province_bureau, batch=world.batch)
    actions.set_delivery_relationship(
        actor=world.manufacturer, region_code="371002", distributor_code=reports.distributor_b.code
    )
    actions.set_delivery_relationship(
        actor=world.manufacturer, region_code="370200", distributor_code=world.distributor.code
    )
    actions.generate_agreements(actor=world.province_bureau, batch=world.batch, agreement_year=1)
    return {
        (a.institution.code, a.item.item_code): a
        for a in PurchaseAgreement.objects.select_related("institution", "item")
    }


def visible_keys(rows) -> set:
    return {(r["institution_code"], r["item_code"]) for r in rows}


# Expected visibility, worked out from the fixture: the hospital leads the clinic; the maker supplies every
# agreement (main winner of T-001/2/3/5 in Shandong); distributor_b delivers in county 371002 and
# world.distributor in 370200; other_maker is named by none.
H, C, Q = "H37100200001", "H37100200002", "H37020200001"
ALL = {(H, "T-001"), (H, "T-002"), (H, "T-003"), (H, "T-005"), (C, "T-001"), (Q, "T-005")}
WEIHAI = ALL - {(Q, "T-005")}
EXPECTED = {
    "admin": ALL,
    "province_bureau": ALL,
    "city_bureau": WEIHAI,
    "county_bureau": WEIHAI,
    "other_city_bureau": {(Q, "T-005")},
    "pharmacist": WEIHAI,  # lead: itself and the clinic
    "clinic_user": {(C, "T-001")},
    "other_pharmacist": {(Q, "T-005")},
    "manufacturer": ALL,
    "other_manufacturer": set(),
    "distributor_user": {(Q, "T-005")},
    "other_distributor_user": WEIHAI,
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_api_agreement_list_is_scoped(world, signed, api_client_for, who):
    response = api_client_for(getattr(world, who)).get(f"{API}/agreements?page_size=500")
    assert response.status_code == 200, response.content
    body = response.json()
    assert visible_keys(body["results"]) == EXPECTED[who]
    assert body["count"] == len(EXPECTED[who])


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_web_agreement_detail_404_outside_scope(world, signed, client_for, who):
    client = client_for(getattr(world, who))
    for key, agreement in signed.items():
        status = client.get(f"/agreements/{agreement.pk}/").status_code
        assert status == (200 if key in EXPECTED[who] else 404), (key, status)


def test_api_agreement_detail_values(world, signed, api_client_for):
    a = signed[(H, "T-001")]
    body = api_client_for(world.pharmacist).get(f"{API}/agreements/{a.pk}").json()
    assert body["winning_price"] == "0.1235" and body["budget"] == "6.30" and body["agreed_qty"] == 51
    assert body["supplier_code"] == world.maker.code and body["status"] == "draft"
    assert body["due_date"] == "2024-03-31"


def test_api_sign_flow_and_404_for_outsiders(world, signed, api_client_for, not_found_body):
    a = signed[(H, "T-001")]
    for outsider in (world.other_pharmacist, world.other_manufacturer, world.other_city_bureau):
        response = api_client_for(outsider).post(f"{API}/agreements/{a.pk}/sign")
        assert response.status_code == 404
        assert response.json() == not_found_body
    a.refresh_from_db()
    assert a.status == "draft"
    response = api_client_for(world.manufacturer).post(f"{API}/agreements/{a.pk}/sign")
    assert response.status_code == 400 and response.json()["error"]["code"] == "wrong_status"
    assert api_client_for(world.pharmacist).post(f"{API}/agreements/{a.pk}/sign").json()["status"] == (
        "institution_signed"
    )
    assert (
        api_client_for(world.manufacturer).post(f"{API}/agreements/{a.pk}/sign").json()["status"]
        == "effective"
    )


def test_api_bulk_sign(world, signed, api_client_for):
    ids = [signed[(H, "T-001")].pk, signed[(C, "T-001")].pk]
    response = api_client_for(world.pharmacist).post(
        f"{API}/agreements/sign", {"ids": ids}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert {r["status"] for r in response.json()} == {"institution_signed"}
    foreign = api_client_for(world.pharmacist).post(
        f"{API}/agreements/sign",
        {"ids": [signed[(H, "T-002")].pk, signed[(Q, "T-005")].pk]},
        content_type="application/json",
    )
    assert foreign.status_code == 404
    assert PurchaseAgreement.objects.get(pk=signed[(H, "T-002")].pk).status == "draft"


def test_web_sign_and_bulk_sign(world, signed, client_for):
    client = client_for(world.pharmacist)
    a = signed[(H, "T-002")]
    assert client.post(f"/agreements/{a.pk}/sign/").status_code == 302
    a.refresh_from_db()
    assert a.status == "institution_signed"
    ids = [signed[(H, "T-003")].pk, signed[(C, "T-001")].pk]
    response = client.post("/agreements/sign/", {"ids": ids, "next": "/agreements/?status=draft"})
    assert response.status_code == 302 and response["Location"] == "/agreements/?status=draft"
    assert set(PurchaseAgreement.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "institution_signed"
    }


def test_web_sign_outside_scope_is_404_and_changes_nothing(world, signed, client_for):
    a = signed[(Q, "T-005")]
    assert client_for(world.pharmacist).post(f"/agreements/{a.pk}/sign/").status_code == 404
    assert client_for(world.pharmacist).post("/agreements/sign/", {"ids": [a.pk]}).status_code == 404
    assert client_for(world.other_manufacturer).post(f"/agreements/{a.pk}/sign/").status_code == 404
    a.refresh_from_db()
    assert a.status == "draft"


def test_web_list_filters_export_and_query_count(world, signed, client_for):
    client = client_for(world.province_bureau)
    response = client.get("/agreements/", {"institution": H})
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="list-table"') == 1
    assert len(response.context["rows"]) == 4
    assert len(client.get("/agreements/", {"item": "T-005"}).context["rows"]) == 2
    assert len(client.get("/agreements/", {"status": "effective"}).context["rows"]) == 0
    assert (
        len(client.get("/agreements/", {"overdue": "1"}).context["rows"]) == 6
    )  # due 2024-03-31, none signed
    export = client.get("/agreements/", {"export": "xlsx"})
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    with CaptureQueriesContext(connection) as few:
        client.get("/agreements/", {"institution": Q})
    with CaptureQueriesContext(connection) as many:
        client.get("/agreements/")
    assert len(many) == len(few)  # no query per row


def test_bulk_sign_checkboxes_only_for_signable_rows(world, signed, client_for):
    page = client_for(world.pharmacist).get("/agreements/").content.decode()
    assert page.count('name="ids"') == 5  # 4 own + the clinic's, all drafts
    assert 'name="ids"' not in client_for(world.manufacturer).get("/agreements/").content.decode()


def test_printable_page_has_no_inline_style_or_script(world, signed, client_for):
    a = signed[(H, "T-001")]
    html = client_for(world.pharmacist).get(f"/agreements/{a.pk}/print/").content.decode()
    assert "6.30" in html and world.maker.name in html
    assert "style=" not in html and "<style" not in html
    assert "<script>" not in html and "onclick" not in html
    assert client_for(world.other_pharmacist).get(f"/agreements/{a.pk}/print/").status_code == 404


# ---- agreed volumes ---------------------------------------------------------------------------------


def test_api_volume_list_scoped_and_adjust(world, signed, api_client_for, not_found_body):
    rows = api_client_for(world.other_pharmacist).get(f"{API}/agreed-volumes").json()["results"]
    assert visible_keys(rows) == {(Q, "T-005")}
    rows = api_client_for(world.manufacturer).get(f"{API}/agreed-volumes?institution={H}").json()["results"]
    assert len(rows) == 4
    volume = AgreedVolume.objects.get(institution__code=H, item__item_code="T-001")
    for outsider in (world.other_city_bureau, world.pharmacist, world.manufacturer):
        response = api_client_for(outsider).post(
            f"{API}/agreed-volumes/{volume.pk}/adjust",
            {"agreed_qty": 1, "reason": "x"},
            content_type="application/json",
        )
        assert response.status_code == 404 and response.json() == not_found_body
    assert api_client_for(world.other_city_bureau).get(f"{API}/agreed-volumes/{volume.pk}").status_code == 404
    volume.refresh_from_db()
    assert volume.agreed_qty == 51 and not AgreedVolumeAdjustment.objects.exists()
    response = api_client_for(world.county_bureau).post(
        f"{API}/agreed-volumes/{volume.pk}/adjust",
        {"agreed_qty": 66, "reason": "门诊量增长"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["agreed_qty"] == 66 and body["adjusted"] is True
    assert [(a["old_qty"], a["new_qty"], a["reason"]) for a in body["adjustments"]] == [
        (51, 66, "门诊量增长")
    ]


def test_api_compute_needs_a_batch_manager(world, reports, api_client_for):
    payload = {"batch_code": world.batch.code, "agreement_year": 1}
    response = api_client_for(world.city_bureau).post(
        f"{API}/agreed-volumes/compute", payload, content_type="application/json"
    )
    assert response.status_code == 403 and not AgreedVolume.objects.exists()
    response = api_client_for(world.province_bureau).post(
        f"{API}/agreed-volumes/compute", payload, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 6


def test_web_volume_pages(world, signed, client_for):
    volume = AgreedVolume.objects.get(institution__code=H, item__item_code="T-001")
    assert client_for(world.other_city_bureau).get(f"/agreements/volumes/{volume.pk}/").status_code == 404
    assert (
        client_for(world.other_city_bureau)
        .post(f"/agreements/volumes/{volume.pk}/adjust/", {"agreed_qty": "3", "reason": "x"})
        .status_code
        == 404
    )
    assert (
        client_for(world.pharmacist)
        .post(f"/agreements/volumes/{volume.pk}/adjust/", {"agreed_qty": "3", "reason": "x"})
        .status_code
        == 404
    )
    volume.refresh_from_db()
    assert volume.agreed_qty == 51
    page = client_for(world.pharmacist).get(f"/agreements/volumes/{volume.pk}/")
    assert page.status_code == 200 and not page.context["can_adjust"]
    county = client_for(world.county_bureau)
    assert county.get(f"/agreements/volumes/{volume.pk}/").context["can_adjust"]
    county.post(f"/agreements/volumes/{volume.pk}/adjust/", {"agreed_qty": "58", "reason": "核增"})
    volume.refresh_from_db()
    assert (volume.agreed_qty, volume.adjusted) == (58, True)
    listing = client_for(world.other_pharmacist).get("/agreements/volumes/")
    assert listing.status_code == 200 and len(listing.context["rows"]) == 1
    assert (
        client_for(world.province_bureau).get("/agreements/volumes/", {"export": "xlsx"}).status_code == 200
    )


def test_web_compute_and_generate_forms(world, reports, client_for):
    client = client_for(world.province_bureau)
    client.post("/agreements/volumes/compute/", {"batch": world.batch.code, "agreement_year": "1"})
    assert AgreedVolume.objects.count() == 6
    client.post("/agreements/generate/", {"batch": world.batch.code, "agreement_year": "1"})
    assert PurchaseAgreement.objects.count() == 6
    client_for(world.city_bureau).post("/agreements/volumes/compute/", {"batch": world.batch.code})
    assert AgreedVolume.objects.count() == 6


# ---- delivery relationships ----------------------------------------------------------------------------


def test_relationship_pages_and_api(world, signed, client_for, api_client_for):
    page = client_for(world.manufacturer).get("/agreements/delivery/")
    assert page.status_code == 200 and page.context["is_supplier"]
    assert len(page.context["rows"]) == 2
    assert len(client_for(world.other_manufacturer).get("/agreements/delivery/").context["rows"]) == 0
    assert len(client_for(world.distributor_user).get("/agreements/delivery/").context["rows"]) == 1
    assert len(client_for(world.other_city_bureau).get("/agreements/delivery/").context["rows"]) == 1
    # Another manufacturer cannot remove the maker's relationship: its own lookup finds nothing (404).
    assert client_for(world.other_manufacturer).post("/agreements/delivery/371002/remove/").status_code == 404
    response = api_client_for(world.manufacturer).put(
        f"{API}/delivery-relationships",
        {"region_code": "370000", "distributor_code": world.distributor.code},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "supplier_code": world.maker.code,
        "region_code": "370000",
        "distributor_code": world.distributor.code,
    }
    rows = api_client_for(world.manufacturer).get(f"{API}/delivery-relationships").json()["results"]
    assert [r["region_code"] for r in rows] == ["370000", "370200", "371002"]
    assert (
        api_client_for(world.other_manufacturer).delete(f"{API}/delivery-relationships/370000").status_code
        == 404
    )
    assert (
        api_client_for(world.manufacturer).delete(f"{API}/delivery-relationships/370000").status_code == 204
    )


def test_web_relationship_set_by_a_non_manufacturer_changes_nothing(world, signed, client_for):
    from jicai.agreements.models import DeliveryRelationship

    before = list(DeliveryRelationship.objects.values_list("supplier_id", "region_id", "distributor_id"))
    for user in (world.distributor_user, world.pharmacist, world.province_bureau):
        response = client_for(user).post(
            "/agreements/delivery/set/", {"region": "370000", "distributor": world.distributor.code}
        )
        assert response.status_code == 302
    assert (
        list(DeliveryRelationship.objects.values_list("supplier_id", "region_id", "distributor_id")) == before
    )
    client_for(world.manufacturer).post(
        "/agreements/delivery/set/", {"region": "370000", "distributor": world.distributor.code}
    )
    assert DeliveryRelationship.objects.count() == len(before) + 1
