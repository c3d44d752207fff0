"""Monitoring (SPEC §7): the facts of each run (stored so dashboards read them instead of recomputing),
alerts with a stable key and their escalation log, and bureau decisions on supplier scorecards.

Facts and alerts refer to their subjects (institution, item, supplier, …) without database foreign-key
constraints (db_constraint=False; Django still cascades deletes made through the ORM). The engine writes them
in bulk by set-based SQL from rows it has just joined, so a subject always exists, while PostgreSQL checks a
deferred foreign key row by row at commit: ~12 million checks when a province's first run writes 1.6 million
progress facts and 618 thousand alerts, about two minutes spent re-proving what the joins already proved.
The escalation log (AlertEvent) keeps its constraint: people write it too."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from jicai.batches.models import AgreementYear, Batch, Item
from jicai.registry.models import Company, Institution, Product, Region


def subject(model, *, null: bool = True, related_name: str = "+", **kwargs) -> models.ForeignKey:
    """A fact's or alert's reference to its subject: no database constraint (see the module docstring),
    cascading deletes made through the ORM."""
    return models.ForeignKey(
        model,
        null=null,
        blank=null,
        on_delete=models.CASCADE,
        related_name=related_name,
        db_constraint=False,
        **kwargs,
    )


class MonitoringRun(models.Model):
    as_of = models.DateField("监测日期")
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0)
    counts = models.JSONField(
        default=dict, blank=True
    )  # {"facts": n, "alerts_open": n, "alerts_closed": n, …}

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "监测运行"
        verbose_name_plural = "监测运行"

    def __str__(self):
        return f"{self.as_of} ({self.region.code if self.region else '全部'})"


class FactDate(models.Model):
    """The date-dependent part of an institution's facts for one agreement year: the as_of of the run that
    last computed them and the year's time progress on that day (SPEC §7). Stored once per (institution,
    agreement year) instead of on every ProgressFact and DeliveryFact row, so a run for the next day
    updates these few rows (a province: institutions × running batches) and leaves the ~1.6 million facts
    whose quantities did not change untouched. Facts reach it by their own (institution, agreement year)
    through `ProgressFact.dated` / `DeliveryFact.dated` (no column of their own); their `as_of` and
    `time_progress` properties read it. time_progress is NULL only for a pair migrated from delivery
    facts alone (migration 0012), until the next run of its institution."""

    institution = subject(Institution, null=False, db_index=False)
    agreement_year = subject(AgreementYear, null=False)
    as_of = models.DateField()
    time_progress = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "agreement_year"], name="fact_date_unique")
        ]
        verbose_name = "事实监测日期"
        verbose_name_plural = "事实监测日期"

    def __str__(self):
        return f"{self.institution_id}/{self.agreement_year_id} {self.as_of}"


def dated() -> models.ForeignObject:
    """A fact's FactDate, joined by (institution, agreement year): no column, no constraint."""
    return models.ForeignObject(
        FactDate,
        on_delete=models.DO_NOTHING,
        from_fields=["institution", "agreement_year"],
        to_fields=["institution", "agreement_year"],
        related_name="+",
    )


class DatedFact:
    """as_of / time_progress of a fact, read from its FactDate (select_related("dated") in bulk reads)."""

    @property
    def as_of(self):
        return self.dated.as_of

    @property
    def time_progress(self):
        return self.dated.time_progress


