"""Monitoring URLs: alerts (urls_alerts.py) and dashboards/notices/scorecards (urls_reports.py)."""

from jicai.monitoring import urls_alerts, urls_reports

app_name = "monitoring"
urlpatterns = [*urls_alerts.urlpatterns, *urls_reports.urlpatterns]
