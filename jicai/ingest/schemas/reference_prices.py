"""reference-prices: batch_code,item_code,province_code,reference_price — an item's pre-VBP weighted average price
per reference unit in a province (SPEC §12: the saving base's reference and the glide path's start)."""

from jicai.funds.models import ReferencePrice
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    batch_code,
    counts_from,
    decimal,
    execute,
    plan_upsert,
    text,
)
from jicai.ingest.schemas.common import province_code, resolve_items, resolve_provinces


class ReferencePriceSchema(Schema):
    kind = "reference-prices"
    title = "集采前参考价"
    columns = (
        Column("batch_code", "批次编码"),
        Column("item_code", "品种编码"),
        Column("province_code", "省份代码"),
        Column("reference_price", "集采前加权平均价"),
    )
    key_columns = ("batch_code", "item_code", "province_code")
    has_batch_column = True
    example = {
        "batch_code": "GY-YD2023-1",
        "item_code": "GY9-001",
        "province_code": "370000",
        "reference_price": "0.5000",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["batch_code"] = batch_code(ctx, row)
        v["item_code"] = text(ctx, row, "item_code", max_length=32)
        v["province_code"] = province_code(ctx, row)
        v["reference_price"] = decimal(ctx, row, "reference_price", places=4, max_digits=14)

    def resolve(self, ctx: ImportContext) -> None:
        items = resolve_items(ctx)
        provinces = resolve_provinces(ctx)
        ctx.extra.update(items=items, provinces=provinces)
        ctx.extra["stored"] = {
            (r.item_id, r.province_id): r
            for r in ReferencePrice.objects.filter(item_id__in=[i.pk for i in items.values()])
        }

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        items, provinces = ctx.extra["items"], ctx.extra["provinces"]
        desired, keys = {}, {}
        for row in ctx.rows:
            v = row.values
            key = (items[(v["batch_code"], v["item_code"])].pk, provinces[v["province_code"]].pk)
            desired[key] = {"reference_price": v["reference_price"]}
            keys[key] = {"item_id": key[0], "province_id": key[1]}
        plan = plan_upsert(ReferencePrice, desired, ctx.extra["stored"], keys)
        if write:
            execute(ReferencePrice, plan)
        return counts_from(plan.status.values())
