"""The operations back office: every model registered with search/filters; admin edits are audited."""

import pytest
from django.contrib import admin

from jicai.accounts.models import User
from jicai.batches.models import AgreementYear
from jicai.core.models import AuditLog
from jicai.registry.models import Company, Institution, Region
from tests import factories

pytestmark = pytest.mark.django_db

APPS = ("registry", "batches", "accounts")


def test_every_model_of_registry_batches_and_accounts_is_registered():
    from django.apps import apps

    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            assert admin.site.is_registered(model), model


@pytest.mark.parametrize("label", APPS)
def test_changelists_load_with_search(world, client_for, label):
    from django.apps import apps

    client = client_for(world.admin)
    for model in apps.get_app_config(label).get_models():
        url = f"/admin/{label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
        assert client.get(url, {"q": "威海"}).status_code == 200, url


def test_non_admin_cannot_open_back_office(world, client_for):
    response = client_for(world.province_bureau).get("/admin/registry/institution/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_creates_user_with_argon2_password_and_audit_row(world, client_for, settings):
    # The suite may swap in a fast hasher; this test checks the production one from jicai/settings.py.
    from jicai import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    response = client_for(world.admin).post(
        "/admin/accounts/user/add/",
        {
            "username": "wh_pharmacy2",
            "organisation": world.hospital_org.pk,
            "role": "institution",
            "full_name": "王药师",
            "usable_password": "true",
            "password1": "Strong-pass-2026",
            "password2": "Strong-pass-2026",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="wh_pharmacy2")
    assert user.password.startswith("argon2$") and user.check_password("Strong-pass-2026")
    row = AuditLog.objects.get(action="admin_create", object_type="accounts.user", object_id=str(user.pk))
    assert row.actor == world.admin


def test_admin_refuses_role_not_matching_organisation(world, client_for):
    response = client_for(world.admin).post(
        "/admin/accounts/user/add/",
        {
            "username": "bad",
            "organisation": world.maker_org.pk,
            "role": "doctor",
            "usable_password": "true",
            "password1": "Strong-pass-2026",
            "password2": "Strong-pass-2026",
        },
    )
    assert response.status_code == 200 and "不适用于企业" in response.content.decode()
    assert not User.objects.filter(username="bad").exists()


def test_admin_change_is_audited_with_old_and_new_values(world, client_for):
    client = client_for(world.admin)
    hospital = world.hospital
    response = client.post(
        f"/admin/registry/institution/{hospital.pk}/change/",
        {
            "code": hospital.code,
            "name": "威海市环翠区第一人民医院",
            "region": world.county.pk,
            "level": "tertiary",
            "ownership": "public",
            "consortium": "",
        },
    )
    assert response.status_code == 302
    row = AuditLog.objects.get(action="admin_change", object_type="registry.institution")
    assert row.changes == {
        "name": ["威海市环翠区人民医院", "威海市环翠区第一人民医院"],
        "level": ["secondary", "tertiary"],
    }
    assert Institution.objects.get(pk=hospital.pk).name == "威海市环翠区第一人民医院"


def test_admin_delete_is_audited(world, client_for):
    spare = factories.company(9, "待删除企业")
    response = client_for(world.admin).post(f"/admin/registry/company/{spare.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Company.objects.filter(pk=spare.pk).exists()
    row = AuditLog.objects.get(action="admin_delete", object_type="registry.company")
    assert row.object_id == str(spare.pk) and row.changes["deleted"]["name"] == "待删除企业"


def test_admin_region_move_rewrites_subtree_paths(world, client_for):
    response = client_for(world.admin).post(
        f"/admin/registry/region/{world.county.pk}/change/",
        {
            "code": "371002",
            "name": "环翠区",
            "parent": world.other_city.pk,
            "level": "county",
        },
    )
    assert response.status_code == 302
    assert Region.objects.get(code="371002").path == "370000/370200/371002/"


def test_admin_batch_cycle_edit_resyncs_agreement_years(world, client_for):
    b = world.batch
    data = {
        "code": b.code,
        "name": b.name,
        "kind": b.kind,
        "cycle_start": "2024-03-01",
        "cycle_end": "2025-02-28",
        "agreement_years-TOTAL_FORMS": "3",
        "agreement_years-INITIAL_FORMS": "3",
        "agreement_years-MIN_NUM_FORMS": "0",
        "agreement_years-MAX_NUM_FORMS": "1000",
    }
    for i, year in enumerate(AgreementYear.objects.filter(batch=b).order_by("number")):
        data[f"agreement_years-{i}-id"] = year.pk
        data[f"agreement_years-{i}-batch"] = b.pk
    response = client_for(world.admin).post(f"/admin/batches/batch/{b.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(AgreementYear.objects.filter(batch=b).values_list("number", "start", "end")) == [
        (1, b.cycle_start, b.cycle_start.replace(year=2025, month=2, day=28))
    ]
    assert AuditLog.objects.filter(action="admin_change", object_type="batches.batch").count() == 1
