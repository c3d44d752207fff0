"""Dosage form → dosage-form group table (SPEC §10 products: an unknown form is a row error)."""

ORAL_IR = "口服常释剂型"
ORAL_ER = "缓释控释剂型"
ORAL_LIQUID = "口服液体剂"
INJECTION = "注射剂"
INHALATION = "吸入剂"
EXTERNAL = "外用制剂"
CONSUMABLE = "医用耗材"

FORM_GROUPS: dict[str, str] = {
    # 口服常释剂型
    "片剂": ORAL_IR,
    "普通片": ORAL_IR,
    "薄膜衣片": ORAL_IR,
    "糖衣片": ORAL_IR,
    "肠溶片": ORAL_IR,
    "分散片": ORAL_IR,
    "咀嚼片": ORAL_IR,
    "口腔崩解片": ORAL_IR,
    "口崩片": ORAL_IR,
    "胶囊剂": ORAL_IR,
    "胶囊": ORAL_IR,
    "硬胶囊": ORAL_IR,
    "软胶囊": ORAL_IR,
    "肠溶胶囊": ORAL_IR,
    "颗粒剂": ORAL_IR,
    "丸剂": ORAL_IR,
    # 缓释控释剂型
    "缓释片": ORAL_ER,
    "控释片": ORAL_ER,
    "缓释胶囊": ORAL_ER,
    "控释胶囊": ORAL_ER,
    # 口服液体剂
    "口服溶液剂": ORAL_LIQUID,
    "口服混悬剂": ORAL_LIQUID,
    "干混悬剂": ORAL_LIQUID,
    "糖浆剂": ORAL_LIQUID,
    "口服液": ORAL_LIQUID,
    # 注射剂
    "注射剂": INJECTION,
    "注射液": INJECTION,
    "注射用无菌粉末": INJECTION,
    "冻干粉针剂": INJECTION,
    "粉针剂": INJECTION,
    "注射用浓溶液": INJECTION,
    # 吸入剂
    "吸入剂": INHALATION,
    "吸入气雾剂": INHALATION,
    "吸入粉雾剂": INHALATION,
    "吸入用混悬液": INHALATION,
    "吸入溶液": INHALATION,
    # 外用
    "乳膏剂": EXTERNAL,
    "软膏剂": EXTERNAL,
    "凝胶剂": EXTERNAL,
    "贴剂": EXTERNAL,
    "滴眼剂": EXTERNAL,
    # 耗材 (consumables carry their own group)
    "医用耗材": CONSUMABLE,
}

KNOWN_GROUPS = frozenset(FORM_GROUPS.values())


def form_group(dosage_form: str) -> str | None:
    """The group of a dosage form, or None when the table does not know it."""
    return FORM_GROUPS.get((dosage_form or "").strip())
