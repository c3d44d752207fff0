"""Writes of policy overrides: validated per parameter type, scoped, audited (SPEC §3, §9)."""

import json

from django.db import transaction

from jicai.accounts import access
from jicai.batches.models import Batch
from jicai.core import audit
from jicai.core.errors import DomainError, NotFound
from jicai.policy.models import PolicyProfile
from jicai.policy.parameters import BY_NAME
from jicai.registry.models import Region


def may_edit_policy(actor, region: Region | None) -> bool:
    """Admins edit any profile; a bureau edits its own region and the regions below it (never the
    platform profile, a parent or a sibling)."""
    if access.is_admin(actor):
        return True
    own = access.bureau_region(actor)
    return own is not None and region is not None and region.path.startswith(own.path)


def _is_empty(raw) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def _json_text(value) -> str | None:
    """Audit form of a stored value: text as is, anything else as compact JSON (so Decimals stay exact)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@transaction.atomic
def set_policy_values(
    *, actor, region: Region | None, batch: Batch | None, values: dict, note: str = ""
) -> PolicyProfile:
    """Set (or, with an empty value, remove) overrides at (region, batch).

    Every value is validated by its parameter's type first; any error rejects the whole call, naming
    each parameter (DomainError.details = [{parameter, label, reason}]). Outside the actor's scope → NotFound.
    """
    if not may_edit_policy(actor, region):
        raise NotFound("未找到该地区，或您无权修改其政策参数")
    errors, updates, removals = [], {}, set()
    for name, raw in values.items():
        parameter = BY_NAME.get(name)
        if parameter is None:
            errors.append({"parameter": name, "label": "", "reason": "未知的政策参数"})
        elif _is_empty(raw):
            removals.add(name)
        else:
            try:
                updates[name] = parameter.to_json(parameter.parse(raw))
            except ValueError as exc:
                errors.append({"parameter": name, "label": parameter.label, "reason": str(exc)})
    if errors:
        message = "；".join(
            f"{e['label'] or e['parameter']}（{e['parameter']}）：{e['reason']}" for e in errors
        )
        raise DomainError(f"政策参数无效：{message}", code="invalid_policy", details=errors)

    # Lock the row so two editors of the same profile cannot lose each other's parameters.
    profile = PolicyProfile.objects.select_for_update().filter(region=region, batch=batch).first()
    if profile is None:
        profile = PolicyProfile(region=region, batch=batch, values={})
    old = dict(profile.values or {})
    new = {k: v for k, v in {**old, **updates}.items() if k not in removals}
    changes = {
        name: [_json_text(old.get(name)), _json_text(new.get(name))]
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    }
    profile.values = new
    if note:
        profile.note = note[:255]
    profile.updated_by = actor if getattr(actor, "pk", None) else None
    profile.save()
    where = f"{region.name}（{region.code}）" if region else "全平台"
    audit.record(
        actor=actor,
        action="set_policy_values",
        obj=profile,
        summary=f"{where}{' / 批次 ' + batch.code if batch else ''}：修改 {len(changes)} 个参数",
        changes=changes,
    )
    return profile
