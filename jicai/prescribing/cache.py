"""The in-process prompt cache (SPEC §11: no per-request database scan).

A `Snapshot` holds, for every province, the winning products of each item (main first, with name, spec,
maker and price), each product's item, every institution's effective substitute catalogue, its confirmed
limits and suspensions, and the doctors whose prescribing is restricted. It is rebuilt in one go (a handful
of queries) when the `CacheVersion` row moved — checked at most once a second per process — and the row is
bumped by signals whenever winners, substitutes, products, the catalogue, limits or interview actions change
(imports bump it through their ImportJob row). Doctors' targets and use are read per (institution, item) and
kept for `USE_TTL` seconds."""

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)

VERSION_CHECK_SECONDS = 1.0
USE_TTL = 30.0
TOKEN_TTL = 1.0  # a revoked token stops working within a second
ROLE_ORDER = {"main": 0, "backup": 1, "backup2": 2}


@dataclass(frozen=True)
class Alternative:
    product: str
    name: str
    spec: str
    maker: str
    price: Decimal
    role: str

    def as_json(self) -> dict:
        return {
            "product_code": self.product,
            "name": self.name,
            "spec": self.spec,
            "maker": self.maker,
            "price": str(self.price),
            "role": self.role,
        }


@dataclass
class ProductInfo:
    id: int
    code: str
    name: str
    spec: str
    maker: str
    group: tuple[str, str]  # (generic name, dosage-form group)


@dataclass
class Snapshot:
    version: int = -1
    products: dict[str, ProductInfo] = field(default_factory=dict)  # code → product
    items_by_group: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # newest batch first
    item_names: dict[int, tuple[str, str]] = field(default_factory=dict)  # item id → (code, generic name)
    institutions: dict[str, tuple[int, int]] = field(default_factory=dict)  # code → (id, province id)
    # (province id, item id) → alternatives, main first; (province id, product id) → item id it wins for
    winners: dict[tuple[int, int], list[Alternative]] = field(default_factory=dict)
    winning: dict[tuple[int, int], int] = field(default_factory=dict)
    # product id → item ids of the batches' substitute lists; institution id → {product id: item id}
    batch_substitutes: dict[int, list[int]] = field(default_factory=dict)
    catalogue: dict[int, dict[int, int]] = field(default_factory=dict)
    catalogue_items: set[tuple[int, int]] = field(default_factory=set)  # (institution, item) with own entries
    # (institution id, product id, quarter) → (limit qty or None, suspended)
    limits: dict[tuple[int, int, str], tuple[int | None, bool]] = field(default_factory=dict)
    restricted: set[tuple[int, str]] = field(default_factory=set)  # (institution id, doctor code)
    loaded_at: float = 0.0


