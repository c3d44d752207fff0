"""exemptions: batch_code,agreement_year,item_code,scope_code,mode,target_share,reason — SPEC §12 assessment
exemptions of an item for an institution (12-char code) or a region (6-digit code). A bureau may only exempt
inside its own subtree; `target_share` is required for `share` and must be empty for `exclude`."""

from jicai.accounts import access
from jicai.batches.models import AgreementYear
from jicai.funds.models import Exemption, ExemptionMode
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
    integer,
    plan_upsert,
    text,
)
from jicai.ingest.schemas.common import resolve_items
from jicai.registry.models import Institution, Region


class ExemptionSchema(Schema):
    kind = "exemptions"
    title = "考核豁免"
    columns = (
        Column("batch_code", "批次编码"),
        Column("agreement_year", "协议年度"),
        Column("item_code", "品种编码"),
        Column("scope_code", "机构或地区代码"),
        Column("mode", "豁免方式"),
        Column("target_share", "目标占比", required=False),
        Column("reason", "原因"),
    )
    key_columns = ("batch_code", "agreement_year", "item_code", "scope_code")
    has_batch_column = True
    example = {
        "batch_code": "GY-YD2023-1",
        "agreement_year": "1",
        "item_code": "GY9-001",
        "scope_code": "H37100200001",
        "mode": "share",
        "target_share": "0.80",
        "reason": "临床诊疗指南调整",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["batch_code"] = batch_code(ctx, row)
        v["agreement_year"] = integer(ctx, row, "agreement_year", positive=True)
        v["item_code"] = text(ctx, row, "item_code", max_length=32)
        v["scope_code"] = text(ctx, row, "scope_code", max_length=12)
        v["mode"] = enum(ctx, row, "mode", ExemptionMode)
        v["reason"] = text(ctx, row, "reason", max_length=255)
        if v["mode"] == ExemptionMode.SHARE:
            share = decimal(ctx, row, "target_share", places=4, max_digits=5, positive=True)
            if share is not None and share > 1:
                ctx.error(row, "target_share", f"目标占比应在 0 到 1 之间：{row.raw.get('target_share')}")
            v["target_share"] = share
        else:
            if row.raw.get("target_share", ""):
                ctx.error(row, "target_share", "exclude 方式不填写目标占比")
            v["target_share"] = None

    def resolve(self, ctx: ImportContext) -> None:
        items = resolve_items(ctx)
        codes = {r.values.get("scope_code") for r in ctx.rows} - {None}
        institutions = {
            i.code: i for i in Institution.objects.filter(code__in=codes).select_related("region")
        }
        regions = {r.code: r for r in Region.objects.filter(code__in=codes)}
        batches = ctx.extra["batches"]
        years = {
            (y.batch_id, y.number): y
            for y in AgreementYear.objects.filter(batch_id__in=[b.pk for b in batches.values()])
        }
        actor = getattr(ctx, "actor", None)  # set by the pipeline; None when the system imports
        own = access.bureau_region(actor) if actor is not None and not access.is_admin(actor) else None
        for row in ctx.good_rows:
            v = row.values
            batch = batches[v["batch_code"]]
            if (batch.pk, v["agreement_year"]) not in years:
                ctx.error(
                    row, "agreement_year", f"协议年度不存在：{v['batch_code']} 第 {v['agreement_year']} 年"
                )
            scope = institutions.get(v["scope_code"]) or regions.get(v["scope_code"])
            if scope is None:
                ctx.error(row, "scope_code", f"机构或地区不存在：{v['scope_code']}")
                continue
            path = scope.region.path if isinstance(scope, Institution) else scope.path
            if own is not None and not path.startswith(own.path):
                ctx.error(row, "scope_code", f"不在本医保局辖区内：{v['scope_code']}")
        ctx.extra.update(items=items, institutions=institutions, regions=regions, years=years)
        year_ids = [y.pk for y in years.values()]
        ctx.extra["stored"] = {
            (e.agreement_year_id, e.item_id, e.institution_id, e.region_id): e
            for e in Exemption.objects.filter(agreement_year_id__in=year_ids)
        }

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        items, years = ctx.extra["items"], ctx.extra["years"]
        institutions, regions = ctx.extra["institutions"], ctx.extra["regions"]
        batches = ctx.extra["batches"]
        desired, keys = {}, {}
        for row in ctx.rows:
            v = row.values
            year = years[(batches[v["batch_code"]].pk, v["agreement_year"])]
            item = items[(v["batch_code"], v["item_code"])]
            inst = institutions.get(v["scope_code"])
            region = None if inst else regions[v["scope_code"]]
            key = (year.pk, item.pk, inst.pk if inst else None, region.pk if region else None)
            desired[key] = {"mode": v["mode"], "target_share": v["target_share"], "reason": v["reason"]}
            keys[key] = {
                "agreement_year_id": key[0],
                "item_id": key[1],
                "institution_id": key[2],
                "region_id": key[3],
            }
        plan = plan_upsert(Exemption, desired, ctx.extra["stored"], keys)
        if write:
            execute(Exemption, plan)
        return counts_from(plan.status.values())
