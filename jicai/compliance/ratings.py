"""Delivery evaluation (SPEC §14, Henan 八): an institution rates each supplier–distributor pair that
served it in a month, once per month (1–5 for timeliness, completeness and service, plus a comment). A
rating of month M can be entered and changed from M's first day until five days after M's end. Averages per
supplier feed the scorecard and the quarterly notice; `remind_unrated` notifies institutions that have not
rated a pair they ordered through."""

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Organisation, Role
from jicai.accounts.notify import notify
from jicai.compliance.models import DeliveryRating
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound
from jicai.registry.models import Company

NOT_FOUND = "未找到该记录，或您无权查看"
EDIT_DAYS_AFTER_MONTH = 5
SCORES = ("timeliness", "completeness", "service")
TWO = Decimal("0.01")


def today() -> dt.date:
    return timezone.localdate()


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def editable_until(month: dt.date) -> dt.date:
    return month_end(month) + dt.timedelta(days=EDIT_DAYS_AFTER_MONTH)


def parse_month(raw: str) -> dt.date:
    try:
        return dt.datetime.strptime(str(raw).strip()[:7], "%Y-%m").date()
    except ValueError:
        raise DomainError(f"月份应为 YYYY-MM，实际为“{raw}”") from None


def served_pairs(institution_id: int, month: dt.date) -> set[tuple[int, int]]:
    """(supplier id, distributor id) of the institution's orders placed in the month."""
    from jicai.trade.models import Order

    return set(
        Order.objects.filter(
            institution_id=institution_id,
            ordered_on__gte=month,
            ordered_on__lte=month_end(month),
            distributor__isnull=False,
        )
        .values_list("supplier_id", "distributor_id")
        .order_by()
        .distinct()
    )


def _score(raw, label: str) -> int:
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit() or not 1 <= int(text) <= 5:
        raise DomainError(f"{label}应为 1–5 的整数，实际为“{raw}”")
    return int(text)


@transaction.atomic
def save_rating(
    *,
    actor,
    supplier_code: str,
    distributor_code: str,
    month: dt.date,
    timeliness,
    completeness,
    service,
    comment: str = "",
) -> DeliveryRating:
    institution = access.institution_of(actor)
    if institution is None or getattr(actor, "role", None) != Role.INSTITUTION:
        raise NotFound(NOT_FOUND)
    month = month.replace(day=1)
    supplier = Company.objects.filter(code=supplier_code.strip()).first()
    distributor = Company.objects.filter(code=distributor_code.strip()).first()
    if (
        supplier is None
        or distributor is None
        or (supplier.pk, distributor.pk) not in served_pairs(institution.pk, month)
    ):
        raise DomainError(
            f"{month:%Y-%m} 本机构没有该生产企业经该配送企业配送的订单，不能评价", code="not_served"
        )
    day = today()
    if day < month:
        raise DomainError("不能评价尚未开始的月份")
    if day > editable_until(month):
        raise DomainError(
            f"{month:%Y-%m} 的配送评价已于 {editable_until(month)} 截止，不能再填写或修改", code="closed"
        )
    scores = {
        "timeliness": _score(timeliness, "配送及时性"),
        "completeness": _score(completeness, "配送完整性"),
        "service": _score(service, "服务质量"),
    }
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise DomainError("意见不能超过 500 字")
    rating, created = DeliveryRating.objects.update_or_create(
        institution=institution,
        supplier=supplier,
        distributor=distributor,
        month=month,
        defaults={**scores, "comment": comment, "rated_by": audit._user(actor)},
    )
    audit.record(
        actor=actor,
        action="compliance.delivery_rating",
        obj=rating,
        summary=f"{institution.name} 评价 {supplier.name}/{distributor.name} {month:%Y-%m}："
        f"{scores['timeliness']}/{scores['completeness']}/{scores['service']}",
        changes={**scores, "month": f"{month:%Y-%m}", "comment": comment, "created": created},
    )
    return rating


