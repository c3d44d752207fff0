"""Reads for supply (SPEC §6): every function takes the actor and scopes with
accounts.access.scope_by_parties — an institution sees its own rows, a supplier the rows naming it, a
distributor the orders it delivers, a bureau its region subtree. Anything else is NotFound (→ 404)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from jicai.accounts import access
from jicai.accounts.models import OrganisationKind, Role
from jicai.agreements.models import AgreedVolume, DeliveryRelationship
from jicai.batches.models import (
    SUPPLY_ROLES,
    AgreementYear,
    Batch,
    Item,
    ItemFactor,
    ListingPrice,
    Substitute,
    Winner,
)
from jicai.compliance import consistency, overlaps
from jicai.compliance.consistency import ListingFlag
from jicai.core.errors import NotFound, PermissionDenied
from jicai.core.fields import MoneyField, money_value
from jicai.core.money import money
from jicai.policy.resolve import PolicyResolver, effective_policy
from jicai.registry.models import Company, Institution, Product, Region
from jicai.trade import rules
from jicai.trade.models import (
    Delivery,
    LineStatus,
    Order,
    OrderLine,
    Payment,
    PriceException,
    Receipt,
    SupplierMonthlyReport,
    SupplyBlock,
    UsageLine,
)

MONEY = MoneyField()
VOLUME = DecimalField(max_digits=24, decimal_places=6)
ZERO_MONEY = money_value(Decimal("0.00"))

# ---- scoping -------------------------------------------------------------------------------------


def visible_orders(actor) -> QuerySet[Order]:
    return access.scope_by_parties(
        actor, Order.objects.all(), institution="institution", supplier="supplier", distributor="distributor"
    )


def visible_lines(actor) -> QuerySet[OrderLine]:
    return access.scope_by_parties(
        actor,
        OrderLine.objects.all(),
        institution="institution",
        supplier="supplier",
        distributor="order__distributor",
    )


def _line_scoped(actor, qs):
    return access.scope_by_parties(
        actor,
        qs,
        institution="line__institution",
        supplier="line__supplier",
        distributor="line__order__distributor",
    )


def supplier_side_lines(actor) -> QuerySet[OrderLine]:
    """Lines the actor may answer or deliver: its company is the supplier or the order's distributor."""
    company = access.company_of(actor)
    if company is None:
        return OrderLine.objects.none()
    return OrderLine.objects.filter(Q(supplier=company) | Q(order__distributor=company))


def institution_side_lines(actor) -> QuerySet[OrderLine]:
    """Lines the actor may receive and pay: its own institution's (doctors are refused by can_buy)."""
    institution = access.institution_of(actor)
    if institution is None:
        return OrderLine.objects.none()
    return OrderLine.objects.filter(institution=institution)


def can_buy(actor) -> bool:
    """Institution purchasing staff order, receive and pay; doctors do not."""
    return access.institution_of(actor) is not None and getattr(actor, "role", None) == Role.INSTITUTION


def can_supply(actor) -> bool:
    return access.company_of(actor) is not None


def can_govern(actor, institution: Institution) -> bool:
    """Supply blocks and price exceptions: a bureau whose subtree holds the institution, or an admin."""
    return access.is_admin(actor) or access.in_bureau_subtree(actor, institution)


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


# ---- derived status in SQL (mirrors rules.line_status; tests check they agree) -------------------


def line_status_expression():
    received = F("accepted_qty") + F("rejected_qty")
    return Case(
        When(status=LineStatus.CANCELLED, then=Value(rules.CANCELLED)),
        When(Q(status=LineStatus.REJECTED) | Q(accepted_by_supplier=False), then=Value(rules.REJECTED)),
        When(Q(received_total__gte=F("qty"), rejected_qty__gt=0), then=Value(rules.RECEIVED_WITH_REJECTS)),
        When(received_total__gte=F("qty"), then=Value(rules.RECEIVED)),
        When(received_total__gt=0, then=Value(rules.PARTIALLY_RECEIVED)),
        When(delivered_qty__gte=F("qty"), then=Value(rules.DELIVERED)),
        When(delivered_qty__gt=0, then=Value(rules.PARTIALLY_DELIVERED)),
        When(accepted_by_supplier=True, then=Value(rules.ACCEPTED)),
        default=Value(rules.PENDING),
        output_field=CharField(),
    ), received


