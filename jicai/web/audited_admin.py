"""ModelAdmin base for the operations back office: every add, change and delete writes an audit row
through core.audit.record, so edits made in /admin/ are as traceable as those made through actions."""

from django.contrib import admin
from django.forms.models import model_to_dict

from jicai.core import audit


def _as_text(value):
    if value is None:
        return None
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    return str(value)


class AuditedModelAdmin(admin.ModelAdmin):
    list_per_page = 50

    def save_model(self, request, obj, form, change):
        changes = {}
        if change and form is not None:
            initial = form.initial
            for name in form.changed_data:
                if name in ("password",):
                    changes[name] = ["***", "***"]
                    continue
                changes[name] = [_as_text(initial.get(name)), _as_text(form.cleaned_data.get(name))]
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action="admin_change" if change else "admin_create",
            obj=obj,
            summary=str(obj),
            changes=changes,
        )

    def delete_model(self, request, obj):
        # Record before deleting: the pk and the string form are gone afterwards.
        snapshot = {k: _as_text(v) for k, v in model_to_dict(obj).items() if k != "password"}
        audit.record(
            actor=request.user,
            action="admin_delete",
            obj=obj,
            summary=str(obj),
            changes={"deleted": snapshot},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit.record(actor=request.user, action="admin_delete", obj=obj, summary=str(obj))
        super().delete_queryset(request, queryset)
