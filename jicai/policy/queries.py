"""Scoped reads for the policy page and API: which regions an actor may look at, and the effective policy
with the overrides stored at one (region, batch)."""

from dataclasses import dataclass

from django.db.models import QuerySet

from jicai.accounts import access
from jicai.batches.models import Batch
from jicai.core.errors import NotFound
from jicai.policy.actions import may_edit_policy
from jicai.policy.models import PolicyProfile
from jicai.policy.resolve import Policy, effective_policy
from jicai.registry.models import Region


def may_view_policy(actor) -> bool:
    return access.is_admin(actor) or access.is_bureau(actor)


def policy_regions(actor) -> QuerySet[Region]:
    """Admins: every region; a bureau: its own subtree. Everyone else has no policy page (404)."""
    if not may_view_policy(actor):
        raise NotFound("未找到该页面")
    return access.visible_regions(actor).order_by("path")


@dataclass
class PolicyView:
    region: Region | None
    batch: Batch | None
    policy: Policy
    profile: PolicyProfile | None  # the overrides stored at exactly (region, batch), if any
    can_edit: bool


def get_policy_view(actor, *, region_code: str = "", batch_code: str = "") -> PolicyView:
    """The effective policy at (region, batch) as the actor may see it. An empty region means the
    platform profile for admins and the bureau's own region for a bureau; a region outside the actor's
    subtree, or an unknown batch, is NotFound."""
    regions = policy_regions(actor)
    if region_code:
        region = access.get_visible_or_404(regions, code=region_code)
    else:
        region = access.bureau_region(actor) if not access.is_admin(actor) else None
    batch = access.get_visible_or_404(Batch.objects.all(), code=batch_code) if batch_code else None
    profile = PolicyProfile.objects.filter(region=region, batch=batch).first()
    return PolicyView(
        region=region,
        batch=batch,
        policy=effective_policy(region=region, batch=batch),
        profile=profile,
        can_edit=may_edit_policy(actor, region),
    )
