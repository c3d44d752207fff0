"""Every write of supply tickets (SPEC §8): open, reply with a promised fix date, confirm or reopen,
bureau supervision (escalate, interview and other actions, close), verified supply problems (trade's supply
blocks), attachments, and the SLA evaluation that `jicai sla` and `jicai monitor` run.

Each action checks scope first (outside it: NotFound → 404, nothing written), locks the ticket row, writes
the ticket, one TicketEvent and one audit row in one transaction, and notifies the parties after commit.
`on` (the business date) exists for the demo generator and tests that replay history; web views and the
API never pass it, so users cannot back-date a step."""

import datetime as dt
import hashlib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Organisation, OrganisationKind
from jicai.accounts.notify import notify
from jicai.batches.models import Item
from jicai.core import audit
from jicai.core.calendar import WorkdayCalendar
from jicai.core.errors import DomainError, NotFound, PermissionDenied
from jicai.core.models import AuditLog
from jicai.policy.resolve import effective_policy
from jicai.registry.models import Company, Product
from jicai.tickets import queries, rules
from jicai.tickets.models import (
    AWAITING_FIX,
    AWAITING_REPLY,
    BUREAU_ACTIONS,
    Category,
    EventAction,
    Status,
    Ticket,
    TicketAttachment,
    TicketEvent,
)
from jicai.trade import actions as trade_actions
from jicai.trade import queries as trade_queries
from jicai.trade.models import OrderLine

NOT_FOUND = queries.NOT_FOUND
SYSTEM_LABEL = "系统（时限检查）"
MANUFACTURER_KINDS = ("manufacturer", "both")
DISTRIBUTOR_KINDS = ("distributor", "both")


def today() -> dt.date:
    return timezone.localdate()


def max_attachment_bytes() -> int:
    return int(getattr(settings, "TICKET_ATTACHMENT_MAX_BYTES", rules.MAX_ATTACHMENT_BYTES))


# ---- helpers -------------------------------------------------------------------------------------------


def _actor_label(actor) -> str:
    if actor is None:
        return SYSTEM_LABEL
    org = getattr(actor, "organisation", None)
    org_name = org.name if org is not None else "平台"
    user = audit._user(actor)
    if user is not None:
        return f"{org_name} · {user}"
    # An API client acts through a token; the demo generator acts for an organisation without a login.
    return f"{org_name} · 接口令牌" if getattr(actor, "token_id", None) is not None else org_name


def _event(
    ticket: Ticket,
    action: str,
    *,
    actor,
    on: dt.date,
    from_status: str = "",
    to_status: str = "",
    text: str = "",
    data: dict | None = None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        action=action,
        on=on,
        actor=audit._user(actor),
        organisation_id=getattr(actor, "organisation_id", None) if actor is not None else None,
        actor_label=_actor_label(actor),
        from_status=from_status,
        to_status=to_status,
        text=text,
        data=data or {},
    )


def _orgs(*, companies: Iterable = (), institutions: Iterable = (), regions: Iterable = ()) -> list[int]:
    from django.db.models import Q

    company_ids = [c for c in companies if c]
    institution_ids = [i for i in institutions if i]
    region_ids = [r for r in regions if r]
    q = Q(company_id__in=company_ids) | Q(institution_id__in=institution_ids)
    q |= Q(kind=OrganisationKind.BUREAU, region_id__in=region_ids)
    return list(Organisation.objects.filter(q).values_list("pk", flat=True))


def _notify(ticket: Ticket, org_ids: list[int], kind: str, title: str, body: str = "") -> None:
    link = reverse("tickets:detail", args=[ticket.pk])
    transaction.on_commit(
        lambda: notify(organisations=org_ids, kind=f"tickets.{kind}", title=title, body=body, link=link)
    )


def _text(value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message)
    return value


