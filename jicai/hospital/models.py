"""Inside the hospital (SPEC §11): departments, doctors, the staff link of doctor / department-head users,
department and doctor targets of an agreed volume, the log of every target change and the interview
list's actions."""

from django.conf import settings
from django.db import models

from jicai.agreements.models import AgreedVolume
from jicai.batches.models import Item
from jicai.registry.models import Institution


class Department(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="departments")
    code = models.CharField("科室编码", max_length=32)
    name = models.CharField("科室名称", max_length=64)
    # A ward (病区) may sit under a department.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name="上级科室",
    )

    class Meta:
        ordering = ["institution", "code"]
        constraints = [models.UniqueConstraint(fields=["institution", "code"], name="department_code_unique")]
        verbose_name = "科室"
        verbose_name_plural = "科室"

    def __str__(self):
        return f"{self.name}（{self.code}）"


class DoctorStatus(models.TextChoices):
    ACTIVE = "active", "在岗"
    AWAY = "away", "外出（进修、支援、休假）"


class Doctor(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="doctors")
    code = models.CharField("医师编码", max_length=32)
    name = models.CharField("姓名", max_length=64)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="doctors")
    status = models.CharField("状态", max_length=8, choices=DoctorStatus.choices, default=DoctorStatus.ACTIVE)

    class Meta:
        ordering = ["institution", "code"]
        constraints = [models.UniqueConstraint(fields=["institution", "code"], name="doctor_code_unique")]
        verbose_name = "医师"
        verbose_name_plural = "医师"

    def __str__(self):
        return f"{self.name}（{self.code}）"


class StaffLink(models.Model):
    """Which doctor record a `doctor` user is, and which department a `department_head` user heads. Kept
    here rather than on accounts.User so the hospital app owns its own links."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_link")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    doctor = models.ForeignKey(Doctor, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "医师/科主任账户关联"
        verbose_name_plural = "医师/科主任账户关联"

    def __str__(self):
        return f"{self.user} → {self.doctor or self.department}"


class TargetSource(models.TextChoices):
    AUTO = "auto", "自动分解"
    MANUAL = "manual", "手工调整"


class DepartmentTarget(models.Model):
    """A department's share of one agreed volume (institution, item, agreement year)."""

    volume = models.ForeignKey(AgreedVolume, on_delete=models.CASCADE, related_name="department_targets")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="targets")
    target = models.BigIntegerField("目标使用量")
    source = models.CharField(max_length=8, choices=TargetSource.choices, default=TargetSource.AUTO)

    class Meta:
        ordering = ["volume", "department__code"]
        constraints = [
            models.UniqueConstraint(fields=["volume", "department"], name="department_target_unique"),
            models.CheckConstraint(condition=models.Q(target__gte=0), name="department_target_nonnegative"),
        ]
        verbose_name = "科室目标"
        verbose_name_plural = "科室目标"

    def __str__(self):
        return f"科室目标 {self.target}"


class DoctorTarget(models.Model):
    department_target = models.ForeignKey(
        DepartmentTarget, on_delete=models.CASCADE, related_name="doctor_targets"
    )
    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="targets")
    target = models.BigIntegerField("目标使用量")
    source = models.CharField(max_length=8, choices=TargetSource.choices, default=TargetSource.AUTO)

    class Meta:
        ordering = ["department_target", "doctor__code"]
        constraints = [
            models.UniqueConstraint(fields=["department_target", "doctor"], name="doctor_target_unique"),
            models.CheckConstraint(condition=models.Q(target__gte=0), name="doctor_target_nonnegative"),
        ]
        verbose_name = "医师目标"
        verbose_name_plural = "医师目标"

    def __str__(self):
        return f"医师目标 {self.target}"


class TargetChange(models.Model):
    """Append-only log of every manual target change: who, when, before, after, reason."""

    volume = models.ForeignKey(AgreedVolume, on_delete=models.CASCADE, related_name="target_changes")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    doctor = models.ForeignKey(Doctor, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    old_target = models.BigIntegerField("调整前")
    new_target = models.BigIntegerField("调整后")
    reason = models.TextField("原因", blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "目标调整记录"
        verbose_name_plural = "目标调整记录"

    def __str__(self):
        return f"{self.old_target} → {self.new_target}"


class InterviewAction(models.TextChoices):
    WARNING = "warning", "预警"
    INTERVIEW = "interview", "约谈"
    NOTICE = "notice", "通报"
    PERFORMANCE = "performance", "扣罚绩效"
    RESTRICT = "restrict", "限制处方权"


class InterviewRecord(models.Model):
    """The pharmacy's action on one listed doctor or department for an item and quarter (logged)."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    quarter = models.CharField("季度", max_length=7)  # 2025Q1
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    doctor = models.ForeignKey(Doctor, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    action = models.CharField("处理措施", max_length=12, choices=InterviewAction.choices)
    note = models.TextField("说明", blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "约谈处理记录"
        verbose_name_plural = "约谈处理记录"

    def __str__(self):
        return f"{self.quarter} {self.get_action_display()}"
