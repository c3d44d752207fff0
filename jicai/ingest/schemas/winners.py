"""winners: batch_code,item_code,product_code,province_code,role,winning_price,item_factor.

Each row upserts one Winner (item × product × province) and the product's ItemFactor for the item
(an empty item_factor means 1). Rows naming the same item and product must agree on the factor.
"""

from decimal import Decimal

from jicai.batches.models import ItemFactor, Winner, WinnerRole
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    batch_code,
    counts_from,
    decimal,
    enum,
    execute,
    plan_upsert,
    text,
)
from jicai.ingest.schemas.common import (
    belongs_to,
    product_code,
    province_code,
    resolve_items,
    resolve_products,
    resolve_provinces,
)


class WinnerSchema(Schema):
    kind = "winners"
    title = "中选结果"
    columns = (
        Column("batch_code", "批次编码"),
        Column("item_code", "品种编码"),
        Column("product_code", "产品代码"),
        Column("province_code", "省份代码"),
        Column("role", "角色"),
        Column("winning_price", "中选价"),
        Column("item_factor", "折算系数", required=False),
    )
    key_columns = ("batch_code", "item_code", "product_code", "province_code")
    has_batch_column = True
    example = {
        "batch_code": "GY-YD2023-1",
        "item_code": "GY9-001",
        "product_code": "XC10AAA001A001010100001",
        "province_code": "370000",
        "role": "main",
        "winning_price": "0.1200",
        "item_factor": "1",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["batch_code"] = batch_code(ctx, row)
        v["item_code"] = text(ctx, row, "item_code", max_length=32)
        v["product_code"] = product_code(ctx, row)
        v["province_code"] = province_code(ctx, row)
        v["role"] = enum(ctx, row, "role", WinnerRole)
        v["winning_price"] = decimal(ctx, row, "winning_price", places=4, max_digits=14)
        v["item_factor"] = decimal(
            ctx, row, "item_factor", places=6, max_digits=12, positive=True, default=Decimal(1)
        )

    def resolve(self, ctx: ImportContext) -> None:
        items = resolve_items(ctx)
        products = resolve_products(ctx)
        provinces = resolve_provinces(ctx)
        item_ids = [i.pk for i in items.values()]
        ctx.extra.update(items=items, products=products, provinces=provinces)
        ctx.extra["stored"] = {
            (w.item_id, w.product_id, w.province_id): w for w in Winner.objects.filter(item_id__in=item_ids)
        }
        ctx.extra["factors"] = {
            (f.item_id, f.product_id): f for f in ItemFactor.objects.filter(item_id__in=item_ids)
        }
        factor_rows: dict[tuple, Row] = {}
        for row in ctx.good_rows:
            v = row.values
            item = items[(v["batch_code"], v["item_code"])]
            product = products[v["product_code"]]
            if not belongs_to(product, item):
                ctx.error(
                    row,
                    "product_code",
                    f"产品 {product.code}（{product.generic_name} {product.dosage_form_group}）不属于品种 "
                    f"{item.item_code}（{item.generic_name} {item.dosage_form_group}）",
                )
                continue
            first = factor_rows.setdefault((item.pk, product.pk), row)
            if first is not row and first.values["item_factor"] != v["item_factor"]:
                ctx.error(row, "item_factor", f"同一产品在本品种下的折算系数与第 {first.number} 行不一致")

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        items, products, provinces = ctx.extra["items"], ctx.extra["products"], ctx.extra["provinces"]
        winners, winner_keys, factors, factor_keys = {}, {}, {}, {}
        row_keys = []
        for row in ctx.rows:
            v = row.values
            item_id = items[(v["batch_code"], v["item_code"])].pk
            product_id = products[v["product_code"]].pk
            province_id = provinces[v["province_code"]].pk
            key = (item_id, product_id, province_id)
            winners[key] = {"role": v["role"], "winning_price": v["winning_price"]}
            winner_keys[key] = {"item_id": item_id, "product_id": product_id, "province_id": province_id}
            factor_key = (item_id, product_id)
            factor_first = factor_key not in factors
            factors[factor_key] = {"factor": v["item_factor"]}
            factor_keys[factor_key] = {"item_id": item_id, "product_id": product_id}
            row_keys.append((key, factor_key if factor_first else None))
        winner_plan = plan_upsert(Winner, winners, ctx.extra["stored"], winner_keys)
        factor_plan = plan_upsert(ItemFactor, factors, ctx.extra["factors"], factor_keys)
        if write:
            execute(Winner, winner_plan)
            execute(ItemFactor, factor_plan)
        statuses = []
        for key, factor_key in row_keys:
            status = winner_plan.status[key]
            # A changed factor makes the (first) row naming it an update even when the winner is the same.
            if status == "unchanged" and factor_key and factor_plan.status[factor_key] != "unchanged":
                status = "updated"
            statuses.append(status)
        return counts_from(statuses)
