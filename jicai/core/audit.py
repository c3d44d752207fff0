"""Audit helpers: every action writes one AuditLog row through `record`."""

from jicai.core.models import AuditLog


def _org_id(actor) -> int | None:
    return getattr(actor, "organisation_id", None) if actor is not None else None


def _user(actor):
    """The User row behind an actor; None for system writes and for API-token actors (not a User)."""
    from django.contrib.auth import get_user_model

    return actor if isinstance(actor, get_user_model()) and actor.is_authenticated else None


def record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: object = "",
    summary: str = "",
    changes: dict | None = None,
) -> AuditLog:
    """Write one audit row. `obj` (a model instance) fills object_type/object_id when given."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    user = _user(actor)
    changes = dict(changes or {})
    token_id = getattr(actor, "token_id", None)
    if user is None and token_id is not None:
        # An API client acts for its organisation through a token: keep which token did it.
        changes["api_token"] = token_id
    return AuditLog.objects.create(
        actor=user,
        organisation_id=_org_id(actor) if (user is not None or token_id is not None) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        summary=summary[:255],
        changes=changes,
    )


def diff(instance, new_values: dict) -> dict:
    """{field: [old, new]} for the fields that change; values as strings so JSON keeps Decimals exact."""
    changes = {}
    for name, new in new_values.items():
        old = getattr(instance, name, None)
        if old != new:
            changes[name] = [None if old is None else str(old), None if new is None else str(new)]
    return changes
