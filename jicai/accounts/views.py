"""API token page: an organisation's tokens; create (the key is shown once) and revoke."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from jicai.accounts import actions
from jicai.accounts import queries as account_queries
from jicai.accounts.forms import TokenCreateForm
from jicai.accounts.models import Role
from jicai.core.errors import DomainError
from jicai.web.shortcuts import scoped_page


def can_manage_tokens(user) -> bool:
    """Doctors see their institution's tokens but do not issue HIS/ERP credentials."""
    return user.organisation_id is not None and user.role not in (Role.DOCTOR, Role.DEPARTMENT_HEAD)


def _page(request, form, new_key=None, new_token=None, status=200):
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": list(account_queries.organisation_tokens(request.user)),
            "form": form,
            "new_key": new_key,
            "new_token": new_token,
            "can_manage": can_manage_tokens(request.user),
            "breadcrumbs": [("API 令牌", None)],
        },
        status=status,
    )


@scoped_page
@require_http_methods(["GET", "POST"])
def tokens(request):
    user = request.user
    if user.organisation_id is None:
        return render(request, "web/home_unlinked.html")
    if request.method == "GET":
        return _page(request, TokenCreateForm(organisation=user.organisation))
    if not can_manage_tokens(user):
        raise PermissionDenied("医师账户不能创建 API 令牌，请联系本机构药学部或信息科。")
    form = TokenCreateForm(request.POST, organisation=user.organisation)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        token, key = actions.create_api_token(
            actor=user,
            organisation=user.organisation,
            name=form.cleaned_data["name"],
            role=form.cleaned_data["role"],
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _page(request, form, status=400)
    # Rendered, not redirected: the plain key exists only in this response and is never stored.
    return _page(request, TokenCreateForm(organisation=user.organisation), new_key=key, new_token=token)


@scoped_page
@require_POST
def revoke_token(request, token_id: int):
    if not can_manage_tokens(request.user):
        raise PermissionDenied("医师账户不能吊销 API 令牌。")
    token = account_queries.get_organisation_token(request.user, token_id)
    if token.revoked_at is not None:
        messages.info(request, f"令牌“{token.name}”此前已吊销。")
    else:
        actions.revoke_api_token(actor=request.user, token=token)
        messages.success(request, f"令牌“{token.name}”已吊销，使用该令牌的接口调用将被拒绝。")
    return redirect("accounts:tokens")