def with_derived_status(qs: QuerySet[OrderLine]) -> QuerySet[OrderLine]:
    expression, received = line_status_expression()
    return qs.annotate(received_total=received).annotate(derived_status=expression)


def payable_expression():
    """Accepted qty × unit price in cents, half up (trade.rules.payable_amount): the price column holds
    1/10,000 yuan, so the product is in 1/10,000 yuan and (x + 50) / 100 is the integer division that rounds it
    to the cent."""
    return ExpressionWrapper(
        (F("accepted_qty") * F("unit_price") + Value(50)) / Value(100), output_field=MONEY
    )


def outstanding_expression():
    return Greatest(payable_expression() - F("paid_amount"), ZERO_MONEY, output_field=MONEY)


# ---- lists ---------------------------------------------------------------------------------------


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def list_orders(
    actor, *, q: str = "", supplier: str = "", institution: str = "", date_from: str = "", date_to: str = ""
) -> QuerySet[Order]:
    qs = visible_orders(actor).select_related("institution", "supplier", "distributor")
    if q:
        qs = qs.filter(
            Q(order_id__icontains=q) | Q(institution__name__icontains=q) | Q(supplier__name__icontains=q)
        )
    if supplier:
        qs = qs.filter(supplier__code=supplier)
    if institution:
        qs = qs.filter(institution__code=institution)
    if start := _parse_date(date_from):
        qs = qs.filter(ordered_on__gte=start)
    if end := _parse_date(date_to):
        qs = qs.filter(ordered_on__lte=end)
    # Line count and total per order as correlated sub-selects rather than a join + GROUP BY: with GROUP BY
    # every visible order is aggregated before the newest 50 are picked (1.2 s for a bureau at medium
    # scale); sub-selects are evaluated for the page's rows only, read in index order (order_newest_first).
    lines = OrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order")
    return qs.annotate(
        line_count=Coalesce(Subquery(lines.annotate(n=Count("id")).values("n")), 0),
        total_amount=Coalesce(Subquery(lines.annotate(total=Sum("amount")).values("total")), ZERO_MONEY),
    ).order_by("-ordered_on", "-id")


def attach_order_statuses(orders: list[Order]) -> None:
    """Order status from its lines' derived statuses: one query for the whole page."""
    by_order: dict[int, list[str]] = {o.pk: [] for o in orders}
    rows = with_derived_status(OrderLine.objects.filter(order_id__in=by_order)).values_list(
        "order_id", "derived_status"
    )
    for order_id, status in rows:
        by_order[order_id].append(status)
    for order in orders:
        order.derived_status = rules.order_status(by_order[order.pk])
        order.status_label = rules.STATUS_LABELS[order.derived_status]


def get_order(actor, order_id: str) -> Order:
    return access.get_visible_or_404(
        visible_orders(actor).select_related("institution", "institution__region", "supplier", "distributor"),
        order_id=order_id,
    )


def order_lines(actor, order: Order) -> list[OrderLine]:
    lines = with_derived_status(
        visible_lines(actor).filter(order=order).select_related("product", "item")
    ).annotate(payable=payable_expression(), outstanding=outstanding_expression())
    return list(lines.order_by("line_no"))


