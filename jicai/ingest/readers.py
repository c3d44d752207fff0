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
# A row whose cell count differs from the header's carries this key (value: its cell count) instead of
# its cells, so the schema path reports it as a row error rather than padding or cutting it.
RAGGED = "__ragged__"
# Tried in this order: UTF-8 (with or without BOM) is unambiguous, GB18030 is the superset of GBK/GB2312
# that Chinese Excel writes by default ("CSV (逗号分隔)").
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
NOT_DECODABLE = "CSV 文件既不是 UTF-8 编码，也不是 GB18030/GBK 编码，无法读取（已尝试：UTF-8、GB18030/GBK）"


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


def row_cells(header: list[str], values: list[str]) -> dict[str, str]:
    """{header: text} for one line, or {RAGGED: n} when the line has a different number of cells.

    Extra cells that are all empty lose nothing (a trailing comma, Excel's empty columns) and are accepted."""
    if len(values) != len(header) and (len(values) < len(header) or not _blank(values[len(header) :])):
        return {RAGGED: str(len(values))}
    return {name: values[index] for index, name in enumerate(header) if name}


def ragged_reason(header_cells: int, raw: dict[str, str]) -> str:
    return f"本行有 {raw[RAGGED]} 个单元格，表头有 {header_cells} 列：请检查是否多了或少了逗号/单元格"


def detect_encoding(raw) -> str:
    """The first of CSV_ENCODINGS that decodes the whole binary stream; the stream is rewound.

    Decoding happens incrementally in 1 MiB pieces, so a 100k-line file is not held in memory twice."""
    import codecs

    for encoding in CSV_ENCODINGS:
        raw.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while piece := raw.read(1 << 20):
                decoder.decode(piece)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        raw.seek(0)
        return encoding
    raw.seek(0)
    raise UnreadableFile(NOT_DECODABLE)


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
            if file_format == "xlsx":
                # A sheet's grid is as wide as its widest row: the header's trailing empty cells are not columns.
                while values and values[-1] == "":
                    values.pop()
            header = values
            table.header = header
            continue
        if _blank(values):
            continue
        if file_format == "xlsx":
            # A sheet is a rectangle: short rows are just empty cells, but a value beyond the header would
            # be lost, so that still counts as ragged.
            values = values + [""] * (len(header) - len(values))
        table.rows.append((number, row_cells(header, values)))
    if header is None:
        raise UnreadableFile("文件为空：没有表头行")
    return table


def read_csv(content: bytes) -> Table:
    # utf-8-sig strips a BOM when present and reads plain UTF-8 otherwise (Excel adds one, scripts don't).
    text = content.decode(detect_encoding(io.BytesIO(content)))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _table_from_grid(reader, "csv")
    except csv.Error as exc:
        raise UnreadableFile(f"CSV 格式错误：{exc}") from exc


def read_xlsx(content: bytes, sheet: str | None = None) -> Table:
    """The one filled sheet of the workbook; `sheet` names the data sheet of a workbook of our own making,
    which carries an instructions sheet beside it (used when present)."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        # skip_empty_area=False keeps row numbers equal to the sheet's own line numbers.
        grids = {
            name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for name in workbook.sheet_names
        }
    except Exception as exc:  # calamine raises several unrelated types for a damaged workbook
        raise UnreadableFile(f"无法读取 XLSX 文件：{exc}") from exc
    # Importing only the first of several filled sheets would silently drop the others' rows. Empty extra
    # sheets (older Excel adds Sheet2/Sheet3) lose nothing and are ignored.
    if sheet is not None and sheet in grids:
        return _table_from_grid(grids[sheet], "xlsx")
    filled = [name for name, grid in grids.items() if any(cell_text(v) for line in grid for v in line)]
    if len(filled) > 1:
        names = "、".join(filled)
        raise UnreadableFile(
            f"XLSX 文件有 {len(filled)} 个含数据的工作表（{names}）：请只保留要导入的一个工作表，或分别导入"
        )
    grid = grids[filled[0]] if filled else next(iter(grids.values()), [])
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


def read_upload(content: bytes, filename: str = "", sheet: str | None = None) -> Table:
    """CSV or XLSX by extension, falling back to the content (an XLSX file is a zip archive)."""
    suffix = Path(filename).suffix.lower()
    if suffix in {".xls"}:
        raise UnreadableFile("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV")
    if suffix == ".xlsx" or (suffix != ".csv" and content[:4] == XLSX_MAGIC):
        return read_xlsx(content, sheet)
    if suffix and suffix not in {".csv", ".txt"}:
        raise UnreadableFile(f"不支持的文件类型 {suffix}：请上传 CSV 或 XLSX")
    return read_csv(content)
