"""Writes for organisations, users and API tokens (one writer each; every write audited)."""

from django.db import transaction
from django.utils import timezone

from jicai.accounts.models import ROLES_BY_KIND, ApiToken, Organisation, OrganisationKind, Role, User
from jicai.core import audit
from jicai.core.errors import DomainError
from jicai.registry.models import Company, Institution, Region


@transaction.atomic
def create_organisation(
    *,
    actor,
    kind: str,
    name: str = "",
    region: Region | None = None,
    institution: Institution | None = None,
    company: Company | None = None,
) -> Organisation:
    if kind == OrganisationKind.BUREAU and region is None:
        raise DomainError("医保局必须指定管辖地区")
    if kind == OrganisationKind.INSTITUTION and institution is None:
        raise DomainError("医疗机构账户必须关联医疗机构")
    if kind == OrganisationKind.COMPANY and company is None:
        raise DomainError("企业账户必须关联企业")
    if not name:
        name = {
            OrganisationKind.BUREAU: f"{region.name}医疗保障局" if region else "",
            OrganisationKind.INSTITUTION: institution.name if institution else "",
            OrganisationKind.COMPANY: company.name if company else "",
            OrganisationKind.ADMIN: "平台运营中心",
        }[kind]
    org = Organisation.objects.create(
        kind=kind, name=name, region=region, institution=institution, company=company
    )
    audit.record(actor=actor, action="create_organisation", obj=org, summary=name)
    return org


@transaction.atomic
def create_user(
    *, actor, username: str, password: str, organisation: Organisation, role: str, full_name: str = ""
) -> User:
    if role not in ROLES_BY_KIND[organisation.kind]:
        raise DomainError(f"角色“{Role(role).label}”不适用于{organisation.get_kind_display()}")
    user = User(
        username=username,
        organisation=organisation,
        role=role,
        full_name=full_name,
        is_staff=(role == Role.ADMIN),
        is_superuser=(role == Role.ADMIN),
    )
    user.set_password(password)
    user.save()
    audit.record(actor=actor, action="create_user", obj=user, summary=f"{username} {role}")
    return user


@transaction.atomic
def create_api_token(
    *, actor, organisation: Organisation, name: str, role: str | None = None
) -> tuple[ApiToken, str]:
    """Returns the token row and the plain key, which is shown once and never stored."""
    allowed = ROLES_BY_KIND[organisation.kind]
    role = role or (actor.role if getattr(actor, "role", None) in allowed else sorted(allowed)[0])
    if role not in allowed:
        raise DomainError("令牌角色与机构类型不符")
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        organisation=organisation,
        name=name,
        role=role,
        prefix=key[: ApiToken.PREFIX_LEN],
        key_hash=ApiToken.hash_key(key),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit.record(actor=actor, action="create_api_token", obj=token, summary=name)
    return token, key


@transaction.atomic
def revoke_api_token(*, actor, token: ApiToken) -> None:
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if updated:
        audit.record(actor=actor, action="revoke_api_token", obj=token, summary=token.name)
