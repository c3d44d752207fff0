"""Batches (SPEC §4): tenders with their cycle, agreement years, items, winners, substitutes, listing prices."""

from decimal import Decimal

from django.db import models

from jicai.core.fields import PriceField
from jicai.registry.models import Product, Region


class BatchKind(models.TextChoices):
    NATIONAL = "national", "国家集采"
    PROVINCIAL = "provincial", "省级集采"
    ALLIANCE = "alliance", "联盟集采"


class Batch(models.Model):
    code = models.CharField("批次编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=128)
    kind = models.CharField("类型", max_length=12, choices=BatchKind.choices)
    cycle_start = models.DateField("采购周期开始")
    cycle_end = models.DateField("采购周期结束")

    class Meta:
        ordering = ["-cycle_start", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cycle_end__gte=models.F("cycle_start")), name="batch_cycle_order"
            )
        ]
        verbose_name = "集采批次"
        verbose_name_plural = "集采批次"

    def __str__(self):
        return f"{self.name}（{self.code}）"


class AgreementYear(models.Model):
    """协议年度: maintained by batches.actions.sync_agreement_years whenever the cycle changes."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="agreement_years")
    number = models.PositiveSmallIntegerField("协议年度")
    start = models.DateField("开始")
    end = models.DateField("结束")
    # Purchase agreements of this year must be effective by this date (SPEC §6); unsigned after → alert.
    sign_due = models.DateField("协议签订截止日期", null=True, blank=True)

    class Meta:
        ordering = ["batch", "number"]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="agreement_year_unique")]
        verbose_name = "协议年度"
        verbose_name_plural = "协议年度"

    def __str__(self):
        return f"{self.batch.code} 第{self.number}年（{self.start}～{self.end}）"


class Item(models.Model):
    """采购品种: batch × generic name × dosage-form group."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    item_code = models.CharField("品种编码", max_length=32)
    generic_name = models.CharField("通用名", max_length=128)
    dosage_form_group = models.CharField("剂型组", max_length=64)

    class Meta:
        ordering = ["batch", "item_code"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "item_code"], name="item_code_unique_in_batch")
        ]
        indexes = [models.Index(fields=["generic_name", "dosage_form_group"])]
        verbose_name = "采购品种"
        verbose_name_plural = "采购品种"

    def __str__(self):
        return f"{self.generic_name} {self.dosage_form_group}（{self.item_code}）"


class WinnerRole(models.TextChoices):
    MAIN = "main", "主供"
    BACKUP = "backup", "备供"
    BACKUP2 = "backup2", "第二备供"
    NONSUPPLY = "nonsupply", "中选非供应"


SUPPLY_ROLES = (WinnerRole.MAIN, WinnerRole.BACKUP, WinnerRole.BACKUP2)


def supplies(role: str | None) -> bool:
    """The one rule for who is a winner *in a province* (SPEC §7 W): roles main, backup and backup2. A
    `nonsupply` national winner (it won elsewhere and does not supply this province) and a product without a
    winners row are non-winning there (N): monitoring, prepayment, clearance, the assessment and the
    settlement quote's self-pay increase all treat them alike."""
    return role in SUPPLY_ROLES


class Winner(models.Model):
    """A winning product of an item for one province, with its role there and its winning price."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="winners")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="winner_rows")
    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="winner_rows")
    role = models.CharField("角色", max_length=10, choices=WinnerRole.choices)
    winning_price = PriceField("中选价（元/最小单位）")

    class Meta:
        ordering = ["item", "province", "role"]
        constraints = [
            models.UniqueConstraint(fields=["item", "product", "province"], name="winner_unique"),
            models.CheckConstraint(condition=models.Q(winning_price__gte=0), name="winner_price_nonnegative"),
        ]
        verbose_name = "中选结果"
        verbose_name_plural = "中选结果"

    def __str__(self):
        return f"{self.item} {self.product.code} {self.province.code} {self.get_role_display()}"


class ItemFactor(models.Model):
    """item_factor of a product for an item: converts its units into the item's reference spec (default 1)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="factors")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="item_factors")
    factor = models.DecimalField("折算系数", max_digits=12, decimal_places=6, default=Decimal(1))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "product"], name="item_factor_unique"),
            models.CheckConstraint(condition=models.Q(factor__gt=0), name="item_factor_positive"),
        ]
        verbose_name = "折算系数"
        verbose_name_plural = "折算系数"

    def __str__(self):
        return f"{self.item_id}/{self.product_id} × {self.factor}"


class SubstituteDegree(models.TextChoices):
    FULL = "full", "完全替代"
    MOST = "most", "大部分替代"
    PARTIAL = "partial", "部分替代"


class Substitute(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="substitutes")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="substitute_rows")
    degree = models.CharField("替代程度", max_length=8, choices=SubstituteDegree.choices)

    class Meta:
        ordering = ["item", "product"]
        constraints = [models.UniqueConstraint(fields=["item", "product"], name="substitute_unique")]
        verbose_name = "可替代药品"
        verbose_name_plural = "可替代药品"

    def __str__(self):
        return f"{self.item_id}/{self.product_id} {self.get_degree_display()}"


class ListingPrice(models.Model):
    """挂网价 of a product in a province from a date on."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="listing_prices")
    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="listing_prices")
    price = PriceField("挂网价")
    valid_from = models.DateField("生效日期")

    class Meta:
        ordering = ["product", "province", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "province", "valid_from"], name="listing_price_unique"
            ),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="listing_price_nonnegative"),
        ]
        verbose_name = "挂网价格"
        verbose_name_plural = "挂网价格"

    def __str__(self):
        return f"{self.product_id} {self.province_id} {self.price} ({self.valid_from})"
