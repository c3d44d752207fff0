"""The compliance sections of the quarterly notice (SPEC §14): delivery-rating averages per supplier over the
quarter's ratings by the region's institutions, and the post-cycle demand-review list of every agreement year
that ended in the quarter. monitoring.notices.build_notice appends them after its alert groups."""

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from jicai.batches.models import AgreementYear
from jicai.compliance import ratings, review
from jicai.compliance.models import DeliveryRating
from jicai.registry.models import Company, Institution, Region


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    # Shown under the section's rows (page and export): what the section could not list, and why.
    notes: list[str] = field(default_factory=list)


def notice_sections(
    region: Region, start: dt.date, end: dt.date, today: dt.date | None = None
) -> list[Section]:
    today = today or timezone.localdate()
    in_region = DeliveryRating.objects.filter(institution__region__path__startswith=region.path)
    avgs = ratings.averages(in_region, start, end)
    companies = Company.objects.in_bulk(list(avgs))
    rating_section = Section(
        "配送评价（按生产企业平均分）",
        ["生产企业", "统一社会信用代码", "评价数", "及时性", "完整性", "服务", "综合"],
        [
            [
                companies[k].name,
                companies[k].code,
                a.ratings,
                a.timeliness,
                a.completeness,
                a.service,
                a.overall,
            ]
            for k, a in sorted(avgs.items(), key=lambda kv: companies[kv[0]].code)
        ],
    )
    review_section = Section(
        "报量复核抽查名单（本季度结束的协议年度）",
        [
            "批次",
            "协议年度",
            "机构代码",
            "机构名称",
            "品种编码",
            "历史采购量",
            "报量",
            "实际采购量",
            "偏差比例",
            "抽查原因",
        ],
    )
    institutions = Institution.objects.filter(region__path__startswith=region.path)
    years = AgreementYear.objects.filter(end__gte=start, end__lte=end, end__lt=today).select_related("batch")
    for year in years.order_by("batch__code", "number"):
        rows, note = _review_rows(year, region, institutions, today)
        if note:
            review_section.notes.append(note)
        review_section.rows.extend(
            [
                year.batch.code,
                year.number,
                r.institution.code,
                r.institution.name,
                r.item_code,
                r.history,
                r.reported,
                r.purchased,
                r.deviation,
                r.flag_text,
            ]
            for r in rows
        )
    return [rating_section, review_section]


def _review_rows(year: AgreementYear, region: Region, institutions, today: dt.date):
    """The year's spot-check rows in the region, as the review page lists them: the year's stored run
    (rows of the region's subtree) when there is one; else computed live for at most LIVE_LIMIT institutions
    (a province's live list takes about a minute); else none, with a note naming the command."""
    run = review.latest_run(year)
    if run is not None:
        rows = run.rows.select_related("institution").filter(region_path__startswith=region.path)
        computed = timezone.localtime(run.computed_at)
        note = f"{year.batch.code} 第 {year.number} 协议年度的抽查名单计算于 {computed:%Y-%m-%d %H:%M}"
        return list(rows.order_by("institution_code", "item_code")), note
    if not review.live_allowed(institutions):
        return [], (
            f"{year.batch.code} 第 {year.number} 协议年度：范围内机构超过 {review.LIVE_LIMIT} 家，"
            f"抽查名单尚未计算，请先运行 {review.store_command(year)}"
        )
    return review.review_rows(year, institutions, today=today), ""
