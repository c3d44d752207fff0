"""Back-office view of tickets: read-only, because every change must go through actions.py (deadlines,
event log, notifications); the admin is for looking things up."""

from django.contrib import admin

from jicai.tickets.models import Ticket, TicketAttachment, TicketEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    list_per_page = 50

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ("on", "at", "action", "actor_label", "from_status", "to_status", "text")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "opened_on",
        "institution",
        "supplier",
        "category",
        "status",
        "reply_due",
        "fix_due",
        "escalation_level",
    )
    list_filter = ("status", "category", "escalation_level")
    search_fields = ("institution__code", "institution__name", "supplier__code", "supplier__name")
    list_select_related = ("institution", "supplier")
    inlines = [TicketEventInline]


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "on", "action", "actor_label", "from_status", "to_status")
    list_filter = ("action",)
    list_select_related = ("ticket", "ticket__institution", "ticket__supplier")


@admin.register(TicketAttachment)
class TicketAttachmentAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "original_name", "content_type", "size", "uploaded_at")
    exclude = ("file",)  # downloads only through the scoped view
