"""Scoped reads of master data for web pages and the API (scoping itself lives in accounts.access)."""

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery

from jicai.accounts import access
from jicai.registry.models import Company, Consortium, Institution, InstitutionLevel, Product, Region


def list_regions(actor, *, q: str = "", level: str = "", parent: str = "") -> QuerySet[Region]:
    qs = access.visible_regions(actor).select_related("parent")
    if q:
        qs = qs.filter(Q(code__startswith=q) | Q(name__icontains=q))
    if level:
        qs = qs.filter(level=level)
    if parent:
        qs = qs.filter(parent__code=parent)
    return qs.order_by("code")


def get_region(actor, code: str) -> Region:
    return access.get_visible_or_404(access.visible_regions(actor).select_related("parent"), code=code)


def list_institutions(
    actor, *, q: str = "", region: str = "", level: str = "", ownership: str = "", consortium: str = ""
) -> QuerySet[Institution]:
    qs = access.visible_institutions(actor).select_related("region", "consortium")
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if region:
        reg = Region.objects.filter(code=region).only("path").first()
        qs = qs.filter(region__path__startswith=reg.path) if reg else qs.none()
    if level:
        qs = qs.filter(level=level)
    if ownership:
        qs = qs.filter(ownership=ownership)
    if consortium:
        qs = qs.filter(consortium__code=consortium)
    return qs.order_by("code")


def get_institution(actor, code: str) -> Institution:
    return access.get_visible_or_404(
        access.visible_institutions(actor).select_related("region", "consortium", "consortium__lead"),
        code=code,
    )


def visible_consortia(actor) -> QuerySet[Consortium]:
    """A consortium is visible when its lead institution is."""
    return Consortium.objects.filter(lead__in=access.visible_institutions(actor))


def list_consortia(actor, *, q: str = "") -> QuerySet[Consortium]:
    qs = (
        visible_consortia(actor)
        .select_related("lead", "lead__region")
        .annotate(member_count=Count("members"))
    )
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return qs.order_by("code")


def get_consortium(actor, code: str) -> Consortium:
    return access.get_visible_or_404(visible_consortia(actor).select_related("lead"), code=code)


def list_companies(actor, *, q: str = "", kind: str = "") -> QuerySet[Company]:
    qs = access.visible_companies(actor)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("code")


def get_company(actor, code: str) -> Company:
    return access.get_visible_or_404(access.visible_companies(actor), code=code)


def list_products(
    actor, *, q: str = "", category: str = "", manufacturer: str = "", dosage_form_group: str = ""
) -> QuerySet[Product]:
    """Products are public catalogue data (NHSA codes); every signed-in user sees them."""
    qs = Product.objects.select_related("manufacturer")
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(generic_name__icontains=q) | Q(spec__icontains=q))
    if category:
        qs = qs.filter(category=category)
    if manufacturer:
        qs = qs.filter(manufacturer__code=manufacturer)
    if dosage_form_group:
        qs = qs.filter(dosage_form_group=dosage_form_group)
    return qs.order_by("code")


def get_product(actor, code: str) -> Product:
    return access.get_visible_or_404(Product.objects.select_related("manufacturer"), code=code)


# ---- web pages (home, detail) ----------------------------------------------------------------------


class SubqueryCount(Subquery):
    """COUNT(*) of a correlated subquery: one query for a list of parents, not one per parent."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


def institution_level_counts(actor, *, region: Region | None = None) -> list[tuple[str, str, int]]:
    """[(level, Chinese label, count)] of the visible institutions (in region's subtree when given), every
    level listed in the fixed order 三级 → 基层 even when zero, so charts keep their axis."""
    qs = access.visible_institutions(actor)
    if region is not None:
        qs = qs.filter(region__path__startswith=region.path)
    counts = dict(qs.order_by().values_list("level").annotate(n=Count("id")))
    return [(value, label, counts.get(value, 0)) for value, label in InstitutionLevel.choices]


def child_regions_with_counts(actor, region: Region) -> QuerySet[Region]:
    """Visible children of region, each with `institution_count` = visible institutions in its subtree."""
    in_subtree = (
        access.visible_institutions(actor).filter(region__path__startswith=OuterRef("path")).values("pk")
    )
    return (
        access.visible_regions(actor)
        .filter(parent=region)
        .annotate(institution_count=SubqueryCount(in_subtree))
        .order_by("code")
    )


def region_institution_count(actor, region: Region) -> int:
    return access.visible_institutions(actor).filter(region__path__startswith=region.path).count()


def consortium_members(actor, consortium: Consortium) -> QuerySet[Institution]:
    return (
        access.visible_institutions(actor)
        .filter(consortium=consortium)
        .select_related("region")
        .order_by("code")
    )


def consortium_of_lead(actor, institution: Institution) -> Consortium | None:
    """The consortium this institution leads, if any (and visible)."""
    return visible_consortia(actor).filter(lead=institution).first()


def company_products(actor, company: Company) -> QuerySet[Product]:
    return list_products(actor, manufacturer=company.code)
