"""Set-based inputs of agreed volumes and agreements, shared by the actions, the `agreed-volumes` import
and the demo: winner counts, main suppliers with their prices, ratio tables and delivery relationships.

Each function reads a whole batch (or a whole set of keys) in a fixed number of queries, so computing a
province's volumes never runs one query per institution or item.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count

from jicai.agreements.models import DeliveryRelationship
from jicai.batches.models import Batch, ItemFactor, Winner, WinnerRole
from jicai.policy import rules
from jicai.policy.resolve import PolicyResolver
from jicai.registry.models import Region


def winner_counts(batch: Batch) -> dict[int, int]:
    """{item id: distinct companies (product manufacturers) with a winners row} — any province, any role,
    `nonsupply` included (SPEC §5.6). Items without winners are absent."""
    rows = (
        Winner.objects.filter(item__batch=batch)
        .values("item_id")
        .annotate(n=Count("product__manufacturer_id", distinct=True))
        .order_by()
    )
    return {r["item_id"]: r["n"] for r in rows}


@dataclass(frozen=True)
class MainWinner:
    supplier_id: int
    winning_price: Decimal


def main_winners(batch: Batch) -> dict[tuple[int, int], MainWinner]:
    """{(item id, province id): the `main` winner's manufacturer and winning price}.

    A main supplier may win with several specs of one item; the agreement is in the item's reference
    spec, so the row at item_factor 1 (no ItemFactor row or factor 1) is preferred, then the lowest id,
    which keeps the choice stable between runs."""
    factors = {
        (f["item_id"], f["product_id"]): f["factor"]
        for f in ItemFactor.objects.filter(item__batch=batch).values("item_id", "product_id", "factor")
    }
    rows = (
        Winner.objects.filter(item__batch=batch, role=WinnerRole.MAIN)
        .values("pk", "item_id", "province_id", "product_id", "product__manufacturer_id", "winning_price")
        .order_by("pk")
    )
    best: dict[tuple[int, int], tuple[tuple, MainWinner]] = {}
    for r in rows:
        key = (r["item_id"], r["province_id"])
        reference = factors.get((r["item_id"], r["product_id"]), Decimal(1)) == 1
        rank = (0 if reference else 1, r["pk"])
        if key not in best or rank < best[key][0]:
            best[key] = (rank, MainWinner(r["product__manufacturer_id"], r["winning_price"]))
    return {key: winner for key, (_, winner) in best.items()}


class RatioTables:
    """The agreed_ratio_by_winners table in force for a region and a batch: profiles are loaded once
    (PolicyResolver, one query) and each distinct region is resolved once."""

    def __init__(self, batch: Batch):
        self.batch = batch
        self.resolver = PolicyResolver.load()
        self._by_region: dict[int, dict[int, Decimal]] = {}
        self._regions: dict[int, Region] = {}

    def preload(self, region_ids) -> None:
        missing = set(region_ids) - set(self._regions)
        if missing:
            self._regions.update(Region.objects.in_bulk(list(missing)))

    def table(self, region_id: int) -> dict[int, Decimal]:
        table = self._by_region.get(region_id)
        if table is None:
            self.preload([region_id])
            policy = self.resolver.resolve(self._regions[region_id], self.batch)
            table = self._by_region[region_id] = policy.agreed_ratio_by_winners
        return table

    def ratio(self, region_id: int, winner_count: int) -> Decimal:
        return rules.agreed_ratio(winner_count, self.table(region_id))


def province_ids_by_code() -> dict[str, int]:
    return dict(Region.objects.filter(level="province").values_list("code", "pk"))


class DistributorChooser:
    """The distributor each supplier chose for an institution's region: the most specific relationship
    region (county, else city, else province) on the institution's path wins. Loaded in one query."""

    def __init__(self, supplier_ids):
        self._by_key: dict[tuple[int, str], int] = {}
        rows = DeliveryRelationship.objects.filter(supplier_id__in=list(supplier_ids)).values_list(
            "supplier_id", "region__code", "distributor_id"
        )
        for supplier_id, region_code, distributor_id in rows:
            self._by_key[(supplier_id, region_code)] = distributor_id

    def choose(self, supplier_id: int, region_path: str) -> int | None:
        codes = [c for c in region_path.split("/") if c]
        for code in reversed(codes):
            distributor_id = self._by_key.get((supplier_id, code))
            if distributor_id is not None:
                return distributor_id
        return None
