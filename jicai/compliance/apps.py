from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "jicai.compliance"
    verbose_name = "政策完善（一致性评价撤网、配送评价、报量复核、电子签章）"
    default_auto_field = "django.db.models.BigAutoField"
