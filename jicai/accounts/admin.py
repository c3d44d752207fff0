from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from jicai.accounts.models import ROLES_BY_KIND, ApiToken, Notification, Organisation, Role, User
from jicai.web.audited_admin import AuditedModelAdmin


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    list_display = ("name", "kind", "region", "institution", "company")
    list_filter = ("kind",)
    search_fields = ("name", "region__name", "institution__name", "company__name")
    autocomplete_fields = ("region", "institution", "company")


class _RoleMatchesOrganisation:
    def clean(self):
        cleaned = super().clean()
        org, role = cleaned.get("organisation"), cleaned.get("role")
        if org is not None and role and role not in ROLES_BY_KIND[org.kind]:
            self.add_error("role", f"角色“{Role(role).label}”不适用于{org.get_kind_display()}。")
        return cleaned


class JicaiUserCreationForm(_RoleMatchesOrganisation, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "organisation", "role", "full_name")


class JicaiUserChangeForm(_RoleMatchesOrganisation, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(DjangoUserAdmin, AuditedModelAdmin):
    """Passwords set here go through set_password, i.e. the Argon2 hasher of PASSWORD_HASHERS."""

    add_form = JicaiUserCreationForm
    form = JicaiUserChangeForm
    list_display = ("username", "full_name", "organisation", "role", "is_active", "last_login")
    list_filter = ("role", "is_active", "organisation__kind")
    search_fields = ("username", "full_name", "organisation__name")
    autocomplete_fields = ("organisation",)
    list_select_related = ("organisation",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("机构与角色", {"fields": ("organisation", "role", "full_name", "email")}),
        ("权限", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("时间", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "organisation",
                    "role",
                    "full_name",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    """Tokens are issued on the token page (the key is shown once there); here they can only be inspected."""

    list_display = ("name", "organisation", "role", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("role", "revoked_at")
    search_fields = ("name", "prefix", "organisation__name")
    readonly_fields = (
        "organisation",
        "name",
        "role",
        "prefix",
        "key_hash",
        "created_at",
        "created_by",
        "last_used_at",
    )
    list_select_related = ("organisation",)

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(AuditedModelAdmin):
    list_display = ("title", "organisation", "kind", "created_at", "read_at")
    list_filter = ("kind", "read_at")
    search_fields = ("title", "body", "organisation__name")
    autocomplete_fields = ("organisation",)
    list_select_related = ("organisation",)
    date_hierarchy = "created_at"