def list_lines(
    actor,
    *,
    q: str = "",
    status: str = "",
    supplier: str = "",
    institution: str = "",
    batch: str = "",
    item: str = "",
    date_from: str = "",
    date_to: str = "",
    overdue_on: dt.date | None = None,
) -> QuerySet[OrderLine]:
    """Visible order lines, newest first. `item` is an item code and `batch` a batch code: item codes are
    only unique within a batch, so a link to one item's lines (the monitoring dashboard's) gives both;
    lines of products that count for no item (substitutes) never match an item."""
    qs = with_derived_status(visible_lines(actor)).select_related(
        "order", "institution", "supplier", "product"
    )
    qs = qs.annotate(payable=payable_expression(), outstanding=outstanding_expression())
    if q:
        qs = qs.filter(
            Q(order__order_id__icontains=q)
            | Q(product__code__icontains=q)
            | Q(product__generic_name__icontains=q)
            | Q(institution__name__icontains=q)
            | Q(supplier__name__icontains=q)
        )
    if status:
        qs = qs.filter(derived_status=status)
    if supplier:
        qs = qs.filter(supplier__code=supplier)
    if institution:
        qs = qs.filter(institution__code=institution)
    if batch:
        qs = qs.filter(item__batch__code=batch)
    if item:
        qs = qs.filter(item__item_code=item)
    if start := _parse_date(date_from):
        qs = qs.filter(ordered_on__gte=start)
    if end := _parse_date(date_to):
        qs = qs.filter(ordered_on__lte=end)
    if overdue_on is not None:
        qs = qs.filter(payment_due_on__lt=overdue_on, outstanding__gt=0)
    # Newest date, then newest order (by its row, which the index holds), then the order's lines in order.
    # Sorting by the order's number needed every line of the newest day joined first: 56,000 lines and
    # 0.9 s for the province bureau at province scale.
    return qs.order_by("-ordered_on", "-order_id", "line_no")


def get_line(actor, order_id: str, line_no: int) -> OrderLine:
    return access.get_visible_or_404(
        with_derived_status(visible_lines(actor)).select_related(
            "order", "institution", "supplier", "product"
        ),
        order__order_id=order_id,
        line_no=line_no,
    )


def _line_events(actor, model, date_field: str, search: Q | None, date_from: str, date_to: str) -> QuerySet:
    """The deliveries, receipts or payments the actor can see, newest first, narrowed by a search and by
    an inclusive range on date_field (unparseable dates are ignored)."""
    qs = _line_scoped(actor, model.objects.all()).select_related(
        "line__order", "line__institution", "line__supplier", "line__product"
    )
    if search is not None:
        qs = qs.filter(search)
    if start := _parse_date(date_from):
        qs = qs.filter(**{f"{date_field}__gte": start})
    if end := _parse_date(date_to):
        qs = qs.filter(**{f"{date_field}__lte": end})
    return qs.order_by(f"-{date_field}", "-id")


def _order_or_institution(q: str) -> Q | None:
    return (Q(line__order__order_id__icontains=q) | Q(line__institution__name__icontains=q)) if q else None


def list_deliveries(actor, *, q: str = "", date_from: str = "", date_to: str = "") -> QuerySet[Delivery]:
    return _line_events(actor, Delivery, "delivered_on", _order_or_institution(q), date_from, date_to)


def list_receipts(actor, *, q: str = "", date_from: str = "", date_to: str = "") -> QuerySet[Receipt]:
    return _line_events(actor, Receipt, "received_on", _order_or_institution(q), date_from, date_to)


def list_payments(actor, *, q: str = "", date_from: str = "", date_to: str = "") -> QuerySet[Payment]:
    search = (
        Q(line__order__order_id__icontains=q)
        | Q(invoice_no__icontains=q)
        | Q(line__institution__name__icontains=q)
        if q
        else None
    )
    return _line_events(actor, Payment, "paid_on", search, date_from, date_to)


def line_history(actor, line: OrderLine) -> dict[str, list]:
    """Deliveries, receipts and payments of one (visible) line."""
    return {
        "deliveries": list(_line_scoped(actor, Delivery.objects.filter(line=line)).order_by("delivered_on")),
        "receipts": list(_line_scoped(actor, Receipt.objects.filter(line=line)).order_by("received_on")),
        "payments": list(_line_scoped(actor, Payment.objects.filter(line=line)).order_by("paid_on", "id")),
    }


# ---- outstanding and overdue payments -------------------------------------------------------------


