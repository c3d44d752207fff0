"""Set-based inputs of agreed volumes and agreements, shared by the actions, the `agreed-volumes` import
and the demo: winner counts, main suppliers with their prices, ratio tables and delivery relationships.

Each function reads a whole batch (or a whole set of keys) in a fixed number of queries, so computing a
province's volumes never runs one query per institution or item.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count

from jicai.agreements.models import DeliveryRelationship
from jicai.batches.models import Batch, ItemFactor, Winner, WinnerRole
from jicai.core.fields import PriceField
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


# ---- staging tables for the set-based SQL of jicai.agreements.actions -----------------------------
#
# The per-row rules that need Python (policy resolution per region, the main winner's choice, the most
# specific delivery relationship) are evaluated once per region / item / supplier and written to small
# temporary tables; the statements over millions of demand lines and volumes then only join them.

MAX_RATIO_PLACES = 9  # (reported mod 10^p) × ratio × 2 + 10^p must fit a signed 64-bit integer


def ratio_fraction(ratio: Decimal) -> tuple[int, int]:
    """(num, den) with ratio = num / den exactly and den a power of ten, so round_half_up(q × ratio) is
    q div den × num + ((q mod den) × num × 2 + den) div (2 × den) in integer SQL arithmetic (no float)."""
    exponent = ratio.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    if places > MAX_RATIO_PLACES or not ratio.is_finite():
        raise ValueError(f"约定采购量比例 {ratio} 的小数位超过 {MAX_RATIO_PLACES} 位")
    den = 10**places
    return int(ratio.scaleb(places)), den


def _temp_table(cursor, name: str, columns: str, rows: list[tuple]) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns})")
    if rows:
        marks = ", ".join(["%s"] * len(rows[0]))
        cursor.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {name}")  # temporary tables have no statistics until analysed


def drop_staging(cursor) -> None:
    for name in STAGING_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


STAGING_TABLES = ("av_region", "av_item", "av_ratio", "av_main", "av_dist")


def _decimal_param(value: Decimal):
    # What a DecimalField sends: the Decimal itself (SQLite's adapter makes it text, which the column's
    # NUMERIC affinity converts exactly as it converts the ORM's parameter).
    return connection.ops.adapt_decimalfield_value(value)


def stage_regions(cursor) -> dict[int, str]:
    """av_region(region_id, province_id): the province of every region by the first six characters of
    its path, as VolumeInputs.main looks it up. Returns {region id: path}."""
    provinces = province_ids_by_code()
    paths = dict(Region.objects.values_list("pk", "path"))
    _temp_table(
        cursor,
        "av_region",
        "region_id bigint PRIMARY KEY, province_id bigint",
        [(pk, provinces.get(path[:6])) for pk, path in sorted(paths.items())],
    )
    return paths


def stage_mains(cursor, batch: Batch) -> dict[tuple[int, int], MainWinner]:
    """av_main(item_id, province_id, supplier_id, price): main_winners(batch), the price as stored (integer
    1/10,000 yuan, core.fields.PriceField)."""
    mains = main_winners(batch)
    rows = [
        (
            item_id,
            province_id,
            m.supplier_id,
            PriceField().get_prep_value(m.winning_price),
        )
        for (item_id, province_id), m in sorted(mains.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
        if province_id is not None
    ]
    _temp_table(
        cursor,
        "av_main",
        "item_id bigint, province_id bigint, supplier_id bigint, price bigint, PRIMARY KEY (item_id, province_id)",
        rows,
    )
    return mains


def stage_ratios(cursor, batch: Batch, region_ids) -> dict[int, int]:
    """av_item(item_id, winners) from winner_counts and av_ratio(region_id, winners, ratio, num, den): the
    ratio of each region (of `region_ids`) for each winner count that occurs. Returns the counts."""
    counts = winner_counts(batch)
    _temp_table(cursor, "av_item", "item_id bigint PRIMARY KEY, winners integer", sorted(counts.items()))
    tables = RatioTables(batch)
    tables.preload(region_ids)
    rows = []
    for region_id in sorted(set(region_ids)):
        for n in sorted(set(counts.values())):
            ratio = tables.ratio(region_id, n)
            rows.append((region_id, n, _decimal_param(ratio), *ratio_fraction(ratio)))
    _temp_table(
        cursor,
        "av_ratio",
        "region_id bigint, winners integer, ratio numeric, num bigint, den bigint, "
        "PRIMARY KEY (region_id, winners)",
        rows,
    )
    return counts


def stage_distributors(cursor, supplier_ids, region_paths: dict[int, str]) -> bool:
    """av_dist(supplier_id, region_id, distributor_id): DistributorChooser's choice for every supplier and
    region of `region_paths`, where there is one. Returns whether every pair has a distributor."""
    suppliers = sorted(set(supplier_ids))
    chooser = DistributorChooser(suppliers)
    rows, complete = [], True
    for supplier_id in suppliers:
        for region_id, path in sorted(region_paths.items()):
            distributor_id = chooser.choose(supplier_id, path)
            if distributor_id is None:
                complete = False
            else:
                rows.append((supplier_id, region_id, distributor_id))
    _temp_table(
        cursor,
        "av_dist",
        "supplier_id bigint, region_id bigint, distributor_id bigint, PRIMARY KEY (supplier_id, region_id)",
        rows,
    )
    return complete
