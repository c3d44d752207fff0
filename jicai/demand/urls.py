"""Demand reporting pages, mounted at /demand/."""

from django.urls import path

from jicai.demand import views

app_name = "demand"
urlpatterns = [
    path("", views.window_list, name="windows"),
    path("windows/new/", views.window_create, name="window_create"),
    path("windows/<int:pk>/", views.window_detail, name="window"),
    path("windows/<int:pk>/remind/", views.window_remind, name="window_remind"),
    path("windows/<int:pk>/submit-all/", views.window_submit_all, name="window_submit_all"),
    path("reports/", views.report_list, name="reports"),
    path("queue/", views.review_queue, name="queue"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/xlsx/", views.report_xlsx, name="report_xlsx"),
    path("reports/<int:pk>/upload/", views.report_upload, name="report_upload"),
    path("reports/<int:pk>/approve/", views.report_approve, name="report_approve"),
    path("reports/<int:pk>/return/", views.report_return, name="report_return"),
]
