from django.apps import AppConfig


class PrescribingConfig(AppConfig):
    name = "jicai.prescribing"
    verbose_name = "处方提醒与可替代药品目录"

    def ready(self):
        from jicai.prescribing import cache

        cache.connect_signals()
