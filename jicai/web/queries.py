"""Reads for the home pages and the token page that belong to no single app: platform row counts, the
audit trail, and an organisation's API tokens. Scoped through accounts.access like every other query."""

from django.db.models import QuerySet

from jicai.accounts import access
from jicai.accounts.models import ApiToken, Organisation, User
from jicai.batches.models import Batch, Item, ItemFactor, ListingPrice, Substitute, Winner
from jicai.core.errors import NotFound
from jicai.core.models import AuditLog
from jicai.registry.models import Company, Consortium, Institution, Product, Region

MASTER_TABLES = [
    ("行政区划", Region),
    ("医疗机构", Institution),
    ("紧密型医共体", Consortium),
    ("企业", Company),
    ("产品", Product),
    ("集采批次", Batch),
    ("采购品种", Item),
    ("中选结果", Winner),
    ("折算系数", ItemFactor),
    ("可替代药品", Substitute),
    ("挂网价格", ListingPrice),
    ("机构账户", Organisation),
    ("用户", User),
    ("API 令牌", ApiToken),
]


def master_table_counts(actor) -> list[tuple[str, int]]:
    if not access.is_admin(actor):
        raise NotFound("未找到该记录，或您无权查看")
    return [(label, model.objects.count()) for label, model in MASTER_TABLES]


def recent_audit_rows(actor, limit: int = 20) -> QuerySet[AuditLog]:
    """Platform-wide for admins; otherwise the actor's own organisation's rows."""
    qs = AuditLog.objects.select_related("actor")
    if not access.is_admin(actor):
        qs = qs.filter(organisation_id=getattr(actor, "organisation_id", None))
    return qs.order_by("-at", "-id")[:limit]


def organisation_tokens(actor) -> QuerySet[ApiToken]:
    """The API tokens of the actor's own organisation (admins too: tokens are per organisation)."""
    org_id = getattr(actor, "organisation_id", None)
    if org_id is None:
        return ApiToken.objects.none()
    return (
        ApiToken.objects.filter(organisation_id=org_id).select_related("created_by").order_by("-created_at")
    )


def get_organisation_token(actor, token_id: int) -> ApiToken:
    return access.get_visible_or_404(organisation_tokens(actor), pk=token_id)
