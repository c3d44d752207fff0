"""A minimal XLSX (SpreadsheetML) writer for the national rankings: sheets of text and number columns, a bold
header row frozen at the top, and a percent format for some columns.

Why not xlsxwriter, as the web exports use: `jicai national` writes rankings.xlsx on a worker thread while the
engine computes the alerts, on the same cores. xlsxwriter spends several microseconds of Python per cell
(its cell objects, then the XML of each); for a province's 10,000 institutions that was 0.9 CPU s, and the
run took 0.6–0.7 s longer with the workbook than without it (bench/RESULTS.md, session 16). Here each row's
XML is one string format, and the file is the handful of parts a workbook needs: 0.1 s for the same sheets.

Cells are inline strings (`t="inlineStr"`) and numbers; a None is an empty cell. Strings are XML-escaped, and the
characters XML 1.0 cannot carry (controls other than tab, line feed and carriage return), as well as a literal
`_xHHHH_`, are written in the `_xHHHH_` form SpreadsheetML defines, so every text reads back as it was."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

# Style indexes of styles.xml: 0 normal, 1 bold (the header row), 2 percent with two decimals (built-in
# number format 10, "0.00%").
BOLD, PERCENT = 1, 2


@dataclass
class Column:
    header: str
    values: list  # str, int, float or None, one per row
    number: bool = False
    percent: bool = False


@dataclass
class Sheet:
    title: str
    columns: list[Column]
    order: list[int]  # the rows' indexes in the order they are written


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def _text(value: str) -> str:
    escaped = escape(value)
    if _UNSAFE.search(escaped):
        escaped = _UNSAFE.sub(lambda m: f"_x{ord(m.group()):04X}_", escaped)
    return escaped


def _number(value: float) -> str:
    """A number as Python prints it (the shortest text that reads back as the same double), a whole one
    without the ".0"."""
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"XLSX 单元格不能保存数值 {value}")
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _cell_formats(sheet: Sheet) -> list[str]:
    """Per column, the format of one cell's XML with {row} and {value} left to fill."""
    formats = []
    for j, column in enumerate(sheet.columns):
        ref = column_letters(j)
        if column.number:
            style = f' s="{PERCENT}"' if column.percent else ""
            formats.append(f'<c r="{ref}{{row}}"{style}><v>{{value}}</v></c>')
        else:
            formats.append(
                f'<c r="{ref}{{row}}" t="inlineStr"><is><t xml:space="preserve">{{value}}</t></is></c>'
            )
    return formats


def _sheet_xml(sheet: Sheet) -> str:
    header = "".join(
        f'<c r="{column_letters(j)}1" t="inlineStr" s="{BOLD}"><is><t>{_text(c.header)}</t></is></c>'
        for j, c in enumerate(sheet.columns)
    )
    formats = _cell_formats(sheet)
    columns = [
        [None if v is None else _number(v) for v in c.values]
        if c.number
        else [None if v is None else _text(str(v)) for v in c.values]
        for c in sheet.columns
    ]
    cells = list(zip(formats, columns, strict=True))
    rows = [f'<row r="1">{header}</row>']
    for number, i in enumerate(sheet.order, start=2):
        row = "".join(f.format(row=number, value=values[i]) for f, values in cells if values[i] is not None)
        rows.append(f'<row r="{number}">{row}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
        ' state="frozen"/></sheetView></sheetViews>'
        f"<sheetData>{''.join(rows)}</sheetData></worksheet>"
    )


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "{sheets}</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_RELATIONSHIP = (
    '<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}"'
    ' Target="{target}"/>'
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def write_workbook(target: Path, sheets: list[Sheet]) -> None:
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + "".join(
            f'<sheet name="{escape(s.title, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
            for n, s in enumerate(sheets, start=1)
        )
        + "</sheets></workbook>"
    )
    relationships = "".join(
        _RELATIONSHIP.format(n=n, kind="worksheet", target=f"worksheets/sheet{n}.xml")
        for n in range(1, len(sheets) + 1)
    ) + _RELATIONSHIP.format(n=len(sheets) + 1, kind="styles", target="styles.xml")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr(
            "[Content_Types].xml",
            _CONTENT_TYPES.format(sheets="".join(_SHEET_TYPE.format(n=n) for n in range(1, len(sheets) + 1))),
        )
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", workbook)
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{relationships}</Relationships>",
        )
        book.writestr("xl/styles.xml", _STYLES)
        for n, sheet in enumerate(sheets, start=1):
            book.writestr(f"xl/worksheets/sheet{n}.xml", _sheet_xml(sheet))
