"""The list table's rows are built in Python (jicai.web.tables.row_html): every text and URL escaped, the
same cell classes the template gave."""

import datetime as dt

from jicai.web.tables import Column, row_html


class Obj:
    name = '<script>alert("x")</script>'
    code = "A&B"
    qty = 12
    done = True
    empty = None
    long = "很长的名称" * 5


COLUMNS = [
    Column("名称", lambda o: o.name, link=lambda o: '/x/?a=1&b="2"'),
    Column("代码", lambda o: o.code),
    Column("数量", lambda o: o.qty, numeric=True),
    Column("完成", lambda o: o.done),
    Column("空", lambda o: o.empty),
    Column("长", lambda o: o.long),
    Column("日期", lambda o: dt.date(2025, 8, 31)),
]


def test_cells_are_escaped_with_the_template_classes():
    row = row_html(COLUMNS, Obj())
    assert row[1:5] == ["A&B", "12", "是", "—"]
    assert row.html == (
        '<td class=""><a href="/x/?a=1&amp;b=&quot;2&quot;">'
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</a></td>"
        '<td class="text-nowrap">A&amp;B</td>'
        '<td class="num text-nowrap">12</td>'
        '<td class="text-nowrap">是</td>'
        '<td class="text-nowrap">—</td>'
        f'<td class="">{"很长的名称" * 5}</td>'
        '<td class="text-nowrap">2025-08-31</td>'
    )


def test_a_row_is_safe_html_for_the_template():
    from django.template import Context, Template

    html = Template("<tr>{{ row }}</tr>").render(Context({"row": row_html(COLUMNS[1:2], Obj())}))
    assert html == '<tr><td class="text-nowrap">A&amp;B</td></tr>'
