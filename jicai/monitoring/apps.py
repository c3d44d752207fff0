from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "jicai.monitoring"
    label = "monitoring"
    verbose_name = "监测预警"
