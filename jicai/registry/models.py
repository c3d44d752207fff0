"""Master data (SPEC §4): regions, institutions, consortia, companies, products."""

from django.db import models

from jicai.core.codes import (
    institution_code_validator,
    product_code_validator,
    region_code_validator,
    uscc_validator,
)


class RegionLevel(models.TextChoices):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县/区"


class Region(models.Model):
    code = models.CharField("行政区划代码", max_length=6, unique=True, validators=[region_code_validator])
    name = models.CharField("名称", max_length=64)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.CharField("级别", max_length=8, choices=RegionLevel.choices)
    # "370000/371000/371002/": subtree queries are one indexed prefix match instead of a recursive walk.
    path = models.CharField(max_length=64, db_index=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"

    def __str__(self):
        return f"{self.name}（{self.code}）"

    @staticmethod
    def path_for(code: str, parent_path: str | None) -> str:
        return f"{parent_path or ''}{code}/"

    @property
    def province_code(self) -> str:
        return self.path[:6]

    def ancestor_codes(self) -> list[str]:
        """Codes from the province down to this region."""
        return [p for p in self.path.split("/") if p]


class InstitutionLevel(models.TextChoices):
    TERTIARY = "tertiary", "三级"
    SECONDARY = "secondary", "二级"
    PRIMARY = "primary", "一级"
    GRASSROOTS = "grassroots", "基层"


class Ownership(models.TextChoices):
    PUBLIC = "public", "公立"
    PRIVATE = "private", "民营"
    MILITARY = "military", "军队"


class Consortium(models.Model):
    """紧密型医共体: identified by its lead institution's code."""

    code = models.CharField("医共体代码", max_length=12, unique=True, validators=[institution_code_validator])
    name = models.CharField("名称", max_length=128)
    lead = models.OneToOneField(
        "Institution", null=True, blank=True, on_delete=models.SET_NULL, related_name="led_consortium"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "紧密型医共体"
        verbose_name_plural = "紧密型医共体"

    def __str__(self):
        return self.name


class Institution(models.Model):
    code = models.CharField("机构代码", max_length=12, unique=True, validators=[institution_code_validator])
    name = models.CharField("名称", max_length=128)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="institutions", verbose_name="所在地区"
    )
    level = models.CharField("等级", max_length=12, choices=InstitutionLevel.choices)
    ownership = models.CharField("性质", max_length=12, choices=Ownership.choices)
    consortium = models.ForeignKey(
        Consortium,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name="医共体",
    )

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["region", "level"])]
        verbose_name = "医疗机构"
        verbose_name_plural = "医疗机构"

    def __str__(self):
        return f"{self.name}（{self.code}）"


class CompanyKind(models.TextChoices):
    MANUFACTURER = "manufacturer", "生产企业"
    DISTRIBUTOR = "distributor", "配送企业"
    BOTH = "both", "生产兼配送"


class Company(models.Model):
    code = models.CharField("统一社会信用代码", max_length=18, unique=True, validators=[uscc_validator])
    name = models.CharField("名称", max_length=128)
    kind = models.CharField("类型", max_length=12, choices=CompanyKind.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = "企业"
        verbose_name_plural = "企业"

    def __str__(self):
        return self.name


class ProductCategory(models.TextChoices):
    WESTERN = "western", "西药"
    CHINESE = "chinese", "中成药"
    CONSUMABLE = "consumable", "医用耗材"


class Product(models.Model):
    code = models.CharField("医保编码", max_length=27, unique=True, validators=[product_code_validator])
    generic_name = models.CharField("通用名", max_length=128)
    dosage_form = models.CharField("剂型", max_length=64)
    dosage_form_group = models.CharField("剂型组", max_length=64)
    spec = models.CharField("规格", max_length=128)
    pack = models.CharField("包装", max_length=128, blank=True)
    unit = models.CharField("最小制剂单位", max_length=16)
    units_per_pack = models.PositiveIntegerField("包装数量", default=1)
    manufacturer = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="products", verbose_name="生产企业"
    )
    category = models.CharField("类别", max_length=12, choices=ProductCategory.choices)
    consistency_passed = models.BooleanField("通过一致性评价", default=False)
    originator = models.BooleanField("原研", default=False)

    class Meta:
        ordering = ["code"]
        # A product belongs to an item when generic name and dosage-form group match (SPEC §10).
        indexes = [models.Index(fields=["generic_name", "dosage_form_group"])]
        verbose_name = "产品"
        verbose_name_plural = "产品"

    def __str__(self):
        return f"{self.generic_name} {self.spec}（{self.code}）"