def payables(actor, *, by: str, as_of: dt.date, limit: int | None = None) -> list[dict]:
    """Per institution (by="institution") or per supplier (by="supplier"): ordered amount, accepted value,
    paid, outstanding (accepted value not yet paid) and overdue (outstanding past payment_due_on).
    Summed in SQL; amounts are re-quantised to cents because SQLite returns computed decimals unscaled."""
    if by not in ("institution", "supplier"):
        raise ValueError(by)
    outstanding = outstanding_expression()
    overdue = Case(When(payment_due_on__lt=as_of, then=outstanding), default=ZERO_MONEY, output_field=MONEY)
    qs = visible_lines(actor).exclude(status=LineStatus.CANCELLED)
    rows = (
        qs.values(f"{by}__code", f"{by}__name")
        .annotate(
            line_count=Count("id"),
            ordered_amount=Coalesce(Sum("amount"), ZERO_MONEY),
            payable_amount=Coalesce(Sum(payable_expression()), ZERO_MONEY),
            paid=Coalesce(Sum("paid_amount"), ZERO_MONEY),
            outstanding=Coalesce(Sum(outstanding), ZERO_MONEY),
            overdue=Coalesce(Sum(overdue), ZERO_MONEY),
        )
        .order_by("-overdue", "-outstanding", f"{by}__code")
    )
    if limit is not None:
        rows = rows[:limit]
    amounts = ("ordered_amount", "payable_amount", "paid", "outstanding", "overdue")
    return [{**row, **{k: money(row[k]) for k in amounts}} for row in rows]


def open_lines_for_payment(actor, *, as_of: dt.date) -> QuerySet[OrderLine]:
    """The institution's lines that can still take money, oldest due first (invoice payments)."""
    return (
        with_derived_status(institution_side_lines(actor))
        .exclude(status__in=[LineStatus.CANCELLED, LineStatus.REJECTED])
        .filter(paid_amount__lt=F("amount"))
        .annotate(payable=payable_expression(), outstanding=outstanding_expression())
        .select_related("order", "supplier", "product")
        .order_by(F("payment_due_on").asc(nulls_last=True), "ordered_on", "id")
    )


# ---- master data helpers used by ordering and imports ---------------------------------------------


def province_of(institution: Institution) -> Region:
    return Region.objects.get(code=institution.region.province_code)


def items_for_products(product_ids, on: dt.date, province: Region) -> dict[int, int]:
    """{product id: item id} — the item each product counts for: an item of its generic name and form group
    whose batch has winners in the province (the batch whose cycle holds `on`, else the latest); else the
    one item of that name and group when there is exactly one; else none (e.g. a substitute). The same
    rule as the orders import (ingest/schemas/orders.py _ItemResolver), so OrderLine.item means one thing.
    From the national start of a confirmed overlap (SPEC §15) a superseded provincial item's products count
    for the national item instead (as N, since they are not its winners)."""
    products = list(
        Product.objects.filter(pk__in=list(product_ids)).values_list(
            "pk", "generic_name", "dosage_form_group"
        )
    )
    keys = {(g, f) for _, g, f in products}
    if not keys:
        return {}
    q = Q(pk__in=[])
    for generic, form in keys:
        q |= Q(generic_name=generic, dosage_form_group=form)
    candidates: dict[tuple[str, str], list[tuple]] = {}
    covered = Exists(Winner.objects.filter(item=OuterRef("pk"), province=province))
    for row in (
        Item.objects.filter(q)
        .annotate(covered=covered)
        .values_list(
            "pk", "generic_name", "dosage_form_group", "batch__cycle_start", "batch__cycle_end", "covered"
        )
    ):
        candidates.setdefault((row[1], row[2]), []).append(row)
    chosen: dict[tuple[str, str], int] = {}
    for key, rows in candidates.items():
        covering = [r for r in rows if r[5]]
        if covering:
            pool = [r for r in covering if r[3] <= on <= r[4]] or covering
            chosen[key] = max(pool, key=lambda r: (r[3], r[0]))[0]
        elif len(rows) == 1:
            chosen[key] = rows[0][0]
    superseded = overlaps.superseded_items(on) if chosen else {}
    return {pk: superseded.get(chosen[(g, f)], chosen[(g, f)]) for pk, g, f in products if (g, f) in chosen}


def listing_price_on(product: Product, province: Region, on: dt.date) -> Decimal | None:
    return (
        ListingPrice.objects.filter(product=product, province=province, valid_from__lte=on)
        .order_by("-valid_from")
        .values_list("price", flat=True)
        .first()
    )


