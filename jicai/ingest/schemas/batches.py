"""batches: code,name,kind,cycle_start,cycle_end — agreement years follow every new or changed cycle."""

import re

from jicai.batches.actions import sync_agreement_years
from jicai.batches.models import Batch, BatchKind
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    counts_from,
    date,
    enum,
    execute,
    lookup,
    plan_upsert,
    text,
)

BATCH_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._\-]*$")


def check_batch_code(ctx: ImportContext, row: Row, column: str) -> str | None:
    value = text(ctx, row, column, max_length=32)
    if value and not BATCH_CODE_RE.match(value):
        ctx.error(row, column, f"批次编码只能包含字母、数字、点、下划线和连字符：{value}")
        return None
    return value


class BatchSchema(Schema):
    kind = "batches"
    title = "集采批次"
    columns = (
        Column("code", "批次编码"),
        Column("name", "名称"),
        Column("kind", "类型"),
        Column("cycle_start", "采购周期开始"),
        Column("cycle_end", "采购周期结束"),
    )
    key_columns = ("code",)
    example = {
        "code": "GY-YD2023-1",
        "name": "第九批国家组织药品集采",
        "kind": "national",
        "cycle_start": "2024-03-01",
        "cycle_end": "2027-02-28",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["code"] = check_batch_code(ctx, row, "code")
        v["name"] = text(ctx, row, "name", max_length=128)
        v["kind"] = enum(ctx, row, "kind", BatchKind)
        v["cycle_start"] = date(ctx, row, "cycle_start")
        v["cycle_end"] = date(ctx, row, "cycle_end")
        if v["cycle_start"] and v["cycle_end"] and v["cycle_end"] < v["cycle_start"]:
            ctx.error(row, "cycle_end", "采购周期结束日期早于开始日期")

    def resolve(self, ctx: ImportContext) -> None:
        ctx.extra["stored"] = lookup(Batch.objects.all(), "code", {r.values["code"] for r in ctx.good_rows})

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        stored: dict[str, Batch] = ctx.extra["stored"]
        old_cycles = {c: (b.cycle_start, b.cycle_end) for c, b in stored.items()}
        desired = {
            r.values["code"]: {k: r.values[k] for k in ("name", "kind", "cycle_start", "cycle_end")}
            for r in ctx.rows
        }
        plan = plan_upsert(Batch, desired, stored, {c: {"code": c} for c in desired})
        if write:
            execute(Batch, plan)
        # Only a new batch or a changed cycle can change the agreement years.
        ctx.extra["sync"] = [
            obj
            for c, obj in plan.by_key.items()
            if c not in old_cycles or old_cycles[c] != (obj.cycle_start, obj.cycle_end)
        ]
        return counts_from(plan.status.values())

    def after_write(self, ctx: ImportContext) -> None:
        for batch in ctx.extra["sync"]:
            sync_agreement_years(batch=batch)
