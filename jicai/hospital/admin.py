"""Back office for the hospital app; edits are audited. Target changes go through the pages (the rules of
§11 and their log), so targets and the log are read-only here."""

from django.contrib import admin

from jicai.hospital.models import (
    Department,
    DepartmentTarget,
    Doctor,
    DoctorTarget,
    InterviewRecord,
    StaffLink,
    TargetChange,
)
from jicai.web.audited_admin import AuditedModelAdmin


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ("institution", "code", "name", "parent")
    search_fields = ("code", "name", "institution__code", "institution__name")
    raw_id_fields = ("institution", "parent")


@admin.register(Doctor)
class DoctorAdmin(AuditedModelAdmin):
    list_display = ("institution", "code", "name", "department", "status")
    list_filter = ("status",)
    search_fields = ("code", "name", "institution__code", "institution__name")
    raw_id_fields = ("institution", "department")


@admin.register(StaffLink)
class StaffLinkAdmin(AuditedModelAdmin):
    list_display = ("user", "department", "doctor")
    search_fields = ("user__username", "doctor__code", "department__code")
    raw_id_fields = ("user", "department", "doctor")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DepartmentTarget)
class DepartmentTargetAdmin(ReadOnlyAdmin):
    list_display = ("volume", "department", "target", "source")
    search_fields = ("department__code", "department__name", "volume__institution__code")


@admin.register(DoctorTarget)
class DoctorTargetAdmin(ReadOnlyAdmin):
    list_display = ("department_target", "doctor", "target", "source")
    search_fields = ("doctor__code", "doctor__name")


@admin.register(TargetChange)
class TargetChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "department", "doctor", "old_target", "new_target", "reason")
    search_fields = ("department__code", "doctor__code", "reason")


@admin.register(InterviewRecord)
class InterviewRecordAdmin(ReadOnlyAdmin):
    list_display = ("at", "institution", "item", "quarter", "department", "doctor", "action", "actor")
    list_filter = ("action", "quarter")
    search_fields = ("institution__code", "doctor__code", "department__code")
