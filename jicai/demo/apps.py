from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "jicai.demo"
    label = "demo"