def _lock(actor, ticket) -> Ticket:
    """The ticket, visible to the actor (else NotFound) and locked for this transaction."""
    ticket_id = ticket.pk if isinstance(ticket, Ticket) else int(ticket)
    if not queries.visible_tickets(actor).filter(pk=ticket_id).exists():
        raise NotFound(NOT_FOUND)
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related(
            "institution", "institution__region", "supplier", "item", "item__batch", "escalated_to"
        )
        .get(pk=ticket_id)
    )


def _policy(ticket_or_institution, item: Item | None):
    institution = getattr(ticket_or_institution, "institution", ticket_or_institution)
    return effective_policy(region=institution.region, batch=item.batch if item is not None else None)


# ---- attachments ---------------------------------------------------------------------------------------


def check_files(files) -> None:
    """Refuses the whole step when any file is bad (every problem listed), before anything is written."""
    files = list(files or [])
    if len(files) > rules.MAX_ATTACHMENTS_PER_STEP:
        raise DomainError(
            f"每次最多上传 {rules.MAX_ATTACHMENTS_PER_STEP} 个附件", code="too_many_attachments"
        )
    limit = max_attachment_bytes()
    problems = [p for f in files if (p := rules.attachment_problem(f.name, f.size, f, limit))]
    if problems:
        raise DomainError("；".join(problems), code="bad_attachment", details=problems)


