"""All scoping lives here (SPEC §9). Queries, views and API endpoints ask these functions what an actor
may see; anything outside answers 404 (`get_visible_or_404`), so existence is not revealed.

An *actor* is a logged-in `User` or an API-token actor: both have `organisation` and `role`.
"""

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from jicai.accounts.models import Organisation, OrganisationKind, Role
from jicai.core.errors import NotFound
from jicai.registry.models import Company, Institution, Region


@dataclass
class TokenActor:
    """The actor behind an API token: acts for its organisation in the token's role."""

    organisation: Organisation
    role: str
    token_id: int
    is_authenticated: bool = True
    pk = None

    @property
    def organisation_id(self) -> int:
        return self.organisation.pk

    @property
    def is_superuser(self) -> bool:
        return False


def kind(actor) -> str | None:
    org = getattr(actor, "organisation", None)
    return org.kind if org is not None else None


def is_admin(actor) -> bool:
    return bool(getattr(actor, "is_superuser", False)) or getattr(actor, "role", None) == Role.ADMIN


def is_bureau(actor) -> bool:
    return kind(actor) == OrganisationKind.BUREAU


def bureau_region(actor) -> Region | None:
    return actor.organisation.region if is_bureau(actor) else None


def institution_of(actor) -> Institution | None:
    return actor.organisation.institution if kind(actor) == OrganisationKind.INSTITUTION else None


def company_of(actor) -> Company | None:
    return actor.organisation.company if kind(actor) == OrganisationKind.COMPANY else None


def region_subtree_q(region: Region, field: str = "region") -> Q:
    """Q for rows whose `field` (a Region foreign key) lies in region's subtree, region included."""
    return Q(**{f"{field}__path__startswith": region.path})


# ---- master data -------------------------------------------------------------------------------


def visible_regions(actor) -> QuerySet[Region]:
    """Admins and non-bureau users see the whole public region tree; a bureau sees its subtree."""
    qs = Region.objects.all()
    region = bureau_region(actor)
    if region is not None and not is_admin(actor):
        qs = qs.filter(path__startswith=region.path)
    return qs


def visible_institutions(actor) -> QuerySet[Institution]:
    """Bureau: its subtree. Institution: itself, and a consortium lead also its members.
    Company: institutions of the provinces where it holds a winning role (its customers). Admin: all."""
    qs = Institution.objects.all()
    if is_admin(actor):
        return qs
    org_kind = kind(actor)
    if org_kind == OrganisationKind.BUREAU:
        return qs.filter(region_subtree_q(actor.organisation.region))
    if org_kind == OrganisationKind.INSTITUTION:
        own = actor.organisation.institution
        members = Q(consortium__lead=own) if own.consortium_id and _is_lead(own) else Q(pk__in=[])
        return qs.filter(Q(pk=own.pk) | members)
    if org_kind == OrganisationKind.COMPANY:
        from jicai.batches.models import Winner

        province_paths = (
            Winner.objects.filter(product__manufacturer=actor.organisation.company)
            .values_list("province__path", flat=True)
            .distinct()
        )
        q = Q(pk__in=[])
        for path in province_paths:
            q |= Q(region__path__startswith=path)
        return qs.filter(q)
    return qs.none()


def _is_lead(institution: Institution) -> bool:
    return institution.consortium is not None and institution.consortium.lead_id == institution.pk


def visible_companies(actor) -> QuerySet[Company]:
    """Company names and codes are public (tender results); everyone signed in sees them."""
    return Company.objects.all()


def can_manage_master_data(actor) -> bool:
    """Regions, institutions, companies, products: platform admins only."""
    return is_admin(actor)


def can_manage_batches(actor) -> bool:
    """Batches, winners, substitutes, listing prices: admins and province bureaus."""
    if is_admin(actor):
        return True
    region = bureau_region(actor)
    return region is not None and region.level == "province"


# Transaction kinds and who may send them; row-level checks (an institution sends only its own rows, a
# company only rows naming it) are made by each schema with `institution_of` / `company_of`.
TRANSACTION_IMPORTERS = {
    "agreed-volumes": {OrganisationKind.BUREAU},
    "history": {OrganisationKind.BUREAU},
    "orders": {OrganisationKind.INSTITUTION},
    "receipts": {OrganisationKind.INSTITUTION},
    "payments": {OrganisationKind.INSTITUTION},
    "usage": {OrganisationKind.INSTITUTION},
    "deliveries": {OrganisationKind.COMPANY},
    "exemptions": {OrganisationKind.BUREAU},
}


