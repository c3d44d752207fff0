from django.apps import AppConfig


class DemandConfig(AppConfig):
    name = "jicai.demand"
    label = "demand"
    verbose_name = "报量与约定采购量"
