"""/me and /tokens, and authentication: bearer tokens (valid, missing, wrong, revoked) and browser sessions."""

from django.test import Client

from jicai.accounts.actions import create_api_token, revoke_api_token
from jicai.accounts.models import ApiToken
from jicai.core.models import AuditLog
from tests.api.conftest import API, get_json

UNAUTHORIZED_MISSING = {
    "error": {
        "code": "unauthorized",
        "message": "需要身份认证：请提供 Authorization: Bearer 令牌",
        "details": [],
    }
}
UNAUTHORIZED_BAD = {"error": {"code": "unauthorized", "message": "访问令牌无效或已撤销", "details": []}}


def bearer(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


# ---- /me ---------------------------------------------------------------------------------------


def test_me_for_a_city_bureau_token(world, api_client_for):
    body = get_json(api_client_for(world.city_bureau), "/me")
    token = ApiToken.objects.get(organisation=world.city_bureau_org)
    assert body == {
        "username": None,
        "auth": "token",
        "token_id": token.pk,
        "role": "bureau",
        "kind": "bureau",
        "organisation": {"id": world.city_bureau_org.pk, "name": "威海市医疗保障局", "kind": "bureau"},
        "region": {"code": "371000", "name": "威海市", "level": "city"},
        "institution_code": None,
        "company_code": None,
    }


def test_me_for_an_institution_session_user(world, client_for):
    body = get_json(client_for(world.doctor), "/me")
    assert body == {
        "username": "hc_doctor",
        "auth": "session",
        "token_id": None,
        "role": "doctor",
        "kind": "institution",
        "organisation": {"id": world.hospital_org.pk, "name": "威海市环翠区人民医院", "kind": "institution"},
        "region": {"code": "371002", "name": "环翠区", "level": "county"},
        "institution_code": "H37100200001",
        "company_code": None,
    }


def test_me_for_a_manufacturer(world, api_client_for):
    body = get_json(api_client_for(world.manufacturer), "/me")
    assert (body["role"], body["kind"], body["region"], body["company_code"]) == (
        "manufacturer",
        "company",
        None,
        "91370000MA0000001T",
    )


# ---- authentication ----------------------------------------------------------------------------


def test_no_credentials_is_401_in_the_error_shape(world):
    response = Client().get(f"{API}/institutions")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED_MISSING
    assert response["WWW-Authenticate"] == "Bearer"


def test_wrong_token_is_401(world):
    response = bearer("jc_not-a-real-token").get(f"{API}/institutions")
    assert response.status_code == 401 and response.json() == UNAUTHORIZED_BAD


def test_revoked_token_is_401_and_other_tokens_still_work(world):
    revoked, revoked_key = create_api_token(
        actor=world.pharmacist, organisation=world.hospital_org, name="old"
    )
    _, live_key = create_api_token(actor=world.pharmacist, organisation=world.hospital_org, name="new")
    assert bearer(revoked_key).get(f"{API}/me").status_code == 200
    revoke_api_token(actor=world.pharmacist, token=revoked)
    response = bearer(revoked_key).get(f"{API}/me")
    assert response.status_code == 401 and response.json() == UNAUTHORIZED_BAD
    assert bearer(live_key).get(f"{API}/me").status_code == 200


def test_bad_token_is_refused_even_with_a_logged_in_session(world, client_for):
    client = client_for(world.pharmacist)
    response = client.get(f"{API}/me", headers={"Authorization": "Bearer jc_wrong"})
    assert response.status_code == 401 and response.json() == UNAUTHORIZED_BAD


def test_token_acts_in_its_role_and_records_last_use(world):
    token, key = create_api_token(
        actor=world.pharmacist, organisation=world.hospital_org, name="HIS", role="doctor"
    )
    assert token.last_used_at is None
    assert get_json(bearer(key), "/me")["role"] == "doctor"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_session_auth_lists_scoped_like_the_token(world, client_for):
    body = get_json(client_for(world.city_bureau), "/institutions")
    assert [r["code"] for r in body["results"]] == ["H37100200001", "H37100200002"]


def test_session_post_needs_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.pharmacist)
    response = client.post(f"{API}/tokens", {"name": "HIS"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not ApiToken.objects.exists()


# ---- /tokens -----------------------------------------------------------------------------------


def test_token_list_shows_only_own_organisation(world, api_client_for):
    create_api_token(actor=world.other_pharmacist, organisation=world.other_hospital_org, name="青岛 HIS")
    client = api_client_for(world.pharmacist)
    body = get_json(client, "/tokens")
    own = ApiToken.objects.get(organisation=world.hospital_org)
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["id"], row["name"], row["role"], row["prefix"], row["created_by"], row["revoked_at"]) == (
        own.pk,
        "test",
        "institution",
        own.prefix,
        "hc_pharmacy",
        None,
    )
    assert "key" not in row and "key_hash" not in row


def test_token_list_active_filter(world, client_for):
    old, _ = create_api_token(actor=world.pharmacist, organisation=world.hospital_org, name="old")
    create_api_token(actor=world.pharmacist, organisation=world.hospital_org, name="new")
    revoke_api_token(actor=world.pharmacist, token=old)
    client = client_for(world.pharmacist)
    assert [t["name"] for t in get_json(client, "/tokens?active=true")["results"]] == ["new"]
    assert [t["name"] for t in get_json(client, "/tokens?active=false")["results"]] == ["old"]


def test_create_token_returns_the_key_once_and_it_works(world, client_for):
    client = client_for(world.pharmacist)
    response = client.post(f"{API}/tokens", {"name": "HIS 接口"}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    token = ApiToken.objects.get(pk=body["id"])
    assert (token.organisation_id, token.name, token.role, token.created_by_id) == (
        world.hospital_org.pk,
        "HIS 接口",
        "institution",
        world.pharmacist.pk,
    )
    assert body["key"].startswith(body["prefix"]) and token.key_hash == ApiToken.hash_key(body["key"])
    assert AuditLog.objects.filter(action="create_api_token", object_id=str(token.pk)).count() == 1
    # Shown once: the list never carries it.
    assert "key" not in get_json(client, "/tokens")["results"][0]
    assert get_json(bearer(body["key"]), "/institutions")["results"][0]["code"] == "H37100200001"


def test_create_token_with_a_role_of_another_kind_is_refused(world, client_for):
    response = client_for(world.pharmacist).post(
        f"{API}/tokens", {"name": "x", "role": "bureau"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid", "message": "令牌角色与机构类型不符", "details": []}
    }
    assert not ApiToken.objects.exists()


def test_create_token_validates_the_body(world, client_for):
    client = client_for(world.pharmacist)
    response = client.post(f"{API}/tokens", {"name": ""}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "payload", "name"]
    response = client.post(f"{API}/tokens", "{not json", content_type="application/json")
    assert response.status_code in (400, 422) and "error" in response.json()
    assert not ApiToken.objects.exists()


def test_a_token_cannot_create_or_revoke_tokens(world, api_client_for):
    client = api_client_for(world.pharmacist)
    own = ApiToken.objects.get(organisation=world.hospital_org)
    response = client.post(f"{API}/tokens", {"name": "more"}, content_type="application/json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    response = client.delete(f"{API}/tokens/{own.pk}")
    assert response.status_code == 403
    assert ApiToken.objects.filter(organisation=world.hospital_org).count() == 1
    own.refresh_from_db()
    assert own.revoked_at is None


def test_doctor_cannot_manage_tokens(world, client_for):
    client = client_for(world.doctor)
    assert get_json(client, "/tokens", 404)["error"]["code"] == "not_found"
    response = client.post(f"{API}/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code == 404 and not ApiToken.objects.exists()


def test_revoke_own_token(world, client_for):
    token, key = create_api_token(actor=world.pharmacist, organisation=world.hospital_org, name="HIS")
    client = client_for(world.pharmacist)
    response = client.delete(f"{API}/tokens/{token.pk}")
    assert response.status_code == 204 and response.content == b""
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert bearer(key).get(f"{API}/me").status_code == 401
    # Revoking again changes nothing and is not an error.
    revoked_at = token.revoked_at
    assert client.delete(f"{API}/tokens/{token.pk}").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at == revoked_at
    assert AuditLog.objects.filter(action="revoke_api_token", object_id=str(token.pk)).count() == 1


def test_revoking_another_organisations_token_is_404_and_changes_nothing(world, client_for, not_found_body):
    theirs, key = create_api_token(
        actor=world.other_pharmacist, organisation=world.other_hospital_org, name="QD"
    )
    response = client_for(world.pharmacist).delete(f"{API}/tokens/{theirs.pk}")
    assert response.status_code == 404 and response.json() == not_found_body
    missing = client_for(world.pharmacist).delete(f"{API}/tokens/999999")
    assert missing.json() == not_found_body
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert bearer(key).get(f"{API}/me").status_code == 200
    assert not AuditLog.objects.filter(action="revoke_api_token").exists()


def test_bureau_cannot_revoke_a_token_of_an_institution_in_its_region(world, client_for, not_found_body):
    theirs, _ = create_api_token(actor=world.pharmacist, organisation=world.hospital_org, name="HIS")
    response = client_for(world.county_bureau).delete(f"{API}/tokens/{theirs.pk}")
    assert response.status_code == 404 and response.json() == not_found_body
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
