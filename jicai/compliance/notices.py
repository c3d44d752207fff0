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
        for r in review.review_rows(year, institutions, today=today):
            review_section.rows.append(
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
            )
    return [rating_section, review_section]
