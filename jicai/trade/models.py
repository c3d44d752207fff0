"""Supply (供): orders, supplier responses, deliveries, receipts, payments, supplier monthly reports,
usage lines and supply blocks (SPEC §6). Order lines carry denormalised institution, supplier and dates
so monitoring aggregates tens of millions of lines without joins."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from jicai.batches.models import Item
from jicai.core.fields import MoneyField, PriceField
from jicai.registry.models import Company, Institution, Product


class Order(models.Model):
    class Source(models.TextChoices):
        WEB = "web", "平台下单"
        IMPORT = "import", "文件导入"
        API = "api", "接口"

    # The sender's key (HIS/ERP) or ours. Unique by a constraint (Meta), not unique=True, which on PostgreSQL
    # adds a second, varchar_pattern_ops index for LIKE 'prefix%' that no query uses (searches are
    # icontains) and that cost 8 s of the province build.
    order_id = models.CharField("订单号", max_length=64)
    # db_index=False wherever a composite index (or unique constraint) below starts with the column: at
    # province scale each redundant index costs minutes of the demo build and a B-tree insert per row.
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    supplier = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="supplier_orders", db_index=False
    )
    distributor = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="distributor_orders"
    )
    ordered_on = models.DateField("下单日期")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.WEB)
    # Why the order went to a backup supplier instead of the main one (SPEC §6), empty otherwise.
    routing_reason = models.CharField("转备供原因", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Not indexed: only deleting a user looks orders up by it (users are deactivated, not deleted).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )

    class Meta:
        ordering = ["-ordered_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_id"], name="order_id_unique", violation_error_message="订单号已存在"
            )
        ]
        indexes = [
            models.Index(fields=["institution", "ordered_on"]),
            models.Index(fields=["supplier", "ordered_on"]),
            # The lists' default ordering: a bureau's order list reads the newest orders first and stops
            # after one page instead of sorting every order of the province.
            models.Index(fields=["-ordered_on", "-id"], name="order_newest_first"),
        ]
        verbose_name = "订单"
        verbose_name_plural = "订单"

    def __str__(self):
        return f"订单 {self.order_id}"


class LineStatus(models.TextChoices):
    """The sender's status column (SPEC §10 orders.status)."""

    OPEN = "open", "有效"
    CANCELLED = "cancelled", "已撤销"
    REJECTED = "rejected", "企业已拒绝"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField("行号")
    # Denormalised from the order for set-based monitoring (never edited separately).
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+", db_index=False)
    supplier = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+", db_index=False)
    ordered_on = models.DateField("下单日期")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    # The item the product counts for (same generic name and dosage-form group, preferring a batch with
    # winners in the institution's province whose cycle holds ordered_on); None for products of no item,
    # e.g. a substitute. Web/API orders use trade.queries.items_for_products, the orders import the same
    # rule; progress (agreed/purchased) and item_factor joins rely on it.
    item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines", db_index=False
    )
    qty = models.BigIntegerField("订购数量")
    unit_price = PriceField("单价")
    amount = MoneyField("金额")
    # The sender's status only; the status shown to users is derived from the quantities by
    # trade.rules.line_status (a supplier's rejection sets REJECTED together with accepted_by_supplier=False).
    status = models.CharField("状态", max_length=10, choices=LineStatus.choices, default=LineStatus.OPEN)
    accepted_by_supplier = models.BooleanField("企业已确认", null=True, blank=True)  # None = not answered
    reject_reason = models.CharField("拒绝原因", max_length=255, blank=True)
    # Running totals, maintained atomically (F() updates under constraints) by trade.actions.
    delivered_qty = models.BigIntegerField("已配送", default=0)
    accepted_qty = models.BigIntegerField("验收合格", default=0)
    rejected_qty = models.BigIntegerField("拒收", default=0)
    paid_amount = MoneyField("已付款", default=Decimal("0.00"))
    last_delivered_on = models.DateField(null=True, blank=True)
    last_received_on = models.DateField(null=True, blank=True)
    # The latest payment date: monitoring knows a line fully paid by D without reading its payments when
    # this is on or before D (LATE_PAYMENT, SPEC §7).
    last_paid_on = models.DateField(null=True, blank=True)
    # trade.rules.payment_due_date from the latest receipt date (the day the line was last received).
    payment_due_on = models.DateField("应付款日期", null=True, blank=True)

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="order_line_unique"),
            models.CheckConstraint(condition=models.Q(qty__gt=0), name="line_qty_positive"),
            models.CheckConstraint(
                condition=models.Q(delivered_qty__gte=0), name="line_delivered_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(delivered_qty__lte=models.F("qty")), name="line_delivered_within_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_qty__gte=0, rejected_qty__gte=0), name="line_receipt_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_qty__lte=models.F("delivered_qty") - models.F("rejected_qty")),
                name="line_received_within_delivered",
            ),
            models.CheckConstraint(
                condition=models.Q(paid_amount__gte=0, paid_amount__lte=models.F("amount")),
                name="line_paid_within_amount",
            ),
        ]
        indexes = [
            # Also serves one institution's lines of an item (drill-down): an institution has ~10³ lines.
            models.Index(fields=["institution", "product", "ordered_on"]),
            models.Index(fields=["supplier", "ordered_on"]),
            # Scorecards aggregate one batch's lines ordered in one quarter (586 → 145 ms at medium scale).
            models.Index(fields=["item", "ordered_on"], name="orderline_item_ordered_on"),
            # The line list's default ordering: newest date, newest order, the order's lines in order.
            models.Index(fields=["-ordered_on", "-order", "line_no"], name="orderline_newest_first"),
            # The same for one institution's list. Without it PostgreSQL chose between sorting the
            # institution's lines and walking the newest-first index until 50 of them turned up, by an
            # estimate of lines per institution that moves with each ANALYZE sample: at province scale the
            # largest institution's page took 25 ms after one ANALYZE and 736 ms after another.
            models.Index(
                fields=["institution", "-ordered_on", "-order", "line_no"], name="orderline_inst_newest"
            ),
        ]
        verbose_name = "订单明细"
        verbose_name_plural = "订单明细"

    def __str__(self):
        return f"{self.order.order_id} 第{self.line_no}行"


