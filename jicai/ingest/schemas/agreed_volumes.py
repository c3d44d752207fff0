"""agreed-volumes: batch_code,agreement_year,institution_code,item_code,reported_qty,agreed_qty (SPEC §10).

Agreed volumes coming from elsewhere. An empty agreed_qty is computed by the ratio rule exactly as
jicai.agreements.actions.compute_agreed_volumes does (winner count of the item, the ratio table in force
for the institution's region and the batch); the supplier is the main winner of the item for the
institution's province. Keyed by (batch, agreement year, institution, item), so re-sending a file is
idempotent. A volume a bureau has adjusted keeps its agreed_qty (a warning names the row).
"""

from jicai.accounts import access
from jicai.agreements.models import AgreedVolume
from jicai.agreements.volumes import RatioTables, main_winners, winner_counts
from jicai.batches.models import AgreementYear
from jicai.core.codes import check_institution_code
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
from jicai.policy import rules
from jicai.registry.models import Institution, Region


class AgreedVolumeSchema(Schema):
    kind = "agreed-volumes"
    title = "约定采购量"
    columns = (
        Column("batch_code", "批次编码"),
        Column("agreement_year", "协议年度"),
        Column("institution_code", "机构代码"),
        Column("item_code", "品种编码"),
        Column("reported_qty", "报量"),
        Column("agreed_qty", "约定采购量"),
    )
    key_columns = ("batch_code", "agreement_year", "institution_code", "item_code")
    has_batch_column = True
    example = {
        "batch_code": "GY-YD2023-1",
        "agreement_year": "1",
        "institution_code": "H37100200001",
        "item_code": "GY9-001",
        "reported_qty": "10000",
        "agreed_qty": "",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["batch_code"] = batch_code(ctx, row)
        v["agreement_year"] = integer(ctx, row, "agreement_year", positive=True)
        v["institution_code"] = code(ctx, row, "institution_code", check_institution_code, warn=False)
        v["item_code"] = text(ctx, row, "item_code", max_length=32)
        v["reported_qty"] = integer(ctx, row, "reported_qty")
        # Empty → computed by the ratio rule in resolve(); anything else must be a non-negative integer.
        v["agreed_qty"] = integer(ctx, row, "agreed_qty") if row.raw.get("agreed_qty", "") else None

    def resolve(self, ctx: ImportContext) -> None:
        items = resolve_items(ctx)
        batches = ctx.extra["batches"]
        years = {
            (y.batch_id, y.number): y
            for y in AgreementYear.objects.filter(batch_id__in=[b.pk for b in batches.values()])
        }
        institutions = lookup(
            Institution.objects.select_related("region").only("id", "code", "region__id", "region__path"),
            "code",
            {r.values.get("institution_code") for r in ctx.rows} - {None},
        )
        # Row-level scope: a bureau loads volumes of institutions in its subtree only. Unknown and
        # out-of-scope institutions get the same message, so a file cannot probe other regions.
        actor = getattr(ctx, "actor", None)  # set by the pipeline; None when the system imports
        region = access.bureau_region(actor) if actor is not None else None
        provinces = dict(Region.objects.filter(level="province").values_list("code", "pk"))
        counts, mains, tables = {}, {}, {}
        region_ids = {i.region_id for i in institutions.values()}
        for batch in batches.values():
            counts[batch.pk] = winner_counts(batch)
            mains[batch.pk] = main_winners(batch)
            tables[batch.pk] = RatioTables(batch)
            tables[batch.pk].preload(region_ids)
        for row in ctx.good_rows:
            v = row.values
            batch = batches.get(v["batch_code"])
            year = years.get((batch.pk, v["agreement_year"])) if batch else None
            if batch and year is None:
                ctx.error(row, "agreement_year", f"批次 {batch.code} 没有第 {v['agreement_year']} 协议年度")
            institution = institutions.get(v["institution_code"])
            if institution is None or (region and not institution.region.path.startswith(region.path)):
                ctx.error(row, "institution_code", f"机构不存在或不在本辖区：{v['institution_code']}")
                continue
            if not row.ok:
                continue
            item = items[(v["batch_code"], v["item_code"])]
            v["year"], v["institution"], v["item"] = year, institution, item
            main = mains[batch.pk].get((item.pk, provinces.get(institution.region.path[:6])))
            v["supplier_id"] = main.supplier_id if main else None
            if main is None:
                ctx.warn(row, "item_code", "本省无主供企业，约定采购量未分配供应企业")
            v["ratio"] = None
            if v["agreed_qty"] is None:
                count = counts[batch.pk].get(item.pk)
                if not count:
                    ctx.error(row, "agreed_qty", "该品种尚无中选结果，不能按比例计算，请填写约定采购量")
                    continue
                # Cached per region: a whole province resolves each county's policy once.
                v["ratio"] = tables[batch.pk].ratio(institution.region_id, count)
                v["agreed_qty"] = rules.agreed_qty(v["reported_qty"], v["ratio"])
        year_ids = {r.values["year"].pk for r in ctx.good_rows if r.values.get("year")}
        stored = within(AgreedVolume.objects.all(), "agreement_year_id", year_ids)
        ctx.extra["stored"] = {(s.agreement_year_id, s.institution_id, s.item_id): s for s in stored}

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        stored = ctx.extra["stored"]
        desired, keys, row_keys = {}, {}, []
        for row in ctx.rows:
            v = row.values
            key = (v["year"].pk, v["institution"].pk, v["item"].pk)
            values = {
                "reported_qty": v["reported_qty"],
                "agreed_qty": v["agreed_qty"],
                "ratio": v["ratio"],
                "supplier_id": v["supplier_id"],
                "source": AgreedVolume.Source.IMPORTED,
            }
            existing = stored.get(key)
            if existing is not None and existing.adjusted:
                # The bureau's adjustment stands; the file still updates what was reported.
                values.pop("agreed_qty")
                if existing.agreed_qty != v["agreed_qty"]:
                    ctx.warn(
                        row, "agreed_qty", f"该约定采购量已由医保局调整为 {existing.agreed_qty}，保留调整值"
                    )
            desired[key] = values
            keys[key] = {"agreement_year_id": key[0], "institution_id": key[1], "item_id": key[2]}
            row_keys.append(key)
        plan = plan_upsert(AgreedVolume, desired, stored, keys)
        if write:
            execute(AgreedVolume, plan)
        return counts_from(plan.status[key] for key in row_keys)

    def after_write(self, ctx: ImportContext) -> None:
        """Hospital targets follow the agreed volumes at once (SPEC §11)."""
        from jicai.hospital.actions import generate_targets

        generate_targets(institution_ids={r.values["institution"].pk for r in ctx.rows})
