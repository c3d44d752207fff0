"""Alert pages (SPEC §7): the scoped list with filters, search, pagination and XLSX export, and the alert
page with its subject, value against threshold, event log and the forms its parties may use (the subject
explains; the bureau of its region resolves or escalates). Thin: parse, call one query or action, render."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jicai.core.errors import DomainError
from jicai.core.errors import PermissionDenied as DomainPermissionDenied
from jicai.monitoring import actions, queries
from jicai.monitoring.models import Alert, AlertStatus, AlertType, Escalation
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list


def alert_url(alert_id: int) -> str:
    return reverse("monitoring:alert", args=[alert_id])


# ---- how each type's value and threshold read -------------------------------------------------------------

PERCENT, QTY, PRICE, YUAN, DAYS, COUNT, DAY_OF_MONTH = (
    "percent",
    "qty",
    "price",
    "yuan",
    "days",
    "count",
    "dom",
)

# type → ((value label, kind), (threshold label, kind)); the engine stores plain numbers, this says what
# they mean so the page shows "完成率 27.12% / 序时进度 × 系数 27.40%" instead of two bare decimals.
MEANING: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    AlertType.PROGRESS_LAG: (("完成率", PERCENT), ("序时进度 × 容差系数", PERCENT)),
    AlertType.NONWINNING_EXCEEDS_WINNING: (("非中选产品采购量", QTY), ("中选产品采购量", QTY)),
    AlertType.SUBSTITUTE_EXCEEDS_LAST_YEAR: (("可替代药品本年度采购量", QTY), ("上一年度采购量", QTY)),
    AlertType.SUBSTITUTE_GROWTH: (("可替代药品本年度采购量", QTY), ("上年同期 × (1 + 增长阈值)", QTY)),
    AlertType.OVER_PURCHASE: (("中选产品采购量", QTY), ("约定采购量 × 超量倍数", QTY)),
    AlertType.UNREPORTED_PURCHASE: (("已采购数量", QTY), ("报量", QTY)),
    AlertType.LOW_DELIVERY_RATE: (("配送率", PERCENT), ("配送率下限", PERCENT)),
    AlertType.LATE_RECEIPT: (("超期未确认收货数量", QTY), ("确认收货时限（天）", DAYS)),
    AlertType.LATE_PAYMENT: (("逾期未付金额（元）", YUAN), ("回款时限（天）", DAYS)),
    AlertType.ABNORMAL_ORDER: (("订单行数量", QTY), ("超常规界限", QTY)),
    AlertType.OFFLINE_PURCHASE_SUSPECT: (("使用数量", QTY), ("入库数量 × 1.1", QTY)),
    AlertType.PRICE_ABOVE_CAP: (("价格（元）", PRICE), ("限价（元）", PRICE)),
    AlertType.UNSIGNED_AGREEMENT: (("逾期未生效协议数", COUNT), ("", COUNT)),
    AlertType.LATE_SUPPLIER_REPORT: (("未报送品种数", COUNT), ("每月报送截止日", DAY_OF_MONTH)),
    AlertType.TICKET_REPLY_OVERDUE: (("逾期天数", DAYS), ("", DAYS)),
    AlertType.TICKET_FIX_OVERDUE: (("逾期天数", DAYS), ("", DAYS)),
    AlertType.PREPAYMENT_OVERDUE: (("逾期未拨付金额（元）", YUAN), ("", YUAN)),
    AlertType.NOT_ADMITTED: (("执行月数", COUNT), ("进院排查起始月份", COUNT)),
    AlertType.FORECAST_SHORTFALL: (("预计年末完成率", PERCENT), ("应达完成率（容差系数）", PERCENT)),
}


def _number(value: Decimal | None, kind: str) -> str | None:
    if value is None:
        return None
    if kind == PERCENT:
        return f"{value * 100:.2f}%"
    if kind == PRICE:
        return f"{value:.4f}"
    if kind == YUAN:
        return f"{value:,.2f}"
    if kind == DAY_OF_MONTH:
        return f"每月 {int(value)} 日"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.quantize(Decimal('0.0001')).normalize():,f}"


def value_text(alert: Alert) -> str | None:
    return _number(alert.value, MEANING.get(alert.type, (("", QTY), ("", QTY)))[0][1])


def threshold_text(alert: Alert) -> str | None:
    (_, _), (label, kind) = MEANING.get(alert.type, (("", QTY), ("", QTY)))
    if not label:
        return None
    return _number(alert.threshold, kind)


def _subject_item(a: Alert) -> str | None:
    if a.tranche:  # PREPAYMENT_OVERDUE: the subject is the tranche of the batch's agreement year
        return f"{a.batch.code} 预付款{a.tranche_label}" if a.batch_id else f"预付款{a.tranche_label}"
    return f"{a.item.generic_name}（{a.item.item_code}）" if a.item_id else None


def _order_line(a: Alert) -> str | None:
    return f"{a.order_id} 第{a.line_no}行" if a.order_id else None


def _order_url(a: Alert) -> str | None:
    return reverse("trade:order", args=[a.order_id]) if a.order_id else None


# ---- list ------------------------------------------------------------------------------------------------

STATUS_CHOICES = [("active", "未办结（待处理或已说明）"), *AlertStatus.choices]
ESCALATION_CHOICES = [("none", "未督办"), *[(v, lbl) for v, lbl in Escalation.choices if v]]
LIST_FILTERS = [
    Filter("type", "预警类型", AlertType.choices),
    Filter("status", "状态", STATUS_CHOICES),
    Filter("escalation", "督办", ESCALATION_CHOICES),
    Filter("region", "地区代码（含下级）", placeholder="6 位行政区划代码"),
    Filter("supplier", "企业信用代码", placeholder="18 位代码"),
    Filter("item", "品种编码", placeholder="如 GY7-001"),
]
LIST_COLUMNS = [
    Column("编号", lambda a: f"#{a.pk}", lambda a: alert_url(a.pk), width=8),
    Column("预警类型", lambda a: a.get_type_display(), lambda a: alert_url(a.pk), width=22),
    Column("状态", lambda a: a.get_status_display(), width=10),
    Column("督办", lambda a: a.get_escalation_display() if a.escalation else None, width=8),
    Column("医疗机构", lambda a: a.institution.name if a.institution_id else None, width=28),
    Column("机构代码", lambda a: a.institution.code if a.institution_id else None, width=14),
    Column("企业", lambda a: a.supplier.name if a.supplier_id else None, width=24),
    Column("品种", _subject_item, width=24),
    Column("产品编码", lambda a: a.product.code if a.product_id else None, width=26),
    Column("订单行", _order_line, _order_url, width=18),
    Column("诉求", lambda a: f"#{a.ticket_id}" if a.ticket_id else None, width=8),
    Column("指标值", value_text, numeric=True, width=14),
    Column("阈值", threshold_text, numeric=True, width=14),
    Column("等级", lambda a: a.tier, numeric=True, width=6),
    Column("协议年度", lambda a: a.agreement_year.number if a.agreement_year_id else None, width=8),
    Column("首次发现", lambda a: a.first_seen_on, width=12),
    Column("最近发现", lambda a: a.last_seen_on, width=12),
    Column("关闭日期", lambda a: a.closed_on, width=12),
]


@scoped_page
def alert_list(request):
    values = filter_values(request, LIST_FILTERS)
    qs = queries.list_alerts(request.user, **values)
    page = ListPage(
        "监测预警",
        LIST_COLUMNS,
        LIST_FILTERS,
        "机构名称或代码、企业名称、通用名、订单号",
        "监测预警",
        context={"breadcrumbs": [("监测预警", None)]},
    )
    return render_list(request, page, qs, values)


# ---- detail ----------------------------------------------------------------------------------------------

ACTION_LABELS = {
    "opened": "监测发现",
    "reopened": "条件再次出现，重新打开",
    "closed": "条件不再满足，自动关闭",
    "explained": "预警对象说明",
    "resolved": "医保局办结",
    **{value: f"医保局督办：{label}" for value, label in Escalation.choices if value},
}
VALUE_LABELS = {**dict(AlertStatus.choices), **{v: lbl for v, lbl in Escalation.choices if v}}


def _events(alert: Alert) -> list[dict]:
    return [
        {
            "at": e.at,
            "action": ACTION_LABELS.get(e.action, e.action),
            "code": e.action,
            "actor": (e.actor.get_full_name() or e.actor.username) if e.actor_id else "系统（监测）",
            "change": " → ".join(VALUE_LABELS.get(v, "—") if v else "—" for v in (e.from_value, e.to_value)),
            "reason": e.reason,
        }
        for e in queries.alert_events(alert)
    ]


@scoped_page
def alert_detail(request, alert_id: int):
    actor = request.user
    alert = queries.get_alert(actor, alert_id)
    active = alert.status in (AlertStatus.OPEN, AlertStatus.EXPLAINED)
    governs = queries.can_govern(actor, alert)
    (value_label, _), (threshold_label, _) = MEANING.get(alert.type, (("指标值", QTY), ("阈值", QTY)))
    context = {
        "alert": alert,
        "value_label": value_label,
        "value": value_text(alert),
        "threshold_label": threshold_label,
        "threshold": threshold_text(alert),
        "order_url": _order_url(alert),
        "ticket_url": reverse("tickets:detail", args=[alert.ticket_id]) if alert.ticket_id else None,
        "events": _events(alert),
        "can_explain": alert.status == AlertStatus.OPEN and queries.can_explain(actor, alert),
        "can_resolve": active and governs,
        "next_step": actions.next_escalation(alert) if active and governs else None,
        "breadcrumbs": [("监测预警", reverse("monitoring:alerts")), (f"预警 #{alert.pk}", None)],
    }
    return render(request, "monitoring/alert_detail.html", context)


def _explain(actor, alert_id, post):
    actions.explain_alert(actor=actor, alert_id=alert_id, reason=post.get("reason", ""))
    return "说明已提交，等待医保局处理。"


def _resolve(actor, alert_id, post):
    actions.resolve_alert(actor=actor, alert_id=alert_id, reason=post.get("reason", ""))
    return "预警已办结。"


def _escalate(actor, alert_id, post):
    alert = actions.escalate_alert(
        actor=actor, alert_id=alert_id, step=post.get("step", ""), reason=post.get("reason", "")
    )
    return f"已记录督办：{alert.get_escalation_display()}。"


STEPS = {"explain": _explain, "resolve": _resolve, "escalate": _escalate}


@scoped_page
@require_POST
def alert_step(request, alert_id: int, step: str):
    handler = STEPS.get(step)
    if handler is None:
        raise Http404("未知操作")
    try:
        messages.success(request, handler(request.user, alert_id, request.POST))
    except DomainPermissionDenied as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    return redirect(alert_url(alert_id))