class Delivery(models.Model):
    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )  # unique (line, day) covers it
    qty = models.BigIntegerField("配送数量")
    delivered_on = models.DateField("配送日期")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["line", "delivered_on"], name="delivery_unique_per_day"),
            models.CheckConstraint(condition=models.Q(qty__gt=0), name="delivery_qty_positive"),
        ]
        # The delivery list's default ordering (newest first): one page without sorting every row.
        indexes = [models.Index(fields=["-delivered_on", "-id"], name="delivery_newest_first")]
        verbose_name = "配送记录"
        verbose_name_plural = "配送记录"

    def __str__(self):
        return f"{self.line} 配送 {self.qty}（{self.delivered_on}）"


class Receipt(models.Model):
    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, related_name="receipts", db_index=False
    )  # unique (line, day) covers it
    accepted_qty = models.BigIntegerField("验收合格数量")
    rejected_qty = models.BigIntegerField("拒收数量", default=0)
    received_on = models.DateField("入库日期")
    reason = models.CharField("拒收原因", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["line", "received_on"], name="receipt_unique_per_day"),
            models.CheckConstraint(
                condition=models.Q(accepted_qty__gte=0, rejected_qty__gte=0), name="receipt_qty_nonnegative"
            ),
        ]
        indexes = [models.Index(fields=["-received_on", "-id"], name="receipt_newest_first")]
        verbose_name = "入库验收"
        verbose_name_plural = "入库验收"

    def __str__(self):
        return f"{self.line} 入库 {self.accepted_qty}/拒收 {self.rejected_qty}（{self.received_on}）"


