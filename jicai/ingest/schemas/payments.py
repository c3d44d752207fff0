"""payments: `order_id,line_no,amount,paid_on` (SPEC §10), the institution's payments to the supplier per
line. One imported row per line and day (imports carry no invoice number); all payments of a line together
may not exceed its amount — checked against the locked line, and guarded by the line's check constraint."""

from decimal import Decimal

from jicai.ingest.schemas.base import Column, ImportContext, Row, date, decimal
from jicai.ingest.schemas.trade_common import LineEventSchema, order_key
from jicai.trade.models import Payment


class PaymentSchema(LineEventSchema):
    kind = "payments"
    title = "付款记录"
    columns = (
        Column("order_id", "订单号"),
        Column("line_no", "行号"),
        Column("amount", "付款金额", aliases=("金额",)),
        Column("paid_on", "付款日期"),
    )
    key_columns = ("order_id", "line_no", "paid_on")
    example = {"order_id": "PO20250301001", "line_no": "1", "amount": "70.80", "paid_on": "2025-04-01"}
    model = Payment
    date_column = "paid_on"
    value_fields = ("amount",)
    value_columns = {"amount": "amount"}
    value_labels = {"amount": "金额"}
    noun = "付款记录"
    totals = {"payments": True}
    existing_filter = {"invoice_no": ""}

    def parse(self, ctx: ImportContext, row: Row) -> None:
        order_key(ctx, row)
        row.values["amount"] = decimal(ctx, row, "amount", places=2, max_digits=16, positive=True)
        row.values["paid_on"] = date(ctx, row, "paid_on")

    def check(self, ctx: ImportContext, row: Row, line: dict, pending: dict) -> bool:
        paid = line["paid_amount"] + pending.get(line["id"], Decimal("0.00")) + row.values["amount"]
        if paid > line["amount"]:
            ctx.error(row, "amount", f"累计付款 {paid} 超过订单行金额 {line['amount']}")
            return False
        pending[line["id"]] = pending.get(line["id"], Decimal("0.00")) + row.values["amount"]
        return True

    def build(self, row: Row, line: dict) -> dict:
        return dict(line_id=line["id"], amount=row.values["amount"], paid_on=row.values["paid_on"])
