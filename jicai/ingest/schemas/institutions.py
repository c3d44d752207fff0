"""institutions: code,name,region_code,level,ownership,consortium_code.

consortium_code is empty or the code of the consortium's lead institution (stored or in the same file).
The import keeps the Consortium rows in step: code = lead code, lead = that institution, name = lead
name + "医共体"; the lead itself is a member of its own consortium.
"""

from jicai.core.codes import check_institution_code, check_region_code
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    Unknown,
    code,
    counts_from,
    enum,
    execute,
    lookup,
    plan_upsert,
    text,
)
from jicai.registry.models import Consortium, Institution, InstitutionLevel, Ownership, Region

CONSORTIUM_SUFFIX = "医共体"


class InstitutionSchema(Schema):
    kind = "institutions"
    title = "医疗机构"
    columns = (
        Column("code", "机构代码"),
        Column("name", "名称"),
        Column("region_code", "行政区划代码"),
        Column("level", "等级"),
        Column("ownership", "性质"),
        Column("consortium_code", "医共体代码", required=False),
    )
    key_columns = ("code",)
    example = {
        "code": "H37100200001",
        "name": "威海市环翠区人民医院",
        "region_code": "371002",
        "level": "secondary",
        "ownership": "public",
        "consortium_code": "H37100200001",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["code"] = code(ctx, row, "code", check_institution_code)
        v["name"] = text(ctx, row, "name", max_length=128 - len(CONSORTIUM_SUFFIX))
        v["region_code"] = code(ctx, row, "region_code", check_region_code)
        v["level"] = enum(ctx, row, "level", InstitutionLevel)
        v["ownership"] = enum(ctx, row, "ownership", Ownership)
        v["consortium_code"] = code(ctx, row, "consortium_code", check_institution_code, required=False)
        if v["code"] and v["region_code"] and v["code"][1:7] != v["region_code"]:
            ctx.warn(
                row,
                "region_code",
                f"机构代码中的行政区划 {v['code'][1:7]} 与 region_code {v['region_code']} 不一致",
            )

    def resolve(self, ctx: ImportContext) -> None:
        rows = ctx.rows
        file_rows = {r.values["code"]: r for r in rows if r.values.get("code")}
        leads = {r.values["consortium_code"] for r in rows if r.values.get("consortium_code")}
        regions = lookup(
            Region.objects.only("id", "code"), "code", {r.values.get("region_code") for r in rows} - {None}
        )
        stored = lookup(Institution.objects.select_related("consortium"), "code", set(file_rows) | leads)
        consortia = lookup(Consortium.objects.all(), "code", leads)
        ctx.extra.update(
            regions=regions, stored=stored, consortia=consortia, leads=leads, file_rows=file_rows
        )
        for row in ctx.good_rows:
            v = row.values
            if v["region_code"] not in regions:
                ctx.error(row, "region_code", f"地区不存在：{v['region_code']}")
            lead = v["consortium_code"]
            if lead and lead not in file_rows:
                held = stored.get(lead)
                if held is None:
                    ctx.error(row, "consortium_code", f"牵头机构不存在：{lead}")
                elif held.consortium is not None and held.consortium.code != lead:
                    ctx.error(
                        row, "consortium_code", f"牵头机构 {lead} 已是医共体 {held.consortium.code} 的成员"
                    )
            if v["code"] in leads and lead and lead != v["code"]:
                ctx.error(row, "consortium_code", f"本机构是医共体牵头机构，不能加入其他医共体 {lead}")

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        stored: dict[str, Institution] = ctx.extra["stored"]
        file_rows: dict[str, Row] = ctx.extra["file_rows"]
        leads: set[str] = ctx.extra["leads"]
        regions: dict[str, Region] = ctx.extra["regions"]

        # 1. Consortia must exist before members can point at them; a new lead gets its id in step 3.
        lead_names = {
            lead: (file_rows[lead].values["name"] if lead in file_rows else stored[lead].name)
            for lead in leads
        }
        consortium_plan = plan_upsert(
            Consortium,
            {lead: {"name": lead_names[lead] + CONSORTIUM_SUFFIX} for lead in leads},
            ctx.extra["consortia"],
            {lead: {"code": lead} for lead in leads},
        )
        if write:
            execute(Consortium, consortium_plan)
        consortium_ids = {
            lead: (obj.pk if obj.pk is not None else Unknown())
            for lead, obj in consortium_plan.by_key.items()
        }

        # 2. The institutions themselves.
        desired, keys = {}, {}
        for row in ctx.rows:
            v = row.values
            own = v["consortium_code"] or (v["code"] if v["code"] in leads else None)
            desired[v["code"]] = {
                "name": v["name"],
                "region_id": regions[v["region_code"]].pk,
                "level": v["level"],
                "ownership": v["ownership"],
                "consortium_id": consortium_ids[own] if own else None,
            }
            keys[v["code"]] = {"code": v["code"]}
        plan = plan_upsert(Institution, desired, {c: stored[c] for c in desired if c in stored}, keys)
        if not write:
            return counts_from(plan.status.values())
        execute(Institution, plan)

        # 3. Each consortium's lead, and stored leads not in the file join their own consortium.
        institution_ids = {c: obj.pk for c, obj in stored.items()}
        institution_ids.update({c: obj.pk for c, obj in plan.by_key.items()})
        fix_leads = []
        for lead, consortium in consortium_plan.by_key.items():
            if consortium.lead_id != institution_ids[lead]:
                consortium.lead_id = institution_ids[lead]
                fix_leads.append(consortium)
        Consortium.objects.bulk_update(fix_leads, ["lead"], batch_size=500)
        for lead in leads:
            if lead not in file_rows and stored[lead].consortium_id is None:
                Institution.objects.filter(pk=stored[lead].pk).update(
                    consortium_id=consortium_plan.by_key[lead].pk
                )
        return counts_from(plan.status.values())
