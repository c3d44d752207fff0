"""Scoped reads of agreed volumes, delivery relationships and purchase agreements.

Rows naming an institution are scoped with accounts.access.scope_by_parties (bureau: its subtree;
institution: itself, a consortium lead also its members; company: rows naming it as supplier or
distributor). Two rules built here on top of access.py: who may adjust a volume (a bureau whose subtree
contains the institution) and who sees delivery relationships.
"""

from django.db.models import Q, QuerySet

from jicai.accounts import access
from jicai.agreements.models import AgreedVolume, AgreementStatus, DeliveryRelationship, PurchaseAgreement
from jicai.batches.models import AgreementYear, Batch
from jicai.registry.models import Region

# Lists of volumes and agreements follow their unique key (agreement year, institution, item): the
# unique index then hands out a page without sorting the scope. Ordering by the joined codes (batch code,
# year number, institution code, item code) sorted every visible row first — 160–320 ms per page for the
# province bureau at medium scale. Years, institutions and items are created in code order, so the
# order a user sees is the same in practice.
LIST_ORDER = ("agreement_year_id", "institution_id", "item_id")

# ---- agreed volumes ------------------------------------------------------------------------------


def visible_volumes(actor) -> QuerySet[AgreedVolume]:
    return access.scope_by_parties(
        actor,
        AgreedVolume.objects.all(),
        institution="institution",
        supplier="supplier",
        consortium_members=True,
    )


def adjustable_volumes(actor) -> QuerySet[AgreedVolume]:
    """Only a bureau adjusts, and only volumes of institutions in its region subtree."""
    region = access.bureau_region(actor)
    if region is None:
        return AgreedVolume.objects.none()
    return AgreedVolume.objects.filter(access.region_subtree_q(region, "institution__region"))


def can_adjust(actor, volume: AgreedVolume) -> bool:
    return adjustable_volumes(actor).filter(pk=volume.pk).exists()


def _region_path(code: str) -> str | None:
    return Region.objects.filter(code=code).values_list("path", flat=True).first()


def list_volumes(
    actor,
    *,
    q: str = "",
    batch: str = "",
    year: str | int = "",
    item: str = "",
    institution: str = "",
    region: str = "",
    supplier: str = "",
    source: str = "",
    problem: str = "",
) -> QuerySet[AgreedVolume]:
    qs = visible_volumes(actor).select_related(
        "agreement_year__batch", "institution__region", "item", "supplier"
    )
    if q:
        qs = qs.filter(
            Q(institution__code__icontains=q)
            | Q(institution__name__icontains=q)
            | Q(item__item_code__icontains=q)
            | Q(item__generic_name__icontains=q)
        )
    if batch:
        qs = qs.filter(agreement_year__batch__code=batch)
    if str(year).strip():
        qs = qs.filter(agreement_year__number=int(year)) if str(year).strip().isdigit() else qs.none()
    if item:
        qs = qs.filter(item__item_code=item)
    if institution:
        qs = qs.filter(institution__code=institution)
    if region:
        path = _region_path(region)
        qs = qs.filter(institution__region__path__startswith=path) if path else qs.none()
    if supplier:
        qs = qs.filter(supplier__code=supplier)
    if source == "adjusted":
        qs = qs.filter(adjusted=True)
    elif source:
        qs = qs.filter(source=source)
    if problem == "no_supplier":
        qs = qs.filter(supplier__isnull=True)
    return qs.order_by(*LIST_ORDER)


def get_volume(actor, pk: int) -> AgreedVolume:
    return access.get_visible_or_404(
        visible_volumes(actor).select_related(
            "agreement_year__batch", "institution__region", "item", "supplier"
        ),
        pk=pk,
    )


def volume_adjustments(actor, volume: AgreedVolume):
    """The adjustment log of a volume the actor already sees."""
    return volume.adjustments.select_related("actor").order_by("at", "id")


# ---- purchase agreements ---------------------------------------------------------------------------


def visible_agreements(actor) -> QuerySet[PurchaseAgreement]:
    return access.scope_by_parties(
        actor,
        PurchaseAgreement.objects.all(),
        institution="institution",
        supplier="supplier",
        distributor="distributor",
        consortium_members=True,
    )


def list_agreements(
    actor,
    *,
    q: str = "",
    status: str = "",
    batch: str = "",
    year: str | int = "",
    item: str = "",
    institution: str = "",
    supplier: str = "",
    overdue_on=None,
) -> QuerySet[PurchaseAgreement]:
    qs = visible_agreements(actor).select_related(
        "agreement_year__batch", "institution__region", "item", "supplier", "distributor"
    )
    if q:
        qs = qs.filter(
            Q(institution__code__icontains=q)
            | Q(institution__name__icontains=q)
            | Q(item__item_code__icontains=q)
            | Q(item__generic_name__icontains=q)
            | Q(supplier__name__icontains=q)
        )
    if status:
        qs = qs.filter(status=status)
    if batch:
        qs = qs.filter(agreement_year__batch__code=batch)
    if str(year).strip():
        qs = qs.filter(agreement_year__number=int(year)) if str(year).strip().isdigit() else qs.none()
    if item:
        qs = qs.filter(item__item_code=item)
    if institution:
        qs = qs.filter(institution__code=institution)
    if supplier:
        qs = qs.filter(supplier__code=supplier)
    if overdue_on is not None:
        qs = qs.filter(due_date__lt=overdue_on).exclude(status=AgreementStatus.EFFECTIVE)
    return qs.order_by(*LIST_ORDER)