class ProgressFact(DatedFact, models.Model):
    """Per institution × item for the agreement year containing as_of: the volume facts of SPEC §7.
    Quantities are Σ qty × item_factor, hence decimals. The latest run replaces a scope's rows, writing
    only the rows whose quantities changed; the run's date and the year's time progress live in FactDate.

    Every run merges the scope's rows in bulk (a province: about a million), so the table carries only
    the indexes its readers use: the unique key (institution first) and (item, institution) cover the
    institution and item look-ups; no single-column copies of them."""

    institution = subject(Institution, null=False, db_index=False)
    item = subject(Item, null=False, db_index=False)
    agreement_year = subject(AgreementYear, null=False)
    dated = dated()
    agreed_qty = models.BigIntegerField(default=0)
    reported_qty = models.BigIntegerField(null=True, blank=True)
    purchased_winning = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    purchased_nonwinning = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    purchased_substitute = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    substitute_last_year = models.DecimalField(max_digits=20, decimal_places=4, default=0)  # [S−1y, S−1d]
    substitute_same_days_last_year = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    completion = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )  # None when agreed = 0
    # SPEC §13 forecast: purchased(W) over the run-rate window (the last forecast_window_days up to as_of, or
    # since S when shorter). Only this quantity is stored: the projection is a function of it, the
    # purchased quantity and the run's dates (monitoring.forecast), which change every day for every fact.
    # It changes as the window slides, so the next day's run rewrites the rows whose window sum moved.
    purchased_winning_window = models.DecimalField(max_digits=20, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "item", "agreement_year"], name="progress_fact_unique"
            )
        ]
        indexes = [
            models.Index(fields=["item", "institution"]),
            # Which agreement years have facts with an agreed volume (dashboards.batches_with_facts): one probe
            # per year instead of a DISTINCT over every fact (0.33 s per dashboard or scorecard page at
            # province scale). ">= 1" rather than the "> 0" of the dashboards' sums (the same for integers)
            # so that PostgreSQL cannot use it for those: reading 587,000 facts in index order made the bureau
            # home page slower than its sequential scan.
            models.Index(
                fields=["agreement_year"], condition=Q(agreed_qty__gte=1), name="progress_fact_volume"
            ),
        ]
        verbose_name = "采购进度事实"
        verbose_name_plural = "采购进度事实"

    def __str__(self):
        return f"{self.institution_id}/{self.item_id} {self.agreement_year_id}"


class DeliveryFact(DatedFact, models.Model):
    """Delivery rate of a supplier to an institution for a batch's agreement year (SPEC §7); rate None = no data.
    Merged in bulk by every run (only changed rows written; the date is in FactDate): the unique key
    (supplier first) serves supplier look-ups."""

    supplier = subject(Company, null=False, db_index=False)
    institution = subject(Institution, null=False)
    agreement_year = subject(AgreementYear, null=False)
    dated = dated()
    ordered_qty = models.BigIntegerField(default=0)
    delivered_qty = models.BigIntegerField(default=0)
    rate = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "institution", "agreement_year"], name="delivery_fact_unique"
            )
        ]
        verbose_name = "配送率事实"
        verbose_name_plural = "配送率事实"

    def __str__(self):
        return f"{self.supplier_id}→{self.institution_id} {self.rate}"


class AlertType(models.TextChoices):
    PROGRESS_LAG = "PROGRESS_LAG", "采购进度滞后"
    NONWINNING_EXCEEDS_WINNING = "NONWINNING_EXCEEDS_WINNING", "非中选产品采购量超过中选产品"
    SUBSTITUTE_EXCEEDS_LAST_YEAR = "SUBSTITUTE_EXCEEDS_LAST_YEAR", "可替代药品采购量超过上年"
    SUBSTITUTE_GROWTH = "SUBSTITUTE_GROWTH", "可替代药品同比增长过快"
    OVER_PURCHASE = "OVER_PURCHASE", "超量采购"
    UNREPORTED_PURCHASE = "UNREPORTED_PURCHASE", "未报量却采购"
    LOW_DELIVERY_RATE = "LOW_DELIVERY_RATE", "配送率偏低"
    LATE_RECEIPT = "LATE_RECEIPT", "未及时确认收货"
    LATE_PAYMENT = "LATE_PAYMENT", "未及时回款"
    ABNORMAL_ORDER = "ABNORMAL_ORDER", "超常规订单"
    OFFLINE_PURCHASE_SUSPECT = "OFFLINE_PURCHASE_SUSPECT", "疑似线下采购"
    PRICE_ABOVE_CAP = "PRICE_ABOVE_CAP", "价格超过限价"
    UNSIGNED_AGREEMENT = "UNSIGNED_AGREEMENT", "购销协议未按期签订"
    LATE_SUPPLIER_REPORT = "LATE_SUPPLIER_REPORT", "企业月报逾期"
    TICKET_REPLY_OVERDUE = "TICKET_REPLY_OVERDUE", "诉求逾期未答复"
    TICKET_FIX_OVERDUE = "TICKET_FIX_OVERDUE", "诉求逾期未解决"
    PREPAYMENT_OVERDUE = "PREPAYMENT_OVERDUE", "医保预付款逾期未拨付"
    NOT_ADMITTED = "NOT_ADMITTED", "协议品种未进院"
    SUBSTITUTE_LIMIT_EXCEEDED = "SUBSTITUTE_LIMIT_EXCEEDED", "可替代药品使用量超过本院限量"
    FORECAST_SHORTFALL = "FORECAST_SHORTFALL", "预计年末完成不足"


