"""Admin for PolicyProfile: values are validated with the same parameter types as the policy page."""

from django import forms
from django.contrib import admin

from jicai.core import audit
from jicai.policy.models import PolicyProfile
from jicai.policy.parameters import BY_NAME


class PolicyProfileForm(forms.ModelForm):
    class Meta:
        model = PolicyProfile
        fields = ("region", "batch", "values", "note")

    def clean_values(self):
        values = self.cleaned_data["values"] or {}
        if not isinstance(values, dict):
            raise forms.ValidationError("应为 {参数名: 值} 的 JSON 对象")
        problems, cleaned = [], {}
        for name, raw in values.items():
            parameter = BY_NAME.get(name)
            if parameter is None:
                problems.append(f"{name}：未知的政策参数")
                continue
            try:
                cleaned[name] = parameter.to_json(parameter.parse(raw))
            except ValueError as exc:
                problems.append(f"{parameter.label}（{name}）：{exc}")
        if problems:
            raise forms.ValidationError(problems)
        return cleaned


@admin.register(PolicyProfile)
class PolicyProfileAdmin(admin.ModelAdmin):
    form = PolicyProfileForm
    list_display = ("__str__", "region", "batch", "updated_at", "updated_by", "note")
    list_select_related = ("region", "batch", "updated_by")
    list_filter = ("batch",)
    search_fields = ("region__code", "region__name", "batch__code", "note")
    raw_id_fields = ("region", "batch")
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request, obj, form, change):
        # The admin is a fallback editor; it still leaves an audit row like set_policy_values does.
        old = PolicyProfile.objects.filter(pk=obj.pk).values_list("values", flat=True).first() or {}
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
        new = obj.values or {}
        changes = {
            k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
        }
        audit.record(
            actor=request.user, action="admin_save_policy_profile", obj=obj, summary=str(obj), changes=changes
        )
