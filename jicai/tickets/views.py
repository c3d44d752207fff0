"""Ticket pages (SPEC §8): the scoped list with filters and export, opening a ticket, the ticket page with
its log and the forms each party may use, attachment downloads, and per-supplier figures. Thin: parse,
call one action or query, render or redirect."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from jicai.core.calendar import WorkdayCalendar
from jicai.core.errors import DomainError
from jicai.core.errors import PermissionDenied as DomainPermissionDenied
from jicai.policy.resolve import effective_policy
from jicai.tickets import actions, forms, queries, rules
from jicai.tickets.models import Category, EventAction, Status
from jicai.web.shortcuts import scoped_page
from jicai.web.tables import Column, Filter, ListPage, filter_values, render_list


def ticket_url(ticket_id: int) -> str:
    return reverse("tickets:detail", args=[ticket_id])


def _due(day, provisional: bool):
    if day is None:
        return None
    return f"{day:%Y-%m-%d}（暂定）" if provisional else day


def _overdue_label(t) -> str:
    return {rules.REPLY: "逾期未答复", rules.FIX: "逾期未解决"}.get(getattr(t, "overdue_now", ""), "")


def _supervision(t) -> str:
    if t.escalated_to_id is None:
        return ""
    return f"{t.escalated_to.name}（{t.escalated_to.get_level_display()}级）"


def _block(t) -> str:
    if t.supply_block_id is None:
        return ""
    return "生效中" if t.supply_block.lifted_at is None else "已解除"


LIST_FILTERS = [
    Filter("status", "状态", Status.choices),
    Filter("overdue", "是否逾期", [("1", "已逾期"), ("0", "未逾期")]),
    Filter(
        "escalation",
        "督办层级",
        [("none", "未升级"), ("county", "县级"), ("city", "市级"), ("province", "省级")],
    ),
    Filter("category", "问题类别", Category.choices),
    Filter("supplier", "企业信用代码", placeholder="18 位代码"),
    Filter("item", "品种编码"),
    Filter("region", "地区代码", placeholder="6 位行政区划代码"),
]
LIST_COLUMNS = [
    Column("编号", lambda t: f"#{t.pk}", lambda t: ticket_url(t.pk), width=8),
    Column("提出日期", lambda t: t.opened_on, width=12),
    Column("医疗机构", lambda t: t.institution.name, width=28),
    Column("生产企业", lambda t: t.supplier.name, width=24),
    Column("配送企业", lambda t: t.distributor.name if t.distributor_id else None, width=24),
    Column("品种", lambda t: f"{t.item.generic_name}（{t.item.item_code}）" if t.item_id else None, width=24),
    Column("问题类别", lambda t: t.get_category_display(), width=12),
    Column("状态", lambda t: t.get_status_display(), width=20),
    Column("答复期限", lambda t: _due(t.reply_due, t.reply_due_provisional), width=16),
    Column("解决期限", lambda t: _due(t.fix_due, t.fix_due_provisional), width=16),
    Column("逾期", _overdue_label, width=12),
    Column("督办", _supervision, width=24),
    Column("约谈日期", lambda t: t.interviewed_on, width=12),
    Column("无法供应标记", _block, width=12),
]


@scoped_page
def ticket_list(request):
    values = filter_values(request, LIST_FILTERS)
    qs = queries.list_tickets(request.user, **values)
    page = ListPage(
        "供应诉求",
        LIST_COLUMNS,
        LIST_FILTERS,
        "编号、机构、企业或描述",
        "供应诉求",
        template="tickets/ticket_list.html",
        context={"can_open": queries.can_open(request.user), "breadcrumbs": [("供应诉求", None)]},
    )
    return render_list(request, page, qs, values)


@scoped_page
@require_http_methods(["GET", "POST"])
def ticket_new(request):
    actor = request.user
    if not queries.can_open(actor):
        raise PermissionDenied("只有医疗机构人员可以提出诉求")
    institution = actor.organisation.institution
    initial = {k: request.GET[k] for k in ("order_id", "line_no", "product") if k in request.GET}
    form = forms.OpenTicketForm(institution=institution, initial=initial)
    if request.method == "POST":
        form = forms.OpenTicketForm(request.POST, institution=institution)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = actions.open_ticket(
                    actor=actor,
                    supplier=data["supplier"],
                    distributor=data["distributor"],
                    category=data["category"],
                    description=data["description"],
                    order_line=data["order_line"],
                    product=data["product_obj"],
                    files=request.FILES.getlist("attachments"),
                )
            except DomainPermissionDenied as exc:
                raise PermissionDenied(exc.message) from exc
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"诉求 #{ticket.pk} 已提交，企业应于 {ticket.reply_due} 前答复。")
                return redirect(ticket_url(ticket.pk))
    return render(
        request,
        "tickets/ticket_new.html",
        {
            "form": form,
            "max_mb": actions.max_attachment_bytes() // (1024 * 1024),
            "allowed": rules.ALLOWED_LABEL,
            "breadcrumbs": [("供应诉求", reverse("tickets:tickets")), ("提出诉求", None)],
        },
        status=400 if form.errors else 200,
    )


@scoped_page
def ticket_detail(request, ticket_id: int):
    actor = request.user
    ticket = queries.get_ticket(actor, ticket_id)
    today = actions.today()
    can_reply = queries.can_reply(actor, ticket)
    latest_promise = None
    if can_reply:
        policy = effective_policy(
            region=ticket.institution.region, batch=ticket.item.batch if ticket.item_id else None
        )
        latest_promise = rules.fix_deadline(
            today, policy.ticket_fix_max_workdays, WorkdayCalendar.from_database()
        )
    supervise = queries.can_supervise(actor, ticket)
    context = {
        "ticket": ticket,
        "events": queries.ticket_events(ticket),
        "attachments": queries.ticket_attachments(ticket),
        "overdue_label": _overdue_label(ticket),
        "supervision": _supervision(ticket),
        "today": today,
        "can_reply": can_reply,
        "latest_promise": latest_promise,
        "can_confirm": queries.can_confirm(actor, ticket),
        "can_reopen": queries.can_reopen(actor, ticket),
        "can_supervise": supervise and ticket.status != Status.CLOSED,
        "can_escalate": queries.can_escalate(actor, ticket),
        "next_bureau": queries.next_bureau_region(ticket) if supervise else None,
        "can_verify": queries.can_verify(actor, ticket),
        "block_active": ticket.supply_block_id is not None and ticket.supply_block.lifted_at is None,
        "can_attach": queries.is_institution_party(actor, ticket)
        or queries.is_supplier_party(actor, ticket)
        or supervise,
        "action_form": forms.BureauActionForm(),
        "max_mb": actions.max_attachment_bytes() // (1024 * 1024),
        "allowed": rules.ALLOWED_LABEL,
        "breadcrumbs": [("供应诉求", reverse("tickets:tickets")), (f"诉求 #{ticket.pk}", None)],
    }
    return render(request, "tickets/ticket_detail.html", context)


# ---- the steps a party takes on a ticket (POST only; back to the ticket page) --------------------------


def _reply(request, actor, ticket_id):
    form = forms.ReplyForm(request.POST)
    if not form.is_valid():
        raise DomainError("；".join(e for errors in form.errors.values() for e in errors))
    actions.reply_ticket(
        actor=actor,
        ticket=ticket_id,
        text=form.cleaned_data["text"],
        promised_fix_date=form.cleaned_data["promised_fix_date"],
        files=request.FILES.getlist("attachments"),
    )
    return "答复已提交。"


def _text(request) -> str:
    form = forms.TextForm(request.POST)
    return form.cleaned_data["text"] if form.is_valid() else ""


def _confirm(request, actor, ticket_id):
    actions.confirm_fix(actor=actor, ticket=ticket_id, text=_text(request))
    return "已确认问题解决。"


def _reopen(request, actor, ticket_id):
    actions.reopen_ticket(
        actor=actor, ticket=ticket_id, text=_text(request), files=request.FILES.getlist("attachments")
    )
    return "诉求已重新打开，企业需再次答复。"


def _escalate(request, actor, ticket_id):
    ticket = actions.escalate_ticket(actor=actor, ticket=ticket_id, text=_text(request))
    return f"已上报至 {ticket.escalated_to.name}。"


def _act(request, actor, ticket_id):
    form = forms.BureauActionForm(request.POST)
    if not form.is_valid():
        raise DomainError("请选择督办措施并填写督办情况")
    actions.record_bureau_action(
        actor=actor,
        ticket=ticket_id,
        kind=form.cleaned_data["kind"],
        text=form.cleaned_data["text"],
        files=request.FILES.getlist("attachments"),
    )
    return f"已记录：{EventAction(form.cleaned_data['kind']).label}。"


def _close(request, actor, ticket_id):
    actions.close_ticket(actor=actor, ticket=ticket_id, text=_text(request))
    return "诉求已办结。"


def _verify(request, actor, ticket_id):
    actions.verify_supply_problem(actor=actor, ticket=ticket_id, reason=_text(request))
    return "已认定为供应问题：该企业暂停向本机构供应该品种，下单时将推荐备供企业。"


def _lift(request, actor, ticket_id):
    actions.lift_ticket_block(actor=actor, ticket=ticket_id, note=_text(request))
    return "已解除无法供应标记。"


def _attach(request, actor, ticket_id):
    rows = actions.add_attachments(
        actor=actor, ticket=ticket_id, files=request.FILES.getlist("attachments"), text=_text(request)
    )
    return f"已上传 {len(rows)} 个附件。"


STEPS = {
    "reply": _reply,
    "confirm": _confirm,
    "reopen": _reopen,
    "escalate": _escalate,
    "act": _act,
    "close": _close,
    "verify": _verify,
    "lift": _lift,
    "attach": _attach,
}


@scoped_page
@require_POST
def ticket_step(request, ticket_id: int, step: str):
    handler = STEPS.get(step)
    if handler is None:
        raise Http404("未知操作")
    try:
        messages.success(request, handler(request, request.user, ticket_id))
    except DomainPermissionDenied as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    return redirect(ticket_url(ticket_id))


@scoped_page
def attachment_download(request, ticket_id: int, attachment_id: int):
    """Only through this scoped view, always as a download (never rendered inline by the browser)."""
    attachment = queries.get_attachment(request.user, ticket_id, attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("附件文件不存在") from exc
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# ---- per-supplier figures ------------------------------------------------------------------------------


def _percent(value) -> str:
    return "无数据" if value is None else f"{value * 100:.2f}%"


FIGURE_FILTERS = [
    Filter("start", "提出日期起", placeholder="YYYY-MM-DD"),
    Filter("end", "提出日期止", placeholder="YYYY-MM-DD"),
    Filter("supplier", "企业信用代码", placeholder="18 位代码"),
    Filter("region", "地区代码", placeholder="6 位行政区划代码"),
]
FIGURE_COLUMNS = [
    Column("生产企业", lambda r: r.supplier.name, width=28),
    Column("统一社会信用代码", lambda r: r.supplier.code, width=22),
    Column("诉求数", lambda r: r.tickets, numeric=True, width=8),
    Column("按时答复", lambda r: r.replied_on_time, numeric=True, width=10),
    Column("按时答复率", lambda r: _percent(r.on_time_reply_rate), numeric=True, width=12),
    Column("已解决", lambda r: r.fixed, numeric=True, width=8),
    Column("及时解决", lambda r: r.fixed_on_time, numeric=True, width=10),
    Column("及时解决率", lambda r: _percent(r.timely_fix_rate), numeric=True, width=12),
    Column(
        "平均解决用时（工作日）",
        lambda r: r.mean_workdays_to_fix if r.mean_workdays_to_fix is not None else "无数据",
        numeric=True,
        width=14,
    ),
]


def _date(value: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


@scoped_page
def supplier_figures(request):
    today = actions.today()
    values = filter_values(
        request, FIGURE_FILTERS, defaults={"start": f"{today.year}-01-01", "end": today.isoformat()}
    )
    start = _date(values["start"], dt.date(today.year, 1, 1))
    end = _date(values["end"], today)
    rows = queries.figures_for(
        request.user, start=start, end=end, supplier=values["supplier"], region=values["region"]
    )
    page = ListPage(
        "企业诉求处理情况",
        FIGURE_COLUMNS,
        FIGURE_FILTERS,
        "",
        "企业诉求处理情况",
        template="tickets/figures.html",
        context={
            "list_note": f"统计 {start} 至 {end} 提出的诉求；比率以该期间全部诉求为分母，没有诉求时为“无数据”。",
            "breadcrumbs": [("供应诉求", reverse("tickets:tickets")), ("企业诉求处理情况", None)],
        },
    )
    return render_list(request, page, rows, values)
