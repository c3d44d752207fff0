"""Step: items of every batch with their products, winners for the province, item factors and listing prices.

Per item: one `main` winner, up to two backups, for national batches some `nonsupply` national winners,
one to three non-winning generics and sometimes an originator (原研) at a much higher price. Products of an
item share its generic name and dosage-form group (SPEC §10 membership rule).
"""

from dataclasses import dataclass
from decimal import Decimal

from jicai.batches.models import Item, ItemFactor, ListingPrice, Winner, WinnerRole
from jicai.core.money import price as to_price
from jicai.demo.catalogue import CONSUMABLES, PACK_SIZES, catalogue, consumable_item, spec_factor, unit_for
from jicai.demo.context import DemoContext
from jicai.demo.steps import BATCH_SIZE
from jicai.registry.models import Product, ProductCategory

MIN_PRICE = Decimal("0.0001")
NONWINNING = "nonwinning"
ORIGINATOR = "originator"


def _segment_maps():
    """Name and dosage-form segments of the NHSA code, numbered over the whole catalogue so a generic keeps
    its code at every scale."""
    generics, forms = {}, {}
    for line in catalogue():
        generics.setdefault(
            line.generic_name, f"{chr(ord('A') + len(generics) // 1000)}{len(generics) % 1000:03d}"
        )
        for template in line.items:
            for fs in template.forms:
                forms.setdefault(fs.dosage_form, f"A{len(forms) + 1:03d}")
    return generics, forms


@dataclass
class Variant:
    form_index: int
    spec_index: int  # 1-based over all specs of the item, for the code's spec/pack segment
    dosage_form: str
    spec: str
    base_price: Decimal  # typical winning price of this spec


def variants_of(template) -> list[Variant]:
    result = []
    for fi, fs in enumerate(template.forms):
        for spec in fs.specs:
            # Per-unit prices grow less than proportionally with strength (差比价), hence the exponent.
            ratio = spec_factor(spec, fs.specs[0])
            result.append(
                Variant(fi, len(result) + 1, fs.dosage_form, spec, fs.price * ratio ** Decimal("0.85"))
            )
    return result


class ProductMaker:
    """Builds unsaved Product objects with unique, valid NHSA codes (shared with the substitutes step)."""

    def __init__(self, ctx: DemoContext):
        self.ctx = ctx
        self.generic_segments, self.form_segments = _segment_maps()
        self.codes: set[str] = set()

    def make(self, template, variant: Variant, maker, *, originator=False, consistency=True) -> Product:
        rng = self.ctx.rng
        unit = template.consumable_unit if template.consumable else unit_for(variant.dosage_form)
        per_pack = rng.choice(PACK_SIZES.get(unit, (1,)))
        pack_index = PACK_SIZES.get(unit, (1,)).index(per_pack) + 1
        while True:
            if template.consumable:
                code = f"C{template.code_class}{maker.enterprise_segment}{variant.spec_index:03d}{rng.randrange(10000):04d}"
            else:
                code = (
                    f"X{template.atc}{self.generic_segments[template.generic_name]}"
                    f"{self.form_segments[variant.dosage_form]}{variant.spec_index:02d}{pack_index % 100:02d}"
                    f"{maker.enterprise_segment}"
                )
            if code not in self.codes:
                break
            pack_index += 1  # same maker, spec and pack twice: the next pack number keeps codes unique
        self.codes.add(code)
        return Product(
            code=code,
            generic_name=template.generic_name,
            dosage_form=variant.dosage_form,
            dosage_form_group=template.dosage_form_group,
            spec=variant.spec,
            pack=f"{per_pack}{unit}/盒",
            unit=unit,
            units_per_pack=per_pack,
            manufacturer=maker,
            category=ProductCategory.CONSUMABLE if template.consumable else ProductCategory.WESTERN,
            consistency_passed=consistency and not template.consumable,
            originator=originator,
        )


def _item_plans(ctx: DemoContext):
    drug_batches = [b for b in ctx.batches if not b.demo_spec.consumables]
    consumable_batches = [b for b in ctx.batches if b.demo_spec.consumables]
    lines = catalogue()[: ctx.scale.catalogue_lines]
    numbers: dict[int, int] = {}
    plans = []
    for index, line in enumerate(lines):
        batch = drug_batches[index % len(drug_batches)]
        for template in line.items:
            numbers[batch.pk] = numbers.get(batch.pk, 0) + 1
            plans.append((batch, f"{numbers[batch.pk]:03d}", template))
    for batch in consumable_batches:
        for ct in CONSUMABLES[: ctx.scale.consumables]:
            template = consumable_item(ct)
            numbers[batch.pk] = numbers.get(batch.pk, 0) + 1
            plans.append((batch, f"H{numbers[batch.pk]:03d}", template))
    return plans


def _roles(rng, national: bool, consumable: bool) -> list[str]:
    supply = [WinnerRole.MAIN, WinnerRole.BACKUP, WinnerRole.BACKUP2][
        : rng.choices((1, 2, 3), weights=(2, 4, 4))[0]
    ]
    nonsupply = [WinnerRole.NONSUPPLY] * (rng.choice((0, 1, 2, 3)) if national and not consumable else 0)
    return supply + nonsupply + [NONWINNING] * rng.choice((1, 2, 2, 3))