@contextmanager
def _atomic_with_files():
    """transaction.atomic that also removes the files it stored when the transaction fails."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            yield stored
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


def _store_files(
    ticket: Ticket, event: TicketEvent, files, actor, stored: list[str]
) -> list[TicketAttachment]:
    rows = []
    for f in files or []:
        digest = hashlib.sha256()
        f.seek(0)
        for chunk in f.chunks():
            digest.update(chunk)
        f.seek(0)
        attachment = TicketAttachment(
            ticket=ticket,
            event=event,
            original_name=f.name[-255:],
            content_type=rules.content_type_for(f.name),
            size=f.size,
            sha256=digest.hexdigest(),
            uploaded_by=audit._user(actor),
            organisation_id=getattr(actor, "organisation_id", None),
        )
        attachment.file.save(f.name, f, save=False)
        stored.append(attachment.file.name)
        attachment.save()
        rows.append(attachment)
    return rows


# ---- institution: open ---------------------------------------------------------------------------------


def _resolve_item(
    *,
    supplier: Company,
    institution,
    product: Product | None,
    item: Item | None,
    order_line: OrderLine | None,
    on: dt.date,
) -> Item | None:
    if order_line is not None and order_line.item_id is not None:
        if item is not None and item.pk != order_line.item_id:
            raise DomainError("所选品种与订单行的品种不一致")
        return order_line.item
    if item is not None:
        makes_it = Product.objects.filter(
            manufacturer=supplier, generic_name=item.generic_name, dosage_form_group=item.dosage_form_group
        ).exists()
        if not makes_it:
            raise DomainError(f"{supplier.name} 没有属于 {item.generic_name} 的产品")
        return item
    if product is not None:
        province = trade_queries.province_of(institution)
        item_id = trade_queries.items_for_products([product.pk], on, province).get(product.pk)
        return Item.objects.select_related("batch").get(pk=item_id) if item_id else None
    return None


def open_ticket(
    *,
    actor,
    supplier: Company,
    category: str,
    description: str,
    distributor: Company | None = None,
    order_line: OrderLine | None = None,
    product: Product | None = None,
    item: Item | None = None,
    files=(),
    on: dt.date | None = None,
) -> Ticket:
    """An institution raises a ticket against a manufacturer; the reply is due ticket_reply_workdays
    working days after the open date."""
    if not queries.can_open(actor):
        raise PermissionDenied("只有医疗机构（药学、医务、医保部门）人员可以提出诉求")
    institution = access.institution_of(actor)
    on = on or today()
    description = _text(description, "请填写问题描述")
    if category not in Category.values:
        raise DomainError("请选择问题类别")
    if supplier.kind not in MANUFACTURER_KINDS:
        raise DomainError(f"{supplier.name} 不是生产企业，诉求应针对生产企业提出")
    if distributor is not None and distributor.kind not in DISTRIBUTOR_KINDS:
        raise DomainError(f"{distributor.name} 不是配送企业")
    if order_line is not None:
        if order_line.institution_id != institution.pk:
            raise NotFound(NOT_FOUND)
        if order_line.supplier_id != supplier.pk:
            raise DomainError("该订单行不是向所选生产企业下的订单")
        if product is not None and product.pk != order_line.product_id:
            raise DomainError("所选产品与订单行的产品不一致")
        product = order_line.product
        if distributor is None and order_line.order.distributor_id:
            distributor = order_line.order.distributor
    if product is not None and product.manufacturer_id != supplier.pk:
        raise DomainError(f"产品 {product.code} 不是 {supplier.name} 生产的")
    item = _resolve_item(
        supplier=supplier, institution=institution, product=product, item=item, order_line=order_line, on=on
    )
    check_files(files)
    policy = _policy(institution, item)
    due = rules.reply_deadline(on, policy.ticket_reply_workdays, WorkdayCalendar.from_database())
    with _atomic_with_files() as stored:
        ticket = Ticket.objects.create(
            institution=institution,
            supplier=supplier,
            distributor=distributor,
            order_line=order_line,
            product=product,
            item=item,
            category=category,
            description=description,
            status=Status.OPEN,
            opened_on=on,
            opened_by=audit._user(actor),
            reply_due=due.date,
            reply_due_provisional=due.provisional,
            first_reply_due=due.date,
        )
        event = _event(
            ticket,
            EventAction.OPENED,
            actor=actor,
            on=on,
            to_status=Status.OPEN,
            text=description,
            data={"category": category, "reply_due": str(due.date), "provisional": due.provisional},
        )
        _store_files(ticket, event, files, actor, stored)
        audit.record(
            actor=actor,
            action="tickets.open",
            obj=ticket,
            summary=f"{institution.name} 对 {supplier.name} 提出诉求（{Category(category).label}）",
            changes={"reply_due": str(due.date), "provisional": due.provisional},
        )
        _notify(
            ticket,
            _orgs(companies=[supplier.pk, distributor.pk if distributor else None]),
            "opened",
            f"{institution.name} 提出诉求 #{ticket.pk}（{Category(category).label}），请于 {due.date} 前答复",
            description,
        )
    return ticket


# ---- supplier: reply -----------------------------------------------------------------------------------


def reply_ticket(
    *,
    actor,
    ticket: Ticket,
    text: str,
    promised_fix_date: dt.date | None = None,
    files=(),
    on: dt.date | None = None,
) -> Ticket:
    """The supplier answers with a text and (optionally) a promised fix date, which may not be later than
    add_workdays(reply date, ticket_fix_max_workdays); without a promise that date is the fix deadline."""
    on = on or today()
    check_files(files)
    with _atomic_with_files() as stored:
        ticket = _lock(actor, ticket)
        if not queries.is_supplier_party(actor, ticket):
            raise PermissionDenied("只有被提出诉求的生产企业可以答复")
        if ticket.status not in AWAITING_REPLY:
            raise DomainError("该诉求当前不需要答复", code="wrong_status")
        text = _text(text, "请填写答复内容")
        policy = _policy(ticket, ticket.item)
        limit = rules.fix_deadline(on, policy.ticket_fix_max_workdays, WorkdayCalendar.from_database())
        problem = rules.promise_problem(promised_fix_date, on, limit.date, policy.ticket_fix_max_workdays)
        if problem:
            raise DomainError(
                problem, code="promise_too_late" if promised_fix_date > limit.date else "invalid"
            )
        late = rules.is_overdue(ticket.reply_due, on)
        before = ticket.status
        ticket.status = Status.REPLIED
        ticket.replied_on = on
        ticket.first_replied_on = ticket.first_replied_on or on
        ticket.reply_text = text
        ticket.promised_fix_date = promised_fix_date
        ticket.fix_due = promised_fix_date or limit.date
        ticket.fix_due_provisional = False if promised_fix_date else limit.provisional
        ticket.replied_late = ticket.replied_late or late
        ticket.save(
            update_fields=[
                "status",
                "replied_on",
                "first_replied_on",
                "reply_text",
                "promised_fix_date",
                "fix_due",
                "fix_due_provisional",
                "replied_late",
                "updated_at",
            ]
        )
        event = _event(
            ticket,
            EventAction.REPLIED,
            actor=actor,
            on=on,
            from_status=before,
            to_status=ticket.status,
            text=text,
            data={
                "promised_fix_date": str(promised_fix_date) if promised_fix_date else None,
                "fix_due": str(ticket.fix_due),
                "late": late,
            },
        )
        _store_files(ticket, event, files, actor, stored)
        audit.record(
            actor=actor,
            action="tickets.reply",
            obj=ticket,
            summary=f"{ticket.supplier.name} 答复诉求 #{ticket.pk}",
            changes={"fix_due": str(ticket.fix_due), "late": late},
        )
        _notify(
            ticket,
            _orgs(institutions=[ticket.institution_id], regions=[ticket.escalated_to_id]),
            "replied",
            f"{ticket.supplier.name} 已答复诉求 #{ticket.pk}，解决期限 {ticket.fix_due}",
            text,
        )
    return ticket


# ---- institution: confirm or reopen ---------------------------------------------------------------------


@transaction.atomic
def confirm_fix(*, actor, ticket: Ticket, text: str = "", on: dt.date | None = None) -> Ticket:
    on = on or today()
    ticket = _lock(actor, ticket)
    if not queries.is_institution_party(actor, ticket):
        raise PermissionDenied("只有提出诉求的医疗机构可以确认解决")
    if ticket.status not in AWAITING_FIX:
        raise DomainError("企业答复后才能确认解决", code="wrong_status")
    if on < ticket.replied_on:
        raise DomainError("确认日期不能早于企业答复日期")
    late = rules.is_overdue(ticket.fix_due, on)
    before = ticket.status
    ticket.status = Status.FIXED
    ticket.fixed_on = on
    ticket.workdays_to_fix = rules.workdays_taken(ticket.opened_on, on, WorkdayCalendar.from_database())
    ticket.fixed_late = ticket.fixed_late or late
    ticket.save(update_fields=["status", "fixed_on", "workdays_to_fix", "fixed_late", "updated_at"])
    _event(
        ticket,
        EventAction.FIX_CONFIRMED,
        actor=actor,
        on=on,
        from_status=before,
        to_status=ticket.status,
        text=(text or "").strip(),
        data={"workdays_to_fix": ticket.workdays_to_fix, "late": late},
    )
    audit.record(
        actor=actor,
        action="tickets.confirm_fix",
        obj=ticket,
        summary=f"{ticket.institution.name} 确认诉求 #{ticket.pk} 已解决",
        changes={"workdays_to_fix": ticket.workdays_to_fix, "late": late},
    )
    _notify(
        ticket,
        _orgs(companies=[ticket.supplier_id], regions=[ticket.escalated_to_id]),
        "fixed",
        f"{ticket.institution.name} 确认诉求 #{ticket.pk} 已解决",
    )
    return ticket


def reopen_ticket(*, actor, ticket: Ticket, text: str, files=(), on: dt.date | None = None) -> Ticket:
    """The problem is not solved: the supplier must reply again, with a new reply deadline. The earlier
    reply, promise and confirmation stay in the event log."""
    on = on or today()
    check_files(files)
    with _atomic_with_files() as stored:
        ticket = _lock(actor, ticket)
        if not queries.is_institution_party(actor, ticket):
            raise PermissionDenied("只有提出诉求的医疗机构可以重新打开")
        if ticket.status not in (Status.REPLIED, Status.FIXED):
            raise DomainError("只有企业已答复或已确认解决的诉求可以重新打开", code="wrong_status")
        text = _text(text, "请说明重新打开的原因")
        policy = _policy(ticket, ticket.item)
        due = rules.reply_deadline(on, policy.ticket_reply_workdays, WorkdayCalendar.from_database())
        before = ticket.status
        ticket.status = Status.REOPENED
        ticket.reply_due = due.date
        ticket.reply_due_provisional = due.provisional
        ticket.promised_fix_date = None
        ticket.fix_due = None
        ticket.fix_due_provisional = False
        ticket.fixed_on = None
        ticket.workdays_to_fix = None
        ticket.save(
            update_fields=[
                "status",
                "reply_due",
                "reply_due_provisional",
                "promised_fix_date",
                "fix_due",
                "fix_due_provisional",
                "fixed_on",
                "workdays_to_fix",
                "updated_at",
            ]
        )
        event = _event(
            ticket,
            EventAction.REOPENED,
            actor=actor,
            on=on,
            from_status=before,
            to_status=ticket.status,
            text=text,
            data={"reply_due": str(due.date), "provisional": due.provisional},
        )
        _store_files(ticket, event, files, actor, stored)
        audit.record(
            actor=actor,
            action="tickets.reopen",
            obj=ticket,
            summary=f"{ticket.institution.name} 重新打开诉求 #{ticket.pk}",
            changes={"reply_due": str(due.date)},
        )
        _notify(
            ticket,
            _orgs(companies=[ticket.supplier_id], regions=[ticket.escalated_to_id]),
            "reopened",
            f"诉求 #{ticket.pk} 被重新打开，请于 {due.date} 前再次答复",
            text,
        )
    return ticket


# ---- bureau: supervision -------------------------------------------------------------------------------


@transaction.atomic
def escalate_ticket(*, actor, ticket: Ticket, text: str, on: dt.date | None = None) -> Ticket:
    """The supervising bureau pushes an escalated ticket up to the next bureau (county → city → province)."""
    on = on or today()
    ticket = _lock(actor, ticket)
    if ticket.escalated_to_id is None:
        raise DomainError("诉求尚未升级督办，逾期后由时限检查自动升级", code="not_escalated")
    if not (access.is_admin(actor) or access.bureau_region(actor) == ticket.escalated_to):
        raise PermissionDenied("只有当前督办的医保局可以上报上级")
    if ticket.status == Status.CLOSED:
        raise DomainError("诉求已办结", code="wrong_status")
    target = queries.next_bureau_region(ticket)
    if target is None:
        raise DomainError("已由最高一级医保局督办，无法继续上报", code="top_level")
    text = _text(text, "请填写上报原因（如：企业仍未解决）")
    source = ticket.escalated_to
    ticket.escalated_to = target
    ticket.escalation_level = target.level
    ticket.escalated_on = on
    ticket.save(update_fields=["escalated_to", "escalation_level", "escalated_on", "updated_at"])
    _event(
        ticket,
        EventAction.ESCALATED,
        actor=actor,
        on=on,
        from_status=ticket.status,
        to_status=ticket.status,
        text=text,
        data={"from_region": source.code, "to_region": target.code, "level": target.level},
    )
    audit.record(
        actor=actor,
        action="tickets.escalate",
        obj=ticket,
        summary=f"诉求 #{ticket.pk} 由 {source.name} 上报至 {target.name}",
        changes={"escalated_to": [source.code, target.code]},
    )
    _notify(
        ticket,
        _orgs(companies=[ticket.supplier_id], institutions=[ticket.institution_id], regions=[target.pk]),
        "escalated",
        f"诉求 #{ticket.pk}（{ticket.supplier.name}）已上报至 {target.name}医保局督办",
        text,
    )
    return ticket


def _require_supervisor(actor, ticket: Ticket) -> None:
    if not queries.can_supervise(actor, ticket):
        raise PermissionDenied("只有督办该诉求的医保局可以执行此操作")


def record_bureau_action(
    *, actor, ticket: Ticket, kind: str, text: str, files=(), on: dt.date | None = None
) -> Ticket:
    """An interview (约谈), reminder, notice (通报) or other measure, logged on the ticket."""
    on = on or today()
    if kind not in BUREAU_ACTIONS:
        raise DomainError("请选择督办措施")
    check_files(files)
    with _atomic_with_files() as stored:
        ticket = _lock(actor, ticket)
        _require_supervisor(actor, ticket)
        if ticket.status == Status.CLOSED:
            raise DomainError("诉求已办结", code="wrong_status")
        text = _text(text, "请填写督办情况")
        if kind == EventAction.INTERVIEW:
            ticket.interviewed_on = on
            ticket.save(update_fields=["interviewed_on", "updated_at"])
        event = _event(
            ticket, kind, actor=actor, on=on, from_status=ticket.status, to_status=ticket.status, text=text
        )
        _store_files(ticket, event, files, actor, stored)
        label = EventAction(kind).label
        audit.record(
            actor=actor,
            action=f"tickets.{kind}",
            obj=ticket,
            summary=f"诉求 #{ticket.pk} {label}：{text[:100]}",
        )
        _notify(
            ticket,
            _orgs(companies=[ticket.supplier_id], institutions=[ticket.institution_id]),
            kind,
            f"医保局对诉求 #{ticket.pk}（{ticket.supplier.name}）采取督办措施：{label}",
            text,
        )
    return ticket


@transaction.atomic
def close_ticket(*, actor, ticket: Ticket, text: str, on: dt.date | None = None) -> Ticket:
    on = on or today()
    ticket = _lock(actor, ticket)
    _require_supervisor(actor, ticket)
    if ticket.status == Status.CLOSED:
        raise DomainError("诉求已办结", code="wrong_status")
    text = _text(text, "请填写办结意见")
    before = ticket.status
    ticket.status = Status.CLOSED
    ticket.closed_on = on
    ticket.save(update_fields=["status", "closed_on", "updated_at"])
    _event(
        ticket, EventAction.CLOSED, actor=actor, on=on, from_status=before, to_status=ticket.status, text=text
    )
    audit.record(actor=actor, action="tickets.close", obj=ticket, summary=f"办结诉求 #{ticket.pk}")
    _notify(
        ticket,
        _orgs(companies=[ticket.supplier_id], institutions=[ticket.institution_id]),
        "closed",
        f"诉求 #{ticket.pk} 已由医保局办结",
        text,
    )
    return ticket


@transaction.atomic
def verify_supply_problem(*, actor, ticket: Ticket, reason: str, on: dt.date | None = None) -> Ticket:
    """The bureau confirms a real supply problem: the supplier becomes unable to supply the institution with
    the ticket's item (trade.SupplyBlock, source "ticket"), so the order form routes to the backup."""
    on = on or today()
    ticket = _lock(actor, ticket)
    if ticket.item_id is None:
        raise DomainError("该诉求未关联采购品种，无法认定供应问题", code="no_item")
    if not queries.can_verify(actor, ticket):
        raise PermissionDenied("只有机构所在地区的医保局可以认定供应问题")
    if ticket.supply_block_id is not None and ticket.supply_block.lifted_at is None:
        raise DomainError("该诉求已认定为供应问题", code="already_verified")
    reason = _text(reason, "请填写认定意见")
    block = trade_actions.set_supply_block(
        actor=actor,
        institution=ticket.institution,
        supplier=ticket.supplier,
        item=ticket.item,
        reason=f"诉求 #{ticket.pk} 认定供应问题：{reason}"[:255],
        source="ticket",
        source_ref=str(ticket.pk),
    )
    ticket.supply_block = block
    ticket.save(update_fields=["supply_block", "updated_at"])
    _event(
        ticket,
        EventAction.VERIFIED,
        actor=actor,
        on=on,
        from_status=ticket.status,
        to_status=ticket.status,
        text=reason,
        data={"supply_block": block.pk, "item": ticket.item.item_code},
    )
    audit.record(
        actor=actor,
        action="tickets.verify",
        obj=ticket,
        summary=f"诉求 #{ticket.pk} 认定为供应问题，{ticket.supplier.name} 暂停向 {ticket.institution.name} 供应",
        changes={"supply_block": block.pk},
    )
    return ticket