class AlertStatus(models.TextChoices):
    OPEN = "open", "待处理"
    EXPLAINED = "explained", "已说明"
    RESOLVED = "resolved", "已办结"
    CLOSED = "closed", "已自动关闭"  # the condition no longer holds


class Escalation(models.TextChoices):
    NONE = "", "—"
    REMINDED = "reminded", "已提醒"
    NOTIFIED = "notified", "已通报"
    INTERVIEWED = "interviewed", "已约谈"
    REFERRED = "referred", "已移交"


class Alert(models.Model):
    """Stored with a stable key (type + subject + agreement year): re-running monitoring updates the row.

    A province has hundreds of thousands of alerts, inserted and updated in bulk by every run, so there
    are no redundant indexes: the key is unique through a constraint (no extra pattern-ops index), and
    type, institution and supplier are served by the (type|institution|supplier, status) indexes. On
    PostgreSQL the table keeps free space in its pages (fillfactor, migration 0003) so a run's updates
    of value and last_seen_on stay on the page without new index entries (HOT updates)."""

    key = models.CharField(max_length=200)
    type = models.CharField(max_length=32, choices=AlertType.choices)
    institution = subject(Institution, related_name="alerts", db_index=False)
    item = subject(Item, related_name="alerts")
    supplier = subject(Company, related_name="alerts", db_index=False)
    product = subject(Product, related_name="alerts")
    batch = subject(Batch, related_name="alerts")
    agreement_year = subject(AgreementYear)
    order_id = models.CharField(max_length=64, blank=True)
    line_no = models.PositiveIntegerField(null=True, blank=True)
    ticket_id = models.BigIntegerField(null=True, blank=True)
    # PREPAYMENT_OVERDUE: the prepayment tranche ("1", "2", "topup-YYYY-MM") of the institution and agreement year.
    tranche = models.CharField(max_length=16, blank=True, default="")
    # The province the alert belongs to: scopes supplier-only alerts (LATE_SUPPLIER_REPORT) and lets a
    # province run close exactly its own alerts.
    province = subject(Region)
    value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    threshold = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    tier = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    escalation = models.CharField(
        max_length=12, choices=Escalation.choices, default=Escalation.NONE, blank=True
    )
    explanation = models.TextField(blank=True)
    first_seen_on = models.DateField()
    last_seen_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_on", "type"]
        constraints = [models.UniqueConstraint(fields=["key"], name="alert_key_unique")]
        indexes = [
            models.Index(fields=["type", "status"]),
            models.Index(fields=["institution", "status"]),
            models.Index(fields=["supplier", "status"]),
            # The alert list's default ordering: newest first, one page without sorting every alert.
            models.Index(fields=["-last_seen_on", "type", "id"], name="alert_newest_first"),
        ]
        verbose_name = "预警"
        verbose_name_plural = "预警"

    def __str__(self):
        return self.key

    @property
    def tranche_label(self) -> str:
        """第1笔 / 第2笔 / YYYY-MM 月末追加 (as the funds ledger names a tranche)."""
        from jicai.funds.rules import tranche_label

        return tranche_label(self.tranche)