def allowed_exception_price(
    institution: Institution, product: Product, on: dt.date, unit_price: Decimal
) -> bool:
    return PriceException.objects.filter(
        institution=institution, product=product, unit_price=unit_price, valid_from__lte=on, valid_to__gte=on
    ).exists()


def active_blocks(institution: Institution, item: Item) -> dict[int, str]:
    return dict(
        SupplyBlock.objects.filter(institution=institution, item=item, lifted_at__isnull=True).values_list(
            "supplier_id", "reason"
        )
    )


def supply_candidates(item: Item, province: Region) -> list[rules.Candidate]:
    rows = (
        Winner.objects.filter(item=item, province=province, role__in=SUPPLY_ROLES)
        .values_list("role", "product__manufacturer_id", "product__manufacturer__name")
        .order_by("role", "product__manufacturer_id")
    )
    seen, candidates = set(), []
    for role, supplier_id, name in rows:
        if (role, supplier_id) not in seen:
            seen.add((role, supplier_id))
            candidates.append(rules.Candidate(role=role, supplier_id=supplier_id, supplier_name=name))
    return candidates


def route(institution: Institution, item: Item) -> rules.Routing:
    """main → backup → backup2, skipping suppliers marked unable to supply this institution and item."""
    return rules.route_supplier(
        supply_candidates(item, province_of(institution)), active_blocks(institution, item)
    )


def distributor_for(supplier: Company, institution: Institution) -> Company | None:
    """The supplier's distributor for the institution's region: the most specific DeliveryRelationship."""
    codes = institution.region.ancestor_codes()
    rows = {
        r.region.code: r.distributor
        for r in DeliveryRelationship.objects.filter(
            supplier=supplier, region__code__in=codes
        ).select_related("region", "distributor")
    }
    for code in reversed(codes):
        if code in rows:
            return rows[code]
    return None


@dataclass
class ProductOption:
    product: Product
    kind: str  # main/backup/backup2/non_winning/substitute
    kind_label: str
    listing_price: Decimal | None
    blocked_reason: str = ""
    consistency: ListingFlag | None = None  # SPEC §4: withdrawn (撤网) or above the lowest passed price

    @property
    def withdrawn(self) -> bool:
        return self.consistency is not None and self.consistency.withdrawn

    @property
    def orderable(self) -> bool:
        return self.listing_price is not None and not self.blocked_reason and not self.withdrawn


@dataclass
class OrderOptions:
    item: Item
    routing: rules.Routing | None
    routing_error: str
    distributor: Company | None
    options: list[ProductOption] = field(default_factory=list)

    @property
    def proposed_product_id(self) -> int | None:
        if self.routing is None:
            return None
        for option in self.options:
            if (
                option.kind == self.routing.candidate.role
                and option.product.manufacturer_id == self.routing.candidate.supplier_id
            ):
                return option.product.pk
        return None


KIND_LABELS = {
    **rules.ROLE_LABELS,
    "nonsupply": "中选非供应",
    "non_winning": "非中选",
    "substitute": "可替代药品",
}


def order_options(actor, item: Item, on: dt.date) -> OrderOptions:
    """What the order form offers for an item: its winning, non-winning and substitute products with the
    listing price in force on `on`, the proposed supplier (backup routing) and its distributor."""
    institution = access.institution_of(actor)
    if institution is None:
        raise NotFound("未找到该记录，或您无权查看")
    province = province_of(institution)
    try:
        routing, error = route(institution, item), ""
    except rules.NoSupplierAvailable as exc:
        routing, error = None, exc.message
    blocks = active_blocks(institution, item)
    price = Subquery(
        ListingPrice.objects.filter(product=OuterRef("pk"), province=province, valid_from__lte=on)
        .order_by("-valid_from")
        .values("price")[:1]
    )
    roles = dict(Winner.objects.filter(item=item, province=province).values_list("product_id", "role"))
    own = Product.objects.filter(generic_name=item.generic_name, dosage_form_group=item.dosage_form_group)
    substitutes = Product.objects.filter(pk__in=Substitute.objects.filter(item=item).values("product_id"))
    options = []
    for product in (
        (own | substitutes).distinct().annotate(listing=price).select_related("manufacturer").order_by("code")
    ):
        role = roles.get(product.pk)
        is_own = (
            product.generic_name == item.generic_name and product.dosage_form_group == item.dosage_form_group
        )
        kind = role if role else ("non_winning" if is_own else "substitute")
        blocked = blocks.get(product.manufacturer_id, "") if role in SUPPLY_ROLES else ""
        options.append(ProductOption(product, kind, KIND_LABELS[kind], product.listing, blocked))
    flags = consistency.listing_flags({province: {o.product.pk for o in options}}, on)
    for option in options:
        option.consistency = flags.get((province.pk, option.product.pk))
    order = {"main": 0, "backup": 1, "backup2": 2, "nonsupply": 3, "non_winning": 4, "substitute": 5}
    options.sort(key=lambda o: (order[o.kind], o.product.code))
    distributor = None
    if routing is not None:
        distributor = distributor_for(Company.objects.get(pk=routing.candidate.supplier_id), institution)
    return OrderOptions(
        item=item, routing=routing, routing_error=error, distributor=distributor, options=options
    )


