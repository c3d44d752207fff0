"""Pure supply rules (SPEC §6): derived line/order status, payment due dates, backup routing, monthly
report deadlines and spreading an invoice payment over lines. Plain values in and out, no database, so
web actions, bulk imports and monitoring all apply exactly the same rule."""

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from jicai.core.errors import DomainError
from jicai.core.money import amount as line_amount
from jicai.core.money import money
from jicai.policy.rules import payment_due

# ---- derived statuses ----------------------------------------------------------------------------

PENDING = "pending"
ACCEPTED = "accepted"
REJECTED = "rejected"
CANCELLED = "cancelled"
PARTIALLY_DELIVERED = "partially_delivered"
DELIVERED = "delivered"
PARTIALLY_RECEIVED = "partially_received"
RECEIVED = "received"
RECEIVED_WITH_REJECTS = "received_with_rejects"

STATUS_LABELS = {
    PENDING: "待确认",
    ACCEPTED: "已确认待配送",
    REJECTED: "已拒绝",
    CANCELLED: "已撤销",
    PARTIALLY_DELIVERED: "部分配送",
    DELIVERED: "已配送",
    PARTIALLY_RECEIVED: "部分入库",
    RECEIVED: "已入库",
    RECEIVED_WITH_REJECTS: "已入库(含拒收)",
}
STATUS_CHOICES = list(STATUS_LABELS.items())


def line_status(
    *,
    status: str,
    accepted_by_supplier: bool | None,
    qty: int,
    delivered_qty: int,
    accepted_qty: int,
    rejected_qty: int,
) -> str:
    """The status shown for an order line, derived from its quantities (never typed by hand).

    `status` is the sender's column (open/cancelled/rejected). A line is fully received when receipts
    (accepted + rejected) cover the ordered qty; partly received when they cover less; otherwise delivery
    decides. Goods delivered imply the supplier accepted, even when it never answered explicitly.
    """
    if status == "cancelled":
        return CANCELLED
    if status == "rejected" or accepted_by_supplier is False:
        return REJECTED
    received = accepted_qty + rejected_qty
    if received > 0:
        if received >= qty:
            return RECEIVED_WITH_REJECTS if rejected_qty > 0 else RECEIVED
        return PARTIALLY_RECEIVED
    if delivered_qty > 0:
        return DELIVERED if delivered_qty >= qty else PARTIALLY_DELIVERED
    return ACCEPTED if accepted_by_supplier else PENDING


# Order status: the least advanced live line decides, cancelled/rejected lines are left out unless all are.
_PROGRESS = [PENDING, ACCEPTED, PARTIALLY_DELIVERED, DELIVERED, PARTIALLY_RECEIVED, RECEIVED]


def order_status(line_statuses: Iterable[str]) -> str:
    """pending while any live line is unanswered; partially_delivered when some goods came but not all;
    received(_with_rejects) when every live line is received. An order of only cancelled lines is
    cancelled, of only rejected/cancelled lines rejected. An order without lines is pending."""
    statuses = list(line_statuses)
    live = [s for s in statuses if s not in (CANCELLED, REJECTED)]
    if not live:
        if statuses and all(s == CANCELLED for s in statuses):
            return CANCELLED
        return REJECTED if statuses else PENDING
    with_rejects = RECEIVED_WITH_REJECTS in live
    ranks = [_PROGRESS.index(RECEIVED if s == RECEIVED_WITH_REJECTS else s) for s in live]
    lowest, highest = _PROGRESS[min(ranks)], _PROGRESS[max(ranks)]
    if lowest == RECEIVED:
        return RECEIVED_WITH_REJECTS if with_rejects else RECEIVED
    if lowest == PENDING:
        return PENDING
    if highest in (PARTIALLY_RECEIVED, RECEIVED):
        return PARTIALLY_RECEIVED
    if lowest == DELIVERED:
        return DELIVERED
    if highest in (PARTIALLY_DELIVERED, DELIVERED):
        return PARTIALLY_DELIVERED
    return ACCEPTED


# ---- quantities and money --------------------------------------------------------------------------


def receivable_qty(*, delivered_qty: int, accepted_qty: int, rejected_qty: int) -> int:
    """What may still be confirmed: delivered − previously received (accepted + rejected)."""
    return delivered_qty - accepted_qty - rejected_qty


