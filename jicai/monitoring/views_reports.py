"""Pages for dashboards, quarterly notices and supplier scorecards. Thin: resolve the scoped object, call
dashboards / notices / scorecards, render. Charts get their data through json_script and are drawn by
static/monitoring/dashboard.js (strict CSP: no inline script or style)."""

import tempfile
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from jicai.accounts import access
from jicai.batches.models import Batch
from jicai.core.errors import DomainError, NotFound
from jicai.core.errors import PermissionDenied as DomainPermissionDenied
from jicai.monitoring import dashboards, notices, scorecards
from jicai.monitoring.models import SanctionDecision
from jicai.registry.models import Region
from jicai.web.shortcuts import scoped_page


def today():
    """The business date of pages (patched in tests)."""
    return timezone.localdate()


def _with_query(url: str, **params) -> str:
    params = {k: v for k, v in params.items() if v}
    return f"{url}?{urlencode(params)}" if params else url


def region_url(code: str, batch: Batch | None) -> str:
    return _with_query(reverse("monitoring:dashboard_region", args=[code]), batch=batch.code if batch else "")


def institution_url(code: str, batch: Batch | None) -> str:
    return _with_query(
        reverse("monitoring:dashboard_institution", args=[code]), batch=batch.code if batch else ""
    )


def _region_trail(actor, region: Region, batch: Batch | None) -> list[tuple[str, str | None]]:
    """Breadcrumbs from the top region the actor may see down to `region` (one query)."""
    root = access.bureau_region(actor)
    codes = region.ancestor_codes()
    chain = Region.objects.filter(code__in=codes)
    if root is not None and not access.is_admin(actor):
        chain = chain.filter(path__startswith=root.path)
    return [("监测看板", None)] + [(r.name, region_url(r.code, batch)) for r in chain.order_by("path")]


@scoped_page
def dashboard_home(request):
    target = dashboards.home_target(request.user)
    if target is None:
        raise Http404("没有可查看的监测看板")
    kind, code = target
    name = "monitoring:dashboard_region" if kind == "region" else "monitoring:dashboard_institution"
    return redirect(_with_query(reverse(name, args=[code]), batch=request.GET.get("batch", "")))


@scoped_page
def dashboard_region(request, code):
    actor = request.user
    region = dashboards.dashboard_region(actor, code)
    batches = dashboards.batches_with_facts()
    batch = dashboards.choose_batch(batches, request.GET.get("batch", ""))
    year = dashboards.facts_year(batch) if batch else None
    context = {"region": region, "batches": batches, "batch": batch, "year": year}
    alert_q = dashboards.alerts_in_region_q(region)
    if year is not None and year.has_data:
        breakdown = dashboards.region_breakdown(region, year)
        urls = [
            region_url(r.code, batch) if r.kind == "region" else institution_url(r.code, batch)
            for r in breakdown.rows
        ]
        for row, url in zip(breakdown.rows, urls, strict=True):
            row.url = url
        delivery = dashboards.delivery_by_supplier(year, region=region)
        context.update(
            breakdown=breakdown,
            delivery=delivery,
            # The substitute trend aggregates every receipt of the substitute products over two years: it
            # is loaded after the page (htmx) so the page itself stays fast at province scale.
            trend_url=_with_query(
                reverse("monitoring:dashboard_region_trend", args=[region.code]), batch=batch.code
            ),
            drill_chart=dashboards.drilldown_chart(breakdown, urls),
            share_chart=dashboards.share_chart(breakdown),
            delivery_chart=dashboards.delivery_chart(delivery),
            levels=[dashboards.LEVEL_LABELS[level] for level in dashboards.LEVEL_ORDER],
        )
    until = year.as_of if year is not None and year.has_data else today()
    context["alert_chart"] = dashboards.alert_counts_by_month(alert_q, until=until)
    context["open_alerts"] = dashboards.open_alert_counts(alert_q)
    context["breadcrumbs"] = _region_trail(actor, region, batch)
    return render(request, "monitoring/dashboard_region.html", context)