class Payment(models.Model):
    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, related_name="payments", db_index=False
    )  # unique (line, day) covers it
    amount = MoneyField("金额")
    paid_on = models.DateField("付款日期")
    invoice_no = models.CharField("发票号", max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One row per line, day and invoice: an invoice paid over several lines gives one row per line;
            # bulk imports (no invoice number) keep one row per line and day.
            models.UniqueConstraint(fields=["line", "paid_on", "invoice_no"], name="payment_unique_per_day"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["-paid_on", "-id"], name="payment_newest_first")]
        verbose_name = "付款记录"
        verbose_name_plural = "付款记录"

    def __str__(self):
        return f"{self.line} 付款 {self.amount}（{self.paid_on}）"


class SupplyBlock(models.Model):
    """The supplier is *unable to supply* this institution with this item (set by a bureau or by a
    verified ticket) until lifted; the order form then proposes backup, then backup2 (SPEC §6)."""

    supplier = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="supply_blocks")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="supply_blocks")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="supply_blocks")
    reason = models.CharField("原因", max_length=255)
    source = models.CharField(max_length=16, default="bureau")  # bureau / ticket
    source_ref = models.CharField(max_length=64, blank=True)  # e.g. the ticket id
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "institution", "item"],
                condition=models.Q(lifted_at__isnull=True),
                name="one_active_block",
            )
        ]
        ordering = ["-created_at", "-id"]
        verbose_name = "无法供应标记"
        verbose_name_plural = "无法供应标记"

    def __str__(self):
        return f"{self.supplier} 无法供应 {self.institution} {self.item}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class PriceException(models.Model):
    """A bureau's permission for an institution to order a product at a price other than the listing price."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="price_exceptions")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_exceptions")
    unit_price = PriceField()
    valid_from = models.DateField()
    valid_to = models.DateField()
    reason = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__gte=models.F("valid_from")), name="price_exception_dates"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="price_exception_price_nonnegative"
            ),
        ]
        verbose_name = "价格例外"
        verbose_name_plural = "价格例外"

    def __str__(self):
        return (
            f"{self.institution} {self.product.code} {self.unit_price}（{self.valid_from}～{self.valid_to}）"
        )


class SupplierMonthlyReport(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="monthly_reports")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="monthly_reports")
    month = models.DateField("月份")  # first day of the reported month
    production_qty = models.BigIntegerField("生产量")
    supply_qty = models.BigIntegerField("供应量")
    inventory_qty = models.BigIntegerField("库存量")
    payment_received = MoneyField("回款金额")
    submitted_at = models.DateTimeField(auto_now=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-month", "company", "item"]
        constraints = [
            models.UniqueConstraint(fields=["company", "item", "month"], name="monthly_report_unique"),
            models.CheckConstraint(
                condition=models.Q(
                    production_qty__gte=0, supply_qty__gte=0, inventory_qty__gte=0, payment_received__gte=0
                ),
                name="monthly_report_nonnegative",
            ),
        ]
        verbose_name = "企业月报"
        verbose_name_plural = "企业月报"

    def __str__(self):
        return f"{self.company} {self.item} {self.month:%Y-%m} 月报"


class UsageLine(models.Model):
    """HIS/settlement usage (SPEC §10 usage)."""

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="usage_lines", db_index=False
    )  # the (institution, product, used_on) index covers it
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="usage_lines")
    department = models.CharField("科室", max_length=64, blank=True)
    doctor_code = models.CharField("医师编码", max_length=32, blank=True)
    qty = models.BigIntegerField("数量")
    used_on = models.DateField("使用日期")

    class Meta:
        ordering = ["-used_on", "-id"]
        indexes = [
            models.Index(fields=["institution", "product", "used_on"]),
            models.Index(fields=["-used_on", "-id"], name="usage_newest_first"),
        ]
        # The sender's key of a usage line (SPEC §10 usage): re-sending it is a no-op, never a second row.
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "product", "department", "doctor_code", "used_on"],
                name="usage_line_unique",
            )
        ]
        verbose_name = "使用数据"
        verbose_name_plural = "使用数据"

    def __str__(self):
        return f"{self.institution.code} {self.product.code} {self.qty}（{self.used_on}）"
