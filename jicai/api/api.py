"""The NinjaAPI instance: bearer-token (or session) auth, the single error shape of SPEC §10, local Swagger UI
docs, and the routers each app contributes from its own api.py.

Every error under /api/v1/ — ours, ninja's own (validation, auth, 405) and unknown routes — answers
`{"error": {"code", "message", "details"}}` so clients need one parser."""

import json
import logging
from functools import update_wrapper
from pathlib import Path

import ninja
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import URLPattern, path, re_path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer, SessionAuth

from jicai.accounts import access
from jicai.accounts.access import TokenActor
from jicai.accounts.models import ApiToken
from jicai.core.errors import DomainError

logger = logging.getLogger(__name__)

NOT_FOUND_MESSAGE = "未找到该记录，或您无权查看"

# Codes for statuses raised by ninja or Django rather than by our DomainError subclasses.
HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
    429: "throttled",
}


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details if details is not None else []}}


def error_response(status: int, code: str, message: str, details=None) -> JsonResponse:
    """For the few places outside ninja's operation machinery (405, unknown routes)."""
    return JsonResponse(
        error_body(code, message, details), status=status, json_dumps_params={"ensure_ascii": False}
    )


# ---- authentication ----------------------------------------------------------------------------


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        row = (
            ApiToken.objects.select_related(
                "organisation", "organisation__region", "organisation__institution", "organisation__company"
            )
            .filter(key_hash=ApiToken.hash_key(token), revoked_at__isnull=True)
            .first()
        )
        if row is None:
            # A wrong or revoked token is refused outright instead of falling through to the session:
            # a client that sends a token must learn it no longer works. One message for both cases.
            raise AuthenticationError(message="访问令牌无效或已撤销")
        actor = TokenActor(organisation=row.organisation, role=row.role, token_id=row.pk)
        if not access.may_open_path(actor, request.path):
            raise Http404  # e.g. a doctor-role HIS token asking for the institution's orders
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.actor = actor
        return request.actor


class SessionActor(SessionAuth):
    """A browser user's Django session. CSRF is checked for unsafe methods (csrf=True), but only once we know
    there is a logged-in user, so an anonymous POST answers 401 rather than a CSRF 403."""

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request, key):
        request.actor = request.user
        return request.user


# ---- docs served without internet ----------------------------------------------------------------

# django-ninja ships Swagger UI in its package; "ninja" is not an installed app here, so the static finders
# do not see those files and ninja would fall back to a CDN page. We serve the few files ourselves.
NINJA_STATIC = Path(ninja.__file__).parent / "static" / "ninja"
DOCS_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
    "favicon.png": "image/png",
}


class LocalSwagger(DocsBase):
    # validatorUrl=None: Swagger UI would otherwise fetch a badge from validator.swagger.io.
    settings = {
        "layout": "BaseLayout",
        "deepLinking": True,
        "validatorUrl": None,
        "persistAuthorization": True,
    }

    def render_page(self, request, api, **kwargs):
        config = dict(self.settings, url=self.get_openapi_url(api, kwargs))
        namespace = api.urls_namespace
        return render(
            request,
            "api/swagger.html",
            {
                "api": api,
                "swagger_settings": json.dumps(config),
                "asset": {
                    name.replace("-", "_").replace(".", "_"): reverse(f"{namespace}:docs-asset", args=[name])
                    for name in DOCS_ASSETS
                },
            },
        )


