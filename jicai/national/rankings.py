"""rankings.xlsx of `jicai national` (SPEC §13): one sheet per level (province → city → institution) from the
engine's ranking_<level>.parquet results, ranked by completion (highest first; no agreed volume last), with
Chinese headers."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jicai.national.xlsx import Column, Sheet, write_workbook

RANKING_SHEETS = (
    ("province", "省份排名", ("province", "province_name")),
    ("city", "城市排名", ("province", "province_name", "city", "city_name")),
    (
        "institution",
        "机构排名",
        ("province", "province_name", "city", "city_name", "institution", "institution_name"),
    ),
)
HEADERS = {
    "province": "省份代码",
    "province_name": "省份",
    "city": "城市代码",
    "city_name": "城市",
    "institution": "机构代码",
    "institution_name": "机构名称",
    "agreed_qty": "约定采购量",
    "purchased_winning": "中选产品采购量",
    "purchased_nonwinning": "非中选产品采购量",
    "completion": "完成率",
    "winning_share": "中选产品占比",
    "ordered_qty": "应配送订购量",
    "delivered_qty": "已配送量",
    "delivery_rate": "配送率",
}
MEASURES = (
    "agreed_qty",
    "purchased_winning",
    "purchased_nonwinning",
    "completion",
    "winning_share",
    "ordered_qty",
    "delivered_qty",
    "delivery_rate",
)
PERCENTS = ("completion", "winning_share", "delivery_rate")


def ranking_sheet(table: pa.Table, title: str, keys: tuple[str, ...]) -> Sheet:
    """A level's sheet: the rank, the keys as text, the measures as numbers (through float(): Arrow's
    decimal-to-double cast is not always the nearest double), rows by completion descending, then keys."""
    columns = {name: table[name].cast(pa.string()).to_pylist() for name in keys}
    columns |= {name: [None if v is None else float(v) for v in table[name].to_pylist()] for name in MEASURES}
    completion = columns["completion"]
    key_texts = list(zip(*(columns[k] for k in keys), strict=True))
    order = sorted(
        range(table.num_rows),
        key=lambda i: (completion[i] is None, -(completion[i] or 0), *(str(v) for v in key_texts[i])),
    )
    rank = [0] * table.num_rows
    for position, i in enumerate(order, start=1):
        rank[i] = position
    return Sheet(
        title,
        [Column("排名", rank, number=True)]
        + [Column(HEADERS[k], columns[k]) for k in keys]
        + [Column(HEADERS[m], columns[m], number=True, percent=m in PERCENTS) for m in MEASURES],
        order,
    )


def write_rankings(results: Path, target: Path) -> None:
    write_workbook(
        target,
        [
            ranking_sheet(pq.read_table(results / f"ranking_{level}.parquet"), title, keys)
            for level, title, keys in RANKING_SHEETS
        ],
    )
