"""companies: code,name,kind — code is the 18-character unified social credit code with its checksum."""

from jicai.core.codes import check_uscc
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    code,
    counts_from,
    enum,
    execute,
    lookup,
    plan_upsert,
    text,
)
from jicai.registry.models import Company, CompanyKind


class CompanySchema(Schema):
    kind = "companies"
    title = "企业"
    columns = (
        Column("code", "统一社会信用代码"),
        Column("name", "名称"),
        Column("kind", "类型"),
    )
    key_columns = ("code",)
    example = {"code": "91370000MA0000001T", "name": "齐鲁制药有限公司", "kind": "manufacturer"}

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["code"] = code(ctx, row, "code", check_uscc)
        v["name"] = text(ctx, row, "name", max_length=128)
        v["kind"] = enum(ctx, row, "kind", CompanyKind)

    def resolve(self, ctx: ImportContext) -> None:
        ctx.extra["stored"] = lookup(Company.objects.all(), "code", {r.values["code"] for r in ctx.good_rows})

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        desired = {r.values["code"]: {"name": r.values["name"], "kind": r.values["kind"]} for r in ctx.rows}
        plan = plan_upsert(Company, desired, ctx.extra["stored"], {c: {"code": c} for c in desired})
        if write:
            execute(Company, plan)
        return counts_from(plan.status.values())
