from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "jicai.tickets"
    label = "tickets"
    verbose_name = "诉求对接"