def can_import(actor, import_kind: str) -> bool:
    """Which import kinds an actor may load."""
    if import_kind in {"regions", "institutions", "companies", "products"}:
        return can_manage_master_data(actor)
    if import_kind in {"batches", "items", "winners", "substitutes", "listing-prices", "reference-prices"}:
        return can_manage_batches(actor)
    if import_kind in {"departments", "doctors"}:
        return is_admin(actor) or is_pharmacy(actor)
    if import_kind in TRANSACTION_IMPORTERS:
        if getattr(actor, "role", None) in (Role.DOCTOR, Role.DEPARTMENT_HEAD):  # clinicians prescribe
            return False
        return is_admin(actor) or kind(actor) in TRANSACTION_IMPORTERS[import_kind]
    return False


# ---- doctors (SPEC §1, §9: a doctor sees own quota, prompts and the catalogue, nothing else) -------------

# Paths a doctor may open, web and API. Everything else answers 404 for a doctor — also pages added later,
# until they are listed here: the institution's orders, payables, agreements, deliveries, tickets, alerts,
# reports, imports and API tokens are the pharmacy's, not the prescriber's. Master data (regions,
# institutions, companies, products) is public tender information and stays open.
DOCTOR_OPEN_PATHS = re.compile(
    r"""^/(?:
        $|login/|logout/|static/                                   # home, sign-in, assets
        |registry/|batches/        # catalogue: products, makers, batches, winners; the public directory
        |quotas?/|prompts/                                         # own quota and prompts (SPEC §11)
        |hospital/                  # own targets (jicai.hospital scopes them per doctor / department)
        |prescribing/(?:$|doctors/)                # own prompts and outcomes (jicai.prescribing, SPEC §11)
        |cds-services(?:/|$)                                       # CDS Hooks prompt service (SPEC §11)
        |api/v1/(?:$|me$|openapi\.json$|docs(?:/|$)
            |(?:products|companies|regions|institutions|consortia|batches)(?:/|$)
            |winners$|substitutes$|listing-prices$
            |prompts(?:/|$)|quotas(?:/|$)
            |departments$|doctors$|department-targets/)
    )""",
    re.VERBOSE,
)


def is_doctor(actor) -> bool:
    """A clinician: a doctor or a department head (SPEC §1, §11). Both see their own targets, prompts and
    the catalogue, never the institution's orders, payables or agreements."""
    return getattr(actor, "role", None) in (Role.DOCTOR, Role.DEPARTMENT_HEAD) and not is_admin(actor)


def doctor_may_open(path: str) -> bool:
    return bool(DOCTOR_OPEN_PATHS.match(path))


def may_open_path(actor, path: str) -> bool:
    """False when the actor's role keeps it away from this page or endpoint altogether (→ 404)."""
    return not is_doctor(actor) or doctor_may_open(path)


def get_visible_or_404(queryset: QuerySet, **lookup):
    """The one object matching lookup inside an already-scoped queryset, else NotFound (→ 404)."""
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise NotFound("未找到该记录，或您无权查看")
    return obj


# ---- transactions (demand, agreements, orders …) ------------------------------------------------------


def scope_by_parties(
    actor,
    qs: QuerySet,
    *,
    institution: str,
    supplier: str | None = None,
    distributor: str | None = None,
    consortium_members: bool = False,
) -> QuerySet:
    """The one scoping rule for rows that name an institution and possibly a supplier/distributor
    (SPEC §9): admin all; bureau its region subtree; institution itself (a consortium lead also its
    members when `consortium_members`); a company the rows naming it as supplier or distributor."""
    if is_admin(actor):
        return qs
    if is_doctor(actor):
        return qs.none()  # a prescriber sees no orders, agreements, payables … of its institution
    org_kind = kind(actor)
    if org_kind == OrganisationKind.BUREAU:
        if holds_every_institution(actor):
            if _never_null(qs.model, institution):
                return qs
            return qs.filter(**{f"{institution}__isnull": False})
        return qs.filter(**{f"{institution}__region__path__startswith": actor.organisation.region.path})
    if org_kind == OrganisationKind.INSTITUTION:
        own = actor.organisation.institution
        if consortium_members and own.consortium_id and _is_lead(own):
            # The members' ids, not `id = own OR consortium = X`: the OR spans the joined institution
            # table, so no index serves it and every row of the table was read.
            members = Institution.objects.filter(consortium_id=own.consortium_id).values_list("pk", flat=True)
            return qs.filter(**{f"{institution}_id__in": {own.pk, *members}})
        return qs.filter(**{f"{institution}_id": own.pk})
    if org_kind == OrganisationKind.COMPANY:
        return _company_rows(actor, qs, supplier, distributor)
    return qs.none()


