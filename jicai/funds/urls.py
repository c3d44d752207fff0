from django.urls import path

from jicai.funds import views

app_name = "funds"
urlpatterns = [
    path("standards/", views.standard_list, name="standards"),
    path("calculator/", views.calculator, name="calculator"),
]