@transaction.atomic
def lift_ticket_block(*, actor, ticket: Ticket, note: str = "", on: dt.date | None = None) -> Ticket:
    on = on or today()
    ticket = _lock(actor, ticket)
    if not queries.can_verify(actor, ticket):
        raise PermissionDenied("只有机构所在地区的医保局可以解除无法供应标记")
    block = ticket.supply_block
    if block is None or block.lifted_at is not None:
        raise DomainError("该诉求没有生效中的无法供应标记", code="not_blocked")
    trade_actions.lift_supply_block(actor=actor, block=block, note=note)
    _event(
        ticket,
        EventAction.BLOCK_LIFTED,
        actor=actor,
        on=on,
        from_status=ticket.status,
        to_status=ticket.status,
        text=(note or "").strip(),
        data={"supply_block": block.pk},
    )
    audit.record(
        actor=actor, action="tickets.lift_block", obj=ticket, summary=f"解除诉求 #{ticket.pk} 的无法供应标记"
    )
    return ticket


def add_attachments(*, actor, ticket: Ticket, files, text: str = "", on: dt.date | None = None) -> list:
    """A party (the institution, the supplier or a supervising bureau) adds evidence to a ticket."""
    on = on or today()
    files = list(files or [])
    if not files:
        raise DomainError("请选择要上传的附件")
    check_files(files)
    with _atomic_with_files() as stored:
        ticket = _lock(actor, ticket)
        party = (
            queries.is_institution_party(actor, ticket)
            or queries.is_supplier_party(actor, ticket)
            or queries.can_supervise(actor, ticket)
        )
        if not party:
            raise PermissionDenied("只有诉求双方和督办医保局可以上传附件")
        event = _event(
            ticket,
            EventAction.ATTACHED,
            actor=actor,
            on=on,
            from_status=ticket.status,
            to_status=ticket.status,
            text=(text or "").strip(),
        )
        rows = _store_files(ticket, event, files, actor, stored)
        audit.record(
            actor=actor,
            action="tickets.attach",
            obj=ticket,
            summary=f"诉求 #{ticket.pk} 补充附件 {len(rows)} 个",
            changes={"files": [r.original_name for r in rows]},
        )
    return rows