def visible_ratings(actor):
    """Institution: its own ratings. Company: ratings of pairs it is part of. Bureau: institutions of its
    subtree. Admin: all."""
    qs = DeliveryRating.objects.select_related("institution", "supplier", "distributor")
    if access.is_admin(actor):
        return qs
    institution = access.institution_of(actor)
    if institution is not None:
        return qs.filter(institution=institution) if actor.role == Role.INSTITUTION else qs.none()
    company = access.company_of(actor)
    if company is not None:
        from django.db.models import Q

        return qs.filter(Q(supplier=company) | Q(distributor=company))
    region = access.bureau_region(actor)
    if region is not None:
        return qs.filter(institution__region__path__startswith=region.path)
    return qs.none()


@dataclass(frozen=True)
class Average:
    supplier_id: int
    ratings: int
    sums: tuple[int, int, int]  # timeliness, completeness, service

    def _avg(self, total: int, count: int) -> Decimal:
        return (Decimal(total) / count).quantize(TWO, rounding=ROUND_HALF_UP)

    @property
    def timeliness(self) -> Decimal:
        return self._avg(self.sums[0], self.ratings)

    @property
    def completeness(self) -> Decimal:
        return self._avg(self.sums[1], self.ratings)

    @property
    def service(self) -> Decimal:
        return self._avg(self.sums[2], self.ratings)

    @property
    def overall(self) -> Decimal:
        """Mean of all three scores of all ratings (from the sums, not from the rounded averages)."""
        return self._avg(sum(self.sums), 3 * self.ratings)


def averages(ratings, start: dt.date, end: dt.date) -> dict[int, Average]:
    """{supplier id: Average} over the ratings of months in [start, end]: sums and counts in SQL, the
    division in Decimal (two places, half up)."""
    rows = (
        ratings.filter(month__gte=start.replace(day=1), month__lte=end)
        .values("supplier_id")
        .annotate(n=Count("id"), t=Sum("timeliness"), c=Sum("completeness"), s=Sum("service"))
        .order_by("supplier_id")
    )
    return {r["supplier_id"]: Average(r["supplier_id"], r["n"], (r["t"], r["c"], r["s"])) for r in rows}


def unrated(month: dt.date, institution_ids=None) -> dict[int, list[tuple[int, int]]]:
    """{institution id: [(supplier id, distributor id)]} pairs ordered through in the month, not yet rated."""
    from jicai.trade.models import Order

    month = month.replace(day=1)
    orders = Order.objects.filter(
        ordered_on__gte=month, ordered_on__lte=month_end(month), distributor__isnull=False
    )
    if institution_ids is not None:
        orders = orders.filter(institution_id__in=institution_ids)
    rated = set(
        DeliveryRating.objects.filter(month=month).values_list(
            "institution_id", "supplier_id", "distributor_id"
        )
    )
    missing: dict[int, list[tuple[int, int]]] = {}
    for inst, sup, dist in (
        orders.values_list("institution_id", "supplier_id", "distributor_id").order_by().distinct()
    ):
        if (inst, sup, dist) not in rated:
            missing.setdefault(inst, []).append((sup, dist))
    return missing


def remind_unrated(month: dt.date) -> int:
    """Notify each institution with unrated pairs of the month (one notice per institution); returns how
    many were reminded."""
    month = month.replace(day=1)
    missing = unrated(month)
    orgs = list(Organisation.objects.filter(institution_id__in=list(missing)))
    if orgs:
        notify(
            organisations=orgs,
            kind="compliance.rating_reminder",
            title=f"请完成 {month:%Y-%m} 配送评价（{editable_until(month)} 截止）",
            body="本机构有尚未评价的生产企业–配送企业组合。",
            link=reverse("compliance:ratings") + f"?month={month:%Y-%m}",
        )
    return len(orgs)
