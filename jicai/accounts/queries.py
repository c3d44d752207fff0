"""Reads of the accounts app for its own pages: an organisation's API tokens."""

from django.db.models import QuerySet

from jicai.accounts import access
from jicai.accounts.models import ApiToken


def organisation_tokens(actor) -> QuerySet[ApiToken]:
    """The API tokens of the actor's own organisation (admins too: tokens are per organisation)."""
    org_id = getattr(actor, "organisation_id", None)
    if org_id is None:
        return ApiToken.objects.none()
    return (
        ApiToken.objects.filter(organisation_id=org_id).select_related("created_by").order_by("-created_at")
    )


def get_organisation_token(actor, token_id: int) -> ApiToken:
    return access.get_visible_or_404(organisation_tokens(actor), pk=token_id)