# ---- SLA evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaStep:
    ticket_id: int
    kind: str  # reply | fix
    due: dt.date
    escalated_to: str | None  # region code of the supervising bureau
    bureau: str | None  # its name
    first_escalation: bool


@dataclass
class SlaResult:
    as_of: dt.date
    overdue: int = 0  # tickets overdue on as_of, new or already handled
    steps: list[SlaStep] = field(default_factory=list)  # what this run did

    @property
    def changed(self) -> int:
        return len(self.steps)

    def lines(self) -> list[str]:
        out = []
        for s in self.steps:
            what = "逾期未答复" if s.kind == rules.REPLY else "逾期未解决"
            where = (
                f"升级至 {s.bureau} 督办"
                if s.first_escalation
                else (f"通知督办的 {s.bureau}" if s.bureau else "所在地区没有医保局账户，未能升级")
            )
            out.append(f"诉求 #{s.ticket_id}：{what}（期限 {s.due}），{where}")
        out.append(f"{self.as_of}：逾期诉求 {self.overdue} 件，本次新处理 {len(self.steps)} 件")
        return out


def evaluate_sla(*, as_of: dt.date) -> SlaResult:
    """Marks every ticket overdue on as_of (the first day after its reply or fix deadline) whose current
    deadline was not handled yet: escalates it to the lowest bureau on the institution's region path (once;
    later breaches notify the bureau already supervising), logs it and notifies the parties.

    Idempotent: each ticket remembers the (kind, due date) it was handled for, so running again for the
    same or a later day changes nothing until a new deadline passes. Monitoring calls this."""
    result = SlaResult(as_of=as_of)
    with transaction.atomic():
        candidates = list(
            Ticket.objects.select_for_update(of=("self",))
            .filter(queries.overdue_q(as_of))
            .annotate(kind=queries.overdue_kind_expression(as_of), due=queries.current_due_expression())
            .select_related("institution", "institution__region", "supplier", "escalated_to")
            .order_by("pk")
        )
        result.overdue = len(candidates)
        new = [t for t in candidates if (t.breached_kind, t.breached_due) != (t.kind, t.due)]
        if not new:
            return result
        paths = {t.pk: t.institution.region.ancestor_codes() for t in new}
        bureaus = queries.bureau_codes({c for p in paths.values() for c in p})
        bureau_names = dict(
            Organisation.objects.filter(
                kind=OrganisationKind.BUREAU, region__in=list(bureaus.values())
            ).values_list("region_id", "name")
        )
        events, audits, notices = [], [], []
        now = timezone.now()
        for t in new:
            first = t.escalated_to_id is None
            if first:
                code = rules.lowest_bureau(paths[t.pk], set(bureaus))
                if code is not None:
                    t.escalated_to = bureaus[code]
                    t.escalation_level = t.escalated_to.level
                    t.escalated_on = as_of
            t.breached_kind, t.breached_due = t.kind, t.due
            if t.kind == rules.REPLY:
                t.replied_late = True
            else:
                t.fixed_late = True
            region = t.escalated_to
            step = SlaStep(
                ticket_id=t.pk,
                kind=t.kind,
                due=t.due,
                escalated_to=region.code if region else None,
                bureau=bureau_names.get(region.pk) if region else None,
                first_escalation=first and region is not None,
            )
            result.steps.append(step)
            what = "企业逾期未答复" if t.kind == rules.REPLY else "企业逾期未解决"
            text = f"{what}（期限 {t.due}）" + (
                f"，升级至 {step.bureau} 督办" if step.first_escalation else ""
            )
            events.append(
                TicketEvent(
                    ticket=t,
                    action=EventAction.OVERDUE,
                    on=as_of,
                    at=now,
                    actor_label=SYSTEM_LABEL,
                    from_status=t.status,
                    to_status=t.status,
                    text=text,
                    data={"kind": t.kind, "due": str(t.due), "escalated_to": step.escalated_to},
                )
            )
            audits.append(
                AuditLog(
                    action="tickets.overdue",
                    object_type=Ticket._meta.label_lower,
                    object_id=str(t.pk),
                    summary=f"诉求 #{t.pk} {text}"[:255],
                    changes={"kind": t.kind, "due": str(t.due), "escalated_to": step.escalated_to},
                )
            )
            notices.append((t, f"诉求 #{t.pk}（{t.supplier.name}）{what}，期限 {t.due}", text))
        Ticket.objects.bulk_update(
            new,
            [
                "escalated_to",
                "escalation_level",
                "escalated_on",
                "breached_kind",
                "breached_due",
                "replied_late",
                "fixed_late",
            ],
        )
        TicketEvent.objects.bulk_create(events)
        AuditLog.objects.bulk_create(audits)
        for t, title, body in notices:
            _notify(
                t,
                _orgs(
                    companies=[t.supplier_id], institutions=[t.institution_id], regions=[t.escalated_to_id]
                ),
                "overdue",
                title,
                body,
            )
    return result
