"""The policy page: every SPEC §3 parameter with its effective value, where it came from and its source
text, and an override form at the chosen (region, batch) for those allowed to edit it."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from jicai.accounts.access import is_admin
from jicai.batches.queries import list_batches
from jicai.core.errors import DomainError, NotFound
from jicai.policy.actions import set_policy_values
from jicai.policy.parameters import BY_NAME, PARAMETERS
from jicai.policy.queries import get_policy_view, policy_regions


@login_required
def profile(request):
    params = request.POST if request.method == "POST" else request.GET
    region_code, batch_code = params.get("region", "").strip(), params.get("batch", "").strip()
    try:
        view = get_policy_view(request.user, region_code=region_code, batch_code=batch_code)
    except NotFound as exc:
        raise Http404(exc.message) from exc

    stored = (view.profile.values if view.profile else {}) or {}
    submitted, field_errors, status = None, {}, 200
    if request.method == "POST":
        if not view.can_edit:
            raise Http404("未找到该页面")
        submitted = {p.name: request.POST.get(p.name, "") for p in PARAMETERS}
        try:
            set_policy_values(
                actor=request.user,
                region=view.region,
                batch=view.batch,
                values=submitted,
                note=request.POST.get("note", "").strip(),
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            field_errors = {e["parameter"]: e["reason"] for e in exc.details}
            messages.error(request, "部分参数无效，未保存任何修改")
            status = 400
        else:
            messages.success(request, "政策参数已保存")
            query = urlencode({k: v for k, v in (("region", region_code), ("batch", batch_code)) if v})
            return redirect(reverse("policy:profile") + (f"?{query}" if query else ""))

    rows = []
    for row in view.policy.rows():
        if submitted is not None:
            override_text = submitted[row.name]
        elif row.name in stored:
            parameter = BY_NAME[row.name]
            override_text = parameter.to_text(parameter.parse(stored[row.name]))
        else:
            override_text = ""
        rows.append(
            {
                "row": row,
                "override": override_text,
                "error": field_errors.get(row.name, ""),
                "default_text": row.parameter.to_text(row.parameter.default),
            }
        )

    return render(
        request,
        "policy/profile.html",
        {
            "view": view,
            "rows": rows,
            "regions": policy_regions(request.user),
            "batches": list_batches(request.user),
            "is_platform": view.region is None,
            "is_admin": is_admin(request.user),
            "region_code": view.region.code if view.region else "",
            "batch_code": view.batch.code if view.batch else "",
            "note": request.POST.get("note", "")
            if submitted is not None
            else (view.profile.note if view.profile else ""),
        },
        status=status,
    )
