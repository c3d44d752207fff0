"""PolicyProfile: overrides of the SPEC §3 parameters for a region (inherited downwards) and/or a batch."""

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce

from jicai.batches.models import Batch
from jicai.registry.models import Region


class PolicyProfile(models.Model):
    """`values` holds only the parameters this profile overrides, as JSON ({name: value}).

    region=None is the platform-wide profile; batch=None applies to every batch of the region.
    """

    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.CASCADE, related_name="policy_profiles"
    )
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.CASCADE, related_name="policy_profiles"
    )
    values = models.JSONField(default=dict, blank=True)
    note = models.CharField("依据/说明", max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "batch"],
                condition=models.Q(region__isnull=False, batch__isnull=False),
                name="policy_region_batch_unique",
            ),
            models.UniqueConstraint(
                fields=["region"], condition=models.Q(batch__isnull=True), name="policy_region_unique"
            ),
            models.UniqueConstraint(
                fields=["batch"], condition=models.Q(region__isnull=True), name="policy_batch_unique"
            ),
            # NULLs never collide in a unique index, so the platform-wide profile (no region, no batch)
            # needs its own constraint to stay a single row.
            models.UniqueConstraint(
                Coalesce("region", Value(0)),
                Coalesce("batch", Value(0)),
                name="policy_scope_unique",
            ),
        ]
        verbose_name = "政策参数配置"
        verbose_name_plural = "政策参数配置"

    def __str__(self):
        where = self.region.name if self.region else "全平台"
        return f"{where}{' / ' + self.batch.code if self.batch else ''}"
