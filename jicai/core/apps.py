from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jicai.core"
    label = "core"
    verbose_name = "基础"
