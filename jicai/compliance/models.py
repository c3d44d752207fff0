"""SPEC §4 consistency evaluation and §14 policy completeness: consistency exemptions, delivery ratings,
organisation signing keys and agreement signatures. Withdrawal itself and the post-cycle demand review are
derived on every read (compliance.consistency; compliance.review for a scope of at most
review.LIVE_LIMIT institutions), so they follow every change of products, listings and exemptions; a
bureau's review of more institutions reads the stored run of the year (ReviewRun), refreshed by
`jicai review --store`, and shows when it was computed."""

from django.conf import settings
from django.db import models

from jicai.registry.models import Company, Institution, Region


class ConsistencyExemption(models.Model):
    """A province bureau keeps the non-passed products of a generic name listed (暂不撤网), with a reason."""

    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="consistency_exemptions")
    generic_name = models.CharField("通用名", max_length=128)
    reason = models.CharField("原因", max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["province", "generic_name"]
        constraints = [
            models.UniqueConstraint(fields=["province", "generic_name"], name="consistency_exemption_unique")
        ]
        verbose_name = "一致性评价暂不撤网"
        verbose_name_plural = "一致性评价暂不撤网"

    def __str__(self):
        return f"{self.province_id} {self.generic_name}"


class DeliveryRating(models.Model):
    """配送评价 (Henan 八): one rating per institution, supplier–distributor pair and month (1st of month)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="delivery_ratings")
    supplier = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    distributor = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")
    month = models.DateField("月份")
    timeliness = models.PositiveSmallIntegerField("配送及时性")
    completeness = models.PositiveSmallIntegerField("配送完整性")
    service = models.PositiveSmallIntegerField("服务质量")
    comment = models.CharField("意见", max_length=500, blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "institution", "supplier", "distributor"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "supplier", "distributor", "month"], name="delivery_rating_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(timeliness__gte=1, timeliness__lte=5)
                & models.Q(completeness__gte=1, completeness__lte=5)
                & models.Q(service__gte=1, service__lte=5),
                name="delivery_rating_scores_1_5",
            ),
        ]
        indexes = [models.Index(fields=["supplier", "month"])]
        verbose_name = "配送评价"
        verbose_name_plural = "配送评价"

    def __str__(self):
        return f"{self.institution_id} {self.supplier_id}/{self.distributor_id} {self.month:%Y-%m}"


class SigningKey(models.Model):
    """An organisation's X.509 certificate and its private key, encrypted with the server secret (Fernet,
    key derived from SECRET_KEY by HKDF). The plain private key never leaves the server."""

    # organisation None + is_ca: the platform's own demo CA, which issues the demo organisations' certificates.
    organisation = models.OneToOneField(
        "accounts.Organisation", null=True, blank=True, on_delete=models.CASCADE, related_name="signing_key"
    )
    is_ca = models.BooleanField("平台演示 CA", default=False)
    certificate_pem = models.TextField("证书（PEM）")
    encrypted_private_key = models.TextField("加密私钥")
    subject = models.CharField("证书主体", max_length=255)
    issuer = models.CharField("颁发者", max_length=255)
    serial = models.CharField("序列号", max_length=64)
    fingerprint = models.CharField("SHA-256 指纹", max_length=64)
    not_after = models.DateTimeField("有效期至")
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_ca"], condition=models.Q(is_ca=True), name="one_demo_ca"),
            models.CheckConstraint(
                condition=models.Q(is_ca=True) | models.Q(organisation__isnull=False),
                name="signing_key_owner",
            ),
        ]
        verbose_name = "数字证书"
        verbose_name_plural = "数字证书"

    def __str__(self):
        return f"{self.organisation_id} {self.subject}"


class AgreementSignature(models.Model):
    """One party's digital signature (RSA-PSS, SHA-256) over an agreement's canonical content."""

    class Party(models.TextChoices):
        INSTITUTION = "institution", "医疗机构"
        SUPPLIER = "supplier", "供应企业"

    agreement = models.ForeignKey(
        "agreements.PurchaseAgreement", on_delete=models.CASCADE, related_name="signatures"
    )
    party = models.CharField("签署方", max_length=12, choices=Party.choices)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_at = models.DateTimeField("签署时间")
    certificate_pem = models.TextField("签署证书（PEM）")
    content = models.TextField("签署内容")
    signature = models.TextField("签名（Base64）")

    class Meta:
        ordering = ["agreement", "signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "party"], name="agreement_signature_unique")
        ]
        verbose_name = "协议电子签章"
        verbose_name_plural = "协议电子签章"

    def __str__(self):
        return f"{self.agreement_id} {self.party}"


class BatchOverlap(models.Model):
    """SPEC §15: a national item and a provincial item of the same generic name and dosage-form group whose
    cycles overlap. Detected on import of batches, items and winners; applies only once a bureau confirmed it,
    from `applies_from` (the national cycle's start)."""

    national_item = models.ForeignKey("batches.Item", on_delete=models.CASCADE, related_name="+")
    provincial_item = models.ForeignKey("batches.Item", on_delete=models.CASCADE, related_name="overlaps")
    applies_from = models.DateField("生效日期（国家集采周期开始）")
    detected_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["applies_from", "provincial_item"]
        constraints = [
            models.UniqueConstraint(fields=["national_item", "provincial_item"], name="batch_overlap_unique")
        ]
        verbose_name = "国家与省级集采重叠"
        verbose_name_plural = "国家与省级集采重叠"

    def __str__(self):
        return f"{self.provincial_item_id} ⊂ {self.national_item_id} from {self.applies_from}"


class ReviewRun(models.Model):
    """A stored spot-check list (SPEC §14 demand review) of one finished agreement year: the flagged rows of
    every institution as `compliance.review.review_rows` computes them (the same function the live list
    uses). A province's list takes about a minute to compute (52.7 s at province scale), so the review page
    and API read the latest stored run of a year and show when it was computed; `jicai review --store`
    replaces it (one run per year)."""

    agreement_year = models.ForeignKey(
        "batches.AgreementYear", on_delete=models.CASCADE, related_name="review_runs"
    )
    computed_at = models.DateTimeField("计算时间", auto_now_add=True)
    seconds = models.FloatField("用时（秒）", default=0)
    rows_count = models.PositiveIntegerField("抽查条数", default=0)

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["agreement_year", "-computed_at"], name="review_run_latest")]
        verbose_name = "报量复核结果"
        verbose_name_plural = "报量复核结果"

    def __str__(self):
        return f"{self.agreement_year_id} @ {self.computed_at}"


