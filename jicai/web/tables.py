"""List pages: search box, filters, 50-row pagination that keeps the filters, and XLSX export of the whole
filtered list. A page is described once by its columns; the HTML table and the spreadsheet both use them."""

import datetime as dt
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import xlsxwriter
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import escape
from django.utils.safestring import mark_safe

from jicai.core.counts import capped_count, count_label

PAGE_SIZE = 50
# Rows per export chunk: each chunk gets its per-page inputs (see `prepare`) in a fixed number of queries.
EXPORT_CHUNK = 2000


class CappedPaginator(Paginator):
    """A Paginator whose count stops at COUNT_CAP (see jicai.core.counts): the pages reach the first
    COUNT_CAP rows (jicai.core.counts), and the page says there are more (`count_exact`, `count_label` "10,000+"); the XLSX
    export still has every row."""

    @cached_property
    def _capped(self) -> tuple[int, bool]:
        if hasattr(self.object_list, "order_by"):
            return capped_count(self.object_list)
        return len(self.object_list), True

    @cached_property
    def count(self) -> int:
        return self._capped[0]

    @property
    def count_exact(self) -> bool:
        return self._capped[1]

    @property
    def count_label(self) -> str:
        return count_label(*self._capped)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    link: Callable[[Any], str | None] | None = None
    numeric: bool = False
    width: int = 14


@dataclass(frozen=True)
class Filter:
    """A GET parameter of a list page. No choices → a free-text box."""

    name: str
    label: str
    choices: Sequence[tuple[str, str]] = ()
    placeholder: str = ""


@dataclass
class ListPage:
    title: str
    columns: Sequence[Column]
    filters: Sequence[Filter] = ()
    search_placeholder: str = "代码或名称"
    export_name: str = ""
    # Called with each page (and each export chunk) of objects before rendering: loads whatever the columns
    # need for those rows in a fixed number of queries, so the query count does not grow with the rows.
    prepare: Callable[[list], None] | None = None
    template: str = "web/list.html"
    context: dict = field(default_factory=dict)


def filter_values(
    request: HttpRequest, filters: Sequence[Filter], defaults: dict | None = None
) -> dict[str, str]:
    """Current value of q and each filter. A default applies only when the parameter is absent, so a user can
    still clear it (e.g. a bureau's province default on winner lists)."""
    defaults = defaults or {}
    names = ["q", *[f.name for f in filters]]
    values = {}
    for name in names:
        if name in request.GET:
            values[name] = request.GET.get(name, "").strip()
        else:
            values[name] = defaults.get(name, "")
    return values


def display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return (
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(value) else str(value)
        )
    return str(value)


def _cell_html(text: str, url: str | None, numeric: bool) -> str:
    classes = ("num " if numeric else "") + ("text-nowrap" if len(text) <= 20 else "")
    inner = f'<a href="{escape(url)}">{escape(text)}</a>' if url else escape(text)
    return f'<td class="{classes}">{inner}</td>'


class TableRow(list):
    """One table row: the list of its cell texts (what tests and callers read) that renders in a template
    as the row's cells in HTML."""

    def __init__(self, texts: list[str], html: str):
        super().__init__(texts)
        self.html = html

    def __html__(self) -> str:
        return self.html

    __str__ = __html__


def row_html(columns: Sequence[Column], obj) -> TableRow:
    """One table row's cells as HTML, every value escaped. Built here rather than in the template: a
    page of 50 rows × 10 columns was 500 loops of template tags, most of the page's CPU time."""
    texts = [display(col.value(obj)) for col in columns]
    cells = (
        _cell_html(text, col.link(obj) if col.link else None, col.numeric)
        for text, col in zip(texts, columns, strict=True)
    )
    return TableRow(texts, mark_safe("".join(cells)))  # noqa: S308 — every text and URL is escaped


def _chunks(iterator: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for obj in iterator:
        chunk.append(obj)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def render_list(request: HttpRequest, page: ListPage, queryset, values: dict[str, str]):
    if request.GET.get("export") == "xlsx":
        return xlsx_response(page.export_name or page.title, page.columns, queryset, page.prepare)
    paginator = CappedPaginator(queryset, PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    objects = list(current.object_list)
    if page.prepare:
        page.prepare(objects)
    rows = [row_html(page.columns, obj) for obj in objects]
    kept = {k: v for k, v in values.items() if v or k in request.GET}
    querystring = urlencode(kept)
    filters = [
        {
            "name": f.name,
            "label": f.label,
            "choices": f.choices,
            "value": values.get(f.name, ""),
            "placeholder": f.placeholder,
        }
        for f in page.filters
    ]
    context = {
        "title": page.title,
        "columns": page.columns,
        "rows": rows,
        "page_obj": current,
        "paginator": paginator,
        "page_range": paginator.get_elided_page_range(current.number, on_each_side=2, on_ends=1),
        "querystring": querystring,
        "q": values.get("q", ""),
        "search_placeholder": page.search_placeholder,
        "filters": filters,
        "export_query": urlencode({**kept, "export": "xlsx"}),
        **page.context,
    }
    return render(request, page.template, context)


def export_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def write_xlsx(
    target, columns: Sequence[Column], objects: Iterable, prepare=None, sheet: str = "数据"
) -> int:
    """Write the header and one row per object; returns the number of data rows. Constant-memory mode
    flushes each row to disk, so a 100 000-row export does not hold the sheet in memory."""
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "tmpdir": tempfile.gettempdir()})
    ws = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_fmt = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    price_fmt = workbook.add_format({"num_format": "0.0000"})
    for c, col in enumerate(columns):
        ws.set_column(c, c, col.width)
        ws.write_string(0, c, col.header, bold)
    ws.freeze_panes(1, 0)
    row = 0
    chunks = _chunks(iter(objects), EXPORT_CHUNK)
    for chunk in chunks:
        if prepare:
            prepare(chunk)
        for obj in chunk:
            row += 1
            for c, col in enumerate(columns):
                value = export_value(col.value(obj))
                if value is None or value == "":
                    ws.write_blank(row, c, None)
                elif isinstance(value, Decimal):
                    # Spreadsheet cells are binary floats; the 4-decimal format shows the exact yuan price.
                    ws.write_number(row, c, float(value), price_fmt)
                elif isinstance(value, int | float):
                    ws.write_number(row, c, value)
                elif isinstance(value, dt.datetime):
                    ws.write_datetime(row, c, value, datetime_fmt)
                elif isinstance(value, dt.date):
                    ws.write_datetime(row, c, dt.datetime.combine(value, dt.time()), date_fmt)
                else:
                    ws.write_string(row, c, str(value))
    workbook.close()
    return row


def xlsx_response(name: str, columns: Sequence[Column], queryset, prepare=None) -> FileResponse:
    """The whole filtered list as an XLSX download; rows are read with .iterator() (no full list in memory)."""
    tmp = tempfile.TemporaryFile(suffix=".xlsx")
    objects = queryset.iterator(chunk_size=EXPORT_CHUNK) if hasattr(queryset, "iterator") else queryset
    write_xlsx(tmp, columns, objects, prepare, sheet=name)
    tmp.seek(0)
    stamp = timezone.localdate().strftime("%Y%m%d")
    return FileResponse(
        tmp,
        as_attachment=True,
        filename=f"{name}_{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
