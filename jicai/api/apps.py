from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "jicai.api"
    label = "api"