def docs_asset(request, name: str):
    if name not in DOCS_ASSETS:
        return error_response(404, "not_found", "接口不存在")
    response = FileResponse(open(NINJA_STATIC / name, "rb"), content_type=DOCS_ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


# ---- the API -----------------------------------------------------------------------------------


def _json_405(view):
    """Ninja answers a known path with the wrong method with a plain-text 405; give it the error shape."""

    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = sorted(m.strip() for m in response["Allow"].split(",") if m.strip())
            json_response = error_response(
                405, "method_not_allowed", f"不支持 {request.method} 方法", [{"allowed": allowed}]
            )
            json_response["Allow"] = response["Allow"]
            return json_response
        return response

    if hasattr(view, "__name__"):
        update_wrapper(wrapped, view)
    wrapped.csrf_exempt = getattr(view, "csrf_exempt", False)
    return wrapped


@csrf_exempt
def unknown_route(request, *args, **kwargs):
    return error_response(404, "not_found", "接口不存在", [{"path": request.path}])


@csrf_exempt
def api_root(request, *args, **kwargs):
    """/api/v1/ itself: where the description lives (ninja's default raises a bare 404 here)."""
    namespace = api.urls_namespace
    return JsonResponse(
        {
            "name": api.title,
            "version": api.version,
            "docs": reverse(f"{namespace}:openapi-view"),
            "openapi": reverse(f"{namespace}:openapi-json"),
        },
        json_dumps_params={"ensure_ascii": False},
    )


class Renderer(JSONRenderer):
    # Chinese names readable on the wire; JSON is UTF-8 either way.
    json_dumps_params = {"ensure_ascii": False}


class JicaiAPI(NinjaAPI):
    def _get_urls(self):
        urls = [path("docs/assets/<str:name>", docs_asset, name="docs-asset")]
        for pattern in super()._get_urls():
            if isinstance(pattern, URLPattern) and pattern.name == "api-root":
                # Keep the name: ninja reverses "api-root" to find the path prefix for OpenAPI.
                pattern = URLPattern(pattern.pattern, api_root, pattern.default_args, pattern.name)
            elif isinstance(pattern, URLPattern):
                pattern = URLPattern(
                    pattern.pattern, _json_405(pattern.callback), pattern.default_args, pattern.name
                )
            urls.append(pattern)
        # Last: anything else under /api/v1/ is an unknown route, answered in the error shape, not HTML.
        urls.append(re_path(r"^.*$", unknown_route, name="unknown-route"))
        return urls


api = JicaiAPI(
    title="集采全流程管理平台 API",
    version="1",
    description=(
        "Jicai HTTP API (SPEC §10).\n\n"
        "* Authenticate with `Authorization: Bearer <token>` (per-organisation tokens, see `/tokens`), "
        "or with a logged-in browser session.\n"
        "* Every list is paginated: `?page=1&page_size=50` (page_size ≤ 500) → "
        '`{"count", "page", "page_size", "results"}`.\n'
        "* Field names equal the bulk-import CSV column names, so rows round-trip with `jicai import`.\n"
        "* Prices and amounts are JSON **strings** holding the exact decimal value (never floats).\n"
        '* Errors always have the shape `{"error": {"code", "message", "details"}}`. Objects outside your '
        "scope answer 404 exactly like missing ones."
    ),
    auth=[BearerToken(), SessionActor()],
    docs=LocalSwagger(),
    renderer=Renderer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, error_body(exc.code, exc.message, exc.details), status=exc.status)


@api.exception_handler(Http404)
def on_404(request, exc):
    return api.create_response(request, error_body("not_found", NOT_FOUND_MESSAGE), status=404)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc: AuthenticationError):
    message = (
        exc.message if exc.message != "Unauthorized" else "需要身份认证：请提供 Authorization: Bearer 令牌"
    )
    response = api.create_response(request, error_body("unauthorized", message), status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(DjangoPermissionDenied)
def on_permission_denied(request, exc):
    return api.create_response(request, error_body("forbidden", str(exc) or "无权执行该操作"), status=403)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    details = [
        {"loc": [str(p) for p in e.get("loc", [])], "reason": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors
    ]
    return api.create_response(request, error_body("validation_error", "请求数据无效", details), status=422)


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request, exc: MultiPartParserError):
    # Django parses the body lazily when ninja first reads request.FILES; a multipart body without a
    # boundary (or cut short) fails there. Upload operations document 400 for it.
    return api.create_response(
        request,
        error_body("invalid_upload", "上传内容格式无效：应为带 boundary 的 multipart/form-data", [str(exc)]),
        status=400,
    )


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
    return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)


@api.exception_handler(Exception)
def on_unexpected_error(request, exc: Exception):
    # Logged with the traceback; the client gets the error shape without internals.
    logger.exception("Unhandled error in API %s %s", request.method, request.path)
    return api.create_response(request, error_body("server_error", "服务器内部错误，请稍后重试"), status=500)


def register_routers():
    """Each app's api.py exposes `router`; imported here so the app list is in one place."""
    from importlib import import_module

    for app in (
        "accounts",
        "registry",
        "batches",
        "policy",
        "ingest",
        "demand",
        "agreements",
        "trade",
        "tickets",
        "monitoring",
        "hospital",
        "prescribing",
        "funds",
        "compliance",
    ):
        try:
            module = import_module(f"jicai.{app}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"jicai.{app}.api":
                raise
            continue
        # Routers define full resource paths (/institutions, /products, /imports/{kind}, …).
        api.add_router("", module.router, tags=[app])


register_routers()
