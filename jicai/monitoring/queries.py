"""Reads of alerts and facts, scoped (SPEC §9): the subject institution sees its alerts, the supplier
named sees those naming it, a bureau those of institutions in its subtree, admins all. Supplier-only
alerts (no institution, e.g. LATE_SUPPLIER_REPORT) are seen by bureaus of provinces where the supplier holds
a supply winner — a rule written here on top of accounts.access because access.py has no such rule."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from jicai.accounts import access
from jicai.accounts.models import OrganisationKind
from jicai.batches.models import SUPPLY_ROLES, Winner
from jicai.monitoring.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    AlertType,
    DeliveryFact,
    Escalation,
    ProgressFact,
)


def visible_alert_parts(actor) -> list[Q]:
    """The actor's alerts as disjoint conditions (no alert meets two): `visible_alerts` is their OR, and
    a count over many alerts sums one count per part, each of which an index or one join serves — the OR
    of conditions on different tables made PostgreSQL evaluate every alert (1.4 s for the province
    bureau's dashboard at province scale)."""
    if access.is_admin(actor):
        return [Q()]
    org_kind = access.kind(actor)
    if org_kind == OrganisationKind.BUREAU:
        region = actor.organisation.region
        province_code = region.province_code
        own = (
            Q(institution__isnull=False)
            if access.holds_every_institution(actor)
            else Q(institution__region__path__startswith=region.path)
        )
        if region.level != "province":
            # Supplier-only and listing alerts (monthly reports, listing prices) are the province's business;
            # this also keeps the alert list in step with the dashboards' region counts.
            return [own]
        supplier_in_province = Exists(
            Winner.objects.filter(
                product__manufacturer=OuterRef("supplier"),
                province__code=province_code,
                role__in=SUPPLY_ROLES,
            )
        )
        supplier_only = Q(institution__isnull=True, supplier__isnull=False) & Q(supplier_in_province)
        listing = Q(institution__isnull=True, supplier__isnull=True, province__code=province_code)
        return [own, supplier_only, listing]
    if org_kind == OrganisationKind.INSTITUTION:
        return [Q(institution=actor.organisation.institution)]
    if org_kind == OrganisationKind.COMPANY:
        company = actor.organisation.company
        return [Q(supplier=company), Q(product__manufacturer=company) & ~Q(supplier=company)]
    return []


def visible_alerts(actor) -> QuerySet[Alert]:
    parts = visible_alert_parts(actor)
    if not parts:
        return Alert.objects.none()
    condition = parts[0]
    for part in parts[1:]:
        condition |= part
    return Alert.objects.filter(condition)


def list_alerts(
    actor,
    *,
    type: str = "",
    status: str = "",
    escalation: str = "",
    region: str = "",
    supplier: str = "",
    item: str = "",
    q: str = "",
) -> QuerySet[Alert]:
    """The actor's alerts with the list filters. `status` "active" means open or explained; `escalation`
    "none" means not escalated yet; `item` matches the item code (codes are unique within a batch, so the
    same code of several batches matches all of them)."""
    qs = visible_alerts(actor).select_related(
        "institution", "item", "item__batch", "supplier", "product", "agreement_year", "batch"
    )
    if type:
        qs = qs.filter(type=type)
    if status == "active":
        qs = qs.filter(status__in=(AlertStatus.OPEN, AlertStatus.EXPLAINED))
    elif status:
        qs = qs.filter(status=status)
    if escalation == "none":
        qs = qs.filter(escalation=Escalation.NONE)
    elif escalation:
        qs = qs.filter(escalation=escalation)
    if item:
        qs = qs.filter(item__item_code=item)
    if region:
        qs = qs.filter(Q(institution__region__path__contains=f"{region}/") | Q(province__code=region))
    if supplier:
        qs = qs.filter(supplier__code=supplier)
    if q:
        qs = qs.filter(
            Q(institution__name__icontains=q)
            | Q(institution__code=q)
            | Q(supplier__name__icontains=q)
            | Q(item__generic_name__icontains=q)
            | Q(order_id=q)
        )
    return qs.order_by("-last_seen_on", "type", "id")


def get_alert(actor, alert_id: int) -> Alert:
    return access.get_visible_or_404(
        visible_alerts(actor).select_related(
            "institution",
            "institution__region",
            "item",
            "item__batch",
            "supplier",
            "product",
            "agreement_year",
            "batch",
            "province",
        ),
        pk=alert_id,
    )


def alert_events(alert: Alert) -> QuerySet[AlertEvent]:
    return alert.events.select_related("actor").order_by("at", "id")


def can_explain(actor, alert: Alert) -> bool:
    """The subject explains: the institution named, or the supplier for supplier-subject alerts."""
    institution = access.institution_of(actor)
    if institution is not None and alert.institution_id == institution.pk:
        return getattr(actor, "role", None) == "institution"
    company = access.company_of(actor)
    return company is not None and alert.supplier_id == company.pk and alert.type in SUPPLIER_SUBJECT


SUPPLIER_SUBJECT = {
    AlertType.LOW_DELIVERY_RATE,
    AlertType.LATE_SUPPLIER_REPORT,
    AlertType.TICKET_REPLY_OVERDUE,
    AlertType.TICKET_FIX_OVERDUE,
    AlertType.UNSIGNED_AGREEMENT,
}


def can_govern(actor, alert: Alert) -> bool:
    """The bureau of the alert's region acts on it (resolve, escalate): a bureau whose subtree holds the
    institution, or for supplier-only alerts a bureau of the alert's province; admins too."""
    if access.is_admin(actor):
        return True
    region = access.bureau_region(actor)
    if region is None:
        return False
    if alert.institution_id is not None:
        return alert.institution.region.path.startswith(region.path)
    return (
        alert.province_id is not None
        and alert.province.code == region.province_code
        and region.level == "province"
    )


def visible_progress_facts(actor) -> QuerySet[ProgressFact]:
    return access.scope_by_parties(
        actor, ProgressFact.objects.all(), institution="institution"
    ).select_related("institution", "item", "agreement_year", "dated")


def visible_delivery_facts(actor) -> QuerySet[DeliveryFact]:
    return access.scope_by_parties(
        actor, DeliveryFact.objects.all(), institution="institution", supplier="supplier"
    ).select_related("institution", "supplier", "agreement_year", "dated")
