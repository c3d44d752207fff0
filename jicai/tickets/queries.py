"""Reads of supply tickets (SPEC §8, §9): scoped lists and pages, who may do what, overdue tickets for
monitoring's alerts and the per-supplier figures of monitoring's scorecard.

Scoping is accounts.access.scope_by_parties: a supplier sees the tickets naming it (as supplier or
distributor), an institution its own, a bureau its region subtree, an admin everything. The rules of who
may *act* that access.py does not have (the bureau supervising an escalated ticket) live here, built on
access's functions."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, CharField, Count, DateField, F, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from jicai.accounts import access
from jicai.accounts.models import Organisation, OrganisationKind, Role
from jicai.core.errors import NotFound
from jicai.registry.models import Company, Region
from jicai.tickets import rules
from jicai.tickets.models import AWAITING_FIX, AWAITING_REPLY, Status, Ticket, TicketAttachment

NOT_FOUND = "未找到该记录，或您无权查看"


def today() -> dt.date:
    return timezone.localdate()


# ---- scope ---------------------------------------------------------------------------------------------


def visible_tickets(actor) -> QuerySet[Ticket]:
    return access.scope_by_parties(
        actor, Ticket.objects.all(), institution="institution", supplier="supplier", distributor="distributor"
    )


def overdue_q(as_of: dt.date) -> Q:
    """Tickets overdue on as_of: a reply owed and reply_due passed, or the fix owed and fix_due passed
    (the first day after the due date; rules.overdue_kind is the same rule for one ticket)."""
    return Q(status__in=AWAITING_REPLY, reply_due__lt=as_of) | Q(status__in=AWAITING_FIX, fix_due__lt=as_of)


def overdue_kind_expression(as_of: dt.date):
    return Case(
        When(Q(status__in=AWAITING_REPLY, reply_due__lt=as_of), then=Value(rules.REPLY)),
        When(Q(status__in=AWAITING_FIX, fix_due__lt=as_of), then=Value(rules.FIX)),
        default=Value(""),
        output_field=CharField(),
    )


def current_due_expression():
    """The deadline the supplier currently works to: reply_due while a reply is owed, else fix_due."""
    return Case(
        When(status__in=AWAITING_REPLY, then=F("reply_due")),
        When(status__in=AWAITING_FIX, then=F("fix_due")),
        default=Value(None),
        output_field=DateField(),
    )


def _with_display(qs: QuerySet[Ticket], as_of: dt.date) -> QuerySet[Ticket]:
    return qs.select_related(
        "institution",
        "institution__region",
        "supplier",
        "distributor",
        "item",
        "item__batch",
        "product",
        "escalated_to",
        "supply_block",
    ).annotate(overdue_now=overdue_kind_expression(as_of), current_due=current_due_expression())


def list_tickets(
    actor,
    *,
    q: str = "",
    status: str = "",
    overdue: str = "",
    supplier: str = "",
    item: str = "",
    region: str = "",
    category: str = "",
    escalation: str = "",
    institution: str = "",
    as_of: dt.date | None = None,
) -> QuerySet[Ticket]:
    """The actor's tickets with the list filters; `overdue` is "1" (overdue as of as_of) or "0" (not)."""
    as_of = as_of or today()
    qs = visible_tickets(actor)
    if q:
        match = (
            Q(description__icontains=q)
            | Q(institution__name__icontains=q)
            | Q(supplier__name__icontains=q)
            | Q(institution__code=q)
            | Q(supplier__code=q)
        )
        if q.lstrip("#").isdigit():
            match |= Q(pk=int(q.lstrip("#")))
        qs = qs.filter(match)
    if status in Status.values:
        qs = qs.filter(status=status)
    if overdue == "1":
        qs = qs.filter(overdue_q(as_of))
    elif overdue == "0":
        qs = qs.exclude(overdue_q(as_of))
    if supplier:
        qs = qs.filter(Q(supplier__code=supplier) | Q(distributor__code=supplier))
    if item:
        qs = qs.filter(item__item_code=item)
    if region:
        found = Region.objects.filter(code=region).first()
        qs = qs.filter(institution__region__path__startswith=found.path) if found else qs.none()
    if category:
        qs = qs.filter(category=category)
    if escalation == "none":
        qs = qs.filter(escalated_to__isnull=True)
    elif escalation:
        qs = qs.filter(escalation_level=escalation)
    if institution:
        qs = qs.filter(institution__code=institution)
    return _with_display(qs, as_of)


def get_ticket(actor, ticket_id: int, *, as_of: dt.date | None = None) -> Ticket:
    return access.get_visible_or_404(_with_display(visible_tickets(actor), as_of or today()), pk=ticket_id)


def ticket_events(ticket: Ticket):
    return list(ticket.events.select_related("organisation").prefetch_related("attachments"))


def ticket_attachments(ticket: Ticket):
    return list(ticket.attachments.all())


