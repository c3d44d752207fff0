"""Organisations, users (one organisation and one role each) and per-organisation API tokens (SPEC §1, §9)."""

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models

from jicai.registry.models import Company, Institution, Region


class OrganisationKind(models.TextChoices):
    BUREAU = "bureau", "医保局"
    INSTITUTION = "institution", "医疗机构"
    COMPANY = "company", "企业"
    ADMIN = "admin", "平台运营"


class Organisation(models.Model):
    """Who a user acts for. Exactly one of region (bureau), institution or company is set, per kind."""

    kind = models.CharField("类型", max_length=12, choices=OrganisationKind.choices)
    name = models.CharField("名称", max_length=128)
    region = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bureaus",
        verbose_name="管辖地区",
    )
    institution = models.OneToOneField(
        Institution, null=True, blank=True, on_delete=models.CASCADE, related_name="organisation"
    )
    company = models.OneToOneField(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="organisation"
    )

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                name="organisation_kind_matches_link",
                condition=(
                    models.Q(
                        kind="bureau", region__isnull=False, institution__isnull=True, company__isnull=True
                    )
                    | models.Q(
                        kind="institution",
                        institution__isnull=False,
                        region__isnull=True,
                        company__isnull=True,
                    )
                    | models.Q(
                        kind="company", company__isnull=False, region__isnull=True, institution__isnull=True
                    )
                    | models.Q(
                        kind="admin", region__isnull=True, institution__isnull=True, company__isnull=True
                    )
                ),
            ),
            # One bureau per region.
            models.UniqueConstraint(
                fields=["region"], condition=models.Q(kind="bureau"), name="one_bureau_per_region"
            ),
        ]
        verbose_name = "机构账户"
        verbose_name_plural = "机构账户"

    def __str__(self):
        return self.name

    @property
    def bureau_level(self) -> str | None:
        return self.region.level if self.kind == OrganisationKind.BUREAU else None


class Role(models.TextChoices):
    BUREAU = "bureau", "医保局"
    INSTITUTION = "institution", "医疗机构"
    DOCTOR = "doctor", "医师"
    DEPARTMENT_HEAD = "department_head", "科主任"
    MANUFACTURER = "manufacturer", "中选生产企业"
    DISTRIBUTOR = "distributor", "配送企业"
    ADMIN = "admin", "平台管理员"


# Which roles a user of each organisation kind may have.
ROLES_BY_KIND = {
    OrganisationKind.BUREAU: {Role.BUREAU},
    OrganisationKind.INSTITUTION: {Role.INSTITUTION, Role.DOCTOR, Role.DEPARTMENT_HEAD},
    OrganisationKind.COMPANY: {Role.MANUFACTURER, Role.DISTRIBUTOR},
    OrganisationKind.ADMIN: {Role.ADMIN},
}


class User(AbstractUser):
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name="所属机构",
    )
    role = models.CharField("角色", max_length=16, choices=Role.choices, default=Role.INSTITUTION)
    full_name = models.CharField("姓名", max_length=64, blank=True)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self):
        return self.full_name or self.username


class ApiToken(models.Model):
    """A bearer token for HIS/ERP clients. Only a SHA-256 of the secret is stored; it is shown once."""

    PREFIX_LEN = 8

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("用途", max_length=64)
    # The role the client acts in (a company's ERP may act as manufacturer or as distributor).
    role = models.CharField("角色", max_length=16, choices=Role.choices)
    prefix = models.CharField(max_length=PREFIX_LEN, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"

    def __str__(self):
        return f"{self.prefix}… {self.name}"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def new_key() -> str:
        return "jc_" + secrets.token_urlsafe(32)


class Notification(models.Model):
    """An in-app notice to an organisation (reminders, ticket events, alerts); optionally also e-mailed."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField("类型", max_length=32)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    link = models.CharField("链接", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "read_at"])]
        verbose_name = "站内通知"
        verbose_name_plural = "站内通知"

    def __str__(self):
        return self.title
