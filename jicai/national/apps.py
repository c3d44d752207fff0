from django.apps import AppConfig


class NationalConfig(AppConfig):
    name = "jicai.national"
    label = "national"
    verbose_name = "全国分析"
