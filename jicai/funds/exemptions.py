"""Assessment exemptions edited by the bureau (SPEC §12, Henan 四): always with a reason, only inside its own
subtree; the import `exemptions` writes the same rows."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from jicai.accounts import access
from jicai.batches.models import AgreementYear, Item
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound
from jicai.funds.models import Exemption, ExemptionMode
from jicai.registry.models import Institution, Region


def visible_exemptions(actor, year: AgreementYear):
    qs = Exemption.objects.filter(agreement_year=year).select_related("item", "institution", "region")
    if access.is_admin(actor):
        return qs
    region = access.bureau_region(actor)
    if region is None:
        raise NotFound("未找到该记录，或您无权查看")
    return qs.filter(
        Q(region__path__startswith=region.path) | Q(institution__region__path__startswith=region.path)
    )


def _scope(actor, scope_code: str):
    institution = Institution.objects.select_related("region").filter(code=scope_code).first()
    region = None if institution else Region.objects.filter(code=scope_code).first()
    if institution is None and region is None:
        raise DomainError(f"机构或地区不存在：{scope_code}")
    path = institution.region.path if institution else region.path
    own = access.bureau_region(actor)
    if not access.is_admin(actor) and (own is None or not path.startswith(own.path)):
        raise NotFound("未找到该机构或地区，或您无权管理")
    return institution, region


@transaction.atomic
def save_exemption(
    *,
    actor,
    year: AgreementYear,
    item_code: str,
    scope_code: str,
    mode: str,
    target_share: Decimal | None,
    reason: str,
) -> Exemption:
    if not (access.is_bureau(actor) or access.is_admin(actor)):
        raise NotFound("未找到该记录，或您无权查看")
    institution, region = _scope(actor, scope_code.strip())
    item = Item.objects.filter(batch=year.batch, item_code=item_code.strip()).first()
    if item is None:
        raise DomainError(f"品种不存在：{year.batch.code} / {item_code}")
    reason = reason.strip()
    if not reason:
        raise DomainError("请填写豁免原因")
    if mode not in ExemptionMode.values:
        raise DomainError("豁免方式应为 exclude 或 share")
    if mode == ExemptionMode.SHARE:
        if target_share is None or not Decimal(0) < target_share <= 1:
            raise DomainError("按中选占比考核时目标占比应大于 0 且不超过 1")
    else:
        target_share = None
    exemption, created = Exemption.objects.update_or_create(
        agreement_year=year,
        item=item,
        institution=institution,
        region=region,
        defaults={"mode": mode, "target_share": target_share, "reason": reason[:255]},
    )
    audit.record(
        actor=actor,
        action="funds.save_exemption",
        obj=exemption,
        summary=f"{item.item_code} 对 {scope_code} {exemption.get_mode_display()}：{reason}",
        changes={
            "mode": mode,
            "target_share": str(target_share) if target_share else None,
            "created": created,
        },
    )
    return exemption


@transaction.atomic
def delete_exemption(*, actor, exemption_id: int, year: AgreementYear) -> None:
    exemption = visible_exemptions(actor, year).filter(pk=exemption_id).first()
    if exemption is None:
        raise NotFound("未找到该记录，或您无权查看")
    audit.record(actor=actor, action="funds.delete_exemption", obj=exemption, summary=f"撤销豁免 {exemption}")
    exemption.delete()
