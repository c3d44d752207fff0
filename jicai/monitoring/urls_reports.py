"""Dashboards, quarterly notices, supplier scorecards and credit records (namespace `monitoring`)."""

from django.urls import path

from jicai.monitoring import views_reports as views

urlpatterns = [
    path("dashboard/", views.dashboard_home, name="dashboard"),
    path("dashboard/regions/<str:code>/", views.dashboard_region, name="dashboard_region"),
    path(
        "dashboard/regions/<str:code>/substitute-trend/",
        views.dashboard_region_trend,
        name="dashboard_region_trend",
    ),
    path("dashboard/institutions/<str:code>/", views.dashboard_institution, name="dashboard_institution"),
    path("notices/", views.notice_index, name="notices"),
    path("notices/<str:code>/<str:quarter>/", views.notice_detail, name="notice"),
    path("scorecards/", views.scorecard_list, name="scorecards"),
    path(
        "scorecards/<str:supplier>/<str:batch>/<str:quarter>/",
        views.scorecard_detail,
        name="scorecard",
    ),
    path("credit/<str:supplier>/", views.credit_record, name="credit_record"),
]