def _company_rows(actor, qs: QuerySet, supplier: str | None, distributor: str | None) -> QuerySet:
    """Rows naming the company as supplier or distributor. `supplier = X OR distributor = X` spans two
    tables for order lines, deliveries, receipts … (the distributor is on the order), so no index serves
    it and every list of a company scanned both tables (0.3–0.5 s at medium scale). Most companies hold
    one role only: two indexed EXISTS probes find which sides have rows, and only those stay in the filter
    (the OR is kept for a company that is both, e.g. a manufacturer delivering its own products). The
    answer for an unfiltered queryset is kept on the actor (one request) for the next scope of that model."""
    company_id = actor.organisation.company_id
    sides = [Q(**{f"{path}_id": company_id}) for path in (supplier, distributor) if path]
    if len(sides) == 2:
        key = (qs.model, supplier, distributor)
        cache = actor.__dict__.setdefault("_company_sides", {})
        found = None if qs.query.where else cache.get(key)
        if found is None:
            found = [qs.filter(side).exists() for side in sides]
            if not qs.query.where:
                cache[key] = found
        sides = [side for side, has_rows in zip(sides, found, strict=True) if has_rows] or sides[:1]
    if not sides:
        return qs.none()
    q = sides[0]
    for side in sides[1:]:
        q |= side
    return qs.filter(q)


def _never_null(model, path: str) -> bool:
    """Every row reaches an institution along `path` (each foreign key on it is NOT NULL, and those before
    the last are enforced by the database, so the join the filter implies loses no row), so "has an
    institution" filters nothing. Left as `IS NOT NULL` it still joined every counted row to the table
    holding the key: a province bureau's delivery list joined each counted delivery to its order line."""
    names = path.split("__")
    for depth, name in enumerate(names):
        field = model._meta.get_field(name)
        if field.null or field.related_model is None:
            return False
        if depth < len(names) - 1 and not field.db_constraint:
            return False
        model = field.related_model
    return True


def holds_every_institution(actor) -> bool:
    """A bureau whose region subtree holds every institution of the installation (a province bureau on
    a one-province platform). Its rows then need no join to the institution's region: the region prefix
    filter made PostgreSQL join every row it counted to the institution and region tables. One indexed
    probe, remembered on the actor for the request."""
    if "_holds_every_institution" not in actor.__dict__:
        path = actor.organisation.region.path
        actor.__dict__["_holds_every_institution"] = not (
            Institution.objects.exclude(region__path__startswith=path).exists()
        )
    return actor.__dict__["_holds_every_institution"]


def reviewing_region(institution: Institution) -> Region:
    """The region whose bureau reviews an institution's reports: county, else city, else province (SPEC §5.5).
    Callers pick the lowest region on the institution's path that has a bureau organisation."""
    codes = institution.region.ancestor_codes()
    bureaus = dict(
        Organisation.objects.filter(kind=OrganisationKind.BUREAU, region__code__in=codes).values_list(
            "region__code", "region_id"
        )
    )
    for code in reversed(codes):
        if code in bureaus:
            return Region.objects.get(pk=bureaus[code])
    raise NotFound("该机构所在地区没有医保局账户")


def is_reviewer_of(actor, institution: Institution) -> bool:
    """A bureau user whose region is the institution's reviewing region."""
    region = bureau_region(actor)
    return region is not None and reviewing_region(institution).pk == region.pk


def in_bureau_subtree(actor, institution: Institution) -> bool:
    region = bureau_region(actor)
    return region is not None and institution.region.path.startswith(region.path)


