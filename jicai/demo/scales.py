"""Scale parameters of the demo generator: one ScaleConfig per scale, and the batches it may create."""

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class BatchSpec:
    code: str
    name: str
    kind: str
    cycle_start: dt.date
    cycle_end: dt.date
    consumables: bool = False


# Fixed cycles so the same seed always gives the same data (no "today" here).
BATCHES = {
    spec.code: spec
    for spec in (
        BatchSpec(
            "GY-YD2024-1",
            "第十批国家组织药品集中带量采购",
            "national",
            dt.date(2025, 1, 1),
            dt.date(2027, 12, 31),
        ),
        BatchSpec(
            "SD-YP2025-1",
            "山东省2025年第一批药品集中带量采购",
            "provincial",
            dt.date(2025, 7, 1),
            dt.date(2027, 6, 30),
        ),
        BatchSpec(
            "GY-YD2023-1",
            "第九批国家组织药品集中带量采购",
            "national",
            dt.date(2024, 3, 1),
            dt.date(2027, 2, 28),
        ),
        BatchSpec(
            "SD-YP2024-1",
            "山东省2024年药品集中带量采购（接续）",
            "provincial",
            dt.date(2024, 9, 1),
            dt.date(2027, 8, 31),
        ),
        BatchSpec(
            "SD-HC2025-1",
            "山东省2025年医用耗材集中带量采购",
            "provincial",
            dt.date(2025, 7, 1),
            dt.date(2027, 6, 30),
            consumables=True,
        ),
    )
}


@dataclass(frozen=True)
class ScaleConfig:
    name: str
    # City codes in the order used for logins (the first city hosts the city/county/institution logins);
    # None = every city of the province.
    city_codes: tuple[str, ...] | None
    institutions: int  # target number of institutions (hit exactly unless the fixed hospitals exceed it)
    city_hospitals: int  # tertiary hospitals per city (人民医院, 中医医院, …)
    catalogue_lines: int | None  # how many catalogue generics become items; None = all
    batch_codes: tuple[str, ...]  # drug batches take catalogue generics round-robin in this order
    consumables: int  # consumable items in the consumables batch


SMALL = ScaleConfig(
    name="small",
    city_codes=("371000", "371100", "370500"),
    institutions=50,
    city_hospitals=2,
    catalogue_lines=24,
    batch_codes=("GY-YD2024-1", "SD-YP2025-1", "SD-HC2025-1"),
    consumables=3,
)
MEDIUM = ScaleConfig(
    name="medium",
    city_codes=("370100", "370200", "370600", "370700", "371000"),
    institutions=1000,
    city_hospitals=5,
    catalogue_lines=150,
    batch_codes=("GY-YD2024-1", "SD-YP2025-1", "GY-YD2023-1", "SD-HC2025-1"),
    consumables=6,
)
PROVINCE = ScaleConfig(
    name="province",
    city_codes=None,
    institutions=10000,
    city_hospitals=8,
    catalogue_lines=None,
    batch_codes=("GY-YD2024-1", "SD-YP2025-1", "GY-YD2023-1", "SD-YP2024-1", "SD-HC2025-1"),
    consumables=8,
)

SCALES = {scale.name: scale for scale in (SMALL, MEDIUM, PROVINCE)}
