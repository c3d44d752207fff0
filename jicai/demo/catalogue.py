"""The demo's drug catalogue (data/drugs.py) and consumables, parsed into procurement-item templates.

Each catalogue line is one real generic; each of its dosage-form groups becomes one item template whose
first spec is the reference spec (item_factor 1). Parsing validates every dosage form against the project's
form-group table, so the demo never produces a product that the import pipeline would reject.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from jicai.demo.data.drugs import CATALOGUE
from jicai.registry.dosage_forms import CONSUMABLE, form_group

# Minimum unit (最小制剂单位) and typical pack sizes by dosage form.
UNIT_BY_FORM = {
    "胶囊": "粒",
    "软胶囊": "粒",
    "肠溶胶囊": "粒",
    "缓释胶囊": "粒",
    "颗粒剂": "袋",
    "干混悬剂": "袋",
    "口服溶液剂": "瓶",
    "口服混悬剂": "瓶",
    "糖浆剂": "瓶",
    "注射液": "支",
    "注射用浓溶液": "支",
    "注射用无菌粉末": "瓶",
    "吸入气雾剂": "瓶",
    "吸入粉雾剂": "吸",
    "吸入用混悬液": "支",
    "吸入溶液": "支",
    "乳膏剂": "支",
    "软膏剂": "支",
    "凝胶剂": "支",
    "滴眼剂": "支",
    "贴剂": "贴",
}
PACK_SIZES = {
    "片": (7, 14, 28, 30, 36, 48, 60, 100),
    "粒": (10, 14, 24, 28, 30, 48, 60),
    "袋": (6, 9, 10, 12),
    "支": (1, 2, 5, 10),
    "瓶": (1,),
    "吸": (60, 120),
    "贴": (5, 10),
    "个": (1,),
    "套": (1,),
}

_AMOUNT_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(mg|g|μg|ml|万单位|单位|IU)")
_TO_BASE = {
    "g": Decimal(1000),
    "mg": Decimal(1),
    "μg": Decimal("0.001"),
    "ml": Decimal(1),
    "万单位": Decimal(10000),
    "单位": Decimal(1),
    "IU": Decimal(1),
}


def unit_for(dosage_form: str) -> str:
    return UNIT_BY_FORM.get(dosage_form, "片")


def spec_amount(spec: str) -> tuple[Decimal, str] | None:
    """Active amount of a spec in a base unit: '0.5g' → (500, 'mg'); '2ml:10mg' → (10, 'mg') (the part
    after the colon is the drug content). None when the spec carries no comparable amount."""
    text = spec.split(":")[-1]
    match = _AMOUNT_RE.search(text)
    if not match:
        return None
    unit = match.group(2)
    base = {"g": "mg", "μg": "mg", "万单位": "单位"}.get(unit, unit)
    return Decimal(match.group(1)) * _TO_BASE[unit], base


def spec_factor(spec: str, reference: str) -> Decimal:
    """item_factor of a spec against the item's reference spec (10 mg vs 20 mg → 0.5); 1 when not comparable."""
    own, ref = spec_amount(spec), spec_amount(reference)
    if own is None or ref is None or own[1] != ref[1] or ref[0] == 0:
        return Decimal(1)
    return (own[0] / ref[0]).quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class FormSpecs:
    dosage_form: str
    specs: tuple[str, ...]
    price: Decimal  # typical winning price per minimum unit at specs[0]


@dataclass
class ItemTemplate:
    generic_name: str
    atc: str
    dosage_form_group: str
    forms: list[FormSpecs] = field(default_factory=list)
    line_no: int = 0
    consumable: bool = False
    consumable_unit: str = ""  # consumables: their unit (个/套); drugs derive it from the dosage form
    code_class: str = ""  # consumables: the 14 class digits of their C code

    @property
    def reference_spec(self) -> str:
        return self.forms[0].specs[0]

    @property
    def key(self) -> tuple[str, str]:
        return self.generic_name, self.dosage_form_group


@dataclass
class GenericLine:
    line_no: int
    generic_name: str
    atc: str
    items: list[ItemTemplate]


def parse_catalogue(text: str) -> list[GenericLine]:
    lines, seen = [], {}
    for raw in text.splitlines():
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        head, *segments = [part.strip() for part in raw.split("|")]
        generic, atc = head.split()
        if not re.fullmatch(r"[A-Z]\d\d[A-Z]{2}", atc):
            raise ValueError(f"{generic}: ATC 代码 {atc} 格式不对")
        line = GenericLine(len(lines), generic, atc, [])
        by_group: dict[str, ItemTemplate] = {}
        for segment in segments:
            form, specs, price = segment.split()
            group = form_group(form)
            if group is None:
                raise ValueError(f"{generic}: 剂型 {form} 不在剂型组对照表中")
            template = by_group.get(group)
            if template is None:
                template = by_group[group] = ItemTemplate(generic, atc, group, line_no=line.line_no)
                line.items.append(template)
            template.forms.append(FormSpecs(form, tuple(specs.split(",")), Decimal(price)))
        for template in line.items:
            if template.key in seen:
                raise ValueError(f"品种 {template.key} 在目录中出现两次")
            seen[template.key] = template
        lines.append(line)
    return lines


@cache
def catalogue() -> tuple[GenericLine, ...]:
    return tuple(parse_catalogue(CATALOGUE))


@dataclass(frozen=True)
class ConsumableTemplate:
    generic_name: str
    code_class: str  # 14 digits: 学科 2 + 用途 2 + 部位功能 2 + 材质 3 + 通用名 2 + 特征 3 (jicai.core.codes)
    specs: tuple[str, ...]
    unit: str
    price: Decimal


# Consumables (医用耗材) of the provincial consumables tender: NHSA C-code class digits are illustrative.
CONSUMABLES = (
    ConsumableTemplate(
        "冠状动脉药物洗脱支架", "02010200301001", ("3.0×18mm", "2.75×24mm", "3.5×29mm"), "个", Decimal("690")
    ),
    ConsumableTemplate(
        "冠状动脉球囊扩张导管", "02010200202001", ("2.5×15mm", "3.0×20mm"), "个", Decimal("285")
    ),
    ConsumableTemplate("一次性使用静脉留置针", "14030100103001", ("22G", "24G", "20G"), "个", Decimal("3.9")),
    ConsumableTemplate("一次性使用输液器", "14030100201001", ("0.7mm", "0.55mm"), "套", Decimal("1.2")),
    ConsumableTemplate("人工晶状体", "11020300401001", ("+20.0D", "+22.0D"), "个", Decimal("980")),
    ConsumableTemplate("人工髋关节", "03010400502001", ("髋臼杯52mm", "股骨柄12号"), "套", Decimal("6900")),
    ConsumableTemplate("人工膝关节", "03010400602001", ("股骨髁3号", "胫骨平台4号"), "套", Decimal("5200")),
    ConsumableTemplate("吻合器", "04020100701001", ("管型25mm", "直线切割60mm"), "个", Decimal("1150")),
)


def consumable_item(template: ConsumableTemplate) -> ItemTemplate:
    return ItemTemplate(
        generic_name=template.generic_name,
        atc="",
        dosage_form_group=CONSUMABLE,
        forms=[FormSpecs(CONSUMABLE, template.specs, template.price)],
        consumable=True,
        consumable_unit=template.unit,
        code_class=template.code_class,
    )
