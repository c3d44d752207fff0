from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "jicai.registry"
    label = "registry"
    verbose_name = "主数据"