def orderable_item(actor, item_id: int) -> Item:
    """An item the institution may order: one with supply winners in its province."""
    institution = access.institution_of(actor)
    if institution is None:
        raise NotFound("未找到该记录，或您无权查看")
    return access.get_visible_or_404(
        Item.objects.filter(winners__province__code=institution.region.province_code)
        .distinct()
        .select_related("batch"),
        pk=item_id,
    )


# ---- agreed / purchased / remaining ----------------------------------------------------------------


@dataclass
class ItemProgress:
    item: Item
    agreement_year: AgreementYear
    agreed: int | None
    purchased: Decimal
    basis: str

    @property
    def remaining(self) -> Decimal | None:
        return None if self.agreed is None else max(Decimal(self.agreed) - self.purchased, Decimal(0))

    @property
    def completion(self) -> Decimal | None:
        if not self.agreed:
            return None
        return (self.purchased / Decimal(self.agreed)).quantize(Decimal("0.0001"))


def _factor():
    return Coalesce(
        Subquery(
            ItemFactor.objects.filter(item=OuterRef("line__item"), product=OuterRef("line__product")).values(
                "factor"
            )[:1]
        ),
        Value(Decimal(1), output_field=VOLUME),
        output_field=VOLUME,
    )


def purchased_by_item(
    institution: Institution, province: Region, years: list[AgreementYear], basis_by_batch: dict[int, str]
) -> dict[int, Decimal]:
    """Σ qty × item_factor of the province's winning products (main/backup/backup2) per item, within
    each item's current agreement year: accepted receipt qty by receipt date (basis "received") or
    non-cancelled ordered qty by order date ("ordered"). One query per basis in use, all items at once."""
    totals: dict[int, Decimal] = {}
    for basis in ("received", "ordered"):
        chosen = [y for y in years if basis_by_batch.get(y.batch_id) == basis]
        if not chosen:
            continue
        if basis == "received":
            date_field, prefix, qty = "received_on", "line__", "accepted_qty"
            base = Receipt.objects.filter(line__institution=institution)
        else:
            date_field, prefix, qty = "ordered_on", "", "qty"
            base = OrderLine.objects.filter(institution=institution).exclude(status=LineStatus.CANCELLED)
        ranges = Q(pk__in=[])
        for y in chosen:
            ranges |= Q(**{f"{prefix}item__batch_id": y.batch_id, f"{date_field}__range": (y.start, y.end)})
        winning = Winner.objects.filter(
            item=OuterRef(f"{prefix}item"),
            product=OuterRef(f"{prefix}product"),
            province=province,
            role__in=SUPPLY_ROLES,
        )
        factor = (
            _factor()
            if prefix
            else Coalesce(
                Subquery(
                    ItemFactor.objects.filter(item=OuterRef("item"), product=OuterRef("product")).values(
                        "factor"
                    )[:1]
                ),
                Value(Decimal(1), output_field=VOLUME),
                output_field=VOLUME,
            )
        )
        rows = (
            base.filter(ranges)
            .filter(Exists(winning))
            .values(f"{prefix}item")
            .annotate(total=Sum(F(qty) * factor, output_field=VOLUME))
            .values_list(f"{prefix}item", "total")
        )
        for item_id, total in rows:
            totals[item_id] = totals.get(item_id, Decimal(0)) + Decimal(total or 0)
    return totals


