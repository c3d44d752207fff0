"""Monitoring API: alerts and facts (api_alerts.py), dashboards, notices and scorecards (api_reports.py)."""

from ninja import Router

from jicai.monitoring import api_alerts, api_reports

router = Router()
router.add_router("", api_alerts.router)
router.add_router("", api_reports.router)
