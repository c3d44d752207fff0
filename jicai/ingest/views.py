"""Upload page (/imports/), its result page and the downloadable templates; thin over the pipeline."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from jicai.core.errors import ImportRejected, NotFound
from jicai.ingest import queries
from jicai.ingest.forms import UploadForm
from jicai.ingest.pipeline import importable_kinds, run_import
from jicai.ingest.readers import UnreadableFile
from jicai.ingest.schemas import SCHEMAS

RECENT_JOBS = 20


def _kinds_or_404(user) -> list[str]:
    kinds = importable_kinds(user)
    if not kinds:
        raise Http404("无权导入数据")
    return kinds


@login_required
def upload(request):
    kinds = _kinds_or_404(request.user)
    context = {"kinds": [SCHEMAS[k] for k in kinds]}
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, kinds=kinds)
        if request.POST.get("kind") and request.POST["kind"] not in kinds:
            raise Http404("无权导入该类型")
        if form.is_valid():
            upload_file = form.cleaned_data["file"]
            try:
                context["result"] = run_import(
                    kind=form.cleaned_data["kind"],
                    rows_or_file=upload_file.read(),
                    actor=request.user,
                    source="web",
                    filename=upload_file.name,
                    dry_run=form.cleaned_data["dry_run"],
                    batch_code=form.cleaned_data["batch"] or None,
                )
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except ImportRejected as exc:
                context["rejected"] = exc
            except UnreadableFile as exc:
                context["unreadable"] = exc.message
            context["kind"] = SCHEMAS[form.cleaned_data["kind"]]
    else:
        form = UploadForm(kinds=kinds, initial={"kind": request.GET.get("kind") or kinds[0]})
    context["form"] = form
    context["jobs"] = queries.list_jobs(request.user)[:RECENT_JOBS]
    return render(request, "ingest/upload.html", context)


@login_required
def template_file(request, kind: str, fmt: str):
    if kind not in SCHEMAS or kind not in importable_kinds(request.user):
        raise Http404("未找到该模板")
    schema = SCHEMAS[kind]
    if fmt == "csv":
        response = HttpResponse(queries.template_csv(schema), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            queries.template_xlsx(schema),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{kind}.{fmt}"'
    return response
