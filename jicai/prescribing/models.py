"""SPEC §11 prescribing prompt and the hospital's substitute catalogue: catalogue entries, quarterly limits
and suspensions (proposed → confirmed / edited / dismissed), every prompt with its outcome, and the
version row that tells every server process to refresh its in-process prompt cache."""

import uuid

from django.conf import settings
from django.db import models

from jicai.batches.models import Item
from jicai.registry.models import Institution, Product


class CatalogueEntry(models.Model):
    """One substitute product the pharmacy watches for an item (本院可替代药品目录). Removing an entry keeps
    the row (active=False) so the reason stays with it; every add/remove is audited."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField("在目录中", default=True)
    from_batch = models.BooleanField("来自批次可替代药品清单", default=False)
    reason = models.TextField("最近一次增删原因", blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["institution", "item", "product__code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "item", "product"], name="catalogue_entry_unique")
        ]
        verbose_name = "本院可替代药品"
        verbose_name_plural = "本院可替代药品目录"

    def __str__(self):
        return f"{self.product_id} @ {self.item_id}"


class LimitStatus(models.TextChoices):
    PROPOSED = "proposed", "待确认"
    CONFIRMED = "confirmed", "已确认"
    DISMISSED = "dismissed", "已驳回"


class SubstituteLimit(models.Model):
    """The limit (or suspension) of one catalogue substitute for one quarter. The proposal's values stay
    as computed; the pharmacy's confirmed values are `limit_qty` / `suspended`."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quarter = models.CharField("季度", max_length=7)  # the quarter the limit applies to, e.g. 2025Q2
    last_year_qty = models.BigIntegerField("上年同季度使用量", default=0)
    proposed_qty = models.BigIntegerField("建议限量", null=True, blank=True)
    proposed_suspend = models.BooleanField("建议暂停", default=False)
    limit_qty = models.BigIntegerField("限量", null=True, blank=True)
    suspended = models.BooleanField("暂停", default=False)
    status = models.CharField(
        "状态", max_length=10, choices=LimitStatus.choices, default=LimitStatus.PROPOSED
    )
    note = models.TextField("说明", blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["institution", "quarter", "product__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "product", "quarter"], name="substitute_limit_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(limit_qty__isnull=True) | models.Q(limit_qty__gte=0),
                name="substitute_limit_nonnegative",
            ),
        ]
        verbose_name = "可替代药品限量"
        verbose_name_plural = "可替代药品限量"

    def __str__(self):
        return f"{self.quarter} {self.product_id}"


class PromptLevel(models.TextChoices):
    NONE = "none", "无提醒"
    INFO = "info", "提示"
    WARNING = "warning", "警告"
    CRITICAL = "critical", "严重"


class Outcome(models.TextChoices):
    PENDING = "", "未反馈"
    ACCEPTED = "accepted", "已改用中选药品"
    OVERRIDDEN = "overridden", "坚持原处方"


class OverrideReason(models.TextChoices):
    CONDITION = "condition", "患者病情需要"
    ALLERGY = "allergy", "过敏或不耐受"
    SHORTAGE = "shortage", "中选药品短缺"
    PATIENT = "patient", "患者自愿"
    OTHER = "other", "其他"


class Prompt(models.Model):
    """One prompt shown to a doctor (a CDS Hooks card or a plain JSON answer) and its outcome."""

    class Source(models.TextChoices):
        CDS_HOOKS = "cds", "CDS Hooks"
        JSON = "json", "JSON 接口"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    doctor_code = models.CharField("医师编码", max_length=32, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    qty = models.BigIntegerField("数量", default=0)
    level = models.CharField("级别", max_length=8, choices=PromptLevel.choices)
    source = models.CharField("来源", max_length=4, choices=Source.choices)
    hook = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField("结果", max_length=10, choices=Outcome.choices, blank=True, default="")
    reason = models.CharField("理由", max_length=10, choices=OverrideReason.choices, blank=True, default="")
    reason_text = models.TextField("理由说明", blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["institution", "doctor_code", "created_at"], name="prompt_doctor_idx")
        ]
        verbose_name = "处方提醒"
        verbose_name_plural = "处方提醒"

    def __str__(self):
        return f"{self.doctor_code} {self.product_id} {self.level}"


class CacheVersion(models.Model):
    """A single row whose number goes up whenever winners, substitutes, the catalogue, limits or
    restrictions change; each server process compares it (at most once a second) with the version of its
    in-process prompt cache."""

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"v{self.version}"
