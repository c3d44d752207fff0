from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "jicai.home"
    label = "home"
