"""XLSX download of a report form and parsing of a filled one (read with the import pipeline's reader, so
CSV also works). Cell errors name the row and column; the submission rules are applied by
actions.save_report_lines(complete=True), which also reports the row."""

import io
import re

import xlsxwriter

from jicai.core.errors import DomainError
from jicai.demand.actions import LineInput
from jicai.ingest.readers import RAGGED, UnreadableFile, ragged_reason, read_upload

# (column name, Chinese header, width); the Chinese header is what the download carries.
COLUMNS = (
    ("item_code", "品种编码", 14),
    ("generic_name", "通用名", 22),
    ("dosage_form_group", "剂型组", 16),
    ("history_qty", "历史采购量", 12),
    ("reported_qty", "报量", 12),
    ("explanation", "说明", 40),
)
HEADERS = {name: label for name, label, _ in COLUMNS}
ALIASES = {alias.lower(): name for name, label, _ in COLUMNS for alias in (name, label)}


def report_workbook(report, lines) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("报量")
    bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    locked_fill = workbook.add_format({"bg_color": "#F2F2F2"})
    for c, (_, label, width) in enumerate(COLUMNS):
        sheet.set_column(c, c, width)
        sheet.write_string(0, c, label, bold)
    sheet.freeze_panes(1, 0)
    for r, line in enumerate(lines, start=1):
        sheet.write_string(r, 0, line.item.item_code, locked_fill)
        sheet.write_string(r, 1, line.item.generic_name, locked_fill)
        sheet.write_string(r, 2, line.item.dosage_form_group, locked_fill)
        sheet.write_number(r, 3, line.history_qty, locked_fill)
        if line.reported_qty is not None:
            sheet.write_number(r, 4, line.reported_qty)
        if line.explanation:
            sheet.write_string(r, 5, line.explanation)
    info = workbook.add_worksheet("说明")
    info.write_string(0, 0, f"{report.window.title} · {report.institution.name}（{report.institution.code}）")
    info.write_string(
        1, 0, "请在“报量”列填写数量（最小制剂单位，整数；无需求填 0），低于历史采购量时填写说明。"
    )
    workbook.close()
    return buffer.getvalue()


def parse_upload(content: bytes, filename: str) -> list[LineInput]:
    """LineInputs of a filled form; every cell error (row, column, reason) is collected before refusing."""
    try:
        table = read_upload(content, filename, sheet="报量")  # the workbook also carries a 说明 sheet
    except UnreadableFile as exc:
        raise DomainError(exc.message, code="unreadable_file") from exc
    header = {h: ALIASES.get(h.strip().lower()) for h in table.header or []}
    present = set(header.values())
    missing = [HEADERS[n] for n in ("item_code", "reported_qty") if n not in present]
    if missing:
        raise DomainError(
            f"缺少必需的列：{'、'.join(missing)}",
            code="upload_invalid",
            details=[{"row": 1, "column": m, "reason": "缺少必需的列"} for m in missing],
        )
    errors, inputs = [], []
    for number, raw in table.rows:
        if RAGGED in raw:
            errors.append({"row": number, "column": "", "reason": ragged_reason(len(table.header), raw)})
            continue
        values = {header[h]: v for h, v in raw.items() if header.get(h)}
        code = values.get("item_code", "").strip()
        if not code:
            errors.append({"row": number, "column": HEADERS["item_code"], "reason": "不能为空"})
            continue
        text = values.get("reported_qty", "").strip().replace(",", "")
        qty = None
        if text == "":
            errors.append(
                {
                    "row": number,
                    "column": HEADERS["reported_qty"],
                    "item_code": code,
                    "reason": "不能为空（无需求请填 0）",
                }
            )
        elif re.fullmatch(r"\d+", text):
            qty = int(text)
        else:
            errors.append(
                {
                    "row": number,
                    "column": HEADERS["reported_qty"],
                    "item_code": code,
                    "reason": f"应为不小于 0 的整数：{text}",
                }
            )
        inputs.append(LineInput(code, qty, values.get("explanation", "").strip(), row=number))
    if errors:
        raise DomainError(upload_message(errors), code="upload_invalid", details=errors)
    if not inputs:
        raise DomainError("文件中没有数据行", code="upload_invalid")
    return inputs


def describe(error: dict) -> str:
    """'第 3 行「报量」：reason' for an error detail (rows from the file; column names in Chinese)."""
    column = HEADERS.get(error.get("column", ""), error.get("column", ""))
    where = f"第 {error['row']} 行" if error.get("row") else ""
    return f"{where}「{column}」：{error['reason']}" if where else error["reason"]


def upload_message(errors: list[dict]) -> str:
    shown = "；".join(describe(e) for e in errors[:5])
    more = f" 等 {len(errors)} 处" if len(errors) > 5 else ""
    return f"上传未保存：{shown}{more}"
