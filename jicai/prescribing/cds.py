"""HL7 CDS Hooks 2.0 endpoints of SPEC §11: discovery, the vbp-prompt service (order-select, order-sign
with FHIR R4 MedicationRequest draft orders) and its feedback endpoint. Plain Django views with their own
bearer-token check (the institution's API token), so a prompt costs one token lookup, the in-process rule
and one insert."""

import copy
import json
import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from jicai.accounts.models import ApiToken
from jicai.core.errors import DomainError
from jicai.prescribing import service
from jicai.prescribing.cache import cache
from jicai.prescribing.models import Outcome, Prompt
from jicai.prescribing.rule import REASONS

logger = logging.getLogger(__name__)

SERVICE_ID = "vbp-prompt"
HOOKS = ("order-select", "order-sign")
NHSA_SYSTEM = "https://www.nhsa.gov.cn/fhir/CodeSystem/medical-insurance-drug-code"
REASON_SYSTEM = "https://jicai.example/fhir/CodeSystem/vbp-override-reason"
INDICATOR = {"warning": "warning", "critical": "critical", "info": "info"}


def _json(body, status=200) -> JsonResponse:
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _error(status: int, code: str, message: str, details=None) -> JsonResponse:
    response = _json({"error": {"code": code, "message": message, "details": details or []}}, status)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


