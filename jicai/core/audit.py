"""Audit helpers: every action writes one AuditLog row through `record`."""

from jicai.core.models import AuditLog


def _org_id(actor) -> int | None:
    return getattr(actor, "organisation_id", None) if actor is not None else None


def record(*, actor, action: str, obj=None, object_type: str = "", object_id: object = "", summary: str = "",
           changes: dict | None = None) -> AuditLog:
    """Write one audit row. `obj` (a model instance) fills object_type/object_id when given."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        actor=user,
        organisation_id=_org_id(user),
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        summary=summary[:255],
        changes=changes or {},
    )


def diff(instance, new_values: dict) -> dict:
    """{field: [old, new]} for the fields that change; values as strings so JSON keeps Decimals exact."""
    changes = {}
    for name, new in new_values.items():
        old = getattr(instance, name, None)
        if old != new:
            changes[name] = [None if old is None else str(old), None if new is None else str(new)]
    return changes
