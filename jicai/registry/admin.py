from django.contrib import admin
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from jicai.registry.models import Company, Consortium, Institution, Product, Region
from jicai.web.audited_admin import AuditedModelAdmin


@admin.register(Region)
class RegionAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "level", "parent", "path")
    list_filter = ("level",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path",)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        old_path = Region.objects.filter(pk=obj.pk).values_list("path", flat=True).first() if change else None
        obj.path = Region.path_for(obj.code, obj.parent.path if obj.parent_id else None)
        super().save_model(request, obj, form, change)
        if old_path and old_path != obj.path:
            # Moving or recoding a region moves its whole subtree: rewrite the descendants' path prefix.
            Region.objects.filter(path__startswith=old_path).exclude(pk=obj.pk).update(
                path=Concat(Value(obj.path), Substr(F("path"), len(old_path) + 1))
            )


@admin.register(Consortium)
class ConsortiumAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "lead")
    search_fields = ("code", "name", "lead__name")
    autocomplete_fields = ("lead",)


@admin.register(Institution)
class InstitutionAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "region", "level", "ownership", "consortium")
    list_filter = ("level", "ownership", "region__level")
    search_fields = ("code", "name", "region__name", "region__code")
    autocomplete_fields = ("region", "consortium")
    list_select_related = ("region", "consortium")


@admin.register(Company)
class CompanyAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "kind")
    list_filter = ("kind",)
    search_fields = ("code", "name")


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "generic_name",
        "dosage_form",
        "dosage_form_group",
        "spec",
        "manufacturer",
        "category",
        "consistency_passed",
        "originator",
    )
    list_filter = ("category", "dosage_form_group", "consistency_passed", "originator")
    search_fields = ("code", "generic_name", "spec", "manufacturer__name")
    autocomplete_fields = ("manufacturer",)
    list_select_related = ("manufacturer",)
