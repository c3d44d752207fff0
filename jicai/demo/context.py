"""The context shared by the demo steps: scale, seed, a per-step random generator and what earlier steps
created (model instances with their ids), so later steps never query row by row."""

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jicai.demo.scales import ScaleConfig, calendar_shift


@dataclass
class Login:
    role_label: str  # Chinese description printed for the user
    username: str
    password: str
    organisation: str


@dataclass
class DemoContext:
    scale: ScaleConfig
    seed: int
    # The day the demo is built for: pages show it as a running province on this date (scales.calendar_shift).
    today: dt.date
    write: Callable[[str], None] = print
    # Replaced before each step by a generator seeded with (seed, step name): appending or changing one step
    # never shifts the random numbers another step draws.
    rng: random.Random = field(default_factory=random.Random)

    province: Any = None  # Region
    regions: dict[str, Any] = field(default_factory=dict)  # code → Region
    cities: list[Any] = field(default_factory=list)  # Regions in scale order
    counties: dict[str, list[Any]] = field(default_factory=dict)  # city code → county Regions (by code)
    institutions: list[Any] = field(default_factory=list)  # Institution, with pk
    consortia: list[Any] = field(default_factory=list)
    companies: dict[str, Any] = field(default_factory=dict)  # name → Company
    manufacturers: dict[str, list[Any]] = field(default_factory=dict)  # "generic"/"originator"/"consumable"
    distributors: list[Any] = field(default_factory=list)
    batches: list[Any] = field(default_factory=list)  # Batch, in scale order
    items: list[Any] = field(default_factory=list)  # Item
    item_templates: dict[int, Any] = field(default_factory=dict)  # item pk → catalogue ItemTemplate
    item_products: dict[int, list[Any]] = field(default_factory=dict)  # item pk → [Product]
    winners: list[Any] = field(default_factory=list)  # Winner
    products: list[Any] = field(default_factory=list)  # every Product created
    organisations: dict[tuple[str, int], Any] = field(
        default_factory=dict
    )  # (kind, linked pk) → Organisation
    admin_organisation: Any = None
    logins: list[Login] = field(default_factory=list)
    # Free-form results of later steps (demand reports, agreements, orders …) keyed by step name.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def shift_months(self) -> int:
        return calendar_shift(self.today)

    def log(self, message: str) -> None:
        self.write(f"      {message}")