def _price(rng, variant: Variant, role: str, supply_level: Decimal) -> Decimal:
    if role == WinnerRole.MAIN:
        mult = Decimal(str(round(rng.uniform(0.85, 1.15), 4)))
    elif role in (WinnerRole.BACKUP, WinnerRole.BACKUP2):
        mult = supply_level * Decimal(str(round(rng.uniform(1.02, 1.25), 4)))
    elif role == WinnerRole.NONSUPPLY:
        mult = Decimal(str(round(rng.uniform(0.75, 1.4), 4)))
    elif role == ORIGINATOR:
        mult = Decimal(str(round(rng.uniform(6, 15), 4)))
    else:
        mult = supply_level * Decimal(str(round(rng.uniform(1.8, 4.0), 4)))
    return max(to_price(variant.base_price * mult), MIN_PRICE)


def build_items(ctx: DemoContext) -> None:
    items, products, winners, factors = make_items(ctx, _item_plans(ctx))
    ctx.log(f"{items} 个品种、{products} 个产品、{winners} 条中选结果、{factors} 条折算系数")


def make_items(ctx: DemoContext, plans) -> tuple[int, int, int, int]:
    """Items of `plans` ((batch, item code, template) triples) with their products, winners, item factors and
    listing prices, drawn from the running step's generator; returns how many of each were written."""
    rng = ctx.rng
    items = Item.objects.bulk_create(
        [
            Item(batch=b, item_code=code, generic_name=t.generic_name, dosage_form_group=t.dosage_form_group)
            for b, code, t in plans
        ],
        batch_size=BATCH_SIZE,
    )
    maker = ctx.extra.setdefault("product_maker", ProductMaker(ctx))
    generic_pool = ctx.manufacturers["generic"]
    rows = []  # (item, product, role, unit price, variant)
    for item, (batch, _, template) in zip(items, plans, strict=True):
        ctx.items.append(item)
        ctx.item_templates[item.pk] = template
        variants = variants_of(template)
        roles = _roles(rng, batch.kind == "national", template.consumable)
        pool = ctx.manufacturers["consumable"] if template.consumable else generic_pool
        makers = rng.sample(pool, len(roles))
        if not template.consumable and rng.random() < 0.35:
            roles.append(ORIGINATOR)
            makers.append(rng.choice(ctx.manufacturers["originator"]))
        supply_level = Decimal(1)
        for role, company in zip(roles, makers, strict=True):
            winner = role not in (NONWINNING, ORIGINATOR)
            # The main winner sits at the reference spec (item_factor 1); others vary.
            if role in (WinnerRole.MAIN, ORIGINATOR) or (winner and rng.random() < 0.7):
                variant = variants[0]
            else:
                variant = rng.choice(variants)
            product = maker.make(
                template,
                variant,
                company,
                originator=role == ORIGINATOR,
                consistency=winner or role == ORIGINATOR or rng.random() < 0.6,
            )
            unit_price = _price(rng, variant, role, supply_level)
            if role in (WinnerRole.MAIN, WinnerRole.BACKUP):
                # Later roles and non-winners are priced relative to the previous supplier's level.
                supply_level = unit_price / max(variant.base_price, MIN_PRICE)
            rows.append((item, product, role, unit_price, variant))
    products = Product.objects.bulk_create([r[1] for r in rows], batch_size=BATCH_SIZE)
    ctx.products.extend(products)

    winners, factors, listings = [], [], []
    highest: dict[int, Decimal] = {}
    for item, product, role, unit_price, variant in rows:
        product.demo_role, product.demo_price = role, unit_price
        ctx.item_products.setdefault(item.pk, []).append(product)
        if role not in (NONWINNING, ORIGINATOR):
            winners.append(
                Winner(item=item, product=product, province=ctx.province, role=role, winning_price=unit_price)
            )
            highest[item.pk] = max(highest.get(item.pk, Decimal(0)), unit_price)
        template = ctx.item_templates[item.pk]
        factor = Decimal(1) if template.consumable else spec_factor(variant.spec, template.reference_spec)
        if factor != 1:
            factors.append(ItemFactor(item=item, product=product, factor=factor))
    for item, product, role, unit_price, _ in rows:
        if role == WinnerRole.NONSUPPLY:
            # A national winner not supplying this province lists at most at max(1.5 × own, item's highest).
            cap = max(to_price(unit_price * Decimal("1.5")), highest[item.pk])
            listed = min(to_price(unit_price * Decimal(str(round(rng.uniform(1.0, 1.45), 4)))), cap)
        else:
            listed = unit_price
        listings.append(
            ListingPrice(
                product=product, province=ctx.province, price=listed, valid_from=item.batch.cycle_start
            )
        )
    ctx.winners.extend(Winner.objects.bulk_create(winners, batch_size=BATCH_SIZE))
    ItemFactor.objects.bulk_create(factors, batch_size=BATCH_SIZE)
    ListingPrice.objects.bulk_create(listings, batch_size=BATCH_SIZE)
    return len(items), len(products), len(winners), len(factors)