def load_snapshot(version: int) -> Snapshot:
    from jicai.batches.models import SUPPLY_ROLES, Item, Substitute, Winner
    from jicai.hospital.models import InterviewAction, InterviewRecord
    from jicai.prescribing.models import CatalogueEntry, LimitStatus, SubstituteLimit
    from jicai.registry.models import Institution, Product, Region

    snap = Snapshot(version=version, loaded_at=time.monotonic())
    for pid, code, name, form_group, spec, maker in Product.objects.values_list(
        "id", "code", "generic_name", "dosage_form_group", "spec", "manufacturer__name"
    ):
        snap.products[code] = ProductInfo(pid, code, name, spec, maker, (name, form_group))
    by_id = {p.id: p for p in snap.products.values()}
    for iid, code, name, group, _start in Item.objects.order_by("-batch__cycle_start", "id").values_list(
        "id", "item_code", "generic_name", "dosage_form_group", "batch__cycle_start"
    ):
        snap.items_by_group.setdefault((name, group), []).append(iid)
        snap.item_names[iid] = (code, name)
    provinces = dict(Region.objects.filter(level="province").values_list("code", "id"))
    for iid, code, path in Institution.objects.values_list("id", "code", "region__path"):
        if path[:6] in provinces:
            snap.institutions[code] = (iid, provinces[path[:6]])
    rows = Winner.objects.filter(role__in=SUPPLY_ROLES).values_list(
        "province_id", "item_id", "product_id", "role", "winning_price"
    )
    for prov, iid, pid, role, price in rows:
        p = by_id[pid]
        snap.winners.setdefault((prov, iid), []).append(
            Alternative(p.code, p.name, p.spec, p.maker, price, role)
        )
        snap.winning[(prov, pid)] = iid
    for alts in snap.winners.values():
        alts.sort(key=lambda a: (ROLE_ORDER.get(a.role, 9), a.price, a.product))
    for iid, pid in Substitute.objects.values_list("item_id", "product_id"):
        snap.batch_substitutes.setdefault(pid, []).append(iid)
    for inst, iid, pid, active in CatalogueEntry.objects.values_list(
        "institution_id", "item_id", "product_id", "active"
    ):
        snap.catalogue_items.add((inst, iid))
        if active:
            snap.catalogue.setdefault(inst, {})[pid] = iid
    for inst, pid, quarter, qty, suspended in SubstituteLimit.objects.filter(
        status=LimitStatus.CONFIRMED
    ).values_list("institution_id", "product_id", "quarter", "limit_qty", "suspended"):
        snap.limits[(inst, pid, quarter)] = (qty, suspended)
    for inst, code in InterviewRecord.objects.filter(
        action=InterviewAction.RESTRICT, doctor__isnull=False
    ).values_list("institution_id", "doctor__code"):
        snap.restricted.add((inst, code))
    return snap


class PromptCache:
    """One per process. `get()` answers the current snapshot, rebuilding it when the version moved."""

    def __init__(self):
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._use: dict[tuple[int, int], tuple[float, dict]] = {}
        self._tokens: dict[str, tuple[float, tuple[int, str] | None]] = {}

    def clear(self) -> None:
        with self._lock:
            self._snapshot, self._checked = None, 0.0
            self._use.clear()
            self._tokens.clear()

    def institution_of_token(self, key_hash: str) -> tuple[int, str] | None:
        """(institution id, code) of a valid, unrevoked institution API token with this hash, read from the
        database at most once per `TOKEN_TTL` seconds per key (so revocation takes effect within that)."""
        from jicai.accounts.models import ApiToken

        now = time.monotonic()
        hit = self._tokens.get(key_hash)
        if hit is None or now - hit[0] > TOKEN_TTL:
            if len(self._tokens) > 10_000:  # unknown keys must not grow the cache without bound
                self._tokens.clear()
            row = (
                ApiToken.objects.filter(
                    key_hash=key_hash, revoked_at__isnull=True, organisation__institution__isnull=False
                )
                .values_list("organisation__institution_id", "organisation__institution__code")
                .first()
            )
            hit = (now, row)
            self._tokens[key_hash] = hit
        return hit[1]

    def get(self) -> Snapshot:
        now = time.monotonic()
        snap = self._snapshot
        if snap is not None and now - self._checked < VERSION_CHECK_SECONDS:
            return snap
        version = current_version()
        self._checked = now
        if snap is not None and snap.version == version:
            return snap
        with self._lock:
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = load_snapshot(version)
                self._use.clear()
            return self._snapshot

    def doctor_figures(
        self, institution_id: int, item_id: int, doctor_code: str, today: dt.date
    ) -> dict | None:
        """{"target", "used", "remaining"} of the doctor's target for the item in the agreement year holding
        today (use of winning products from its start), or None when the doctor has no target."""
        key = (institution_id, item_id)
        now = time.monotonic()
        hit = self._use.get(key)
        if hit is None or now - hit[0] > USE_TTL:
            hit = (now, _doctor_figures(institution_id, item_id, today))
            self._use[key] = hit
        return hit[1].get(doctor_code)