@scoped_page
def dashboard_region_trend(request, code):
    """The region dashboard's substitute-trend panel (an htmx fragment requested by the page once loaded);
    the same scope and batch choice as the page."""
    region = dashboards.dashboard_region(request.user, code)
    batch = dashboards.choose_batch(dashboards.batches_with_facts(), request.GET.get("batch", ""))
    year = dashboards.facts_year(batch) if batch else None
    context = {"region": region, "trend": None}
    if year is not None and year.has_data:
        trend = dashboards.substitute_trend(region, year)
        context.update(
            trend=trend,
            trend_rows=list(zip(trend["months"], trend["this_year"], trend["last_year"], strict=True)),
            trend_chart=dashboards.trend_chart(trend),
        )
    return render(request, "monitoring/dashboard_trend.html", context)


@scoped_page
def dashboard_institution(request, code):
    actor = request.user
    institution = dashboards.dashboard_institution(actor, code)
    batches = dashboards.batches_with_facts()
    batch = dashboards.choose_batch(batches, request.GET.get("batch", ""))
    year = dashboards.facts_year(batch) if batch else None
    rows, delivery = [], []
    if year is not None and year.has_data:
        rows = dashboards.institution_items(institution, year)
        delivery = dashboards.delivery_by_supplier(year, institution=institution)
        lines_url = reverse("trade:lines")
        for row in rows:
            # That institution's order lines of the item (item codes are unique within a batch) ordered
            # in the agreement year up to the run's date.
            row.orders_url = _with_query(
                lines_url,
                institution=institution.code,
                batch=batch.code,
                item=row.fact.item.item_code,
                date_from=year.agreement_year.start.isoformat(),
                date_to=min(year.agreement_year.end, year.as_of).isoformat(),
            )
    breadcrumbs = (
        _region_trail(actor, institution.region, batch)
        if dashboards.can_see_regions(actor)
        else [("监测看板", None)]
    )
    breadcrumbs.append((institution.name, None))
    return render(
        request,
        "monitoring/dashboard_institution.html",
        {
            "institution": institution,
            "batches": batches,
            "batch": batch,
            "year": year,
            "rows": rows,
            "delivery": delivery,
            "levels": [dashboards.LEVEL_LABELS[level] for level in dashboards.LEVEL_ORDER],
            "items_chart": dashboards.items_chart(rows),
            "open_alerts": dashboards.open_alert_counts(Q(institution=institution)),
            "breadcrumbs": breadcrumbs,
        },
    )


# ---- notices ---------------------------------------------------------------------------------------


def _actor_region(actor, code: str) -> Region:
    if code:
        return notices.notice_region(actor, code)
    region = access.bureau_region(actor)
    if region is None:
        if not access.is_admin(actor):
            raise NotFound(dashboards.NOT_FOUND)
        region = Region.objects.filter(parent__isnull=True).order_by("code").first()
        if region is None:
            raise NotFound(dashboards.NOT_FOUND)
    return notices.notice_region(actor, region.code)


@scoped_page
def notice_index(request):
    region = _actor_region(request.user, request.GET.get("region", ""))
    quarter_text = request.GET.get("quarter", "")
    if quarter_text:
        try:
            quarter = notices.parse_quarter(quarter_text)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("monitoring:notice", region.code, quarter.code)
    return render(
        request,
        "monitoring/notice_index.html",
        {
            "region": region,
            "quarters": notices.recent_quarters(today()),
            "breadcrumbs": [("监测通报", None)],
        },
    )


@scoped_page
def notice_detail(request, code, quarter):
    region = notices.notice_region(request.user, code)
    try:
        period = notices.parse_quarter(quarter)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    notice = notices.build_notice(region, period)
    if request.GET.get("export") == "xlsx":
        tmp = tempfile.TemporaryFile(suffix=".xlsx")
        notices.write_notice_xlsx(notice, tmp)
        tmp.seek(0)
        return FileResponse(
            tmp,
            as_attachment=True,
            filename=f"集采监测通报_{region.code}_{period.code}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    return render(
        request,
        "monitoring/notice.html",
        {
            "notice": notice,
            "region": region,
            "breadcrumbs": [("监测通报", reverse("monitoring:notices")), (period.label, None)],
        },
    )


