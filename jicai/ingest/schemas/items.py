"""items: batch_code,item_code,generic_name,dosage_form_group — the 采购品种 of a batch."""

from jicai.batches.models import Batch, Item
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    batch_code,
    counts_from,
    execute,
    lookup,
    plan_upsert,
    text,
)
from jicai.registry.dosage_forms import KNOWN_GROUPS


class ItemSchema(Schema):
    kind = "items"
    title = "采购品种"
    columns = (
        Column("batch_code", "批次编码"),
        Column("item_code", "品种编码"),
        Column("generic_name", "通用名"),
        Column("dosage_form_group", "剂型组"),
    )
    key_columns = ("batch_code", "item_code")
    has_batch_column = True
    example = {
        "batch_code": "GY-YD2023-1",
        "item_code": "GY9-001",
        "generic_name": "阿托伐他汀钙",
        "dosage_form_group": "口服常释剂型",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["batch_code"] = batch_code(ctx, row)
        v["item_code"] = text(ctx, row, "item_code", max_length=32)
        v["generic_name"] = text(ctx, row, "generic_name", max_length=128)
        v["dosage_form_group"] = text(ctx, row, "dosage_form_group", max_length=64)
        if v["dosage_form_group"] and v["dosage_form_group"] not in KNOWN_GROUPS:
            ctx.error(
                row,
                "dosage_form_group",
                f"未知的剂型组：{v['dosage_form_group']}（可选：{'、'.join(sorted(KNOWN_GROUPS))}）",
            )

    def resolve(self, ctx: ImportContext) -> None:
        # Items themselves may be new: only the batch must exist, so look items up without erroring.
        batches = lookup(
            Batch.objects.only("id", "code"), "code", {r.values.get("batch_code") for r in ctx.rows} - {None}
        )
        for row in ctx.good_rows:
            if row.values["batch_code"] not in batches:
                ctx.error(row, "batch_code", f"批次不存在：{row.values['batch_code']}")
        by_id = {b.pk: b.code for b in batches.values()}
        ctx.extra["batches"] = batches
        ctx.extra["stored"] = {
            (by_id[i.batch_id], i.item_code): i for i in Item.objects.filter(batch_id__in=by_id)
        }

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        batches = ctx.extra["batches"]
        desired, keys = {}, {}
        for row in ctx.rows:
            v = row.values
            key = (v["batch_code"], v["item_code"])
            desired[key] = {"generic_name": v["generic_name"], "dosage_form_group": v["dosage_form_group"]}
            keys[key] = {"batch_id": batches[v["batch_code"]].pk, "item_code": v["item_code"]}
        plan = plan_upsert(Item, desired, ctx.extra["stored"], keys)
        if write:
            execute(Item, plan)
        return counts_from(plan.status.values())
