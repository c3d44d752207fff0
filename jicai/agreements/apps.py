from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    name = "jicai.agreements"
    label = "agreements"
    verbose_name = "购销协议"
