"""Agreed volumes (约定采购量, SPEC §5.6), purchase agreements (购销协议) and suppliers' delivery
relationships (配送关系), SPEC §6. Agreed volumes sit here rather than in demand (DESIGN.md) because they
are the input of agreements and are computed, adjusted and carried over by the same owner."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from jicai.batches.models import AgreementYear, Item
from jicai.core.fields import MoneyField, PriceField
from jicai.registry.models import Company, Institution, Region


class DeliveryRelationship(models.Model):
    """The distributor a supplier chose for a region (its subtree); the most specific region wins."""

    supplier = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="delivery_relationships")
    distributor = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="distribution_relationships"
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="delivery_relationships")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["supplier", "region"], name="delivery_relationship_unique")
        ]
        verbose_name = "配送关系"
        verbose_name_plural = "配送关系"

    def __str__(self):
        return f"{self.supplier} → {self.distributor}（{self.region}）"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "待签订"
    INSTITUTION_SIGNED = "institution_signed", "医疗机构已签"
    SUPPLIER_SIGNED = "supplier_signed", "企业已签"
    EFFECTIVE = "effective", "已生效"


class PurchaseAgreement(models.Model):
    # db_index=False where a composite index below starts with the column: at province scale every extra
    # index costs a B-tree insert per agreement (~6 × 10⁵ per year).
    agreement_year = models.ForeignKey(
        AgreementYear, on_delete=models.PROTECT, related_name="agreements", db_index=False
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="agreements", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="agreements")
    supplier = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="supplier_agreements", db_index=False
    )
    distributor = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="distributor_agreements",
        db_index=False,
    )
    agreed_qty = models.BigIntegerField("约定采购量")
    winning_price = PriceField("中选价")
    budget = MoneyField("预算金额", default=Decimal("0.00"))
    status = models.CharField(
        "状态", max_length=20, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT
    )
    due_date = models.DateField("签订截止日期", null=True, blank=True)
    institution_signed_at = models.DateTimeField(null=True, blank=True)
    institution_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    supplier_signed_at = models.DateTimeField(null=True, blank=True)
    supplier_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    effective_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agreement_year", "institution", "item"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement_year", "institution", "item"], name="agreement_unique"
            ),
            models.CheckConstraint(condition=models.Q(agreed_qty__gte=0), name="agreement_qty_nonnegative"),
        ]
        indexes = [
            models.Index(fields=["supplier", "status"]),
            models.Index(fields=["institution", "status"]),
            models.Index(fields=["distributor", "status"]),
        ]
        verbose_name = "购销协议"
        verbose_name_plural = "购销协议"

    def __str__(self):
        return (
            f"购销协议 {self.pk}（{self.institution_id} / {self.item_id} / 第{self.agreement_year_id}年度）"
        )

    @property
    def is_signed_by_institution(self) -> bool:
        return self.institution_signed_at is not None

    @property
    def is_signed_by_supplier(self) -> bool:
        return self.supplier_signed_at is not None


class AgreedVolume(models.Model):
    """约定采购量 per agreement year, institution and item, assigned to the province's main supplier."""

    class Source(models.TextChoices):
        COMPUTED = "computed", "按比例计算"
        IMPORTED = "imported", "导入"
        CARRIED = "carried", "沿用上一年度"

    # Covered by the unique (agreement_year, institution, item) and the (supplier, agreement_year) indexes.
    agreement_year = models.ForeignKey(
        AgreementYear, on_delete=models.PROTECT, related_name="agreed_volumes", db_index=False
    )
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="agreed_volumes")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="agreed_volumes")
    supplier = models.ForeignKey(
        Company, null=True, on_delete=models.PROTECT, related_name="agreed_volumes", db_index=False
    )
    reported_qty = models.BigIntegerField("报量", default=0)
    ratio = models.DecimalField("约定比例", max_digits=5, decimal_places=4, null=True)
    agreed_qty = models.BigIntegerField("约定采购量")
    source = models.CharField(max_length=12, choices=Source.choices)
    adjusted = models.BooleanField("已调整", default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agreement_year", "institution", "item"], name="agreed_volume_unique"
            ),
            models.CheckConstraint(condition=models.Q(agreed_qty__gte=0), name="agreed_qty_nonnegative"),
        ]
        indexes = [models.Index(fields=["supplier", "agreement_year"])]
        verbose_name = "约定采购量"
        verbose_name_plural = "约定采购量"

    def __str__(self):
        return f"约定采购量 {self.agreed_qty}（机构 {self.institution_id} / 品种 {self.item_id}）"


class AgreedVolumeAdjustment(models.Model):
    agreed_volume = models.ForeignKey(AgreedVolume, on_delete=models.CASCADE, related_name="adjustments")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    old_qty = models.BigIntegerField()
    new_qty = models.BigIntegerField()
    reason = models.TextField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "约定采购量调整记录"
        verbose_name_plural = "约定采购量调整记录"

    def __str__(self):
        return f"{self.old_qty} → {self.new_qty}：{self.reason[:40]}"
