"""Money data of SPEC §12. Payment standards themselves are derived (winners, item factors, listing and
reference prices), not stored, so they can never disagree with the tender results they come from."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from jicai.batches.models import AgreementYear, Item
from jicai.core.fields import MoneyField, PriceField
from jicai.funds.rules import tranche_label
from jicai.registry.models import Institution, Region


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


class PrepaymentTranche(models.Model):
    """One fund prepayment tranche of an institution for an agreement year (SPEC §12, Hubei 三): "1", "2" or
    "topup-YYYY-MM". Created by `funds.prepayment.trigger_tranches` (idempotent); the bureau records what was
    disbursed. `paid_amount` is the sum of its disbursements, kept in step by one conditional UPDATE."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="prepayment_tranches")
    agreement_year = models.ForeignKey(
        AgreementYear, on_delete=models.PROTECT, related_name="prepayment_tranches"
    )
    tranche = models.CharField("批次", max_length=16)
    amount = MoneyField("应预付金额")
    triggered_on = models.DateField("触发日期")
    due_on = models.DateField("应拨付日期")
    paid_amount = MoneyField("已拨付金额", default=Decimal("0.00"))
    paid_on = models.DateField("最近拨付日期", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agreement_year", "institution", "triggered_on", "tranche"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "agreement_year", "tranche"], name="tranche_unique"
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="tranche_amount_nonnegative"),
            # Never above the tranche, never negative: the database refuses it whatever the caller does.
            models.CheckConstraint(
                condition=models.Q(paid_amount__gte=0, paid_amount__lte=models.F("amount")),
                name="tranche_paid_within_amount",
            ),
        ]
        verbose_name = "医保基金预付款"
        verbose_name_plural = "医保基金预付款"

    def __str__(self):
        return f"{self.institution_id}/{self.agreement_year_id} 第{self.tranche}笔 {self.amount}"

    @property
    def label(self) -> str:
        return tranche_label(self.tranche)

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid_amount


class Disbursement(models.Model):
    """A payment of the fund against a tranche, recorded by the bureau (partial payments allowed)."""

    tranche = models.ForeignKey(PrepaymentTranche, on_delete=models.CASCADE, related_name="disbursements")
    amount = MoneyField("拨付金额")
    paid_on = models.DateField("拨付日期")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tranche", "paid_on", "pk"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="disbursement_positive")]
        verbose_name = "预付款拨付记录"
        verbose_name_plural = "预付款拨付记录"

    def __str__(self):
        return f"{self.tranche_id} {self.amount} ({self.paid_on})"


class ExemptionMode(models.TextChoices):
    EXCLUDE = "exclude", "不纳入考核"
    SHARE = "share", "按中选产品使用占比考核"


class Exemption(models.Model):
    """An item exempted from the assessment for an institution or a region (Henan 四, Yantai 四): left out
    (`exclude`) or assessed by winning share against `target_share` (`share`). Imported (`exemptions`) or
    edited by the bureau, always with a reason."""

    agreement_year = models.ForeignKey(AgreementYear, on_delete=models.CASCADE, related_name="exemptions")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="exemptions")
    # Exactly one of institution / region: the scope the exemption applies to.
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    mode = models.CharField("方式", max_length=8, choices=ExemptionMode.choices)
    target_share = models.DecimalField("目标占比", max_digits=5, decimal_places=4, null=True, blank=True)
    reason = models.CharField("原因", max_length=255)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agreement_year", "item"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(institution__isnull=True, region__isnull=False)
                | models.Q(institution__isnull=False, region__isnull=True),
                name="exemption_one_scope",
            ),
            models.UniqueConstraint(
                fields=["agreement_year", "item", "institution"],
                condition=models.Q(institution__isnull=False),
                name="exemption_institution_unique",
            ),
            models.UniqueConstraint(
                fields=["agreement_year", "item", "region"],
                condition=models.Q(region__isnull=False),
                name="exemption_region_unique",
            ),
        ]
        verbose_name = "考核豁免"
        verbose_name_plural = "考核豁免"

    def __str__(self):
        return f"{self.item_id} {self.get_mode_display()}（{self.reason}）"

    @property
    def scope_code(self) -> str:
        return self.institution.code if self.institution_id else self.region.code


class AssessmentResult(models.Model):
    """A finalised assessment of one institution for one agreement year: a frozen snapshot (SPEC §12) with the
    inputs it was computed from; later data changes never touch it and it is never recomputed."""

    agreement_year = models.ForeignKey(AgreementYear, on_delete=models.PROTECT, related_name="assessments")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="assessments")
    score = models.DecimalField("得分", max_digits=6, decimal_places=2)
    grade = models.CharField("等级", max_length=8)
    retention_rate = models.DecimalField("结余留用比例", max_digits=5, decimal_places=4)
    saving_base = MoneyField("结余基数")
    retained = MoneyField("结余留用金额")
    items = models.JSONField("品种明细", default=list)
    inputs = models.JSONField("计算依据", default=dict)
    as_of = models.DateField("计算日期")
    finalised_at = models.DateTimeField(auto_now_add=True)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["agreement_year", "-score", "institution"]
        constraints = [
            models.UniqueConstraint(fields=["agreement_year", "institution"], name="assessment_once"),
        ]
        verbose_name = "集采执行考核结果"
        verbose_name_plural = "集采执行考核结果"

    def __str__(self):
        return f"{self.institution_id}/{self.agreement_year_id} {self.score} {self.grade}"