def get_attachment(actor, ticket_id: int, attachment_id: int) -> TicketAttachment:
    ticket = access.get_visible_or_404(visible_tickets(actor), pk=ticket_id)
    attachment = TicketAttachment.objects.filter(ticket=ticket, pk=attachment_id).first()
    if attachment is None:
        raise NotFound(NOT_FOUND)
    return attachment


# ---- who may act ---------------------------------------------------------------------------------------


def can_open(actor) -> bool:
    """Institution staff (pharmacy/medical/insurance office, not doctors) raise tickets."""
    return access.institution_of(actor) is not None and getattr(actor, "role", None) == Role.INSTITUTION


def is_institution_party(actor, ticket: Ticket) -> bool:
    own = access.institution_of(actor)
    return own is not None and own.pk == ticket.institution_id and actor.role == Role.INSTITUTION


def is_supplier_party(actor, ticket: Ticket) -> bool:
    company = access.company_of(actor)
    return company is not None and company.pk == ticket.supplier_id


def can_reply(actor, ticket: Ticket) -> bool:
    return is_supplier_party(actor, ticket) and ticket.status in AWAITING_REPLY


def can_confirm(actor, ticket: Ticket) -> bool:
    return is_institution_party(actor, ticket) and ticket.status in AWAITING_FIX


def can_reopen(actor, ticket: Ticket) -> bool:
    return is_institution_party(actor, ticket) and ticket.status in (Status.REPLIED, Status.FIXED)


def can_supervise(actor, ticket: Ticket) -> bool:
    """Record an action (约谈 …) or close: an admin, or a bureau whose subtree holds the institution — once a
    ticket is escalated, only the supervising bureau and those above it (a county bureau cannot close what
    the province now handles)."""
    if access.is_admin(actor):
        return True
    region = access.bureau_region(actor)
    if region is None or not ticket.institution.region.path.startswith(region.path):
        return False
    if ticket.escalated_to_id is not None:
        return ticket.escalated_to.path.startswith(region.path)
    return True


def can_escalate(actor, ticket: Ticket) -> bool:
    """Push up to the next bureau: the bureau currently supervising (or an admin), while one is above it."""
    if ticket.escalated_to_id is None or ticket.status == Status.CLOSED:
        return False
    if not (access.is_admin(actor) or access.bureau_region(actor) == ticket.escalated_to):
        return False
    return next_bureau_region(ticket) is not None


def can_verify(actor, ticket: Ticket) -> bool:
    """Mark a verified supply problem (or lift it): the bureau of the institution's subtree (trade's rule for
    supply blocks), for a ticket that names an item."""
    if ticket.item_id is None:
        return False
    return access.is_admin(actor) or access.in_bureau_subtree(actor, ticket.institution)


def bureau_codes(codes) -> dict[str, Region]:
    """{region code: Region} of the codes that have a bureau organisation (one query)."""
    orgs = Organisation.objects.filter(
        kind=OrganisationKind.BUREAU, region__code__in=list(codes)
    ).select_related("region")
    return {o.region.code: o.region for o in orgs}


def first_bureau_region(institution) -> Region | None:
    path = institution.region.ancestor_codes()
    bureaus = bureau_codes(path)
    code = rules.lowest_bureau(path, set(bureaus))
    return bureaus[code] if code else None


def next_bureau_region(ticket: Ticket) -> Region | None:
    if ticket.escalated_to_id is None:
        return None
    path = ticket.institution.region.ancestor_codes()
    bureaus = bureau_codes(path)
    code = rules.next_bureau_up(path, set(bureaus), ticket.escalated_to.code)
    return bureaus[code] if code else None


def bureau_organisations(region: Region | None) -> list[Organisation]:
    if region is None:
        return []
    return list(Organisation.objects.filter(kind=OrganisationKind.BUREAU, region=region))


# ---- options for the open form ------------------------------------------------------------------------


def supplier_choices() -> QuerySet[Company]:
    """Any manufacturer: an institution may complain about a non-winning maker it bought from too."""
    return Company.objects.filter(kind__in=["manufacturer", "both"]).order_by("name")


def distributor_choices() -> QuerySet[Company]:
    return Company.objects.filter(kind__in=["distributor", "both"]).order_by("name")


# ---- monitoring inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueTicket:
    ticket_id: int
    supplier_id: int
    institution_id: int
    kind: str  # "reply" | "fix"
    due: dt.date


def overdue_tickets(as_of: dt.date, *, region: Region | None = None) -> list[OverdueTicket]:
    """Every ticket overdue on as_of (not scoped: monitoring turns these into TICKET_REPLY_OVERDUE /
    TICKET_FIX_OVERDUE alerts; a ticket that is answered or fixed simply drops out, closing its alert)."""
    qs = Ticket.objects.filter(overdue_q(as_of))
    if region is not None:
        qs = qs.filter(institution__region__path__startswith=region.path)
    rows = (
        qs.annotate(kind=overdue_kind_expression(as_of), due=current_due_expression())
        .order_by("pk")
        .values_list("pk", "supplier_id", "institution_id", "kind", "due")
    )
    return [OverdueTicket(*row) for row in rows]