class ReviewRunRow(models.Model):
    """One flagged (institution, item) of a stored review run, with the same attributes as
    `compliance.review.ReviewRow` (institution, item_code, item_name, history, reported, purchased,
    threshold, flags, deviation, flag_text). The institution's code and region path are copied so the list
    pages in its order (institution code, item code) and filters a bureau's subtree on one index."""

    # Indexed by review_row_order (run first).
    run = models.ForeignKey(ReviewRun, on_delete=models.CASCADE, related_name="rows", db_index=False)
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    institution_code = models.CharField(max_length=64)
    region_path = models.CharField(max_length=64)
    item_code = models.CharField(max_length=64)
    item_name = models.CharField(max_length=255)
    history = models.BigIntegerField(default=0)
    reported = models.BigIntegerField(default=0)
    purchased = models.DecimalField(max_digits=24, decimal_places=2)
    # The threshold as policy resolution gave it (kept as text: "0.50" stays "0.50", as on the live list).
    threshold_text = models.CharField(max_length=40)
    no_report = models.BooleanField(default=False)
    over_threshold = models.BooleanField(default=False)

    class Meta:
        ordering = ["run", "institution_code", "item_code"]
        indexes = [
            models.Index(fields=["run", "institution_code", "item_code"], name="review_row_order"),
            models.Index(
                fields=["run", "region_path", "institution_code", "item_code"], name="review_row_region"
            ),
        ]
        verbose_name = "报量复核抽查条目"
        verbose_name_plural = "报量复核抽查条目"

    def __str__(self):
        return f"{self.institution_code} {self.item_code}"

    @property
    def threshold(self):
        from decimal import Decimal

        return Decimal(self.threshold_text)

    @property
    def flags(self) -> list[str]:
        from jicai.compliance.review import flag_list

        return flag_list(self.no_report, self.over_threshold)

    @property
    def flag_text(self) -> str:
        return "；".join(self.flags)

    @property
    def deviation(self):
        from jicai.compliance.review import deviation

        return deviation(self.purchased, self.reported)