def get_agreement(actor, pk: int) -> PurchaseAgreement:
    return access.get_visible_or_404(
        visible_agreements(actor).select_related(
            "agreement_year__batch",
            "institution__region",
            "institution__consortium",
            "item",
            "supplier",
            "distributor",
            "institution_signed_by",
            "supplier_signed_by",
        ),
        pk=pk,
    )


def signing_party(actor, agreement: PurchaseAgreement) -> str | None:
    """ "institution" / "supplier" when the actor may sign this (visible) agreement now, else None."""
    from jicai.accounts.models import Role

    role = getattr(actor, "role", None)
    if access.institution_of(actor) is not None and role == Role.INSTITUTION:
        return "institution" if agreement.status == AgreementStatus.DRAFT else None
    company = access.company_of(actor)
    if company is not None and role == Role.MANUFACTURER and agreement.supplier_id == company.pk:
        return "supplier" if agreement.status == AgreementStatus.INSTITUTION_SIGNED else None
    return None


def batches_with_agreements(actor):
    """(code, label) of batches that have agreements the actor sees: the batch filter's choices.

    One probe per agreement year (a handful; a batch already found is not probed again), each a
    separate statement with the year as a constant so the unique index (agreement year, institution,
    item) answers it in well under a millisecond. A DISTINCT over every visible agreement read them all;
    EXISTS or a correlated sub-select let PostgreSQL hash or loop over every agreement or institution
    instead (1.1–2.1 s at province scale for the years without agreements)."""
    visible = visible_agreements(actor).order_by()
    found: set[int] = set()
    for year_id, batch_id in AgreementYear.objects.order_by("batch_id", "number").values_list(
        "pk", "batch_id"
    ):
        if batch_id not in found and visible.filter(agreement_year_id=year_id).exists():
            found.add(batch_id)
    rows = Batch.objects.filter(pk__in=found).order_by("code").values_list("code", "name")
    return [(code, f"{name}（{code}）") for code, name in rows]


# ---- delivery relationships -------------------------------------------------------------------------


def visible_relationships(actor) -> QuerySet[DeliveryRelationship]:
    """Supplier: its own; distributor company: those naming it; bureau: relationships of regions in its
    subtree or above it (a province-wide choice applies to its cities); institution: those covering its
    region; admin: all."""
    qs = DeliveryRelationship.objects.all()
    if access.is_admin(actor):
        return qs
    company = access.company_of(actor)
    if company is not None:
        return qs.filter(Q(supplier=company) | Q(distributor=company))
    region = access.bureau_region(actor)
    if region is None:
        institution = access.institution_of(actor)
        region = institution.region if institution is not None else None
        if region is None:
            return qs.none()
        return qs.filter(region__code__in=region.ancestor_codes())
    return qs.filter(Q(region__path__startswith=region.path) | Q(region__code__in=region.ancestor_codes()))


def list_relationships(actor, *, q: str = "", supplier: str = "", region: str = "") -> QuerySet:
    qs = visible_relationships(actor).select_related("supplier", "distributor", "region")
    if q:
        qs = qs.filter(
            Q(supplier__name__icontains=q) | Q(distributor__name__icontains=q) | Q(region__name__icontains=q)
        )
    if supplier:
        qs = qs.filter(supplier__code=supplier)
    if region:
        qs = qs.filter(region__code=region)
    return qs.order_by("supplier__code", "region__path")


def get_relationship(actor, *, supplier_code: str, region_code: str) -> DeliveryRelationship:
    return access.get_visible_or_404(
        visible_relationships(actor).select_related("supplier", "distributor", "region"),
        supplier__code=supplier_code,
        region__code=region_code,
    )


def distributor_choices():
    """Companies that deliver (distributor or both), for the manufacturer's relationship form."""
    from jicai.registry.models import Company, CompanyKind

    return Company.objects.filter(kind__in=[CompanyKind.DISTRIBUTOR, CompanyKind.BOTH]).order_by("name")


def supplier_regions(actor):
    """Regions where the acting manufacturer may choose distributors: the provinces it wins in and
    their cities and counties."""
    from jicai.batches.models import Winner

    company = access.company_of(actor)
    if company is None:
        return Region.objects.none()
    paths = list(
        Winner.objects.filter(product__manufacturer=company)
        .values_list("province__path", flat=True)
        .order_by()
        .distinct()
    )
    if not paths:
        return Region.objects.none()
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(path__startswith=path)
    return Region.objects.filter(q).order_by("path")