def _doctor_figures(institution_id: int, item_id: int, today: dt.date) -> dict:
    from jicai.hospital.models import DoctorTarget
    from jicai.hospital.usage import usage_by_key

    targets = list(
        DoctorTarget.objects.filter(
            department_target__volume__institution_id=institution_id,
            department_target__volume__item_id=item_id,
            department_target__volume__agreement_year__start__lte=today,
            department_target__volume__agreement_year__end__gte=today,
        ).values_list("doctor__code", "target", "department_target__volume__agreement_year__start")
    )
    if not targets:
        return {}
    start = targets[0][2]
    used: dict[str, Decimal] = defaultdict(Decimal)
    for (_i, _g, _d, doctor), (won, _other) in usage_by_key(
        institution_ids=[institution_id], item_ids=[item_id], start=start, end=today
    ).items():
        used[doctor] += won
    return {
        code: {
            "target": target,
            "used": used[code],
            "remaining": max(Decimal(0), Decimal(target) - used[code]),
        }
        for code, target, _s in targets
    }


cache = PromptCache()


# ---- version row ----------------------------------------------------------------------------------


def current_version() -> int:
    from jicai.prescribing.models import CacheVersion

    row = CacheVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return row or 0


class VersionClock:
    """The version row as one process sees it: read at most once per VERSION_CHECK_SECONDS, forgotten at once
    when this process itself changes watched data. Other in-process caches of reference data (payment
    standards) key their entries on it, so one row and one set of signals serve them all."""

    def __init__(self):
        self._value: int | None = None
        self._checked = 0.0
        self._listeners: list = []

    def current(self) -> int:
        now = time.monotonic()
        if self._value is None or now - self._checked >= VERSION_CHECK_SECONDS:
            self._value, self._checked = current_version(), now
        return self._value

    def on_change(self, listener) -> None:
        """Call `listener()` whenever this process changes watched data (before and after the commit)."""
        self._listeners.append(listener)

    def changed(self) -> None:
        self._value = None
        for listener in self._listeners:
            listener()


reference_version = VersionClock()


def bump(**_kwargs) -> None:
    """Move the version row (after commit, so other processes see the new data when they reload)."""
    from jicai.prescribing.models import CacheVersion

    def _bump():
        if not CacheVersion.objects.filter(pk=1).update(version=F("version") + 1):
            CacheVersion.objects.get_or_create(pk=1, defaults={"version": 1})
        cache.clear()
        reference_version.changed()

    # This process sees its own writes at once; the others after the commit.
    cache.clear()
    reference_version.changed()
    transaction.on_commit(_bump)


# Imports that write reference data in bulk (no model signals): the prompt snapshot's and the payment
# standards' inputs.
WATCHED_IMPORTS = {
    "winners",
    "substitutes",
    "products",
    "institutions",
    "regions",
    "items",
    "batches",
    "listing-prices",
    "reference-prices",
}


def _on_import(sender, instance, **kwargs):
    if getattr(instance, "kind", "") in WATCHED_IMPORTS:
        bump()


def connect_signals() -> None:
    from jicai.batches.models import AgreementYear, Batch, Item, ItemFactor, ListingPrice, Substitute, Winner
    from jicai.funds.models import ReferencePrice
    from jicai.hospital.models import InterviewRecord
    from jicai.ingest.models import ImportJob
    from jicai.policy.models import PolicyProfile
    from jicai.prescribing.models import CatalogueEntry, SubstituteLimit
    from jicai.registry.models import Institution, Product

    for model in (
        Winner,
        Substitute,
        Item,
        Product,
        Institution,
        CatalogueEntry,
        SubstituteLimit,
        InterviewRecord,
        # Inputs of the payment standards (jicai.funds.standards), cached on the same version.
        Batch,
        AgreementYear,
        ItemFactor,
        ListingPrice,
        ReferencePrice,
        PolicyProfile,
    ):
        post_save.connect(bump, sender=model, dispatch_uid=f"prompt-cache-save-{model.__name__}")
        post_delete.connect(bump, sender=model, dispatch_uid=f"prompt-cache-delete-{model.__name__}")
    post_save.connect(_on_import, sender=ImportJob, dispatch_uid="prompt-cache-import")
