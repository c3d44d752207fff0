from django.apps import AppConfig


class TradeConfig(AppConfig):
    name = "jicai.trade"
    label = "trade"
    verbose_name = "订单与供应"