# ---- inside the hospital (SPEC §11) -----------------------------------------------------------------
# The pharmacy (institution role) sees its whole hospital; a department head its department; a doctor
# only their own figures; a bureau institution totals only (no department or doctor rows).

CLINICAL_ROLES = {Role.DOCTOR, Role.DEPARTMENT_HEAD}


def is_pharmacy(actor) -> bool:
    return kind(actor) == OrganisationKind.INSTITUTION and getattr(actor, "role", None) == Role.INSTITUTION


def staff_link(actor):
    """The StaffLink of a doctor or department-head user (None for everyone else and for API tokens)."""
    if getattr(actor, "role", None) not in CLINICAL_ROLES or getattr(actor, "pk", None) is None:
        return None
    from jicai.hospital.models import StaffLink

    link = getattr(actor, "_staff_link_cache", False)
    if link is False:
        link = StaffLink.objects.filter(user_id=actor.pk).select_related("department", "doctor").first()
        actor._staff_link_cache = link
    return link


def _hospital_filter(actor, qs: QuerySet, *, institution: str, department: str | None, doctor: str | None):
    if is_admin(actor):
        return qs
    own = institution_of(actor)
    if own is None:
        return qs.none()
    qs = qs.filter(**{f"{institution}_id": own.pk})
    role = getattr(actor, "role", None)
    if role == Role.INSTITUTION:
        return qs
    link = staff_link(actor)
    if role == Role.DEPARTMENT_HEAD and link is not None and link.department_id and department:
        return qs.filter(**{f"{department}_id": link.department_id})
    if role == Role.DOCTOR and link is not None and link.doctor_id and doctor:
        return qs.filter(**{f"{doctor}_id": link.doctor_id})
    return qs.none()


def visible_departments(actor) -> QuerySet:
    from jicai.hospital.models import Department

    return _hospital_filter(
        actor, Department.objects.all(), institution="institution", department="", doctor=None
    )


def visible_doctors(actor) -> QuerySet:
    from jicai.hospital.models import Doctor

    return _hospital_filter(
        actor, Doctor.objects.all(), institution="institution", department="department", doctor=""
    )


def visible_department_targets(actor) -> QuerySet:
    from jicai.hospital.models import DepartmentTarget

    return _hospital_filter(
        actor,
        DepartmentTarget.objects.all(),
        institution="volume__institution",
        department="department",
        doctor=None,
    )


def visible_doctor_targets(actor) -> QuerySet:
    from jicai.hospital.models import DoctorTarget

    return _hospital_filter(
        actor,
        DoctorTarget.objects.all(),
        institution="department_target__volume__institution",
        department="department_target__department",
        doctor="doctor",
    )


def visible_quota_volumes(actor) -> QuerySet:
    """Agreed volumes whose institution totals the actor may see: bureau its subtree, the pharmacy its own
    hospital; doctors and department heads see no institution totals."""
    from jicai.agreements.models import AgreedVolume

    qs = AgreedVolume.objects.all()
    if is_admin(actor):
        return qs
    if is_bureau(actor):
        return scope_by_parties(actor, qs, institution="institution")
    if is_pharmacy(actor):
        return qs.filter(institution=actor.organisation.institution)
    return qs.none()


def visible_prompt_doctors(actor) -> QuerySet:
    """Doctors whose prescribing prompts the actor sees: the pharmacy all of its hospital, a department head
    their department's, a doctor themself (SPEC §11)."""
    from jicai.hospital.models import Doctor

    link = staff_link(actor)
    if getattr(actor, "role", None) == Role.DOCTOR and not is_admin(actor):
        if link is None or not link.doctor_id:
            return Doctor.objects.none()
        return Doctor.objects.filter(pk=link.doctor_id)
    return visible_doctors(actor)


def visible_prompts(actor) -> QuerySet:
    """Prescribing prompts (SPEC §11) of the doctors in visible_prompt_doctors; the pharmacy (or its API
    token) sees every prompt of its hospital."""
    from jicai.prescribing.models import Prompt

    institution = institution_of(actor)
    if institution is None:
        return Prompt.objects.none()
    qs = Prompt.objects.filter(institution=institution)
    if is_pharmacy(actor):
        return qs
    return qs.filter(doctor_code__in=list(visible_prompt_doctors(actor).values_list("code", flat=True)))
