"""Supply tickets (诉求对接, SPEC §8): an institution's complaint against a supplier, its working-day
deadlines, the append-only log of every step, attachments, and the bureau's supervision (escalation along
the institution's region path, interviews, verified supply problems).

Deadlines are stored on the ticket when they are set (policy and calendar of that day), so the SLA
evaluation and the supplier figures are plain SQL over dates."""

import secrets
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone

from jicai.accounts.models import Organisation
from jicai.batches.models import Item
from jicai.registry.models import Company, Institution, Product, Region
from jicai.trade.models import OrderLine, SupplyBlock


class Category(models.TextChoices):
    LATE_DELIVERY = "late_delivery", "配送不及时"
    SHORTAGE = "shortage", "断供缺货"
    WRONG_GOODS = "wrong_goods", "错发"
    QUALITY = "quality", "质量问题"
    OTHER = "other", "其他"


class Status(models.TextChoices):
    OPEN = "open", "待企业答复"
    REOPENED = "reopened", "已重新打开，待企业答复"
    REPLIED = "replied", "企业已答复，待整改"
    FIXED = "fixed", "已确认解决"
    CLOSED = "closed", "已办结"


# Statuses in which the supplier owes a reply (reply_due applies) and the one in which it owes the fix.
AWAITING_REPLY = (Status.OPEN, Status.REOPENED)
AWAITING_FIX = (Status.REPLIED,)
ACTIVE = (*AWAITING_REPLY, *AWAITING_FIX)


class OverdueKind(models.TextChoices):
    REPLY = "reply", "逾期未答复"
    FIX = "fix", "逾期未解决"


class Ticket(models.Model):
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="tickets", verbose_name="医疗机构"
    )
    supplier = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="supplier_tickets", verbose_name="生产企业"
    )
    distributor = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="distributor_tickets",
        verbose_name="配送企业",
    )
    order_line = models.ForeignKey(
        OrderLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name="订单行",
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets", verbose_name="产品"
    )
    # From the order line or the product (trade.queries.items_for_products); needed to mark a verified
    # supply problem, which blocks the supplier for (institution, item).
    item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets", verbose_name="采购品种"
    )
    category = models.CharField("问题类别", max_length=16, choices=Category.choices)
    description = models.TextField("问题描述")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)

    opened_on = models.DateField("提出日期")
    opened_at = models.DateTimeField(auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The deadline of the reply currently owed (moves when the ticket is reopened) and the first one ever
    # set, which the supplier figures use.
    reply_due = models.DateField("答复期限")
    reply_due_provisional = models.BooleanField("答复期限为暂定", default=False)
    first_reply_due = models.DateField("首次答复期限")
    first_replied_on = models.DateField("首次答复日期", null=True, blank=True)
    replied_on = models.DateField("最近答复日期", null=True, blank=True)
    reply_text = models.TextField("最近答复", blank=True)
    promised_fix_date = models.DateField("承诺解决日期", null=True, blank=True)
    # promised_fix_date, or reply date + ticket_fix_max_workdays when the supplier promised nothing.
    fix_due = models.DateField("解决期限", null=True, blank=True)
    fix_due_provisional = models.BooleanField("解决期限为暂定", default=False)
    fixed_on = models.DateField("确认解决日期", null=True, blank=True)
    workdays_to_fix = models.PositiveIntegerField("解决用时（工作日）", null=True, blank=True)
    # Sticky: once a reply (or the fix) was late in any round, the ticket never counts as on time again.
    replied_late = models.BooleanField("曾逾期答复", default=False)
    fixed_late = models.BooleanField("曾逾期解决", default=False)

    # The last deadline the SLA evaluation acted on: (kind, due) makes `jicai sla` idempotent.
    breached_kind = models.CharField(max_length=8, choices=OverdueKind.choices, blank=True)
    breached_due = models.DateField(null=True, blank=True)

    escalated_to = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="督办医保局地区",
    )
    escalation_level = models.CharField("督办层级", max_length=8, blank=True)  # county / city / province
    escalated_on = models.DateField("升级日期", null=True, blank=True)
    interviewed_on = models.DateField("约谈日期", null=True, blank=True)
    closed_on = models.DateField("办结日期", null=True, blank=True)
    supply_block = models.ForeignKey(
        SupplyBlock,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="无法供应标记",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="replied") | models.Q(fix_due__isnull=False),
                name="ticket_replied_has_fix_due",
            ),
            models.CheckConstraint(
                condition=models.Q(reply_due__gte=models.F("opened_on")), name="ticket_reply_due_after_open"
            ),
        ]
        indexes = [
            models.Index(fields=["supplier", "opened_on"]),
            models.Index(fields=["institution", "opened_on"]),
            models.Index(fields=["status", "reply_due"]),
            models.Index(fields=["status", "fix_due"]),
        ]
        verbose_name = "诉求"
        verbose_name_plural = "诉求"

    def __str__(self):
        return f"诉求 #{self.pk} {self.institution.name} → {self.supplier.name}"

    @property
    def number(self) -> str:
        return f"#{self.pk}"


class EventAction(models.TextChoices):
    OPENED = "opened", "提出诉求"
    REPLIED = "replied", "企业答复"
    FIX_CONFIRMED = "fix_confirmed", "确认解决"
    REOPENED = "reopened", "重新打开"
    OVERDUE = "overdue", "逾期并升级督办"
    ESCALATED = "escalated", "上报上级医保局"
    INTERVIEW = "interview", "约谈"
    REMINDER = "reminder", "督促提醒"
    NOTICE = "notice", "通报"
    OTHER_ACTION = "other_action", "其他督办措施"
    CLOSED = "closed", "办结"
    VERIFIED = "verified", "认定供应问题"
    BLOCK_LIFTED = "block_lifted", "解除无法供应标记"
    ATTACHED = "attached", "补充附件"


# What a bureau may record on a ticket besides escalating and closing it.
BUREAU_ACTIONS = (EventAction.INTERVIEW, EventAction.REMINDER, EventAction.NOTICE, EventAction.OTHER_ACTION)


class TicketEvent(models.Model):
    """Append-only: every step of a ticket with who, when, the status change and the text."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=EventAction.choices)
    on = models.DateField("业务日期")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who, as shown on the page even if the user is later removed ("系统" for the SLA evaluation).
    actor_label = models.CharField(max_length=200)
    from_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"])]
        verbose_name = "诉求处理记录"
        verbose_name_plural = "诉求处理记录"

    def __str__(self):
        return f"#{self.ticket_id} {self.get_action_display()} {self.on}"


def attachment_path(instance, filename: str) -> str:
    """A random name under MEDIA_ROOT/tickets/: the user's file name is never used on disk."""
    suffix = PurePosixPath(filename).suffix.lower()
    today = timezone.localdate()
    return f"tickets/{today:%Y/%m}/{secrets.token_hex(16)}{suffix}"


class TicketAttachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField("文件名", max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = "诉求附件"
        verbose_name_plural = "诉求附件"

    def __str__(self):
        return self.original_name
