"""Step: supply tickets (诉求对接) in every state, dated inside agreement year 1 of the first item's batch,
replayed through jicai.tickets.actions (the same deadlines, event log, escalation and notifications as
real use) and the SLA evaluation:

* for the demo personas (the pharmacist's institution against the manufacturer persona, supervised by the
  county/city/province bureau personas): open, replied, reopened, fixed, fixed after an interview,
  overdue-escalated at county, at city and at province (interviewed), closed, and a verified supply problem
  with an active supply block;
* a handful of tickets of other institutions against their items' main suppliers (scaled), mostly fixed in
  time, some answered late, some fixed late after escalation, some closed by the bureau, so the
  per-supplier figures differ.

Each story is finished before the next starts and the stories still waiting are dated just before the
demo's today (the year end if today lies beyond it), so the final `evaluate_sla(as_of=today)` leaves them
as described and the pages, which use the real date, show them so: one reply due on the next working day,
others overdue and escalated. A later `jicai sla` or `jicai monitor` run escalates the waiting ones when
their time comes, as it should.
"""

import datetime as dt

from jicai.accounts.access import TokenActor
from jicai.accounts.models import User
from jicai.batches.models import AgreementYear, WinnerRole
from jicai.core.calendar import WorkdayCalendar
from jicai.demo.context import DemoContext
from jicai.policy.resolve import effective_policy
from jicai.tickets import actions, rules
from jicai.trade.models import OrderLine

# Tickets of non-persona institutions: about one per 5 institutions, capped (this is not a load test).
EXTRA_PER_INSTITUTIONS = 5
EXTRA_MAX = 60


def _actor(ctx: DemoContext, kind: str, pk: int, role: str) -> TokenActor:
    """An organisation acting without a personal login (no user rows for the whole province)."""
    return TokenActor(organisation=ctx.organisations[(kind, pk)], role=role, token_id=None)


def build_tickets(ctx: DemoContext) -> None:
    if not ctx.items:
        ctx.log("没有采购品种，跳过")
        return
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=["pharmacist", "manufacturer", "county", "city", "province"]
        ).select_related(
            "organisation", "organisation__institution", "organisation__company", "organisation__region"
        )
    }
    if len(users) < 5:
        ctx.log("演示账户不全，跳过")
        return
    item = ctx.items[0]
    year = AgreementYear.objects.get(batch_id=item.batch_id, number=1)
    # The stories end on the demo's today: nothing is dated after the day the demo shows.
    start, end = year.start, min(year.end, ctx.today)
    institution = users["pharmacist"].organisation.institution
    maker = users["manufacturer"].organisation.company
    product = next(p for p in ctx.item_products[item.pk] if p.manufacturer_id == maker.pk)
    pharmacist, supplier = users["pharmacist"], users["manufacturer"]
    county, city, province = users["county"], users["city"], users["province"]
    states: dict[str, list[int]] = {}

    def day(offset: int) -> dt.date:
        return start + dt.timedelta(days=offset) if offset >= 0 else end + dt.timedelta(days=offset + 1)

    def line_before(on: dt.date):
        return (
            OrderLine.objects.filter(institution=institution, supplier=maker, ordered_on__lt=on)
            .select_related("order", "order__distributor", "product", "item")
            .order_by("-ordered_on", "-id")
            .first()
        )

    def open_(on, category, text, **kw):
        line = line_before(on) if category == "late_delivery" else None
        if line is not None and line.item_id != item.pk:
            line = None
        return actions.open_ticket(
            actor=pharmacist,
            supplier=maker,
            category=category,
            description=text,
            order_line=line,
            product=None if line else product,
            on=on,
            **kw,
        )

    def reply(t, on, promise_days=None, text="已协调生产线加急补货，将按承诺日期送达"):
        promise = on + dt.timedelta(days=promise_days) if promise_days is not None else None
        return actions.reply_ticket(actor=supplier, ticket=t, text=text, promised_fix_date=promise, on=on)

    def note(state, t):
        states.setdefault(state, []).append(t.pk)

    # Fixed in time.
    t = open_(day(20), "late_delivery", "订单已超过配送时限 3 天仍未送达，门诊阿托伐他汀钙库存告急")
    reply(t, day(21), 2)
    note("fixed", actions.confirm_fix(actor=pharmacist, ticket=t, text="已到货验收", on=day(23)))

    # Reply overdue → escalated to the county bureau, still waiting.
    t = open_(day(60), "shortage", "连续两周断货，配送企业称生产企业未发货")
    actions.evaluate_sla(as_of=day(70))
    note("escalated_county", t)

    # Escalated, then pushed up to the city.
    t = open_(day(80), "shortage", "中选产品断供，已影响慢病患者续方")
    actions.evaluate_sla(as_of=day(90))
    actions.escalate_ticket(actor=county, ticket=t, text="企业仍未答复，请市局协调", on=day(92))
    note("escalated_city", t)

    # Up to the province, which interviews the supplier.
    t = open_(day(100), "shortage", "全院断供超过 20 天")
    actions.evaluate_sla(as_of=day(110))
    actions.escalate_ticket(actor=county, ticket=t, text="企业仍未答复，请市局协调", on=day(111))
    actions.escalate_ticket(actor=city, ticket=t, text="涉及多家机构，请省局约谈", on=day(115))
    actions.record_bureau_action(
        actor=province,
        ticket=t,
        kind="interview",
        text="约谈企业负责人，要求 3 个工作日内恢复供应",
        on=day(116),
    )
    note("escalated_province_interviewed", t)

    # Fix overdue → escalated → interview → fixed.
    t = open_(day(130), "quality", "部分批号片剂裂片，已暂停使用")
    reply(t, day(131), 3, text="已召回相关批号并安排换货")
    actions.evaluate_sla(as_of=day(136))
    actions.record_bureau_action(
        actor=county, ticket=t, kind="interview", text="约谈企业质量负责人", on=day(137)
    )
    note("interviewed_fixed", actions.confirm_fix(actor=pharmacist, ticket=t, text="换货已到", on=day(140)))

    # Closed by the bureau after escalation.
    t = open_(day(170), "wrong_goods", "错发规格 10mg，订单为 20mg")
    actions.evaluate_sla(as_of=day(180))
    reply(t, day(181), 1, text="已安排换货")
    actions.confirm_fix(actor=pharmacist, ticket=t, on=day(182))
    note(
        "closed", actions.close_ticket(actor=county, ticket=t, text="企业已换货，机构确认，办结", on=day(183))
    )

    # A verified supply problem: orders of this item now route to the backup supplier.
    t = open_(day(190), "shortage", "企业停产，短期无法恢复供应")
    reply(t, day(191), text="原料药短缺，暂无法供货")
    try:
        actions.verify_supply_problem(
            actor=county, ticket=t, reason="经核实企业停产，启用备供企业", on=day(193)
        )
        note("verified_blocked", t)
    except actions.DomainError as exc:  # e.g. the persona maker is not a supplier of record here
        ctx.log(f"未能认定供应问题：{exc.message}")

    # Still waiting at the end of the year: replied, reopened, open.
    t = open_(day(-4), "late_delivery", "本周订单尚未配送")
    note("replied", reply(t, day(-3), 2))  # promised for the last day of the year: not overdue on it
    t = open_(day(-12), "quality", "外包装破损")
    reply(t, day(-11), 2)
    actions.confirm_fix(actor=pharmacist, ticket=t, on=day(-9))
    note("reopened", actions.reopen_ticket(actor=pharmacist, ticket=t, text="换货仍有破损", on=day(-1)))
    note("open", open_(day(-1), "other", "请企业提供近三个月供货计划"))
    note(
        "due_next_workday",
        open_(
            _opened_for_reply_due_tomorrow(institution, item, end),
            "late_delivery",
            "急诊用药配送延迟，请尽快确认送达时间",
        ),
    )

    _extra_tickets(ctx, institution, start, end, states)
    result = actions.evaluate_sla(as_of=end)
    ctx.extra["tickets"] = {"states": states, "sla": result.lines()[-1]}
    counts = "、".join(f"{k} {len(v)}" for k, v in states.items())
    ctx.log(f"诉求 {sum(len(v) for v in states.values())} 件（{counts}）；{result.lines()[-1]}")