class AlertEvent(models.Model):
    """Append-only log of an alert's status and escalation steps (who, when, what, why)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(
        max_length=24
    )  # opened / updated / closed / explained / resolved / reminded / …
    from_value = models.CharField(max_length=24, blank=True)
    to_value = models.CharField(max_length=24, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "预警处理记录"
        verbose_name_plural = "预警处理记录"

    def __str__(self):
        return f"{self.alert_id} {self.action}"


class SanctionDecision(models.Model):
    """A bureau's decision on a scorecard recommendation; confirmed ones form the supplier's credit record."""

    class Recommendation(models.IntegerChoices):
        RISK_WARNING = 1, "报量风险提示"
        REDUCE_VOLUME = 2, "减少约定采购量"
        BARRED = 3, "不接受参加集采"

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "已确认"
        DISMISSED = "dismissed", "已驳回"

    supplier = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="sanctions")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="sanctions")
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+"
    )  # the deciding bureau's region
    quarter = models.CharField(max_length=7)  # "2025Q3"
    metric = models.CharField(
        max_length=32
    )  # delivery_rate / delivery_rate_<level> / ticket_reply / ticket_fix
    rate = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    tier = models.PositiveSmallIntegerField(choices=Recommendation.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.TextField()
    decided_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "batch", "region", "quarter", "metric"], name="one_decision_per_metric"
            )
        ]
        verbose_name = "信用评价处理"
        verbose_name_plural = "信用评价处理"

    def __str__(self):
        return f"{self.supplier_id} {self.quarter} {self.metric} {self.get_status_display()}"


class ScorecardRun(models.Model):
    """Stored quarter delivery figures of the supplier scorecards (SPEC §7) of one batch over a region's
    subtree, as `monitoring.scorecards.line_sums` computes them (the live list's own query, so stored and
    live cannot differ in definition). A province's quarter takes seconds to sum (≈ 5 M order lines), so a
    scope of more than `scorecards.LIVE_LIMIT` institutions reads the newest run and shows when it was
    computed; `jicai scorecards --store` and `jicai monitor` (whole database) store runs."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")  # the subtree's root
    quarter = models.CharField(max_length=7)  # "2025Q3"
    as_of = models.DateField("截至")  # the evaluation date D = min(quarter end, the day it was computed for)
    grace_days = models.PositiveIntegerField()  # the policy's delivery_grace_days it was computed with
    computed_at = models.DateTimeField("计算时间", auto_now_add=True)
    seconds = models.FloatField("用时（秒）", default=0)

    class Meta:
        indexes = [
            models.Index(fields=["batch", "quarter", "region", "-computed_at"], name="scorecard_run_latest")
        ]
        verbose_name = "企业评价配送数据"
        verbose_name_plural = "企业评价配送数据"

    def __str__(self):
        return f"{self.batch_id} {self.quarter} {self.region_id} @ {self.computed_at}"


class ScorecardFigure(models.Model):
    """Ordered and delivered quantity of one supplier's lines to the institutions of one (region, level)
    in a stored run: a bureau of any region in the run's subtree sums its rows by region path."""

    run = models.ForeignKey(ScorecardRun, on_delete=models.CASCADE, related_name="figures", db_index=False)
    supplier = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    region_path = models.CharField(max_length=64)
    level = models.CharField(max_length=16)
    ordered_qty = models.BigIntegerField(default=0)
    delivered_qty = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["run", "region_path"], name="scorecard_figure_region")]
        verbose_name = "企业评价配送数据条目"
        verbose_name_plural = "企业评价配送数据条目"

    def __str__(self):
        return f"{self.supplier_id} {self.region_path} {self.level}"


class DirtyInstitution(models.Model):
    """Real time (SPEC §13): an institution whose indicators a committed write may have changed, written in
    the writer's own transaction by database triggers (migration 0010_realtimeb_dirty) on order lines,
    orders, deliveries, receipts, payments, usage, agreed volumes, agreements and supply blocks; a winner
    change writes institution None (every institution). monitoring.realtime drains the table."""

    institution_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "待更新机构"
        verbose_name_plural = "待更新机构"

    def __str__(self):
        return f"{self.institution_id or '全部'}"
