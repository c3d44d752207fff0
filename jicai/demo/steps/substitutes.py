"""Step: substitute lists (可替代药品). For each drug item, products of other generics of the same ATC class
and dosage-form group: same ATC level 5 → full or most, same level 4 → partial. Generics outside the
scale's batches come first: their products are created here (off-batch, listed only); then generics that
are items of another batch, then of the same batch, each with up to two of its products that do not supply
(non-winning, originator)."""

from decimal import Decimal

from jicai.batches.models import SUPPLY_ROLES, ListingPrice, Substitute, SubstituteDegree
from jicai.core.money import price as to_price
from jicai.demo.catalogue import catalogue
from jicai.demo.context import DemoContext
from jicai.demo.steps import BATCH_SIZE
from jicai.demo.steps.items import ProductMaker, variants_of
from jicai.registry.models import Product

MAX_SUBSTITUTE_GENERICS = 2


def build_substitutes(ctx: DemoContext) -> None:
    rng = ctx.rng
    maker: ProductMaker = ctx.extra.get("product_maker") or ProductMaker(ctx)
    in_scale = {ctx.item_templates[item.pk].key: item for item in ctx.items}
    all_templates = [t for line in catalogue() for t in line.items]
    earliest = min(b.cycle_start for b in ctx.batches)

    off_batch: dict[tuple[str, str], list[Product]] = {}
    pending_products: list[Product] = []

    def products_for(template) -> list[Product]:
        item = in_scale.get(template.key)
        if item is not None:
            # Only products that do not supply under the item (non-winning, originator): a supplying
            # winner of another item is bought routinely, and every such purchase would count as substitute
            # buying for this item (SPEC §7), flooding monitoring with false alerts.
            products = ctx.item_products[item.pk]
            others = [p for p in products if p.demo_role not in SUPPLY_ROLES]
            return rng.sample(others, min(2, len(others)))
        if template.key not in off_batch:
            variant = variants_of(template)[0]
            makers = rng.sample(ctx.manufacturers["generic"], 2)
            made = [maker.make(template, variant, m) for m in makers]
            for product in made:
                product.demo_price = max(
                    to_price(variant.base_price * Decimal(str(round(rng.uniform(1.0, 2.5), 4)))),
                    Decimal("0.0001"),
                )
            off_batch[template.key] = made
            pending_products.extend(made)
        return off_batch[template.key]

    chosen: list[tuple[object, Product, str]] = []
    for item in ctx.items:
        template = ctx.item_templates[item.pk]
        if template.consumable:
            continue
        candidates = [
            t
            for t in all_templates
            if t.dosage_form_group == template.dosage_form_group
            and t.generic_name != template.generic_name
            and t.atc[:4] == template.atc[:4]
        ]

        # Prefer the closest class and generics that are not items of the same batch: a substitute list names
        # what a hospital might buy *instead of* the procured drug; when it names another item of the batch,
        # every ordinary purchase of that item counts as substitute buying (SPEC §7) and floods monitoring.
        def rank(t, batch_id=item.batch_id, atc=template.atc):
            other = in_scale.get(t.key)
            same_batch = other is not None and other.batch_id == batch_id
            return (t.atc != atc, same_batch, other is not None, t.line_no)

        candidates.sort(key=rank)
        for candidate in candidates[:MAX_SUBSTITUTE_GENERICS]:
            if candidate.atc == template.atc:
                degree = rng.choice((SubstituteDegree.FULL, SubstituteDegree.MOST))
            else:
                degree = SubstituteDegree.PARTIAL
            for product in products_for(candidate):
                chosen.append((item, product, degree))

    created = Product.objects.bulk_create(pending_products, batch_size=BATCH_SIZE)
    ctx.products.extend(created)
    ListingPrice.objects.bulk_create(
        [
            ListingPrice(product=p, province=ctx.province, price=p.demo_price, valid_from=earliest)
            for p in created
        ],
        batch_size=BATCH_SIZE,
    )
    Substitute.objects.bulk_create(
        [Substitute(item=item, product=product, degree=degree) for item, product, degree in chosen],
        batch_size=BATCH_SIZE,
    )
    ctx.log(f"{len(chosen)} 条可替代药品（其中 {len(created)} 个产品为非本批次品种）")
