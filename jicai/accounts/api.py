"""API for the acting organisation: who am I (`/me`) and the organisation's own API tokens (`/tokens`).

Token writes go through accounts.actions. They need a signed-in person (browser session): a token cannot
mint or revoke tokens, so a leaked key cannot make itself permanent, and every token write is audited
against a user. Doctors act for themselves, not for the institution's systems, so they manage no tokens."""

import datetime as dt
from typing import Literal

from ninja import Field, Query, Router, Schema

from jicai.accounts import access
from jicai.accounts import actions as account_actions
from jicai.accounts.access import TokenActor
from jicai.accounts.models import ApiToken, Role
from jicai.api.pagination import PageParams, optional_related, page_of, paginate, with_errors
from jicai.api.types import Id
from jicai.core.errors import PermissionDenied

router = Router()

RoleName = Literal["bureau", "institution", "doctor", "manufacturer", "distributor", "admin"]


# ---- schemas -----------------------------------------------------------------------------------


class OrganisationOut(Schema):
    id: int
    name: str
    kind: Literal["bureau", "institution", "company", "admin"]


class RegionRef(Schema):
    code: str
    name: str
    level: Literal["province", "city", "county"]


class MeOut(Schema):
    username: str | None = Field(..., description="登录用户名；令牌访问时为 null")
    auth: Literal["token", "session"]
    token_id: int | None
    role: RoleName
    kind: str | None = Field(..., description="机构类型 bureau/institution/company/admin")
    organisation: OrganisationOut | None
    region: RegionRef | None = Field(..., description="医保局的管辖地区，或医疗机构所在地区；企业为 null")
    institution_code: str | None
    company_code: str | None


class TokenOut(Schema):
    id: int
    name: str
    role: RoleName
    prefix: str = Field(..., description="令牌前 8 位，用于识别；完整令牌只在创建时返回一次")
    created_at: dt.datetime
    created_by: str | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    resolve_created_by = optional_related("created_by.username")


class TokenCreatedOut(TokenOut):
    key: str = Field(
        ..., description="完整令牌：仅此一次返回，平台只保存其哈希 / shown once, only a hash is stored"
    )


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=64, description="用途，如 HIS 接口")
    role: RoleName | None = Field(None, description="令牌代表的角色；默认与当前用户相同，须适用于本机构类型")


# ---- helpers -----------------------------------------------------------------------------------


def _require_token_manager(actor) -> None:
    if actor.role in (Role.DOCTOR, Role.DEPARTMENT_HEAD):
        raise PermissionDenied("医师、科主任账户不能管理访问令牌")
    if getattr(actor, "organisation", None) is None:
        raise PermissionDenied("当前账户不属于任何机构，不能管理访问令牌")


def _require_person(actor) -> None:
    if isinstance(actor, TokenActor):
        raise PermissionDenied("创建或撤销访问令牌须由登录用户操作，令牌本身不能创建或撤销令牌")


def _own_tokens(actor):
    return ApiToken.objects.filter(organisation_id=actor.organisation_id).select_related("created_by")


# ---- endpoints ---------------------------------------------------------------------------------


@router.get("/me", response=with_errors(MeOut), summary="当前身份（机构、类型、角色、地区）")
def me(request):
    actor = request.actor
    org = getattr(actor, "organisation", None)
    region = access.bureau_region(actor) if org is not None else None
    institution = access.institution_of(actor) if org is not None else None
    company = access.company_of(actor) if org is not None else None
    if region is None and institution is not None:
        region = institution.region
    is_token = isinstance(actor, TokenActor)
    return {
        "username": None if is_token else actor.username,
        "auth": "token" if is_token else "session",
        "token_id": actor.token_id if is_token else None,
        "role": actor.role,
        "kind": org.kind if org is not None else None,
        "organisation": org,
        "region": region,
        "institution_code": institution.code if institution else None,
        "company_code": company.code if company else None,
    }


@router.get("/tokens", response=with_errors(page_of(TokenOut), 403), summary="本机构的访问令牌")
def list_tokens(
    request,
    paging: Query[PageParams],
    active: bool | None = Query(None, description="true 只列未撤销的，false 只列已撤销的"),
):
    _require_token_manager(request.actor)
    qs = _own_tokens(request.actor)
    if active is not None:
        qs = qs.filter(revoked_at__isnull=active)
    return paginate(qs.order_by("-created_at", "-id"), paging)


@router.post(
    "/tokens", response=with_errors(TokenCreatedOut, 400, 403, ok_status=201), summary="创建访问令牌"
)
def create_token(request, payload: TokenIn):
    actor = request.actor
    _require_token_manager(actor)
    _require_person(actor)
    token, key = account_actions.create_api_token(
        actor=actor, organisation=actor.organisation, name=payload.name, role=payload.role
    )
    token = _own_tokens(actor).get(pk=token.pk)
    token.key = key
    return 201, token


@router.delete(
    "/tokens/{token_id}", response=with_errors(None, 403, 404, ok_status=204), summary="撤销访问令牌"
)
def revoke_token(request, token_id: Id):
    actor = request.actor
    _require_token_manager(actor)
    _require_person(actor)
    # Another organisation's token is simply not in this queryset: 404, nothing revoked.
    token = access.get_visible_or_404(_own_tokens(actor), pk=token_id)
    account_actions.revoke_api_token(actor=actor, token=token)
    return 204, None
