from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "jicai.web"
    label = "web"
