"""The per-role home pages: one view dispatches on the actor's role to a page of scoped, linked work
summaries (home.queries), each a fixed number of queries whatever the data size. This app sits on top:
it imports the apps it summarises and nothing in them imports it."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from jicai.accounts import access
from jicai.accounts.models import Role
from jicai.batches import queries as batch_queries
from jicai.home import queries as home_queries
from jicai.hospital import queries as hospital_queries
from jicai.monitoring import forecast
from jicai.registry import queries as registry_queries
from jicai.web.charts import bar_data

HOME_BATCHES = 10


def _recent_batches(actor):
    return list(batch_queries.list_batches(actor)[:HOME_BATCHES])


def _forecast(rows, scope: str) -> dict:
    """The year-end forecast card (SPEC §13): per item for an institution, per batch for a region."""
    return {"forecast_rows": rows, "forecast_chart": forecast.forecast_chart(rows), "forecast_scope": scope}


def admin_home(request):
    actor = request.user
    counts = home_queries.master_table_counts(actor)
    return render(
        request,
        "home/admin.html",
        {
            "counts": counts,
            "audit_rows": list(home_queries.recent_audit_rows(actor)),
            "import_jobs": home_queries.recent_import_jobs(actor),
            "monitoring_run": home_queries.latest_monitoring_run(actor),
        },
    )


def bureau_home(request):
    actor = request.user
    region = access.bureau_region(actor)
    today = home_queries.today()
    windows, more_windows = home_queries.open_window_progress(actor, today)
    level_counts = registry_queries.institution_level_counts(actor, region=region)
    return render(
        request,
        "home/bureau.html",
        {
            "region": region,
            "children": list(registry_queries.child_regions_with_counts(actor, region)),
            "level_counts": level_counts,
            "institution_total": sum(n for _, _, n in level_counts),
            "level_chart": bar_data(level_counts, "医疗机构数"),
            "batches": _recent_batches(actor),
            "can_manage_batches": access.can_manage_batches(actor),
            "today": today,
            "windows": windows,
            "more_windows": more_windows,
            "review_count": home_queries.review_queue_count(actor),
            "overdue_agreements": home_queries.overdue_agreement_count(actor, today),
            "alerts": home_queries.open_alerts_by_type(actor),
            "escalated": home_queries.escalated_overdue_tickets(actor, today),
            **_forecast(forecast.batch_forecasts(actor, region), "batch"),
        },
    )


def institution_home(request):
    actor = request.user
    institution = access.institution_of(actor)
    led = registry_queries.consortium_of_lead(actor, institution)
    today = home_queries.today()
    return render(
        request,
        "home/institution.html",
        {
            "institution": institution,
            "led_consortium": led,
            "members": list(registry_queries.consortium_members(actor, led)) if led else [],
            "batches": _recent_batches(actor),
            "agreement_counts": home_queries.agreement_status_counts(actor),
            "progress": home_queries.institution_progress(actor, institution),
            "line_counts": home_queries.open_line_counts(actor),
            "payables": home_queries.institution_payables(actor, today),
            "alerts": home_queries.open_alerts_by_type(actor),
            "tickets": home_queries.active_tickets(actor, today),
            **_forecast(forecast.item_forecasts(actor, institution), "item"),
        },
    )


def doctor_home(request):
    actor = request.user
    return render(
        request,
        "home/doctor.html",
        {
            "institution": access.institution_of(actor),
            "batches": _recent_batches(actor),
            "my_quotas": hospital_queries.home_rows(actor, home_queries.today()),
        },
    )


def manufacturer_home(request):
    actor = request.user
    company = access.company_of(actor)
    products = registry_queries.company_products(actor, company)
    role_counts = batch_queries.company_role_counts(actor, company)
    today = home_queries.today()
    return render(
        request,
        "home/manufacturer.html",
        {
            "company": company,
            "products": list(products[:50]),
            "product_count": products.count(),
            "winner_rows": list(batch_queries.company_winner_rows(actor, company)[:200]),
            "role_counts": role_counts,
            "role_chart": bar_data(role_counts, "中选记录数"),
            "agreement_counts": home_queries.agreement_status_counts(actor),
            "line_counts": home_queries.open_line_counts(actor, supplier=company),
            "deliveries": home_queries.deliveries_due(actor, today, as_supplier=True),
            "tickets": home_queries.active_tickets(actor, today),
            "alerts": home_queries.open_alerts_by_type(actor),
            "missing_reports": home_queries.missing_monthly_reports(actor, today),
        },
    )


def distributor_home(request):
    actor = request.user
    today = home_queries.today()
    return render(
        request,
        "home/distributor.html",
        {
            "company": access.company_of(actor),
            "deliveries": home_queries.deliveries_due(actor, today, as_supplier=False),
            "agreement_counts": home_queries.agreement_status_counts(actor),
            "tickets": home_queries.active_tickets(actor, today),
        },
    )


HOME_BY_ROLE = {
    Role.BUREAU: (access.is_bureau, bureau_home),
    Role.INSTITUTION: (access.institution_of, institution_home),
    Role.DOCTOR: (access.institution_of, doctor_home),
    Role.DEPARTMENT_HEAD: (access.institution_of, doctor_home),
    Role.MANUFACTURER: (access.company_of, manufacturer_home),
    Role.DISTRIBUTOR: (access.company_of, distributor_home),
}


@login_required
def home(request):
    user = request.user
    if access.is_admin(user):
        return admin_home(request)
    has_org, view = HOME_BY_ROLE.get(user.role, (None, None))
    # A role whose organisation link is missing (e.g. a user created by hand in the admin) gets an
    # explanation instead of a crash.
    if view is None or user.organisation_id is None or not has_org(user):
        return render(request, "web/home_unlinked.html", status=200)
    return view(request)
