"""Demand reporting (报量) and its review log: SPEC §5.1–5.5. Agreed volumes live in jicai.agreements."""

from django.conf import settings
from django.db import models

from jicai.accounts.models import Organisation
from jicai.batches.models import Batch, Item
from jicai.registry.models import Institution, Region


class ReportingWindow(models.Model):
    """A bureau opens reporting of a batch for a scope: its region subtree, or chosen institutions."""

    class Scope(models.TextChoices):
        REGION = "region", "本辖区全部机构"
        INSTITUTIONS = "institutions", "指定机构"

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="reporting_windows")
    agreement_year = models.PositiveSmallIntegerField("协议年度", default=1)
    bureau = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="reporting_windows")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="reporting_windows")
    scope = models.CharField("范围", max_length=16, choices=Scope.choices, default=Scope.REGION)
    institutions = models.ManyToManyField(Institution, blank=True, related_name="reporting_windows")
    title = models.CharField("名称", max_length=128)
    opens_on = models.DateField("开始日期")
    deadline = models.DateField("截止日期")
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opens_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(deadline__gte=models.F("opens_on")), name="window_dates_order"
            )
        ]
        verbose_name = "报量窗口"
        verbose_name_plural = "报量窗口"

    def __str__(self):
        return self.title


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交"
    APPROVED = "approved", "已通过"
    RETURNED = "returned", "已退回"


class DemandReport(models.Model):
    """One institution's report in one window. A consortium lead may file it (filed_by) for a member."""

    window = models.ForeignKey(ReportingWindow, on_delete=models.CASCADE, related_name="reports")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="demand_reports")
    filed_by = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="filed_demand_reports"
    )
    status = models.CharField("状态", max_length=12, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    return_reason = models.TextField("退回原因", blank=True)
    # First save of any line: tells "not started" from "in progress" on the completion page.
    last_saved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Lines the reviewer must look at (drop below history, history not reported), kept by demand.actions
    # whenever lines are saved so the review queue sorts flagged reports first without scanning lines.
    flagged_lines = models.PositiveIntegerField("需关注明细数", default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["window", "institution"]
        constraints = [
            models.UniqueConstraint(fields=["window", "institution"], name="one_report_per_window")
        ]
        indexes = [
            models.Index(fields=["window", "status"]),
            models.Index(fields=["-window", "institution"], name="report_list_order"),
        ]
        verbose_name = "报量"
        verbose_name_plural = "报量"

    def __str__(self):
        return f"{self.window} · {self.institution.name}"

    @property
    def filer_id(self) -> int:
        """The institution that edits and submits this report: the consortium lead, else itself."""
        return self.filed_by_id or self.institution_id


class DemandLine(models.Model):
    class HistorySource(models.TextChoices):
        PLATFORM = "platform", "平台采购数据"
        IMPORTED = "imported", "导入"
        NONE = "none", "无历史"

    report = models.ForeignKey(DemandReport, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="demand_lines")
    history_qty = models.BigIntegerField("历史采购量", default=0)
    history_source = models.CharField(
        max_length=12, choices=HistorySource.choices, default=HistorySource.NONE
    )
    reported_qty = models.BigIntegerField("报量", null=True, blank=True)
    explanation = models.TextField("说明", blank=True)
    return_reason = models.TextField("退回原因", blank=True)
    # reported < history × (1 − report_drop_threshold) (policy.rules.needs_explanation), set on save.
    below_history = models.BooleanField("低于历史采购量", default=False)
    # history > 0 but reported 0 (SPEC §5.3), shown to the reviewer.
    history_not_reported = models.BooleanField("有历史未报量", default=False)

    class Meta:
        ordering = ["report", "item__item_code"]
        constraints = [
            models.UniqueConstraint(fields=["report", "item"], name="one_line_per_item"),
            models.CheckConstraint(
                condition=models.Q(reported_qty__isnull=True) | models.Q(reported_qty__gte=0),
                name="reported_qty_nonnegative",
            ),
        ]
        verbose_name = "报量明细"
        verbose_name_plural = "报量明细"

    def __str__(self):
        return f"{self.report_id}/{self.item_id}: {self.reported_qty}"

    @property
    def flagged(self) -> bool:
        return self.below_history or self.history_not_reported


class ReportTransition(models.Model):
    """Append-only log of report state changes (who, when, from, to, reason)."""

    report = models.ForeignKey(DemandReport, on_delete=models.CASCADE, related_name="transitions")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=12, choices=ReportStatus.choices)
    to_status = models.CharField(max_length=12, choices=ReportStatus.choices)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "报量流转记录"
        verbose_name_plural = "报量流转记录"

    def __str__(self):
        return f"{self.report_id}: {self.from_status} → {self.to_status}"


class ImportedHistory(models.Model):
    """Historical purchases imported from outside when the platform has none (SPEC §5.2)."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    qty = models.BigIntegerField("历史采购量")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "item"], name="imported_history_unique"),
            models.CheckConstraint(condition=models.Q(qty__gte=0), name="imported_history_nonnegative"),
        ]
        verbose_name = "导入的历史采购量"
        verbose_name_plural = "导入的历史采购量"

    def __str__(self):
        return f"{self.institution_id}/{self.item_id}: {self.qty}"
