"""The working-day calendar page (admins only): which source each year uses, upload a year's official
schedule, download the template, and check a date or add N working days."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from jicai.accounts.access import is_admin
from jicai.core.actions import MAX_YEAR, MIN_YEAR, upload_calendar_year
from jicai.core.calendar import SOURCE_LABELS, WorkdayCalendar
from jicai.core.calendar_files import read_calendar_file, template_csv
from jicai.core.errors import DomainError, ImportRejected
from jicai.core.forms import CalendarUploadForm, WorkdayCheckForm
from jicai.core.models import CalendarYear


def _require_admin(user):
    if not is_admin(user):
        raise Http404("未找到该页面")


def _year_rows(calendar: WorkdayCalendar, current_year: int) -> list[dict]:
    uploaded = {
        y.year: y
        for y in CalendarYear.objects.select_related("uploaded_by").annotate(
            holidays=Count("days", filter=Q(days__is_workday=False)),
            makeup_days=Count("days", filter=Q(days__is_workday=True)),
        )
    }
    years = sorted(set(range(current_year - 1, current_year + 2)) | set(uploaded), reverse=True)
    rows = []
    for year in years:
        source = calendar.source(year)
        rows.append(
            {
                "year": year,
                "source": source,
                "source_label": SOURCE_LABELS[source],
                "uploaded": uploaded.get(year),
            }
        )
    return rows


@login_required
def calendar_page(request):
    _require_admin(request.user)
    upload_form = CalendarUploadForm(
        request.POST or None, request.FILES or None, initial={"year": timezone.localdate().year + 1}
    )
    row_errors = []
    if request.method == "POST" and upload_form.is_valid():
        upload = upload_form.cleaned_data["file"]
        year = upload_form.cleaned_data["year"]
        try:
            rows = read_calendar_file(upload.read(), upload.name)
            upload_calendar_year(
                actor=request.user, year=year, rows=rows, note=upload_form.cleaned_data["note"]
            )
        except ImportRejected as exc:
            row_errors = exc.errors
            messages.error(request, exc.message)
        except DomainError as exc:
            upload_form.add_error("year", exc.message)
        else:
            messages.success(request, f"已上传 {year} 年节假日安排")
            return redirect("core:calendar")

    calendar = WorkdayCalendar.from_database()
    check_form = WorkdayCheckForm(request.GET if "check_date" in request.GET else None)
    check_result = None
    if check_form.is_bound and check_form.is_valid():
        start, n = check_form.cleaned_data["check_date"], check_form.cleaned_data["n"]
        answer = calendar.add_workdays(start, n)
        day = calendar.day(start)
        check_result = {
            "start": start,
            "n": n,
            "start_is_workday": day.is_workday,
            "start_source": SOURCE_LABELS[calendar.source(start.year)],
            "date": answer.date,
            "provisional": answer.provisional or day.provisional,
        }
    status = 400 if (request.method == "POST") else 200
    return render(
        request,
        "core/calendar.html",
        {
            "years": _year_rows(calendar, timezone.localdate().year),
            "upload_form": upload_form,
            "row_errors": row_errors,
            "check_form": check_form,
            "check_result": check_result,
            "min_year": MIN_YEAR,
            "max_year": MAX_YEAR,
        },
        status=status,
    )


@login_required
def calendar_template(request):
    _require_admin(request.user)
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = timezone.localdate().year + 1
    year = min(max(year, MIN_YEAR), MAX_YEAR)
    response = HttpResponse(template_csv(year), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="calendar-{year}.csv"'
    return response
