"""Writes on alerts (SPEC §7): the subject explains, the bureau resolves or escalates one step at a time
(reminded → notified → interviewed → referred). Each write locks the row, logs an AlertEvent with who/why
and an audit row."""

from django.db import transaction

from jicai.core import audit
from jicai.core.errors import DomainError, PermissionDenied
from jicai.monitoring import queries
from jicai.monitoring.models import Alert, AlertEvent, AlertStatus, Escalation

ESCALATION_ORDER = [Escalation.REMINDED, Escalation.NOTIFIED, Escalation.INTERVIEWED, Escalation.REFERRED]


def next_escalation(alert: Alert) -> Escalation | None:
    """The only step escalate_alert accepts next for this alert (None once referred)."""
    current = ESCALATION_ORDER.index(alert.escalation) if alert.escalation else -1
    return ESCALATION_ORDER[current + 1] if current + 1 < len(ESCALATION_ORDER) else None


def _locked(actor, alert_id: int) -> Alert:
    queries.get_alert(actor, alert_id)  # 404 outside the actor's scope, before anything is locked
    # Lock the alert row alone (PostgreSQL refuses FOR UPDATE over nullable joins), then load relations.
    Alert.objects.select_for_update().filter(pk=alert_id).values_list("pk").get()
    return Alert.objects.select_related("institution__region", "province").get(pk=alert_id)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写原因", code="reason_required")
    return reason


def _log(actor, alert, action, old, new, reason):
    AlertEvent.objects.create(
        alert=alert,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        from_value=old,
        to_value=new,
        reason=reason,
    )
    audit.record(actor=actor, action=f"alert.{action}", obj=alert)


@transaction.atomic
def explain_alert(*, actor, alert_id: int, reason: str) -> Alert:
    alert = _locked(actor, alert_id)
    if not queries.can_explain(actor, alert):
        raise PermissionDenied("只有预警对象可以填写说明")
    reason = _reason(reason)
    if alert.status != AlertStatus.OPEN:
        raise DomainError(f"当前状态为“{alert.get_status_display()}”，不能再说明", code="invalid_status")
    alert.status, alert.explanation = AlertStatus.EXPLAINED, reason
    alert.save(update_fields=["status", "explanation"])
    _log(actor, alert, "explained", AlertStatus.OPEN, AlertStatus.EXPLAINED, reason)
    return alert


@transaction.atomic
def resolve_alert(*, actor, alert_id: int, reason: str) -> Alert:
    alert = _locked(actor, alert_id)
    if not queries.can_govern(actor, alert):
        raise PermissionDenied("只有预警所在地区的医保局可以办结")
    reason = _reason(reason)
    if alert.status not in (AlertStatus.OPEN, AlertStatus.EXPLAINED):
        raise DomainError(f"当前状态为“{alert.get_status_display()}”，不能办结", code="invalid_status")
    old = alert.status
    alert.status = AlertStatus.RESOLVED
    alert.save(update_fields=["status"])
    _log(actor, alert, "resolved", old, AlertStatus.RESOLVED, reason)
    return alert


@transaction.atomic
def escalate_alert(*, actor, alert_id: int, step: str, reason: str) -> Alert:
    """Escalation goes one step at a time in order; skipping or repeating a step is refused."""
    alert = _locked(actor, alert_id)
    if not queries.can_govern(actor, alert):
        raise PermissionDenied("只有预警所在地区的医保局可以督办")
    reason = _reason(reason)
    if alert.status in (AlertStatus.RESOLVED, AlertStatus.CLOSED):
        raise DomainError(f"当前状态为“{alert.get_status_display()}”，不能督办", code="invalid_status")
    expected = next_escalation(alert)
    if expected is None or step != expected:
        raise DomainError(
            f"督办须依次进行，下一步应为：{expected.label if expected else '无'}", code="invalid_step"
        )
    old = alert.escalation
    alert.escalation = step
    alert.save(update_fields=["escalation"])
    _log(actor, alert, step, old, step, reason)
    return alert
