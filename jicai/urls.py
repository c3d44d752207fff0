"""Top-level URLs: each app owns its urls.py; the API collects each app's router in jicai/api/api.py."""

from django.contrib import admin
from django.urls import include, path

from jicai.api.api import api
from jicai.prescribing import cds

admin.site.site_header = "集采全流程管理平台 · 运维后台"
admin.site.site_title = "集采平台后台"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("registry/", include("jicai.registry.urls")),
    path("batches/", include("jicai.batches.urls")),
    path("policy/", include("jicai.policy.urls")),
    path("demand/", include("jicai.demand.urls")),
    path("agreements/", include("jicai.agreements.urls")),
    path("trade/", include("jicai.trade.urls")),
    path("tickets/", include("jicai.tickets.urls")),
    path("monitoring/", include("jicai.monitoring.urls")),
    path("hospital/", include("jicai.hospital.urls")),
    path("prescribing/", include("jicai.prescribing.urls")),
    path("cds-services", cds.discovery, name="cds-discovery"),
    path("cds-services/vbp-prompt", cds.service_view, name="cds-vbp-prompt"),
    path("cds-services/vbp-prompt/feedback", cds.feedback_view, name="cds-vbp-feedback"),
    path("funds/", include("jicai.funds.urls")),
    path("compliance/", include("jicai.compliance.urls")),
    path("imports/", include("jicai.ingest.urls")),
    path("accounts/", include("jicai.accounts.urls")),
    path("calendar/", include("jicai.core.urls")),
    path("", include("jicai.web.urls")),
    path("", include("jicai.home.urls")),
]
