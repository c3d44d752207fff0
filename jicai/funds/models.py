"""Money data of SPEC §12. Payment standards themselves are derived (winners, item factors, listing and
reference prices), not stored, so they can never disagree with the tender results they come from."""

from django.db import models

from jicai.batches.models import Item
from jicai.core.fields import PriceField
from jicai.registry.models import Region


class ReferencePrice(models.Model):
    """An item's pre-VBP weighted average price per reference unit in a province (import `reference-prices`).
    It is the saving base's reference and, × a product's item_factor, the pre-VBP price p₀ a glide starts from."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reference_prices")
    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="reference_prices")
    reference_price = PriceField("集采前加权平均价（元/参照单位）")

    class Meta:
        ordering = ["item", "province"]
        constraints = [
            models.UniqueConstraint(fields=["item", "province"], name="reference_price_unique"),
            models.CheckConstraint(
                condition=models.Q(reference_price__gte=0), name="reference_price_nonnegative"
            ),
        ]
        verbose_name = "集采前参考价"
        verbose_name_plural = "集采前参考价"

    def __str__(self):
        return f"{self.item_id}/{self.province_id} {self.reference_price}"