def item_progress(actor, on: dt.date) -> list[ItemProgress]:
    """Per item with supply winners in the institution's province and an agreement year running on `on`:
    agreed (AgreedVolume), purchased by the policy's progress_basis, remaining. A fixed number of queries."""
    institution = access.institution_of(actor)
    if institution is None:
        return []
    province = province_of(institution)
    years = list(AgreementYear.objects.filter(start__lte=on, end__gte=on).select_related("batch"))
    year_by_batch = {y.batch_id: y for y in years}
    items = list(
        Item.objects.filter(
            batch_id__in=year_by_batch, winners__province=province, winners__role__in=SUPPLY_ROLES
        )
        .distinct()
        .select_related("batch")
        .order_by("batch__code", "item_code")
    )
    agreed = dict(
        AgreedVolume.objects.filter(agreement_year__in=years, institution=institution).values_list(
            "item_id", "agreed_qty"
        )
    )
    resolver = PolicyResolver.load()
    batches = {y.batch_id: y.batch for y in years}
    basis = {
        bid: resolver.resolve(institution.region, batch).progress_basis for bid, batch in batches.items()
    }
    purchased = purchased_by_item(institution, province, years, basis)
    return [
        ItemProgress(
            item=item,
            agreement_year=year_by_batch[item.batch_id],
            agreed=agreed.get(item.pk),
            purchased=purchased.get(item.pk, Decimal(0)).normalize()
            if purchased.get(item.pk)
            else Decimal(0),
            basis=basis[item.batch_id],
        )
        for item in items
    ]


# ---- supply blocks and price exceptions ------------------------------------------------------------


def list_supply_blocks(actor, *, q: str = "", active: str = "") -> QuerySet[SupplyBlock]:
    qs = access.scope_by_parties(
        actor, SupplyBlock.objects.all(), institution="institution", supplier="supplier"
    )
    qs = qs.select_related("supplier", "institution", "item", "item__batch", "created_by", "lifted_by")
    if q:
        qs = qs.filter(
            Q(supplier__name__icontains=q)
            | Q(institution__name__icontains=q)
            | Q(item__generic_name__icontains=q)
        )
    if active == "yes":
        qs = qs.filter(lifted_at__isnull=True)
    elif active == "no":
        qs = qs.filter(lifted_at__isnull=False)
    return qs.order_by("-created_at", "-id")


def get_supply_block(actor, block_id: int) -> SupplyBlock:
    return access.get_visible_or_404(list_supply_blocks(actor), pk=block_id)


def list_price_exceptions(actor, *, q: str = "") -> QuerySet[PriceException]:
    qs = access.scope_by_parties(
        actor, PriceException.objects.all(), institution="institution", supplier="product__manufacturer"
    )
    qs = qs.select_related("institution", "product", "created_by")
    if q:
        qs = qs.filter(Q(institution__name__icontains=q) | Q(product__code__icontains=q))
    return qs.order_by("-created_at", "-id")


def governed_institution(actor, code: str) -> Institution:
    """An institution the actor may set blocks/exceptions for, else NotFound."""
    institution = access.get_visible_or_404(
        access.visible_institutions(actor).select_related("region"), code=code
    )
    if not can_govern(actor, institution):
        raise NotFound("未找到该记录，或您无权查看")
    return institution


def governed_blocks(actor) -> QuerySet[SupplyBlock]:
    if access.is_admin(actor):
        return SupplyBlock.objects.all()
    region = access.bureau_region(actor)
    if region is None:
        return SupplyBlock.objects.none()
    return SupplyBlock.objects.filter(institution__region__path__startswith=region.path)


# ---- supplier monthly reports --------------------------------------------------------------------


