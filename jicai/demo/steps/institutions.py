"""Step: medical institutions of every level and ownership, pharmacies (P codes), and one 紧密型县域医共体
per county (the county people's hospital leads, its township health centres are members)."""

from collections import Counter
from dataclasses import dataclass

from jicai.demo.context import DemoContext
from jicai.demo.data import names
from jicai.demo.data.regions import is_district
from jicai.demo.steps import BATCH_SIZE
from jicai.registry.models import Consortium, Institution, InstitutionLevel, Ownership

# The first institutions of a county are fixed so that even the small scale (≈3 per county) shows every
# level, a private hospital, a pharmacy and a consortium with members; the rest are drawn by weight.
FIXED_KINDS = {
    "county": ("hospital", "township", "township", "private", "pharmacy", "tcm", "mch", "clinic"),
    "district": ("hospital", "community", "private", "pharmacy", "tcm", "mch", "clinic"),
}
FILL_WEIGHTS = {
    "county": {"township": 35, "clinic": 25, "pharmacy": 20, "private": 12, "community": 8},
    "district": {"community": 30, "clinic": 25, "pharmacy": 25, "private": 15, "township": 5},
}
GIVEN_NAMES = "建国 志强 秀英 丽华 海涛 玉兰 文斌 红梅 国庆 立新 春生 桂芳 振华 淑珍 德胜 明亮 晓燕 永刚 慧敏 宝山".split()


@dataclass
class Planned:
    region: object
    letter: str
    name: str
    level: str
    ownership: str
    kind: str


class UniquePicker:
    """Draws names from a pool without repeats; when the pool runs out, stems get a running number."""

    def __init__(self, rng, pool):
        self.rng, self.pool, self.left, self.round = rng, list(pool), [], 0

    def next(self) -> str:
        if not self.left:
            self.left = self.pool[:]
            self.rng.shuffle(self.left)
            self.round += 1
        stem = self.left.pop()
        return stem if self.round == 1 else f"{stem}{self.round}"


def _county_plan(rng, county, city, quota: int) -> list[Planned]:
    shape = "district" if is_district(county.name) else "county"
    prefix = f"{city.name}{county.name}" if shape == "district" else county.name
    fixed = FIXED_KINDS[shape][:quota]
    weights = FILL_WEIGHTS[shape]
    kinds = list(fixed) + rng.choices(list(weights), weights=list(weights.values()), k=quota - len(fixed))
    towns, streets = UniquePicker(rng, names.TOWNS), UniquePicker(rng, names.STREETS)
    shop_streets, brands = UniquePicker(rng, names.STREETS), UniquePicker(rng, names.PRIVATE_HOSPITAL_BRANDS)
    clinics = UniquePicker(rng, [s + g for s in names.SURNAMES for g in GIVEN_NAMES])
    plan = []
    for kind in kinds:
        if kind == "hospital":
            item = ("H", f"{prefix}人民医院", InstitutionLevel.SECONDARY, Ownership.PUBLIC)
        elif kind == "tcm":
            item = ("H", f"{prefix}中医医院", InstitutionLevel.SECONDARY, Ownership.PUBLIC)
        elif kind == "mch":
            item = ("H", f"{prefix}妇幼保健院", InstitutionLevel.SECONDARY, Ownership.PUBLIC)
        elif kind == "township":
            item = ("H", f"{prefix}{towns.next()}镇卫生院", InstitutionLevel.GRASSROOTS, Ownership.PUBLIC)
        elif kind == "community":
            item = (
                "H",
                f"{prefix}{streets.next()}街道社区卫生服务中心",
                InstitutionLevel.GRASSROOTS,
                Ownership.PUBLIC,
            )
        elif kind == "private":
            level = InstitutionLevel.SECONDARY if rng.random() < 0.2 else InstitutionLevel.PRIMARY
            item = ("H", f"{prefix}{brands.next()}医院", level, Ownership.PRIVATE)
        elif kind == "clinic":
            item = (
                "H",
                f"{prefix}{clinics.next()}{rng.choice(names.CLINIC_KINDS)}",
                InstitutionLevel.GRASSROOTS,
                Ownership.PRIVATE,
            )
        else:  # pharmacy
            chain = rng.choice(names.PHARMACY_CHAINS)
            item = (
                "P",
                f"{chain}（{prefix}{shop_streets.next()}店）",
                InstitutionLevel.GRASSROOTS,
                Ownership.PRIVATE,
            )
        plan.append(Planned(county, *item, kind))
    return plan


def build_institutions(ctx: DemoContext) -> None:
    rng, scale = ctx.rng, ctx.scale
    plan: list[Planned] = []
    for city in ctx.cities:
        seat = ctx.counties[city.code][0]  # city hospitals sit in the first urban district
        for pattern, ownership in names.CITY_HOSPITALS[: scale.city_hospitals]:
            plan.append(
                Planned(
                    seat, "H", pattern.format(city=city.name), InstitutionLevel.TERTIARY, ownership, "city"
                )
            )
        if city.code == "370100":
            for name in names.PROVINCIAL_HOSPITALS:
                plan.append(
                    Planned(seat, "H", name, InstitutionLevel.TERTIARY, Ownership.PUBLIC, "provincial")
                )
        for name in names.MILITARY_HOSPITALS.get(city.code, ()):
            plan.append(Planned(seat, "H", name, InstitutionLevel.TERTIARY, Ownership.MILITARY, "military"))
    counties = [(county, city) for city in ctx.cities for county in ctx.counties[city.code]]
    base, extra = divmod(max(0, scale.institutions - len(plan)), len(counties))
    for index, (county, city) in enumerate(counties):
        plan += _county_plan(rng, county, city, base + (1 if index < extra else 0))

    serials: Counter = Counter()
    objects = []
    for p in plan:
        serials[(p.letter, p.region.code)] += 1
        code = f"{p.letter}{p.region.code}{serials[(p.letter, p.region.code)]:05d}"
        objects.append(
            Institution(code=code, name=p.name, region=p.region, level=p.level, ownership=p.ownership)
        )
    institutions = Institution.objects.bulk_create(objects, batch_size=BATCH_SIZE)
    for inst, p in zip(institutions, plan, strict=True):
        inst.demo_kind = p.kind
    ctx.institutions = institutions

    # One consortium per county (not urban district) that has a people's hospital and township centres.
    by_region: dict[int, list[Institution]] = {}
    for inst in institutions:
        by_region.setdefault(inst.region_id, []).append(inst)
    groups = []
    for county, _city in counties:
        if is_district(county.name):
            continue
        members = by_region.get(county.pk, [])
        lead = next((i for i in members if i.demo_kind == "hospital"), None)
        townships = [i for i in members if i.demo_kind == "township"]
        if lead and townships:
            groups.append(
                (
                    Consortium(code=lead.code, name=f"{county.name}紧密型县域医共体", lead=lead),
                    [lead, *townships],
                )
            )
    ctx.consortia = Consortium.objects.bulk_create([c for c, _ in groups])
    # One UPDATE per consortium (≈ one per county), never one per institution.
    for consortium, members in zip(ctx.consortia, (m for _, m in groups), strict=True):
        Institution.objects.filter(pk__in=[m.pk for m in members]).update(consortium=consortium)
        for member in members:
            member.consortium_id = consortium.pk
        consortium.member_list = members
    levels = Counter(i.level for i in institutions)
    ctx.log(
        f"{len(institutions)} 家机构（"
        + "、".join(f"{InstitutionLevel(k).label} {levels[k]}" for k in InstitutionLevel.values)
        + f"），{len(ctx.consortia)} 个医共体"
    )