def institution_of_token(request) -> tuple[int, str] | None:
    """(institution id, code) of a valid, unrevoked institution API token in the Authorization header."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return cache.institution_of_token(ApiToken.hash_key(key.strip()))


def _body(request):
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _authorised_body(request):
    """(token, JSON object, None), or a 401 (no valid institution token) / 400 (not a JSON object) answer."""
    token = institution_of_token(request)
    if token is None:
        message = "需要身份认证：请提供有效的医疗机构 API 令牌（Authorization: Bearer …）"
        return None, None, _error(401, "unauthorized", message)
    data = _body(request)
    if data is None:
        return token, None, _error(400, "bad_request", "请求体不是有效的 JSON 对象")
    return token, data, None


@csrf_exempt
@require_GET
def discovery(request):
    return _json(
        {
            "services": [
                {
                    "hook": hook,
                    "id": SERVICE_ID,
                    "title": "集采中选药品处方提醒",
                    "description": "开具非中选药品或本院可替代药品目录内药品时，提示优先使用集中采购中选药品",
                    "prefetch": {},
                }
                for hook in HOOKS
            ]
        }
    )


def _product_code(resource: dict) -> str | None:
    coding = (resource.get("medicationCodeableConcept") or {}).get("coding") or []
    codes = [c.get("code") for c in coding if isinstance(c, dict) and c.get("code")]
    preferred = [c.get("code") for c in coding if isinstance(c, dict) and c.get("system") == NHSA_SYSTEM]
    return (preferred or codes or [None])[0]


def _quantity(resource: dict) -> int:
    value = ((resource.get("dispenseRequest") or {}).get("quantity") or {}).get("value")
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _orders(context: dict, hook: str) -> list[dict]:
    bundle = context.get("draftOrders") or {}
    resources = [e.get("resource") for e in bundle.get("entry") or [] if isinstance(e, dict)]
    resources = [r for r in resources if isinstance(r, dict) and r.get("resourceType") == "MedicationRequest"]
    if hook == "order-select":
        selected = {s.split("/", 1)[-1] for s in context.get("selections") or [] if isinstance(s, str)}
        if selected:
            resources = [r for r in resources if r.get("id") in selected]
    return resources


def _replacement(resource: dict, alt, context: dict) -> dict:
    """The draft MedicationRequest with the winning product instead of the prescribed one."""
    new = copy.deepcopy(resource)
    new["medicationCodeableConcept"] = {
        "coding": [{"system": NHSA_SYSTEM, "code": alt.product, "display": f"{alt.name} {alt.spec}"}],
        "text": f"{alt.name} {alt.spec}（{alt.maker}）",
    }
    new.setdefault("status", "draft")
    new.setdefault("intent", "order")
    if "subject" not in new and context.get("patientId"):
        new["subject"] = {"reference": f"Patient/{context['patientId']}"}
    return new


def _card(answer, resource: dict, context: dict) -> dict:
    d = answer.decision
    figures = answer.doctor_target
    lines = [f"**{d.message}**", ""]
    lines += [f"- {n}" for n in d.notes]
    lines.append("中选药品（主供优先）：")
    lines += [f"- {a.name} {a.spec}，{a.maker}，{a.price} 元/最小单位" for a in d.alternatives]
    if figures:
        lines.append(
            f"您本协议年度该品种目标 {figures['target']}，已使用 {figures['used']}，剩余 {figures['remaining']}"
        )
    suggestions = []
    for n, alt in enumerate(d.alternatives):
        suggestions.append(
            {
                "label": f"改用中选药品：{alt.name} {alt.spec}（{alt.maker}）",
                "uuid": f"{answer.prompt.uuid}-{n}",
                "isRecommended": n == 0,
                "actions": [
                    {
                        "type": "update",
                        "description": f"将处方药品替换为中选药品 {alt.product}",
                        "resource": _replacement(resource, alt, context),
                    }
                ],
            }
        )
    return {
        "uuid": str(answer.prompt.uuid),
        "summary": f"{d.product.name}：{d.message}"[:140],
        "detail": "\n".join(lines),
        "indicator": INDICATOR[d.level],
        "source": {"label": "集采全流程管理平台"},
        "suggestions": suggestions,
        "selectionBehavior": "at-most-one",
        "overrideReasons": [
            {"code": r["code"], "system": REASON_SYSTEM, "display": r["display"]} for r in REASONS
        ],
        "extension": {
            "jicai-doctor-target": ({k: str(v) for k, v in figures.items()} if figures else None),
            "jicai-limit": d.limit,
        },
    }


@csrf_exempt
@require_POST
def service_view(request):
    token, data, refused = _authorised_body(request)
    if refused is not None:
        return refused
    try:
        hook = data.get("hook")
        context = data.get("context") or {}
        if hook not in HOOKS or not isinstance(context, dict):
            logger.info("cds-hooks: unsupported hook %r", hook)
            return _json({"cards": []})
        doctor = str(context.get("userId") or "")
        doctor = doctor.split("/", 1)[1] if doctor.startswith("Practitioner/") else doctor
        cards = []
        for resource in _orders(context, hook):
            code = _product_code(resource)
            if not code:
                continue
            answer = service.prompt(
                institution_code=token[1], doctor_code=doctor, product_code=code,
                qty=_quantity(resource), source=Prompt.Source.CDS_HOOKS, hook=hook,
            )  # fmt: skip
            if answer.prompt is not None:
                cards.append(_card(answer, resource, context))
        return _json({"cards": cards})
    except Exception:
        logger.exception("cds-hooks service failed; answering no cards")
        return _json({"cards": []})


@csrf_exempt
@require_POST
def feedback_view(request):
    token, data, refused = _authorised_body(request)
    if refused is not None:
        return refused
    if not isinstance(data.get("feedback"), list):
        return _error(400, "bad_request", '请求体应为 {"feedback": [...]}')
    errors = []
    for n, entry in enumerate(data["feedback"]):
        if not isinstance(entry, dict):
            errors.append({"index": n, "reason": "应为对象"})
            continue
        reason = (entry.get("overrideReason") or {}).get("reason") or {}
        try:
            service.record_outcome(
                institution_id=token[0],
                key=entry.get("card"),
                outcome=entry.get("outcome", ""),
                reason=reason.get("code", "") if isinstance(reason, dict) else "",
                text=(entry.get("overrideReason") or {}).get("userComment", "") or "",
            )
        except DomainError as exc:
            errors.append({"index": n, "card": entry.get("card"), "code": exc.code, "reason": exc.message})
    if errors:
        status = 404 if all(e.get("code") == "not_found" for e in errors) else 400
        return _error(
            status, "not_found" if status == 404 else "invalid_feedback", "部分反馈未能记录", errors
        )
    return _json({"recorded": len(data["feedback"])})


__all__ = ["discovery", "service_view", "feedback_view", "Outcome"]
