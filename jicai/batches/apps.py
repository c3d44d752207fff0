from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "jicai.batches"
    label = "batches"
    verbose_name = "集采批次"
