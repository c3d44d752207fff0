"""Admin registrations for core: the audit log is read-only; calendars are editable as a fallback to the
upload page (which is the normal path: it validates a whole year and audits it)."""

from django.contrib import admin

from jicai.core.models import AuditLog, CalendarDay, CalendarYear


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "object_type", "object_id", "actor", "organisation_id", "summary")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "summary", "actor__username")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditLog._meta.fields]

    # An audit trail that can be edited is not evidence of anything.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 0
    fields = ("date", "is_workday", "name")


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "uploaded_at", "uploaded_by", "note")
    readonly_fields = ("uploaded_at", "uploaded_by")
    inlines = [CalendarDayInline]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "is_workday", "name", "year")
    list_filter = ("year", "is_workday")
    date_hierarchy = "date"
