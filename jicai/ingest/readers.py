"""Turn an uploaded file (CSV or XLSX) or a JSON row list into plain rows of strings.

Every reader yields the same thing — a `Table` of (row number as the user sees it, {header: text}) — so
the schemas never care where a row came from. Cell values are normalised to text here once: Excel
numbers lose a spurious ".0", Excel dates become YYYY-MM-DD, booleans become true/false.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from jicai.core.errors import DomainError

XLSX_MAGIC = b"PK\x03\x04"


class UnreadableFile(DomainError):
    """The file cannot be read at all (wrong format, encoding, empty): nothing row-level to report."""

    code = "unreadable_file"
    status = 400


@dataclass
class Table:
    """Rows of one import. `header` is None for JSON rows, whose keys are checked row by row."""

    header: list[str] | None
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    file_format: str = "json"


def cell_text(value: object) -> str:
    """One cell as stripped text; the single place where spreadsheet/JSON value types are normalised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel stores every number as a double: 12.0 means "12", 0.12 keeps its shortest exact text.
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, int | Decimal):
        return str(value)
    return str(value).strip()


def _blank(values) -> bool:
    return all(v == "" for v in values)


def _table_from_grid(grid, file_format: str) -> Table:
    """First non-blank line is the header (normally line 1); row numbers follow the file's own lines."""
    header: list[str] | None = None
    table = Table(header=None, file_format=file_format)
    # CSV cells are already text: stripping is all they need (the hot loop of a 100k-row file).
    convert = str.strip if file_format == "csv" else cell_text
    for number, raw in enumerate(grid, start=1):
        values = [convert(v) for v in raw]
        if header is None:
            if _blank(values):
                continue
            header = values
            table.header = header
            continue
        if _blank(values):
            continue
        row = {}
        for index, name in enumerate(header):
            if name:
                row[name] = values[index] if index < len(values) else ""
        table.rows.append((number, row))
    if header is None:
        raise UnreadableFile("文件为空：没有表头行")
    return table


def read_csv(content: bytes) -> Table:
    # utf-8-sig strips a BOM when present and reads plain UTF-8 otherwise (Excel adds one, scripts don't).
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile("CSV 文件不是 UTF-8 编码（请另存为“CSV UTF-8”）") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _table_from_grid(reader, "csv")
    except csv.Error as exc:
        raise UnreadableFile(f"CSV 格式错误：{exc}") from exc


def read_xlsx(content: bytes) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet = workbook.get_sheet_by_index(0)
        # skip_empty_area=False keeps row numbers equal to the sheet's own line numbers.
        grid = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several unrelated types for a damaged workbook
        raise UnreadableFile(f"无法读取 XLSX 文件：{exc}") from exc
    return _table_from_grid(grid, "xlsx")


def read_json_rows(rows: object) -> Table:
    """API rows: a list of objects; the row number is the 1-based index in the list."""
    if not isinstance(rows, list):
        raise UnreadableFile("rows 应为对象数组")
    table = Table(header=None, file_format="json")
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            table.rows.append((index, {"__invalid__": "1"}))
            continue
        table.rows.append((index, {str(k).strip(): cell_text(v) for k, v in row.items()}))
    return table


def read_upload(content: bytes, filename: str = "") -> Table:
    """CSV or XLSX by extension, falling back to the content (an XLSX file is a zip archive)."""
    suffix = Path(filename).suffix.lower()
    if suffix in {".xls"}:
        raise UnreadableFile("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV")
    if suffix == ".xlsx" or (suffix != ".csv" and content[:4] == XLSX_MAGIC):
        return read_xlsx(content)
    if suffix and suffix not in {".csv", ".txt"}:
        raise UnreadableFile(f"不支持的文件类型 {suffix}：请上传 CSV 或 XLSX")
    return read_csv(content)
