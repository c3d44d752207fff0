from django.urls import path

from jicai.core import views

app_name = "core"
urlpatterns = [
    path("", views.calendar_page, name="calendar"),
    path("template.csv", views.calendar_template, name="calendar_template"),
]
