"""Step: the province region tree (山东省 → cities → counties) with materialised paths."""

from jicai.demo.context import DemoContext
from jicai.demo.data.regions import CITIES, PROVINCE
from jicai.registry.models import Region, RegionLevel


def build_regions(ctx: DemoContext) -> None:
    code, name = PROVINCE
    province = Region.objects.create(
        code=code, name=name, level=RegionLevel.PROVINCE, path=Region.path_for(code, None)
    )
    city_codes = ctx.scale.city_codes or tuple(CITIES)
    cities = Region.objects.bulk_create(
        [
            Region(
                code=c,
                name=CITIES[c][0],
                parent=province,
                level=RegionLevel.CITY,
                path=Region.path_for(c, province.path),
            )
            for c in city_codes
        ]
    )
    counties = Region.objects.bulk_create(
        [
            Region(
                code=cc, name=cn, parent=city, level=RegionLevel.COUNTY, path=Region.path_for(cc, city.path)
            )
            for city in cities
            for cc, cn in CITIES[city.code][1]
        ]
    )
    ctx.province = province
    ctx.cities = cities
    ctx.regions = {r.code: r for r in (province, *cities, *counties)}
    for city in cities:
        ctx.counties[city.code] = sorted(
            (c for c in counties if c.parent_id == city.pk), key=lambda r: r.code
        )
    ctx.log(f"1 个省、{len(cities)} 个市、{len(counties)} 个县/区")
