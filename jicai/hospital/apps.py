from django.apps import AppConfig


class HospitalConfig(AppConfig):
    name = "jicai.hospital"
    label = "hospital"
    verbose_name = "院内集采管理"
