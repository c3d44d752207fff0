from django.apps import AppConfig


class FundsConfig(AppConfig):
    name = "jicai.funds"
    verbose_name = "医保基金（支付标准、预付、考核）"
    default_auto_field = "django.db.models.BigAutoField"
