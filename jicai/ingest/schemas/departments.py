"""departments: `institution_code,department_code,name,parent_code` and doctors:
`institution_code,doctor_code,name,department_code,status` (SPEC §10, §11). Keyed by (institution, code);
an institution user loads only its own rows. After a write the institutions' targets are generated."""

from jicai.hospital.models import Department, Doctor, DoctorStatus
from jicai.ingest.schemas.base import (
    Column,
    Counts,
    ImportContext,
    Row,
    Schema,
    counts_from,
    enum,
    execute,
    lookup,
    plan_upsert,
    text,
)
from jicai.ingest.schemas.trade_common import actor_scope, institution_code
from jicai.registry.models import Institution


def _institutions(ctx: ImportContext) -> dict:
    """Resolve institution codes once, refusing rows of another institution for an institution user."""
    institutions = lookup(
        Institution.objects.all(),
        "code",
        {r.values["institution_code"] for r in ctx.rows if r.values.get("institution_code")},
    )
    scope, own = actor_scope(getattr(ctx, "actor", None))
    for row in ctx.rows:
        code = row.values.get("institution_code")
        if not code:
            continue
        inst = institutions.get(code)
        if inst is None:
            ctx.error(row, "institution_code", f"医疗机构不存在：{code}")
        elif scope != "all" and not (scope == "institution" and own == inst.pk):
            ctx.error(row, "institution_code", f"只能导入本机构的数据：{code}")
    return institutions


def _stored(model, institutions: dict) -> dict:
    return {
        (o.institution_id, o.code): o
        for o in model.objects.filter(institution_id__in=[i.pk for i in institutions.values()])
    }


class DepartmentSchema(Schema):
    kind = "departments"
    title = "科室"
    columns = (
        Column("institution_code", "医疗机构编码"),
        Column("department_code", "科室编码"),
        Column("name", "科室名称"),
        Column("parent_code", "上级科室编码", required=False),
    )
    key_columns = ("institution_code", "department_code")
    example = {
        "institution_code": "H37100200001",
        "department_code": "D01",
        "name": "心血管内科",
        "parent_code": "",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["institution_code"] = institution_code(ctx, row)
        v["department_code"] = text(ctx, row, "department_code", max_length=32)
        v["name"] = text(ctx, row, "name", max_length=64)
        v["parent_code"] = text(ctx, row, "parent_code", max_length=32, required=False)

    def resolve(self, ctx: ImportContext) -> None:
        institutions = ctx.extra["institutions"] = _institutions(ctx)
        stored = ctx.extra["stored"] = _stored(Department, institutions)
        in_file = {(r.values["institution_code"], r.values["department_code"]) for r in ctx.rows}
        for row in ctx.good_rows:
            v = row.values
            inst = institutions[v["institution_code"]]
            parent = v["parent_code"]
            if not parent:
                continue
            if parent == v["department_code"]:
                ctx.error(row, "parent_code", "上级科室不能是科室本身")
            elif (v["institution_code"], parent) not in in_file and (inst.pk, parent) not in stored:
                ctx.error(row, "parent_code", f"上级科室不存在：{parent}（须为本机构的科室）")

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        institutions, stored = ctx.extra["institutions"], ctx.extra["stored"]
        desired, keys, parents = {}, {}, {}
        for row in ctx.rows:
            v = row.values
            key = (institutions[v["institution_code"]].pk, v["department_code"])
            desired[key] = {"name": v["name"]}
            keys[key] = {"institution_id": key[0], "code": key[1]}
            parents[key] = (key[0], v["parent_code"]) if v["parent_code"] else None
        # Parents may be new rows of the same file: write the rows first, then point them at their parents.
        plan = plan_upsert(Department, desired, stored, keys)
        if write:
            execute(Department, plan)
        all_rows = {**stored, **plan.by_key}
        changed_parent = []
        for key, parent_key in parents.items():
            obj = all_rows[key]
            parent_id = all_rows[parent_key].pk if parent_key else None
            if write and obj.parent_id != parent_id:
                obj.parent_id = parent_id
                changed_parent.append(obj)
            elif (
                not write
                and parent_key
                and (obj.pk is None or obj.parent_id != getattr(all_rows[parent_key], "pk", None))
            ):
                if plan.status[key] == "unchanged":
                    plan.status[key] = "updated"
        if changed_parent:
            Department.objects.bulk_update(changed_parent, ["parent"], batch_size=500)
            for obj in changed_parent:
                key = (obj.institution_id, obj.code)
                if plan.status[key] == "unchanged":
                    plan.status[key] = "updated"
        return counts_from(plan.status.values())

    def after_write(self, ctx: ImportContext) -> None:
        from jicai.hospital.actions import generate_targets

        generate_targets(institution_ids=[i.pk for i in ctx.extra["institutions"].values()])


class DoctorSchema(Schema):
    kind = "doctors"
    title = "医师"
    columns = (
        Column("institution_code", "医疗机构编码"),
        Column("doctor_code", "医师编码"),
        Column("name", "姓名"),
        Column("department_code", "科室编码"),
        Column("status", "状态"),
    )
    key_columns = ("institution_code", "doctor_code")
    example = {
        "institution_code": "H37100200001",
        "doctor_code": "DR01",
        "name": "张伟",
        "department_code": "D01",
        "status": "active",
    }

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["institution_code"] = institution_code(ctx, row)
        v["doctor_code"] = text(ctx, row, "doctor_code", max_length=32)
        v["name"] = text(ctx, row, "name", max_length=64)
        v["department_code"] = text(ctx, row, "department_code", max_length=32)
        v["status"] = enum(ctx, row, "status", DoctorStatus)

    def resolve(self, ctx: ImportContext) -> None:
        institutions = ctx.extra["institutions"] = _institutions(ctx)
        ctx.extra["stored"] = _stored(Doctor, institutions)
        departments = ctx.extra["departments"] = _stored(Department, institutions)
        for row in ctx.good_rows:
            v = row.values
            inst = institutions[v["institution_code"]]
            if (inst.pk, v["department_code"]) not in departments:
                ctx.error(row, "department_code", f"科室不存在：{v['department_code']}（请先导入本机构科室）")

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        institutions, departments = ctx.extra["institutions"], ctx.extra["departments"]
        desired, keys = {}, {}
        for row in ctx.rows:
            v = row.values
            inst = institutions[v["institution_code"]].pk
            key = (inst, v["doctor_code"])
            desired[key] = {
                "name": v["name"],
                "department_id": departments[(inst, v["department_code"])].pk,
                "status": v["status"],
            }
            keys[key] = {"institution_id": inst, "code": v["doctor_code"]}
        plan = plan_upsert(Doctor, desired, ctx.extra["stored"], keys)
        if write:
            execute(Doctor, plan)
        return counts_from(plan.status.values())

    def after_write(self, ctx: ImportContext) -> None:
        from jicai.hospital.actions import generate_targets

        generate_targets(institution_ids=[i.pk for i in ctx.extra["institutions"].values()])
