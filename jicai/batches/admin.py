from django.contrib import admin
from django.db import transaction

from jicai.batches.actions import sync_agreement_years
from jicai.batches.models import AgreementYear, Batch, Item, ItemFactor, ListingPrice, Substitute, Winner
from jicai.web.audited_admin import AuditedModelAdmin


class AgreementYearInline(admin.TabularInline):
    model = AgreementYear
    extra = 0
    can_delete = False
    readonly_fields = ("number", "start", "end")

    def has_add_permission(self, request, obj=None):
        return False  # derived from the cycle by sync_agreement_years


@admin.register(Batch)
class BatchAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "kind", "cycle_start", "cycle_end")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    inlines = [AgreementYearInline]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Agreement years follow the cycle (SPEC §10): keep them in step with every cycle edit.
        sync_agreement_years(batch=obj)


@admin.register(AgreementYear)
class AgreementYearAdmin(AuditedModelAdmin):
    list_display = ("batch", "number", "start", "end")
    list_filter = ("batch__kind",)
    search_fields = ("batch__code",)
    readonly_fields = ("batch", "number", "start", "end")

    def has_add_permission(self, request):
        return False


@admin.register(Item)
class ItemAdmin(AuditedModelAdmin):
    list_display = ("item_code", "generic_name", "dosage_form_group", "batch")
    list_filter = ("batch", "dosage_form_group")
    search_fields = ("item_code", "generic_name", "batch__code")
    list_select_related = ("batch",)


@admin.register(Winner)
class WinnerAdmin(AuditedModelAdmin):
    list_display = ("item", "product", "province", "role", "winning_price")
    list_filter = ("role", "province", "item__batch")
    search_fields = ("item__item_code", "item__generic_name", "product__code", "product__manufacturer__name")
    autocomplete_fields = ("item", "product", "province")
    list_select_related = ("item", "product", "province")


@admin.register(ItemFactor)
class ItemFactorAdmin(AuditedModelAdmin):
    list_display = ("item", "product", "factor")
    list_filter = ("item__batch",)
    search_fields = ("item__item_code", "product__code")
    autocomplete_fields = ("item", "product")
    list_select_related = ("item", "product")


@admin.register(Substitute)
class SubstituteAdmin(AuditedModelAdmin):
    list_display = ("item", "product", "degree")
    list_filter = ("degree", "item__batch")
    search_fields = ("item__item_code", "item__generic_name", "product__code", "product__generic_name")
    autocomplete_fields = ("item", "product")
    list_select_related = ("item", "product")


@admin.register(ListingPrice)
class ListingPriceAdmin(AuditedModelAdmin):
    list_display = ("product", "province", "price", "valid_from")
    list_filter = ("province",)
    search_fields = ("product__code", "product__generic_name")
    autocomplete_fields = ("product", "province")
    list_select_related = ("product", "province")
    date_hierarchy = "valid_from"
