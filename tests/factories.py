"""Small factory functions for tests: a two-city province with one persona per role.

Region tree (real Shandong codes):
  370000 山东省
    371000 威海市 ── 371002 环翠区
    370200 青岛市 ── 370202 市南区
"""

import datetime as dt
from decimal import Decimal

from jicai.accounts import actions as account_actions
from jicai.accounts.models import OrganisationKind, Role
from jicai.batches.models import AgreementYear, Batch, Item, Winner
from jicai.batches.rules import agreement_years
from jicai.core.codes import make_uscc
from jicai.registry.models import Company, Institution, Product, Region

PASSWORD = "Test-pass-2026"


def region(code: str, name: str, parent: Region | None = None) -> Region:
    level = "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
    return Region.objects.create(
        code=code,
        name=name,
        parent=parent,
        level=level,
        path=Region.path_for(code, parent.path if parent else None),
    )


def institution(code: str, name: str, reg: Region, level: str = "secondary", ownership: str = "public", **kw):
    return Institution.objects.create(
        code=code, name=name, region=reg, level=level, ownership=ownership, **kw
    )


def company(serial: int, name: str, kind: str = "manufacturer") -> Company:
    return Company.objects.create(code=make_uscc(f"91370000MA{serial:07d}"), name=name, kind=kind)


def product(
    code: str,
    maker: Company,
    generic_name="阿托伐他汀钙",
    dosage_form="片剂",
    dosage_form_group="口服常释剂型",
    spec="20mg",
    **kw,
) -> Product:
    category = {"X": "western", "Z": "chinese", "C": "consumable"}[code[0]]
    defaults = dict(pack="7片/盒", unit="片", units_per_pack=7, consistency_passed=True, originator=False)
    defaults.update(kw)
    return Product.objects.create(
        code=code,
        generic_name=generic_name,
        dosage_form=dosage_form,
        dosage_form_group=dosage_form_group,
        spec=spec,
        manufacturer=maker,
        category=category,
        **defaults,
    )


def batch(code="GY-YD2023-1", start=dt.date(2024, 3, 1), end=dt.date(2027, 2, 28), kind="national") -> Batch:
    b = Batch.objects.create(code=code, name=f"{code} 集采", kind=kind, cycle_start=start, cycle_end=end)
    AgreementYear.objects.bulk_create(
        [AgreementYear(batch=b, number=n, start=s, end=e) for n, s, e in agreement_years(start, end)]
    )
    return b


def user(username: str, org, role: str):
    return account_actions.create_user(
        actor=None, username=username, password=PASSWORD, organisation=org, role=role
    )


def org(kind, **kw):
    return account_actions.create_organisation(actor=None, kind=kind, **kw)


class World:
    """The persona world built by the `world` fixture; attributes are model instances and users."""


def build_world() -> World:
    w = World()
    w.province = region("370000", "山东省")
    w.city = region("371000", "威海市", w.province)
    w.county = region("371002", "环翠区", w.city)
    w.other_city = region("370200", "青岛市", w.province)
    w.other_county = region("370202", "市南区", w.other_city)

    w.hospital = institution("H37100200001", "威海市环翠区人民医院", w.county, level="secondary")
    w.clinic = institution("H37100200002", "环翠区竹岛街道社区卫生服务中心", w.county, level="grassroots")
    w.other_hospital = institution("H37020200001", "青岛市市南区人民医院", w.other_county, level="tertiary")

    w.maker = company(1, "齐鲁制药有限公司", "manufacturer")
    w.other_maker = company(2, "华北制药股份有限公司", "manufacturer")
    w.distributor = company(3, "国药控股山东有限公司", "distributor")

    w.batch = batch()
    w.item = Item.objects.create(
        batch=w.batch, item_code="GY7-001", generic_name="阿托伐他汀钙", dosage_form_group="口服常释剂型"
    )
    w.product = product("XC10AAA001A001010100001", w.maker)
    w.other_product = product("XC10AAA001A001010100002", w.other_maker)
    Winner.objects.create(
        item=w.item, product=w.product, province=w.province, role="main", winning_price=Decimal("0.1200")
    )

    w.admin_org = org(OrganisationKind.ADMIN)
    w.province_bureau_org = org(OrganisationKind.BUREAU, region=w.province)
    w.city_bureau_org = org(OrganisationKind.BUREAU, region=w.city)
    w.county_bureau_org = org(OrganisationKind.BUREAU, region=w.county)
    w.other_city_bureau_org = org(OrganisationKind.BUREAU, region=w.other_city)
    w.hospital_org = org(OrganisationKind.INSTITUTION, institution=w.hospital)
    w.other_hospital_org = org(OrganisationKind.INSTITUTION, institution=w.other_hospital)
    w.maker_org = org(OrganisationKind.COMPANY, company=w.maker)
    w.other_maker_org = org(OrganisationKind.COMPANY, company=w.other_maker)
    w.distributor_org = org(OrganisationKind.COMPANY, company=w.distributor)

    w.admin = user("admin", w.admin_org, Role.ADMIN)
    w.province_bureau = user("sd_bureau", w.province_bureau_org, Role.BUREAU)
    w.city_bureau = user("wh_bureau", w.city_bureau_org, Role.BUREAU)
    w.county_bureau = user("hc_bureau", w.county_bureau_org, Role.BUREAU)
    w.other_city_bureau = user("qd_bureau", w.other_city_bureau_org, Role.BUREAU)
    w.pharmacist = user("hc_pharmacy", w.hospital_org, Role.INSTITUTION)
    w.doctor = user("hc_doctor", w.hospital_org, Role.DOCTOR)
    w.other_pharmacist = user("qd_pharmacy", w.other_hospital_org, Role.INSTITUTION)
    w.manufacturer = user("qilu", w.maker_org, Role.MANUFACTURER)
    w.other_manufacturer = user("huabei", w.other_maker_org, Role.MANUFACTURER)
    w.distributor_user = user("guoyao", w.distributor_org, Role.DISTRIBUTOR)
    return w