def payable_amount(accepted_qty: int, unit_price: Decimal) -> Decimal:
    """What the institution owes for the goods it accepted (rejected goods are not paid)."""
    return line_amount(accepted_qty, unit_price)


def outstanding_amount(*, accepted_qty: int, unit_price: Decimal, paid_amount: Decimal) -> Decimal:
    """Accepted value not yet paid; never negative (a line may be paid ahead of receipt up to its amount)."""
    return max(payable_amount(accepted_qty, unit_price) - money(paid_amount), Decimal("0.00"))


def payment_due_date(received_on: dt.date, *, days: int, rule: str) -> dt.date:
    """Due date of a received line under the policy (payment_due_days / payment_due_rule): 30 days after
    receipt by default, or the end of the month after receipt (2025-12-15 → 2026-01-31)."""
    return payment_due(received_on, days, rule)


def spread_payment(
    total: Decimal, open_amounts: Sequence[tuple[object, Decimal]]
) -> list[tuple[object, Decimal]]:
    """Spread one invoice payment over lines in the given order (callers pass the oldest due first): each
    line takes up to its open amount. Paying more than the lines' open total is refused."""
    remaining = money(total)
    if remaining <= 0:
        raise DomainError("付款金额必须大于 0")
    capacity = sum((money(a) for _, a in open_amounts), Decimal("0.00"))
    if remaining > capacity:
        raise DomainError(
            f"付款金额 {remaining} 超过所选订单行的未付金额合计 {capacity}", code="payment_exceeds_amount"
        )
    shares = []
    for key, open_amount in open_amounts:
        if remaining <= 0:
            break
        share = min(money(open_amount), remaining)
        if share > 0:
            shares.append((key, share))
            remaining -= share
    return shares


# ---- backup routing ------------------------------------------------------------------------------

ROLE_ORDER = ("main", "backup", "backup2")
ROLE_LABELS = {"main": "主供", "backup": "备供", "backup2": "第二备供"}


@dataclass(frozen=True)
class Candidate:
    role: str
    supplier_id: int
    supplier_name: str = ""


@dataclass(frozen=True)
class Routing:
    candidate: Candidate
    reason: str  # empty when the main supplier is proposed


class NoSupplierAvailable(DomainError):
    code = "no_supplier_available"
    status = 409


def route_supplier(candidates: Iterable[Candidate], blocked: dict[int, str]) -> Routing:
    """The first of main → backup → backup2 not marked unable to supply; `blocked` maps supplier id →
    the block's reason. The reason names every skipped supplier, so the order records why."""
    ordered = sorted((c for c in candidates if c.role in ROLE_ORDER), key=lambda c: ROLE_ORDER.index(c.role))
    if not ordered:
        raise NoSupplierAvailable("该品种在本省没有主供或备供企业")
    skipped = []
    for candidate in ordered:
        if candidate.supplier_id in blocked:
            name = candidate.supplier_name or str(candidate.supplier_id)
            skipped.append(
                f"{ROLE_LABELS[candidate.role]}企业{name}无法供应（{blocked[candidate.supplier_id]}）"
            )
            continue
        reason = "；".join(skipped)
        if reason:
            reason += f"，转{ROLE_LABELS[candidate.role]}"
        return Routing(candidate, reason[:255])
    raise NoSupplierAvailable("主供及全部备供企业均被标记为无法供应：" + "；".join(skipped))


# ---- supplier monthly reports ----------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_month(day: dt.date) -> dt.date:
    """First day of the month before day's month."""
    first = day.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def monthly_report_due(month: dt.date, report_day: int) -> dt.date:
    """A report for `month` is due on report_day of the following month (2025-12 → 2026-01-05)."""
    year, mon = (month.year + 1, 1) if month.month == 12 else (month.year, month.month + 1)
    return dt.date(year, mon, min(report_day, calendar.monthrange(year, mon)[1]))


def latest_overdue_report_month(today: dt.date, report_day: int) -> dt.date:
    """The most recent month whose report is past due on `today`: last month once its due day has
    passed (on 2026-01-06 with day 5 → 2025-12), otherwise the month before (on 2026-01-05 → 2025-11)."""
    last = previous_month(today)
    return last if today > monthly_report_due(last, report_day) else previous_month(last)