def list_monthly_reports(actor, *, q: str = "", month: str = "") -> QuerySet[SupplierMonthlyReport]:
    """A company sees its own reports; a bureau those of companies with winning items in its province;
    an admin all."""
    qs = SupplierMonthlyReport.objects.select_related("company", "item", "item__batch")
    if access.is_admin(actor):
        pass
    elif access.kind(actor) == OrganisationKind.COMPANY:
        qs = qs.filter(company=actor.organisation.company)
    elif access.is_bureau(actor):
        province = actor.organisation.region.province_code
        qs = qs.filter(
            Exists(
                Winner.objects.filter(
                    item=OuterRef("item"),
                    product__manufacturer=OuterRef("company"),
                    province__code=province,
                    role__in=SUPPLY_ROLES,
                )
            )
        )
    else:
        qs = qs.none()
    if q:
        qs = qs.filter(
            Q(company__name__icontains=q)
            | Q(item__generic_name__icontains=q)
            | Q(item__item_code__icontains=q)
        )
    if month:
        try:
            year, mon = (int(p) for p in month.split("-")[:2])
            qs = qs.filter(month=dt.date(year, mon, 1))
        except ValueError:
            qs = qs.none()
    return qs.order_by("-month", "company__name", "item__item_code")


def reportable_items(actor) -> QuerySet[Item]:
    """Items the company holds a supply role for in some province (what it files monthly reports on)."""
    company = access.company_of(actor)
    if company is None:
        return Item.objects.none()
    return (
        Item.objects.filter(winners__product__manufacturer=company, winners__role__in=SUPPLY_ROLES)
        .distinct()
        .select_related("batch")
        .order_by("batch__code", "item_code")
    )


@dataclass
class MissingReport:
    company: Company
    item: Item
    month: dt.date
    due_on: dt.date


def missing_monthly_reports(actor, today: dt.date) -> list[MissingReport]:
    """Suppliers with supply-role winners in the bureau's province, per item, that have not filed the
    latest report past its due day (company_report_day of the policy for the province and batch)."""
    if access.is_admin(actor):
        provinces = list(Region.objects.filter(level="province"))
    elif access.is_bureau(actor):
        provinces = [Region.objects.get(code=actor.organisation.region.province_code)]
    else:
        return []
    resolver = PolicyResolver.load()
    missing = []
    for province in provinces:
        region = access.bureau_region(actor) or province
        for batch in Batch.objects.filter(items__winners__province=province).distinct():
            day = resolver.resolve(region, batch).company_report_day
            month = rules.latest_overdue_report_month(today, day)
            if batch.cycle_start > rules.monthly_report_due(month, day) or batch.cycle_end < month:
                continue
            filed = SupplierMonthlyReport.objects.filter(
                company=OuterRef("product__manufacturer"), item=OuterRef("item"), month=month
            )
            pairs = (
                Winner.objects.filter(item__batch=batch, province=province, role__in=SUPPLY_ROLES)
                .exclude(Exists(filed))
                .values_list("product__manufacturer", "item")
                .distinct()
            )
            pairs = list(pairs)
            companies = Company.objects.in_bulk({c for c, _ in pairs})
            items = Item.objects.select_related("batch").in_bulk({i for _, i in pairs})
            missing += [
                MissingReport(companies[c], items[i], month, rules.monthly_report_due(month, day))
                for c, i in pairs
            ]
    missing.sort(key=lambda m: (m.company.name, m.item.item_code))
    return missing


# ---- usage ---------------------------------------------------------------------------------------


def list_usage(
    actor, *, q: str = "", institution: str = "", department: str = "", date_from: str = "", date_to: str = ""
) -> QuerySet[UsageLine]:
    qs = access.scope_by_parties(actor, UsageLine.objects.all(), institution="institution")
    qs = qs.select_related("institution", "product")
    if q:
        qs = qs.filter(
            Q(product__code__icontains=q) | Q(product__generic_name__icontains=q) | Q(doctor_code=q)
        )
    if institution:
        qs = qs.filter(institution__code=institution)
    if department:
        qs = qs.filter(department__icontains=department)
    if start := _parse_date(date_from):
        qs = qs.filter(used_on__gte=start)
    if end := _parse_date(date_to):
        qs = qs.filter(used_on__lte=end)
    return qs.order_by("-used_on", "-id")


def payment_policy(institution: Institution, item: Item | None):
    return effective_policy(region=institution.region, batch=item.batch if item is not None else None)
