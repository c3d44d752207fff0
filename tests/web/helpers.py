"""Helpers shared by the page tests of web, registry, batches and accounts."""

import io
import json
import re

import openpyxl

from jicai.registry.models import Consortium

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)


def html(response) -> str:
    return response.content.decode()


def assert_csp_clean(response):
    """Strict CSP pages: header present, no inline script, no style attribute."""
    assert "script-src 'self'" in response["Content-Security-Policy"]
    body = html(response)
    assert not INLINE_SCRIPT.search(body), INLINE_SCRIPT.search(body).group(0)
    assert " style=" not in body


def json_script(response, element_id: str):
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html(response), re.S
    )
    assert match, f"json_script #{element_id} missing"
    return json.loads(match.group(1))


def table_rows(response, testid: str = "list-table") -> list[list[str]]:
    """Text of each body row of the table with data-testid=testid (tags stripped)."""
    body = html(response)
    table = re.search(rf'data-testid="{testid}".*?<tbody>(.*?)</tbody>', body, re.S)
    assert table, f"table {testid} missing"
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)
        rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return rows


def xlsx_rows(response) -> list[tuple]:
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    content = b"".join(response.streaming_content)
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(r) for r in wb.active.iter_rows(values_only=True)]


def make_consortium(world):
    """The hospital leads a consortium with the community clinic as member."""
    c = Consortium.objects.create(code=world.hospital.code, name="环翠区医共体", lead=world.hospital)
    for inst in (world.hospital, world.clinic):
        inst.consortium = c
        inst.save(update_fields=["consortium"])
    return c
