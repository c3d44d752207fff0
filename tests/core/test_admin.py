"""Admin registrations: the audit log is read-only; calendars are registered."""

from django.contrib import admin

from jicai.core.models import AuditLog, CalendarDay, CalendarYear


def test_models_are_registered():
    assert {AuditLog, CalendarYear, CalendarDay} <= set(admin.site._registry)


def test_audit_log_cannot_be_added_changed_or_deleted_in_the_admin(world, rf):
    request = rf.get("/admin/")
    request.user = world.admin
    model_admin = admin.site._registry[AuditLog]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)


def test_admin_pages_render(world, client_for):
    client = client_for(world.admin)
    for url in ("/admin/core/auditlog/", "/admin/core/calendaryear/", "/admin/core/calendarday/"):
        assert client.get(url).status_code == 200, url
