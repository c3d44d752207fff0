"""Running the prompt rule for one prescription and recording prompts and outcomes (SPEC §11). Shared by
the CDS Hooks views and the plain JSON API; `prompt()` never raises — an internal error is logged and
answers "no prompt" so prescribing is never blocked."""

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from jicai.core.errors import DomainError, NotFound
from jicai.prescribing.cache import cache
from jicai.prescribing.models import Outcome, OverrideReason, Prompt
from jicai.prescribing.rule import NO_PROMPT, Decision, decide

logger = logging.getLogger(__name__)
NOT_FOUND = "未找到该提醒，或您无权查看"


@dataclass
class Answer:
    decision: Decision
    prompt: Prompt | None = None
    doctor_target: dict | None = None


def today() -> dt.date:
    return timezone.localdate()


def prompt(
    *,
    institution_code: str,
    doctor_code: str,
    product_code: str,
    qty: int,
    source: str,
    hook: str = "",
    on: dt.date | None = None,
) -> Answer:
    """The decision for one prescribed product, stored when it prompts. Any error → no prompt (logged)."""
    try:
        day = on or today()
        if settings.JICAI_PROMPT_RULE == "orm":  # the per-request ORM baseline of bench/prompt.py
            from jicai.prescribing.naive import decide_orm

            decision = decide_orm(institution_code, doctor_code, product_code, day)
        else:
            decision = decide(cache.get(), institution_code, doctor_code, product_code, day)
        if not decision.prompts:
            if decision is NO_PROMPT:
                logger.info("no prompt: institution=%s product=%s", institution_code, product_code)
            return Answer(decision)
        figures = cache.doctor_figures(decision.institution_id, decision.item_id, doctor_code, day)
        row = Prompt.objects.create(
            institution_id=decision.institution_id,
            doctor_code=doctor_code[:32],
            product_id=decision.product.id,
            item_id=decision.item_id,
            qty=max(0, int(qty or 0)),
            level=decision.level,
            source=source,
            hook=hook[:16],
        )
        return Answer(decision, row, figures)
    except Exception:
        logger.exception("prescribing prompt failed; answering no prompt")
        return Answer(NO_PROMPT)


def prompt_for(institution_id: int, key) -> Prompt:
    """A prompt of this institution by its uuid (404 for another institution's or a missing one)."""
    try:
        key = uuid.UUID(str(key))
    except (ValueError, TypeError, AttributeError):
        raise NotFound(NOT_FOUND) from None
    row = Prompt.objects.filter(institution_id=institution_id, uuid=key).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def record_outcome(*, institution_id: int, key, outcome: str, reason: str = "", text: str = "") -> Prompt:
    """accepted, or overridden with one of the SPEC reasons (其他 needs free text). The latest answer wins."""
    row = prompt_for(institution_id, str(key))
    outcome = (outcome or "").strip()
    reason = (reason or "").strip()
    text = (text or "").strip()
    if outcome not in (Outcome.ACCEPTED, Outcome.OVERRIDDEN):
        raise DomainError("结果应为 accepted 或 overridden", code="invalid_outcome")
    if outcome == Outcome.OVERRIDDEN:
        if reason not in OverrideReason.values:
            raise DomainError(
                "坚持原处方须选择理由：" + "、".join(f"{c.value}（{c.label}）" for c in OverrideReason),
                code="reason_required",
            )
        if reason == OverrideReason.OTHER and not text:
            raise DomainError("理由为“其他”时须填写说明", code="reason_required")
    else:
        reason, text = "", ""
    Prompt.objects.filter(pk=row.pk).update(
        outcome=outcome, reason=reason, reason_text=text[:2000], outcome_at=timezone.now()
    )
    row.refresh_from_db()
    return row


def answer_json(answer: Answer) -> dict:
    """The plain JSON answer of SPEC §11."""
    from jicai.prescribing.rule import REASONS

    d = answer.decision
    figures = answer.doctor_target
    return {
        "prompt": str(answer.prompt.uuid) if answer.prompt else None,
        "level": d.level,
        "message": "；".join([d.message, *d.notes]) if d.prompts else "",
        "alternatives": [a.as_json() for a in d.alternatives],
        "limit": d.limit,
        "doctor_target": (
            {k: float(v) if not isinstance(v, int) else v for k, v in figures.items()} if figures else None
        ),
        "reasons": REASONS if d.prompts else [],
    }