# ---- scorecards ------------------------------------------------------------------------------------


def _quarter_param(request):
    text = request.GET.get("quarter", "")
    if not text:
        return notices.quarter_of(today())
    try:
        return notices.parse_quarter(text)
    except DomainError as exc:
        raise Http404(exc.message) from exc


def _batch_param(request) -> Batch | None:
    code = request.GET.get("batch", "")
    if code:
        return scorecards.scorecard_batch(code)
    with_facts = dashboards.batches_with_facts()
    return with_facts[0] if with_facts else Batch.objects.order_by("-cycle_start", "code").first()


@scoped_page
def scorecard_list(request):
    actor = request.user
    own = access.company_of(actor)
    if not scorecards.can_list_scorecards(actor) and own is None:
        raise Http404(dashboards.NOT_FOUND)
    quarter = _quarter_param(request)
    batch = _batch_param(request)
    region = scorecards.scorecard_region(actor, request.GET.get("region", ""), supplier=own)
    cards, note = [], ""
    if batch is not None:
        try:
            cards = scorecards.build_scorecards(
                batch=batch, region=region, quarter=quarter, today=today(), suppliers=[own] if own else None
            )
        except scorecards.NotStored as exc:
            note = exc.message
    for card in cards:
        card.url = _with_query(
            reverse("monitoring:scorecard", args=[card.supplier.code, batch.code, quarter.code]),
            region=region.code,
        )
    return render(
        request,
        "monitoring/scorecard_list.html",
        {
            "cards": cards,
            "note": note,
            "run": cards[0].run if cards else None,
            "batch": batch,
            "batches": Batch.objects.order_by("-cycle_start", "code"),
            "quarter": quarter,
            "quarters": notices.recent_quarters(today()),
            "region": region,
            "levels": [dashboards.LEVEL_LABELS[level] for level in dashboards.LEVEL_ORDER],
            "breadcrumbs": [("企业评价", None)],
        },
    )


@scoped_page
@require_http_methods(["GET", "POST"])
def scorecard_detail(request, supplier, batch, quarter):
    actor = request.user
    company = scorecards.scorecard_supplier(actor, supplier)
    the_batch = scorecards.scorecard_batch(batch)
    try:
        period = notices.parse_quarter(quarter)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    region = scorecards.scorecard_region(actor, request.GET.get("region", ""), supplier=company)
    if request.method == "POST":
        try:
            scorecards.decide_sanction(
                actor=actor,
                supplier=company,
                batch=the_batch,
                quarter=period,
                metric=request.POST.get("metric", ""),
                confirm=request.POST.get("decision") == "confirm",
                reason=request.POST.get("reason", ""),
                today=today(),
            )
        except DomainPermissionDenied as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "已记录处理结果。")
        return redirect(request.get_full_path())
    try:
        card = scorecards.build_scorecards(
            batch=the_batch, region=region, quarter=period, today=today(), suppliers=[company]
        )[0]
    except scorecards.NotStored as exc:
        card, note = None, exc.message
    else:
        note = ""
    return render(
        request,
        "monitoring/scorecard.html",
        {
            "card": card,
            "note": note,
            "company": company,
            "period": period,
            "can_decide": scorecards.can_decide(actor) and access.bureau_region(actor) == region,
            "statuses": SanctionDecision.Status,
            "breadcrumbs": [
                ("企业评价", _with_query(reverse("monitoring:scorecards"), batch=batch, quarter=period.code)),
                (company.name, None),
            ],
        },
    )


@scoped_page
def credit_record(request, supplier):
    company = scorecards.credit_supplier(request.user, supplier)
    decisions = list(scorecards.credit_record(request.user, company))
    for d in decisions:
        d.metric_label = scorecards.METRIC_LABELS.get(d.metric, d.metric)
        d.rate_pct = dashboards.pct(d.rate)
    return render(
        request,
        "monitoring/scorecard_credit.html",
        {
            "company": company,
            "decisions": decisions,
            "breadcrumbs": [("招采信用评价", None), (company.name, None)],
        },
    )
