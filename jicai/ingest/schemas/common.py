"""Reference lookups shared by the batch-scoped kinds (items, winners, substitutes, listing prices)."""

from jicai.batches.models import Batch, Item
from jicai.core.codes import check_product_code, check_region_code, region_level
from jicai.ingest.schemas.base import IN_LIST_LIMIT, ImportContext, Row, code, lookup
from jicai.registry.models import Product, Region


def within(queryset, field_name: str, ids) -> object:
    """queryset limited to ids with an IN list, or left whole when the list would be too long."""
    ids = set(ids)
    if len(ids) <= IN_LIST_LIMIT:
        return queryset.filter(**{f"{field_name}__in": ids})
    return queryset


def province_code(ctx: ImportContext, row: Row, column: str = "province_code") -> str | None:
    value = code(ctx, row, column, check_region_code)
    if value and region_level(value) != "province":
        ctx.error(row, column, f"必须是省级区划代码（xx0000）：{value}")
        return None
    return value


def product_code(ctx: ImportContext, row: Row, column: str = "product_code") -> str | None:
    return code(ctx, row, column, check_product_code, warn=False)


def resolve_items(ctx: ImportContext) -> dict[tuple[str, str], Item]:
    """{(batch_code, item_code): Item} in two queries; unknown batches/items become row errors."""
    batches = lookup(
        Batch.objects.only("id", "code"), "code", {r.values.get("batch_code") for r in ctx.rows} - {None}
    )
    items: dict[tuple[str, str], Item] = {}
    by_id = {b.pk: b.code for b in batches.values()}
    for item in Item.objects.filter(batch_id__in=by_id):
        items[(by_id[item.batch_id], item.item_code)] = item
    for row in ctx.good_rows:
        batch, item_code = row.values["batch_code"], row.values["item_code"]
        if batch not in batches:
            ctx.error(row, "batch_code", f"批次不存在：{batch}")
        elif (batch, item_code) not in items:
            ctx.error(row, "item_code", f"品种不存在：{batch} / {item_code}")
    ctx.extra["batches"] = batches
    return items


def resolve_products(ctx: ImportContext) -> dict[str, Product]:
    products = lookup(
        Product.objects.only("id", "code", "generic_name", "dosage_form_group"),
        "code",
        {r.values.get("product_code") for r in ctx.rows} - {None},
    )
    for row in ctx.good_rows:
        if row.values["product_code"] not in products:
            ctx.error(row, "product_code", f"产品不存在：{row.values['product_code']}")
    return products


def resolve_provinces(ctx: ImportContext) -> dict[str, Region]:
    provinces = lookup(
        Region.objects.only("id", "code", "level"),
        "code",
        {r.values.get("province_code") for r in ctx.rows} - {None},
    )
    for row in ctx.good_rows:
        region = provinces.get(row.values["province_code"])
        if region is None:
            ctx.error(row, "province_code", f"省份不存在：{row.values['province_code']}")
        elif region.level != "province":
            ctx.error(row, "province_code", f"不是省级区划：{region.code}")
    return provinces


def belongs_to(product: Product, item: Item) -> bool:
    """SPEC §10: a product belongs to an item when generic name and dosage-form group are equal."""
    return product.generic_name == item.generic_name and product.dosage_form_group == item.dosage_form_group
