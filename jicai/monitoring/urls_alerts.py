"""Alert pages (namespace `monitoring`): the list, one alert, and the explain/resolve/escalate steps."""

from django.urls import path

from jicai.monitoring import views_alerts as views

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert"),
    path("alerts/<int:alert_id>/<slug:step>/", views.alert_step, name="alert_step"),
]
