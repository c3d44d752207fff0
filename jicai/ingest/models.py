"""Import jobs: one row per file or bulk request, kept for the upload page and the audit trail."""

from django.conf import settings
from django.db import models


class ImportJob(models.Model):
    class Status(models.TextChoices):
        DRY_RUN = "dry_run", "试运行通过"
        DONE = "done", "已导入"
        REJECTED = "rejected", "已拒绝"

    kind = models.CharField("类型", max_length=32)
    source = models.CharField("来源", max_length=16)  # cli / web / api
    filename = models.CharField("文件名", max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices)
    rows = models.PositiveIntegerField("行数", default=0)
    created = models.PositiveIntegerField("新增", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    unchanged = models.PositiveIntegerField("未变", default=0)
    errors = models.JSONField("错误", default=list, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    organisation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "导入记录"
        verbose_name_plural = "导入记录"

    def __str__(self):
        return f"{self.kind} {self.filename or self.source} {self.get_status_display()}"
