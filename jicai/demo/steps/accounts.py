"""Steps: organisations for every bureau region, institution and company (bulk), and one login per role.

Users are created only for the printed logins: Argon2 hashing is deliberately slow, and a demo needs one
persona per role, not one account per organisation.
"""

from jicai.accounts import actions as account_actions
from jicai.accounts.models import Organisation, OrganisationKind, Role
from jicai.batches.models import WinnerRole
from jicai.demo.context import DemoContext, Login
from jicai.demo.data.regions import is_district
from jicai.demo.steps import BATCH_SIZE

DEMO_PASSWORD = "Jicai-demo-2026"


def _bureau_name(region, ctx: DemoContext) -> str:
    if region.level == "county" and is_district(region.name):
        city = ctx.regions[region.path.split("/")[1]]
        return f"{city.name}{region.name}医疗保障局"
    return f"{region.name}医疗保障局"


def build_organisations(ctx: DemoContext) -> None:
    admin = Organisation(kind=OrganisationKind.ADMIN, name="平台运营中心")
    bureaus = [
        Organisation(kind=OrganisationKind.BUREAU, name=_bureau_name(r, ctx), region=r)
        for r in ctx.regions.values()
    ]
    institutions = [
        Organisation(kind=OrganisationKind.INSTITUTION, name=i.name, institution=i) for i in ctx.institutions
    ]
    companies = [
        Organisation(kind=OrganisationKind.COMPANY, name=c.name, company=c) for c in ctx.companies.values()
    ]
    created = Organisation.objects.bulk_create(
        [admin, *bureaus, *institutions, *companies], batch_size=BATCH_SIZE
    )
    ctx.admin_organisation = created[0]
    for org in created[1:]:
        key = (org.kind, org.region_id or org.institution_id or org.company_id)
        ctx.organisations[key] = org
    ctx.log(
        f"{len(created)} 个机构账户（医保局 {len(bureaus)}、医疗机构 {len(institutions)}、企业 {len(companies)}）"
    )


def persona_institution(ctx: DemoContext):
    """The institution persona and its county: a consortium lead of the first city, so the demo shows
    consortium views (the first county's first institution when the city has no consortium)."""
    city = ctx.cities[0]
    consortium = next((c for c in ctx.consortia if c.lead.region.path.startswith(city.path)), None)
    if consortium is not None:
        return consortium.lead, consortium.lead.region
    county = ctx.counties[city.code][0]
    return next(i for i in ctx.institutions if i.region_id == county.pk), county


def build_logins(ctx: DemoContext) -> None:
    city = ctx.cities[0]
    institution, county = persona_institution(ctx)
    first_item = ctx.items[0]
    main_maker = next(
        p.manufacturer for p in ctx.item_products[first_item.pk] if p.demo_role == WinnerRole.MAIN
    )
    distributor = ctx.distributors[0]

    def org(kind, pk):
        return ctx.organisations[(kind, pk)]

    personas = [
        ("平台管理员", "admin", ctx.admin_organisation, Role.ADMIN, "平台管理员"),
        ("省医保局", "province", org("bureau", ctx.province.pk), Role.BUREAU, "省局经办"),
        ("市医保局", "city", org("bureau", city.pk), Role.BUREAU, "市局经办"),
        ("县医保局", "county", org("bureau", county.pk), Role.BUREAU, "县局经办"),
        (
            "医疗机构（药学部）",
            "pharmacist",
            org("institution", institution.pk),
            Role.INSTITUTION,
            "药学部主任",
        ),
        ("医师", "doctor", org("institution", institution.pk), Role.DOCTOR, "门诊医师"),
        ("中选生产企业", "manufacturer", org("company", main_maker.pk), Role.MANUFACTURER, "企业集采专员"),
        ("配送企业", "distributor", org("company", distributor.pk), Role.DISTRIBUTOR, "配送专员"),
    ]
    for label, username, organisation, role, full_name in personas:
        account_actions.create_user(
            actor=None,
            username=username,
            password=DEMO_PASSWORD,
            organisation=organisation,
            role=role,
            full_name=full_name,
        )
        ctx.logins.append(Login(label, username, DEMO_PASSWORD, organisation.name))
    ctx.log(f"{len(personas)} 个演示账户")