class AssessmentRun(models.Model):
    """A stored, provisional assessment of every institution with agreed volumes in one agreement year as of a
    date (`jicai assess --store`): a province's ranking takes minutes to compute, so the ranking page and API
    read the latest stored run for (year, as_of) and say when it was computed. Not a finalisation: a newer
    run for the same date replaces it; finalised snapshots (AssessmentResult) still win over it."""

    agreement_year = models.ForeignKey(
        AgreementYear, on_delete=models.CASCADE, related_name="assessment_runs"
    )
    as_of = models.DateField("计算日期")
    computed_at = models.DateTimeField("计算时间", auto_now_add=True)
    seconds = models.FloatField("用时（秒）", default=0)
    institutions = models.PositiveIntegerField("机构数", default=0)

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [
            models.Index(fields=["agreement_year", "as_of", "-computed_at"], name="assessment_run_latest")
        ]
        verbose_name = "考核试算结果"
        verbose_name_plural = "考核试算结果"

    def __str__(self):
        return f"{self.agreement_year_id} {self.as_of} @ {self.computed_at}"


class AssessmentRunRow(models.Model):
    """One institution of a stored run: the figures of `assessment.compute` (the item rows and inputs are left
    out, a province's run would hold a million of them: the per-institution report computes them)."""

    run = models.ForeignKey(AssessmentRun, on_delete=models.CASCADE, related_name="rows")
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    score = models.DecimalField("得分", max_digits=6, decimal_places=2)
    grade = models.CharField("等级", max_length=8)
    retention_rate = models.DecimalField("结余留用比例", max_digits=5, decimal_places=4)
    saving_base = MoneyField("结余基数")
    retained = MoneyField("结余留用金额")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "institution"], name="assessment_run_once")]
        verbose_name = "考核试算机构结果"
        verbose_name_plural = "考核试算机构结果"

    def __str__(self):
        return f"{self.run_id}/{self.institution_id} {self.score} {self.grade}"


class FundAccount(models.Model):
    """An institution's prepayment balance for one agreement year (SPEC §12: prepayment and clearance are per
    institution and agreement year): disbursements of the year's tranches add, direct settlements of lines
    received in the year (fund pays the supplier) and the year's clearance refunds draw. The CHECK makes an
    overdraw impossible even if two requests race: draws are one conditional UPDATE that row-locks the
    account until commit."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="fund_accounts")
    agreement_year = models.ForeignKey(AgreementYear, on_delete=models.PROTECT, related_name="fund_accounts")
    balance = MoneyField("预付款余额", default=Decimal("0.00"))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="fund_balance_nonnegative"),
            models.UniqueConstraint(fields=["institution", "agreement_year"], name="fund_account_unique"),
        ]
        verbose_name = "预付款余额"
        verbose_name_plural = "预付款余额"

    def __str__(self):
        return f"{self.institution_id}/{self.agreement_year_id} {self.balance}"


class FundPayment(models.Model):
    """A supplier payment made by the fund directly (payer = fund, 直接结算), drawn from the prepayment balance.
    The payment itself is an ordinary trade Payment; this row says who paid it."""

    payment = models.OneToOneField("trade.Payment", on_delete=models.CASCADE, related_name="fund_payment")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="fund_payments")
    # The agreement year whose prepayment balance paid it (the year the line was received in).
    agreement_year = models.ForeignKey(
        AgreementYear, on_delete=models.PROTECT, related_name="fund_payments", null=True
    )
    amount = MoneyField("金额")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "医保基金直接结算"
        verbose_name_plural = "医保基金直接结算"

    def __str__(self):
        return f"{self.institution_id} 直接结算 {self.amount}"


class ClearanceRefund(models.Model):
    """Unused prepayment an institution returned to the fund at clearance (SPEC §12)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="clearance_refunds")
    agreement_year = models.ForeignKey(
        AgreementYear, on_delete=models.PROTECT, related_name="clearance_refunds"
    )
    amount = MoneyField("退回金额")
    refunded_on = models.DateField("退回日期")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agreement_year", "institution", "refunded_on"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_positive")]
        verbose_name = "清算退回"
        verbose_name_plural = "清算退回"

    def __str__(self):
        return f"{self.institution_id}/{self.agreement_year_id} 退回 {self.amount}"
