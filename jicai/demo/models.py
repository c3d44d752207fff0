"""DemoRun: marks a database as built by `jicai demo`, so a re-run may replace it and real data is never
overwritten by accident."""

from django.db import models


class DemoRun(models.Model):
    class Status(models.TextChoices):
        BUILDING = "building", "生成中"
        DONE = "done", "已完成"

    scale = models.CharField("规模", max_length=16)
    seed = models.BigIntegerField("随机种子")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.BUILDING)
    started_at = models.DateTimeField("开始时间", auto_now_add=True)
    seconds = models.FloatField("耗时（秒）", default=0)
    counts = models.JSONField("各表行数", default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "演示数据生成记录"
        verbose_name_plural = "演示数据生成记录"

    def __str__(self):
        return f"{self.scale} seed={self.seed} {self.get_status_display()}"
