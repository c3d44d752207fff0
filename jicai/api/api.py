"""The NinjaAPI instance: bearer-token (or session) auth, the single error shape of SPEC §10, and the
routers each app contributes from its own api.py."""

from django.http import Http404
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, django_auth

from jicai.accounts.access import TokenActor
from jicai.accounts.models import ApiToken
from jicai.core.errors import DomainError


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        row = (
            ApiToken.objects.select_related("organisation", "organisation__region", "organisation__institution",
                                            "organisation__company")
            .filter(key_hash=ApiToken.hash_key(token), revoked_at__isnull=True)
            .first()
        )
        if row is None:
            return None
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.actor = TokenActor(organisation=row.organisation, role=row.role, token_id=row.pk)
        return request.actor


def session_auth(request):
    user = django_auth(request)
    if user:
        request.actor = request.user
    return user


api = NinjaAPI(
    title="集采全流程管理平台 API",
    version="1",
    description="Jicai HTTP API (SPEC §10). Authenticate with `Authorization: Bearer <token>`.",
    auth=[BearerToken(), session_auth],
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details if details is not None else []}}


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, error_body(exc.code, exc.message, exc.details), status=exc.status)


@api.exception_handler(Http404)
def on_404(request, exc):
    return api.create_response(request, error_body("not_found", "未找到该记录，或您无权查看"), status=404)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return api.create_response(request, error_body("unauthorized", "缺少或无效的访问令牌"), status=401)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    details = [
        {"loc": [str(p) for p in e.get("loc", [])], "reason": e.get("msg", "")} for e in exc.errors
    ]
    return api.create_response(request, error_body("validation_error", "请求数据无效", details), status=422)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return api.create_response(request, error_body("http_error", str(exc)), status=exc.status_code)


def register_routers():
    """Each app's api.py exposes `router`; imported here so the app list is in one place."""
    from importlib import import_module

    for app in ("registry", "batches", "policy", "ingest", "accounts"):
        try:
            module = import_module(f"jicai.{app}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"jicai.{app}.api":
                raise
            continue
        # Routers define full resource paths (/institutions, /products, /imports/{kind}, …).
        api.add_router("", module.router, tags=[app])


register_routers()
