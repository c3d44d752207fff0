"""substitutes: batch_code,item_code,product_code,degree — products of other generics that can replace
an item (a product of the item itself is not a substitute)."""

from jicai.batches.models import Substitute, SubstituteDegree
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    batch_code,
    counts_from,
    enum,
    execute,
    plan_upsert,
    text,
)
from jicai.ingest.schemas.common import belongs_to, product_code, resolve_items, resolve_products


class SubstituteSchema(Schema):
    kind = "substitutes"
    title = "可替代药品"
    columns = (
        Column("batch_code", "批次编码"),
        Column("item_code", "品种编码"),
        Column("product_code", "产品代码"),
        Column("degree", "替代程度"),
    )
    key_columns = ("batch_code", "item_code", "product_code")
    has_batch_column = True
    example = {
        "batch_code": "GY-YD2023-1",
        "item_code": "GY9-001",
        "product_code": "XC10AAA002A001010100003",
        "degree": "most",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["batch_code"] = batch_code(ctx, row)
        v["item_code"] = text(ctx, row, "item_code", max_length=32)
        v["product_code"] = product_code(ctx, row)
        v["degree"] = enum(ctx, row, "degree", SubstituteDegree)

    def resolve(self, ctx: ImportContext) -> None:
        items = resolve_items(ctx)
        products = resolve_products(ctx)
        ctx.extra.update(items=items, products=products)
        ctx.extra["stored"] = {
            (s.item_id, s.product_id): s
            for s in Substitute.objects.filter(item_id__in=[i.pk for i in items.values()])
        }
        for row in ctx.good_rows:
            item = items[(row.values["batch_code"], row.values["item_code"])]
            product = products[row.values["product_code"]]
            if belongs_to(product, item):
                ctx.error(
                    row, "product_code", f"产品 {product.code} 属于品种 {item.item_code} 本身，不是可替代药品"
                )

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        items, products = ctx.extra["items"], ctx.extra["products"]
        desired, keys = {}, {}
        for row in ctx.rows:
            v = row.values
            key = (items[(v["batch_code"], v["item_code"])].pk, products[v["product_code"]].pk)
            desired[key] = {"degree": v["degree"]}
            keys[key] = {"item_id": key[0], "product_id": key[1]}
        plan = plan_upsert(Substitute, desired, ctx.extra["stored"], keys)
        if write:
            execute(Substitute, plan)
        return counts_from(plan.status.values())
