"""Audit log and uploaded working-day schedules; nothing here knows about procurement rules."""

from django.conf import settings
from django.db import models


class AuditLog(models.Model):
    """One row per write: who, when, what changed. Imports write one row per file with counts."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Plain id, not a foreign key: core must not depend on accounts.
    organisation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class CalendarYear(models.Model):
    """A year whose official holiday schedule an admin uploaded (overrides the chinesecalendar package)."""

    year = models.PositiveIntegerField(primary_key=True)
    uploaded_at = models.DateTimeField(auto_now=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = "节假日安排（年度）"
        verbose_name_plural = "节假日安排（年度）"

    def __str__(self):
        return str(self.year)


class CalendarDay(models.Model):
    """An exception to Monday–Friday in an uploaded year: a holiday on a weekday or a make-up working weekend."""

    year = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(unique=True)
    is_workday = models.BooleanField()
    name = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "节假日/调休日"
        verbose_name_plural = "节假日/调休日"

    def __str__(self):
        return f"{self.date} {'班' if self.is_workday else '休'} {self.name}"
