from django.urls import path

from jicai.trade import views

app_name = "trade"
urlpatterns = [
    path("order/", views.order_new, name="order_new"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<str:order_id>/", views.order_detail, name="order"),
    path("orders/<str:order_id>/lines/<int:line_no>/respond/", views.line_respond, name="line_respond"),
    path("orders/<str:order_id>/lines/<int:line_no>/deliver/", views.line_deliver, name="line_deliver"),
    path("orders/<str:order_id>/lines/<int:line_no>/receive/", views.line_receive, name="line_receive"),
    path("orders/<str:order_id>/lines/<int:line_no>/pay/", views.line_pay, name="line_pay"),
    path("lines/", views.line_list, name="lines"),
    path("deliveries/", views.delivery_list, name="deliveries"),
    path("receipts/", views.receipt_list, name="receipts"),
    path("payments/", views.payment_list, name="payments"),
    path("payables/", views.payables, name="payables"),
    path("supply-blocks/", views.supply_blocks, name="supply_blocks"),
    path("supply-blocks/<int:block_id>/lift/", views.supply_block_lift, name="supply_block_lift"),
    path("price-exceptions/", views.price_exceptions, name="price_exceptions"),
    path("monthly-reports/", views.monthly_reports, name="monthly_reports"),
    path("monthly-reports/missing/", views.missing_reports, name="missing_reports"),
    path("usage/", views.usage_list, name="usage"),
]
