"""jicai.national.xlsx: what it writes reads back as it was (openpyxl), escapes included."""

import re

import pytest

from jicai.national.xlsx import Column, Sheet, column_letters, write_workbook


def _excel_text(text):
    """A cell's text as Excel reads it: SpreadsheetML's _xHHHH_ escapes decoded, left to right (openpyxl leaves
    them in inline strings)."""
    return None if text is None else re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def test_column_letters():
    assert [column_letters(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_cells_read_back_as_written(tmp_path):
    import openpyxl

    texts = [
        "<a & b>",
        " lead and trail ",
        "tab\tand\nline",
        "bell\x07 and \x1f",
        "_x0041_ stays",
        "机构\"引号'",
        None,
    ]
    numbers = [1, 2.5, 1.0344117176696361, 1e-05, -3, None, 1146456832.0]
    percents = [0.25, None, 1.0, 0.123456, 0, 2, 0.5]
    many = [f"c{i}" for i in range(7)]
    sheets = [
        Sheet(
            "第一 & <表>",
            [
                Column("文本", texts),
                Column("数", numbers, number=True),
                Column("率", percents, number=True, percent=True),
                *(Column(f"h{j}", many) for j in range(30)),  # past column Z
            ],
            order=[6, 5, 4, 3, 2, 1, 0],
        ),
        Sheet("空", [Column("只有表头", [])], order=[]),
    ]
    path = tmp_path / "book.xlsx"
    write_workbook(path, sheets)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["第一 & <表>", "空"]
    sheet = book["第一 & <表>"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("文本", "数", "率") and rows[0][-1] == "h29" and len(rows[0]) == 33
    assert [_excel_text(r[0]) for r in rows[1:]] == texts[::-1]
    assert [r[1] for r in rows[1:]] == numbers[::-1]
    assert [r[2] for r in rows[1:]] == percents[::-1]
    assert rows[1][-1] == "c6" and rows[7][-1] == "c0"
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet["C2"].number_format == "0.00%" and sheet["B2"].number_format == "General"
    assert list(book["空"].iter_rows(values_only=True)) == [("只有表头",)]


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_number_xlsx_cannot_hold_is_refused(tmp_path, value):
    with pytest.raises(ValueError):
        write_workbook(tmp_path / "bad.xlsx", [Sheet("s", [Column("n", [value], number=True)], order=[0])])
