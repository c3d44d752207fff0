"""URLconf for API tests while jicai/api/api.py does not mount the agreements router yet: the real API's
auth, renderer and error handlers with the agreements router added, plus every non-API URL of the site.
Once the router is mounted for real, the site's own URLconf is used unchanged."""

from django.urls import path

from jicai import urls as site_urls
from jicai.agreements.api import router
from jicai.api import api as api_module

MOUNTED = any(r is router for _, r in api_module.api._routers)

if MOUNTED:
    urlpatterns = site_urls.urlpatterns
else:
    test_api = api_module.JicaiAPI(
        title="集采全流程管理平台 API（协议测试）",
        version="agreements-test",
        auth=[api_module.BearerToken(), api_module.SessionActor()],
        renderer=api_module.Renderer(),
        urls_namespace="api",
    )
    test_api._exception_handlers = dict(api_module.api._exception_handlers)
    test_api.add_router("", router, tags=["agreements"])
    urlpatterns = [
        path("api/v1/", test_api.urls),
        *[p for p in site_urls.urlpatterns if not str(p.pattern).startswith("api/v1/")],
    ]
