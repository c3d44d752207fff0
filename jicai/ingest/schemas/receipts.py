"""receipts: `order_id,line_no,accepted_qty,rejected_qty,received_on,reason` (SPEC §10), the institution's
入库确认. A reason is required for rejected goods; accepted + rejected over all receipts of a line may not
exceed what was delivered. Writing refreshes the line's totals and its payment due date."""

from jicai.ingest.schemas.base import Column, ImportContext, Row, date, integer, text
from jicai.ingest.schemas.trade_common import LineEventSchema, order_key
from jicai.trade.models import Receipt


class ReceiptSchema(LineEventSchema):
    kind = "receipts"
    title = "入库验收"
    columns = (
        Column("order_id", "订单号"),
        Column("line_no", "行号"),
        Column("accepted_qty", "验收合格数量"),
        Column("rejected_qty", "拒收数量"),
        Column("received_on", "入库日期"),
        Column("reason", "拒收原因"),
    )
    key_columns = ("order_id", "line_no", "received_on")
    example = {
        "order_id": "PO20250301001",
        "line_no": "1",
        "accepted_qty": "590",
        "rejected_qty": "10",
        "received_on": "2025-03-05",
        "reason": "外包装破损",
    }
    model = Receipt
    date_column = "received_on"
    value_fields = ("accepted_qty", "rejected_qty", "reason")
    value_columns = {"accepted_qty": "accepted_qty", "rejected_qty": "rejected_qty", "reason": "reason"}
    value_labels = {"accepted_qty": "验收合格数量", "rejected_qty": "拒收数量", "reason": "拒收原因"}
    noun = "入库验收记录"
    totals = {"receipts": True}

    def parse(self, ctx: ImportContext, row: Row) -> None:
        order_key(ctx, row)
        v = row.values
        v["accepted_qty"] = integer(ctx, row, "accepted_qty")
        v["rejected_qty"] = integer(ctx, row, "rejected_qty")
        v["received_on"] = date(ctx, row, "received_on")
        v["reason"] = text(ctx, row, "reason", max_length=255, required=False)
        if v["rejected_qty"] and v["reason"] == "":
            ctx.error(row, "reason", "有拒收数量时必须填写拒收原因")
        if v["accepted_qty"] == 0 and v["rejected_qty"] == 0:
            ctx.error(row, "accepted_qty", "验收合格数量与拒收数量不能同时为 0")

    def check(self, ctx: ImportContext, row: Row, line: dict, pending: dict) -> bool:
        v = row.values
        qty = v["accepted_qty"] + v["rejected_qty"]
        received = line["accepted_qty"] + line["rejected_qty"] + pending.get(line["id"], 0) + qty
        if received > line["delivered_qty"]:
            ctx.error(
                row, "accepted_qty", f"累计验收与拒收 {received} 超过已配送数量 {line['delivered_qty']}"
            )
            return False
        pending[line["id"]] = pending.get(line["id"], 0) + qty
        return True

    def build(self, row: Row, line: dict) -> dict:
        v = row.values
        return dict(
            line_id=line["id"],
            accepted_qty=v["accepted_qty"],
            rejected_qty=v["rejected_qty"],
            received_on=v["received_on"],
            reason=v["reason"],
        )