def _opened_for_reply_due_tomorrow(institution, item, today: dt.date) -> dt.date:
    """The latest open date on or before `today` whose reply deadline (ticket_reply_workdays working days,
    on the official calendar) is the next working day after `today`: still in time today, due tomorrow
    (or on Monday when today is a Friday). Falls back to `today` when no such day exists."""
    calendar = WorkdayCalendar.from_database()
    policy = effective_policy(region=institution.region, batch=item.batch)
    target = calendar.add_workdays(today, 1).date
    for back in range(0, 31):
        opened = today - dt.timedelta(days=back)
        if rules.reply_deadline(opened, policy.ticket_reply_workdays, calendar).date == target:
            return opened
    return today


def _extra_tickets(ctx: DemoContext, persona_institution, start: dt.date, end: dt.date, states) -> None:
    rng = ctx.rng
    mains = [w for w in ctx.winners if w.role == WinnerRole.MAIN and w.province_id == ctx.province.pk]
    others = [i for i in ctx.institutions if i.pk != persona_institution.pk]
    if not mains or not others:
        return
    count = min(EXTRA_MAX, max(1, len(others) // EXTRA_PER_INSTITUTIONS))
    span = (end - start).days - 60
    opens = sorted(start + dt.timedelta(days=10 + rng.randrange(max(span, 1))) for _ in range(count))
    for opened in opens:
        winner = rng.choice(mains)
        institution = rng.choice(others)
        maker_id = winner.product.manufacturer_id
        staff = _actor(ctx, "institution", institution.pk, "institution")
        supplier = _actor(ctx, "company", maker_id, "manufacturer")
        t = actions.open_ticket(
            actor=staff,
            supplier=winner.product.manufacturer,
            category=rng.choice(["late_delivery", "shortage", "wrong_goods", "quality", "other"]),
            description="配送不及时，影响临床使用",
            product=winner.product,
            on=opened,
        )
        outcome = rng.random()
        reply_on = opened + dt.timedelta(days=1 if outcome < 0.75 else 6)
        actions.reply_ticket(actor=supplier, ticket=t, text="已安排补货", on=reply_on)
        t.refresh_from_db()
        if outcome < 0.6 or outcome >= 0.75 and outcome < 0.85:
            fixed_on = min(t.fix_due, reply_on + dt.timedelta(days=2))
            actions.confirm_fix(actor=staff, ticket=t, on=fixed_on)
            states.setdefault("extra_fixed", []).append(t.pk)
        elif outcome < 0.75:
            actions.evaluate_sla(as_of=t.fix_due + dt.timedelta(days=1))
            actions.confirm_fix(actor=staff, ticket=t, on=t.fix_due + dt.timedelta(days=3))
            states.setdefault("extra_fixed_late", []).append(t.pk)
        else:
            actions.evaluate_sla(as_of=t.fix_due + dt.timedelta(days=1))
            t.refresh_from_db()
            if t.escalated_to_id is not None:
                bureau = _actor(ctx, "bureau", t.escalated_to_id, "bureau")
                actions.close_ticket(
                    actor=bureau, ticket=t, text="督促企业整改后办结", on=t.fix_due + dt.timedelta(days=4)
                )
            states.setdefault("extra_closed", []).append(t.pk)
