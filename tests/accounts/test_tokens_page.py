"""API token page: list the organisation's tokens, create (key shown once), revoke; other orgs → 404."""

import pytest

from jicai.accounts.actions import create_api_token
from jicai.accounts.models import ApiToken
from jicai.core.models import AuditLog
from tests.web.helpers import assert_csp_clean, html, table_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(world):
    mine, _ = create_api_token(
        actor=world.pharmacist, organisation=world.hospital_org, name="HIS 接口", role="institution"
    )
    theirs, _ = create_api_token(
        actor=world.other_pharmacist,
        organisation=world.other_hospital_org,
        name="青岛 HIS",
        role="institution",
    )
    return mine, theirs


def test_token_page_lists_only_own_organisation_tokens(world, client_for, tokens):
    mine, _ = tokens
    response = client_for(world.pharmacist).get("/accounts/tokens/")
    rows = table_rows(response, "tokens")
    assert len(rows) == 1
    assert rows[0][:3] == ["HIS 接口", "医疗机构", f"{mine.prefix}…"]
    assert rows[0][4:7] == ["hc_pharmacy", "从未使用", "有效"]
    assert "青岛 HIS" not in html(response)
    assert_csp_clean(response)


def test_doctor_gets_404_on_the_tokens_page(world, client_for, tokens):
    # A doctor sees own quota, prompts and the catalogue only (SPEC §1, §9; issue 15).
    assert client_for(world.doctor).get("/accounts/tokens/").status_code == 404


def test_create_token_shows_key_once_and_stores_only_its_hash(world, client_for):
    client = client_for(world.manufacturer)
    response = client.post("/accounts/tokens/", {"name": "ERP 对接", "role": "manufacturer"})
    assert response.status_code == 200
    token = ApiToken.objects.get(organisation=world.maker_org)
    key = html(response).split('user-select-all">')[1].split("<")[0]
    assert key.startswith("jc_") and token.key_hash == ApiToken.hash_key(key) and token.prefix == key[:8]
    assert (token.name, token.role, token.created_by) == ("ERP 对接", "manufacturer", world.manufacturer)
    assert AuditLog.objects.filter(action="create_api_token", object_id=str(token.pk)).exists()
    assert key not in html(client.get("/accounts/tokens/"))


def test_company_may_issue_distributor_token_but_not_institution_role(world, client_for):
    client = client_for(world.manufacturer)
    assert client.post("/accounts/tokens/", {"name": "配送", "role": "distributor"}).status_code == 200
    response = client.post("/accounts/tokens/", {"name": "错误", "role": "institution"})
    assert response.status_code == 400 and "该角色不适用于本机构" in html(response)
    assert list(ApiToken.objects.filter(organisation=world.maker_org).values_list("role", flat=True)) == [
        "distributor"
    ]


def test_create_token_needs_a_name(world, client_for):
    response = client_for(world.pharmacist).post("/accounts/tokens/", {"name": "", "role": "institution"})
    assert response.status_code == 400 and "请填写令牌用途" in html(response)
    assert not ApiToken.objects.exists()


def test_doctor_cannot_create_or_revoke(world, client_for, tokens):
    mine, _ = tokens
    client = client_for(world.doctor)
    assert client.post("/accounts/tokens/", {"name": "x", "role": "doctor"}).status_code == 404
    assert client.post(f"/accounts/tokens/{mine.pk}/revoke/").status_code == 404
    mine.refresh_from_db()
    assert mine.revoked_at is None and ApiToken.objects.count() == 2


def test_revoke_own_token(world, client_for, tokens):
    mine, _ = tokens
    client = client_for(world.pharmacist)
    response = client.post(f"/accounts/tokens/{mine.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/accounts/tokens/"
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    assert AuditLog.objects.filter(action="revoke_api_token", object_id=str(mine.pk)).count() == 1
    page = client.get("/accounts/tokens/")
    assert "已吊销" in html(page) and "令牌“HIS 接口”已吊销" in html(page)


def test_revoking_another_organisations_token_is_404_and_changes_nothing(world, client_for, tokens):
    _, theirs = tokens
    before = AuditLog.objects.count()
    response = client_for(world.pharmacist).post(f"/accounts/tokens/{theirs.pk}/revoke/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and AuditLog.objects.count() == before


def test_revoke_needs_post(world, client_for, tokens):
    mine, _ = tokens
    assert client_for(world.pharmacist).get(f"/accounts/tokens/{mine.pk}/revoke/").status_code == 405
    mine.refresh_from_db()
    assert mine.revoked_at is None


def test_token_page_requires_login(client):
    assert client.get("/accounts/tokens/").status_code == 302
