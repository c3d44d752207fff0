"""regions: code,name,parent_code,level — the province ⊃ city ⊃ county tree with its path column."""

from django.db.models import Value
from django.db.models.functions import Concat, Substr

from jicai.core.codes import check_region_code, region_level
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
from jicai.registry.models import Region, RegionLevel

LEVEL_NAMES = {"province": "省级", "city": "市级", "county": "县级"}
RANK = {"province": 0, "city": 1, "county": 2}


class RegionSchema(Schema):
    kind = "regions"
    title = "行政区划"
    columns = (
        Column("code", "行政区划代码"),
        Column("name", "名称"),
        Column("parent_code", "上级代码"),
        Column("level", "级别"),
    )
    key_columns = ("code",)
    example = {"code": "370000", "name": "山东省", "parent_code": "", "level": "province"}

    def parse(self, ctx: ImportContext, row: Row) -> None:
        v = row.values
        v["code"] = code(ctx, row, "code", check_region_code)
        v["name"] = text(ctx, row, "name", max_length=64)
        v["level"] = enum(ctx, row, "level", RegionLevel)
        v["parent_code"] = code(ctx, row, "parent_code", check_region_code, required=False)
        if not (v["code"] and v["level"]):
            return
        shape = region_level(v["code"])
        if v["level"] != shape:
            ctx.error(row, "level", f"级别与代码不符：{v['code']} 按代码应为 {shape}")
            return
        parent = v["parent_code"]
        if parent is None:
            return
        if shape == "province":
            if parent:
                ctx.error(row, "parent_code", "省级区划不能有上级")
            return
        if not parent:
            ctx.error(row, "parent_code", "市级、县级区划必须填写上级代码")
        elif RANK[region_level(parent)] >= RANK[shape]:
            ctx.error(row, "parent_code", f"上级 {parent} 的级别不高于本级（{LEVEL_NAMES[shape]}）")
        elif parent[:2] != v["code"][:2]:
            ctx.error(row, "parent_code", f"上级 {parent} 与代码 {v['code']} 不属于同一省份")

    def resolve(self, ctx: ImportContext) -> None:
        in_file = {r.values["code"] for r in ctx.rows if r.values.get("code")}
        codes = in_file | {r.values["parent_code"] for r in ctx.rows if r.values.get("parent_code")}
        ctx.extra["db"] = lookup(Region.objects.all(), "code", codes)
        for row in ctx.good_rows:
            parent = row.values["parent_code"]
            if parent and parent not in in_file and parent not in ctx.extra["db"]:
                ctx.error(row, "parent_code", f"上级区划不存在：{parent}")

    def apply(self, ctx: ImportContext, *, write: bool) -> Counts:
        db: dict[str, Region] = ctx.extra["db"]
        rows = sorted(ctx.rows, key=lambda r: RANK[r.values["level"]])
        paths: dict[str, str] = {c: r.path for c, r in db.items()}
        ids: dict[str, object] = {c: r.pk for c, r in db.items()}
        statuses: list[str] = []
        # Parents come before children (province, city, county), so each level can use the ids and
        # paths of the one above, whether those were already stored or arrive in this file.
        for level in ("province", "city", "county"):
            level_rows = [r for r in rows if r.values["level"] == level]
            if not level_rows:
                continue
            desired, keys = {}, {}
            for row in level_rows:
                v = row.values
                parent = v["parent_code"] or None
                path = Region.path_for(v["code"], paths[parent] if parent else None)
                paths[v["code"]] = path
                desired[v["code"]] = {
                    "name": v["name"],
                    "level": level,
                    "parent_id": ids.get(parent) if parent else None,
                    "path": path,
                }
                keys[v["code"]] = {"code": v["code"]}
            existing = {c: db[c] for c in desired if c in db}
            old_paths = {c: obj.path for c, obj in existing.items()}
            plan = plan_upsert(Region, desired, existing, keys)
            statuses.extend(plan.status.values())
            if write:
                # Descendants not in this file follow a moved region (prefix rewrite, one query each).
                for code_, obj in existing.items():
                    if old_paths[code_] != obj.path:
                        _move_subtree(old_paths[code_], obj.path)
                execute(Region, plan)
                for obj in plan.create:
                    ids[obj.code] = obj.pk
            else:
                for obj in plan.create:
                    ids[obj.code] = Unknown()
        return counts_from(statuses)


def _move_subtree(old_path: str, new_path: str) -> None:
    Region.objects.filter(path__startswith=old_path).exclude(path=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
    )
