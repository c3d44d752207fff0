"""deliveries: `order_id,line_no,qty,delivered_on` (SPEC §10), sent by the supplier or its distributor. One
row per order line and day; the line's delivered total may never exceed the ordered qty."""

from jicai.ingest.schemas.base import Column, ImportContext, Row, date, integer
from jicai.ingest.schemas.trade_common import LineEventSchema, order_key
from jicai.trade.models import Delivery, LineStatus

STATUS_TEXT = {LineStatus.CANCELLED: "已撤销", LineStatus.REJECTED: "已被企业拒绝"}


class DeliverySchema(LineEventSchema):
    kind = "deliveries"
    title = "配送记录"
    columns = (
        Column("order_id", "订单号"),
        Column("line_no", "行号"),
        Column("qty", "配送数量", aliases=("数量",)),
        Column("delivered_on", "配送日期"),
    )
    key_columns = ("order_id", "line_no", "delivered_on")
    example = {"order_id": "PO20250301001", "line_no": "1", "qty": "600", "delivered_on": "2025-03-03"}
    model = Delivery
    date_column = "delivered_on"
    value_fields = ("qty",)
    value_columns = {"qty": "qty"}
    value_labels = {"qty": "数量"}
    noun = "配送记录"
    totals = {"deliveries": True}

    def parse(self, ctx: ImportContext, row: Row) -> None:
        order_key(ctx, row)
        row.values["qty"] = integer(ctx, row, "qty", positive=True)
        row.values["delivered_on"] = date(ctx, row, "delivered_on")

    def check(self, ctx: ImportContext, row: Row, line: dict, pending: dict) -> bool:
        if line["status"] != LineStatus.OPEN:
            ctx.error(row, "line_no", f"订单行{STATUS_TEXT.get(line['status'], line['status'])}，不能配送")
            return False
        delivered = line["delivered_qty"] + pending.get(line["id"], 0) + row.values["qty"]
        if delivered > line["qty"]:
            ctx.error(row, "qty", f"累计配送 {delivered} 超过订购数量 {line['qty']}")
            return False
        pending[line["id"]] = pending.get(line["id"], 0) + row.values["qty"]
        return True

    def build(self, row: Row, line: dict) -> dict:
        return dict(line_id=line["id"], qty=row.values["qty"], delivered_on=row.values["delivered_on"])
