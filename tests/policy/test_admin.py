"""PolicyProfile in the Django admin: registered, values validated by parameter type, audited."""

from django.contrib import admin

from jicai.core.models import AuditLog
from jicai.policy.admin import PolicyProfileForm
from jicai.policy.models import PolicyProfile


def test_policy_profile_is_registered():
    assert PolicyProfile in admin.site._registry


def test_admin_form_validates_and_normalises_values(world):
    form = PolicyProfileForm(
        data={"region": world.city.pk, "values": '{"delivery_grace_days": "4"}', "note": ""}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["values"] == {"delivery_grace_days": 4}
    bad = PolicyProfileForm(
        data={"region": world.city.pk, "values": '{"delivery_grace_days": "x", "nope": 1}'}
    )
    assert not bad.is_valid()
    assert len(bad.errors["values"]) == 2


def test_admin_add_page_saves_with_an_audit_row(world, client_for):
    client = client_for(world.admin)
    assert client.get("/admin/policy/policyprofile/").status_code == 200
    response = client.post(
        "/admin/policy/policyprofile/add/",
        {"region": world.city.pk, "batch": "", "values": '{"months_to_complete": "11"}', "note": "x"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PolicyProfile.objects.get(region=world.city).values == {"months_to_complete": 11}
    log = AuditLog.objects.get(action="admin_save_policy_profile")
    assert log.changes == {"months_to_complete": [None, 11]}
