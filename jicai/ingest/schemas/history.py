"""history: batch_code,item_code,institution_code,history_qty — historical purchases imported from outside
the platform (SPEC §5.2). A reporting window uses them for the (institution, item) pairs the platform has
no purchases of. Each row upserts one demand.ImportedHistory (institution × item).
"""

from jicai.accounts import access
from jicai.core.codes import check_institution_code
from jicai.demand.models import ImportedHistory
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    batch_code,
    code,
    counts_from,
    execute,
    integer,
    lookup,
    plan_upsert,
    text,
)
from jicai.ingest.schemas.common import resolve_items, within
from jicai.registry.models import Institution


class HistorySchema(Schema):
    kind = "history"
    title = "历史采购量"
    columns = (
        Column("batch_code", "批次编码"),
        Column("item_code", "品种编码"),
        Column("institution_code", "机构代码"),
        Column("history_qty", "历史采购量"),
    )
    key_columns = ("batch_code", "item_code", "institution_code")
    has_batch_column = True
    example = {
        "batch_code": "GY-YD2023-1",
        "item_code": "GY9-001",
        "institution_code": "H37100200001",
        "history_qty": "12000",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["batch_code"] = batch_code(ctx, row)
        v["item_code"] = text(ctx, row, "item_code", max_length=32)
        v["institution_code"] = code(ctx, row, "institution_code", check_institution_code, warn=False)
        v["history_qty"] = integer(ctx, row, "history_qty")

    def resolve(self, ctx: ImportContext) -> None:
        items = resolve_items(ctx)
        institutions = lookup(
            Institution.objects.select_related("region").only("id", "code", "region__id", "region__path"),
            "code",
            {r.values.get("institution_code") for r in ctx.rows} - {None},
        )
        # Row-level scope: a bureau loads history of institutions in its subtree only; unknown and
        # out-of-scope institutions get the same message so a file cannot probe other regions.
        actor = getattr(ctx, "actor", None)
        region = access.bureau_region(actor) if actor is not None and not access.is_admin(actor) else None
        for row in ctx.good_rows:
            institution = institutions.get(row.values["institution_code"])
            if institution is None or (
                region is not None and not institution.region.path.startswith(region.path)
            ):
                ctx.error(
                    row, "institution_code", f"机构不存在或不在本辖区：{row.values['institution_code']}"
                )
        ctx.extra.update(items=items, institutions=institutions)
        item_ids = {i.pk for i in items.values()}
        stored = within(ImportedHistory.objects.all(), "item_id", item_ids)
        ctx.extra["stored"] = {(s.institution_id, s.item_id): s for s in stored}

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        items, institutions = ctx.extra["items"], ctx.extra["institutions"]
        desired, keys = {}, {}
        for row in ctx.rows:
            v = row.values
            key = (institutions[v["institution_code"]].pk, items[(v["batch_code"], v["item_code"])].pk)
            desired[key] = {"qty": v["history_qty"]}
            keys[key] = {"institution_id": key[0], "item_id": key[1]}
        plan = plan_upsert(ImportedHistory, desired, ctx.extra["stored"], keys)
        if write:
            execute(ImportedHistory, plan)
        return counts_from(plan.status.values())
