"""listing-prices: product_code,province_code,price,valid_from — 挂网价 of a product in a province."""

from jicai.batches.models import ListingPrice
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    counts_from,
    date,
    decimal,
    execute,
    plan_upsert,
)
from jicai.ingest.schemas.common import (
    product_code,
    province_code,
    resolve_products,
    resolve_provinces,
    within,
)


class ListingPriceSchema(Schema):
    kind = "listing-prices"
    title = "挂网价格"
    columns = (
        Column("product_code", "产品代码"),
        Column("province_code", "省份代码"),
        Column("price", "挂网价"),
        Column("valid_from", "生效日期"),
    )
    key_columns = ("product_code", "province_code", "valid_from")
    example = {
        "product_code": "XC10AAA001A001010100001",
        "province_code": "370000",
        "price": "0.1200",
        "valid_from": "2024-03-01",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["product_code"] = product_code(ctx, row)
        v["province_code"] = province_code(ctx, row)
        v["price"] = decimal(ctx, row, "price", places=4, max_digits=14)
        v["valid_from"] = date(ctx, row, "valid_from")

    def resolve(self, ctx: ImportContext) -> None:
        products = resolve_products(ctx)
        provinces = resolve_provinces(ctx)
        ctx.extra.update(products=products, provinces=provinces)
        stored = within(ListingPrice.objects.all(), "product_id", [p.pk for p in products.values()])
        stored = stored.filter(province_id__in=[p.pk for p in provinces.values()])
        ctx.extra["stored"] = {(lp.product_id, lp.province_id, lp.valid_from): lp for lp in stored}

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        products, provinces = ctx.extra["products"], ctx.extra["provinces"]
        desired, keys = {}, {}
        for row in ctx.rows:
            v = row.values
            key = (products[v["product_code"]].pk, provinces[v["province_code"]].pk, v["valid_from"])
            desired[key] = {"price": v["price"]}
            keys[key] = {"product_id": key[0], "province_id": key[1], "valid_from": key[2]}
        plan = plan_upsert(ListingPrice, desired, ctx.extra["stored"], keys)
        if write:
            execute(ListingPrice, plan)
        return counts_from(plan.status.values())
