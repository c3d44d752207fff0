"""Reading an uploaded holiday schedule (CSV in UTF-8 with or without BOM, or XLSX) into plain row dicts
for `actions.upload_calendar_year`, and writing the downloadable template."""

import csv
import io

from jicai.core.errors import ImportRejected, RowError

COLUMNS = ("date", "is_workday", "name")
# Chinese headers people type when they fill the template by hand.
HEADER_ALIASES = {
    "日期": "date",
    "是否工作日": "is_workday",
    "是否上班": "is_workday",
    "工作日": "is_workday",
    "名称": "name",
    "节日": "name",
    "说明": "name",
}
REQUIRED = ("date", "is_workday")


def _header_name(cell: object) -> str:
    text = ("" if cell is None else str(cell)).strip().lstrip("\ufeff")
    return HEADER_ALIASES.get(text, text.lower())


def _to_dicts(table: list[list[object]]) -> list[dict]:
    if not table:
        raise ImportRejected([RowError(1, "", "文件为空")])
    header = [_header_name(c) for c in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportRejected([RowError(1, c, "缺少此列（表头应为 date,is_workday,name）") for c in missing])
    rows = []
    for line_no, cells in enumerate(table[1:], start=2):
        if all(c is None or str(c).strip() == "" for c in cells):
            # Trailing blank lines (common in spreadsheets) would otherwise be reported as bad rows.
            continue
        row = {name: (cells[i] if i < len(cells) else None) for i, name in enumerate(header) if name}
        row["_row"] = line_no  # the number the user sees in the file, kept across skipped blank lines
        rows.append(row)
    return rows


def read_calendar_file(data: bytes, filename: str) -> list[dict]:
    """Rows as {date, is_workday, name} dicts; an unreadable file raises ImportRejected."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged or mislabelled file
            raise ImportRejected([RowError(0, "", f"无法读取 XLSX 文件：{exc.__class__.__name__}")]) from exc
        try:
            table = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
        finally:
            workbook.close()
        return _to_dicts(table)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected([RowError(0, "", "CSV 文件应为 UTF-8 编码")]) from exc
    return _to_dicts([list(r) for r in csv.reader(io.StringIO(text))])


def template_csv(year: int) -> bytes:
    """The header and one example row (New Year's Day is a holiday every year); BOM so Excel shows Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow([f"{year}-01-01", "false", "元旦"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