FIGURE_KEYS = (
    "tickets",
    "replied_on_time",
    "on_time_reply_rate",
    "fixed",
    "fixed_on_time",
    "timely_fix_rate",
    "mean_workdays_to_fix",
)


def _empty_figures() -> dict:
    return {
        "tickets": 0,
        "replied_on_time": 0,
        "on_time_reply_rate": None,
        "fixed": 0,
        "fixed_on_time": 0,
        "timely_fix_rate": None,
        "mean_workdays_to_fix": None,
    }


def supplier_ticket_figures(
    *, suppliers=None, start: dt.date, end: dt.date, region=None, institution=None
) -> dict[int, dict]:
    """Per supplier id, over tickets opened in [start, end] (of institutions in `region`'s subtree when
    given): {tickets, replied_on_time, on_time_reply_rate, fixed, fixed_on_time, timely_fix_rate,
    mean_workdays_to_fix}.

    * replied_on_time — replied, and never late in any round (a reply after reply_due, or a reply deadline
      passed unanswered, marks the ticket late for good);
    * fixed_on_time — fix confirmed by the institution and never late against the fix deadline;
    * both rates are over all the supplier's tickets in the period (a ticket still waiting is not on time
      yet), 4 decimals, None when the supplier has no tickets — never 100 %;
    * mean_workdays_to_fix — mean working days from opening to the confirmed fix over fixed tickets
      (official calendar with 调休), 2 decimals, None when none is fixed.

    Counting and summing happen in one grouped SQL query; `suppliers` (Company objects or ids) limits the
    result and gives every listed supplier a row, with zero tickets when it has none."""
    qs = Ticket.objects.filter(opened_on__gte=start, opened_on__lte=end)
    supplier_ids = None
    if suppliers is not None:
        supplier_ids = [s if isinstance(s, int) else s.pk for s in suppliers]
        qs = qs.filter(supplier_id__in=supplier_ids)
    if region is not None:
        if isinstance(region, str):
            region = Region.objects.get(code=region)
        qs = qs.filter(institution__region__path__startswith=region.path)
    if institution is not None:
        qs = qs.filter(institution=institution)
    fixed = Q(fixed_on__isnull=False)
    rows = (
        qs.values("supplier_id")
        .annotate(
            n=Count("pk"),
            on_time_replies=Count("pk", filter=Q(first_replied_on__isnull=False, replied_late=False)),
            n_fixed=Count("pk", filter=fixed & Q(workdays_to_fix__isnull=False)),
            on_time_fixes=Count("pk", filter=fixed & Q(fixed_late=False)),
            fix_workdays=Sum("workdays_to_fix", filter=fixed),
        )
        .order_by()
    )
    result = {sid: _empty_figures() for sid in supplier_ids or []}
    for row in rows:
        result[row["supplier_id"]] = {
            "tickets": row["n"],
            "replied_on_time": row["on_time_replies"],
            "on_time_reply_rate": rules.rate(row["on_time_replies"], row["n"]),
            "fixed": row["n_fixed"],
            "fixed_on_time": row["on_time_fixes"],
            "timely_fix_rate": rules.rate(row["on_time_fixes"], row["n"]),
            "mean_workdays_to_fix": rules.mean(row["fix_workdays"], row["n_fixed"]),
        }
    return result


@dataclass
class SupplierFigures:
    supplier: Company
    tickets: int
    replied_on_time: int
    on_time_reply_rate: object
    fixed: int
    fixed_on_time: int
    timely_fix_rate: object
    mean_workdays_to_fix: object


def figures_for(
    actor, *, start: dt.date, end: dt.date, supplier: str = "", region: str = ""
) -> list[SupplierFigures]:
    """The figures page and API: a bureau over its subtree, a supplier its own, an institution over its own
    tickets, an admin over everything; an unknown or out-of-scope region gives no rows."""
    kwargs: dict = {"start": start, "end": end}
    scope_region = access.bureau_region(actor) if not access.is_admin(actor) else None
    kind = access.kind(actor)
    if not access.is_admin(actor):
        if kind == OrganisationKind.BUREAU:
            kwargs["region"] = scope_region
        elif kind == OrganisationKind.INSTITUTION:
            kwargs["institution"] = access.institution_of(actor)
        elif kind == OrganisationKind.COMPANY:
            kwargs["suppliers"] = [access.company_of(actor).pk]
        else:
            return []
    if region:
        found = access.visible_regions(actor).filter(code=region).first()
        if found is None or (scope_region is not None and not found.path.startswith(scope_region.path)):
            return []
        kwargs["region"] = found
    if supplier:
        company = Company.objects.filter(code=supplier).first()
        if company is None:
            return []
        if "suppliers" in kwargs and company.pk not in kwargs["suppliers"]:
            return []
        kwargs["suppliers"] = [company.pk]
    figures = supplier_ticket_figures(**kwargs)
    companies = Company.objects.in_bulk(list(figures))
    rows = [SupplierFigures(supplier=companies[sid], **values) for sid, values in figures.items()]
    rows.sort(key=lambda r: (-r.tickets, r.supplier.code))
    return rows
