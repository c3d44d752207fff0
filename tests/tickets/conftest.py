"""Fixtures for supply tickets: attachments go to a temporary MEDIA_ROOT, "today" is a settable clock for
actions, queries and pages, and small helpers that open a ticket from the world's hospital (环翠区人民医院,
county 371002 ⊂ city 371000 ⊂ province 370000, each with a bureau) against 齐鲁制药 (main supplier of
item GY7-001 in 山东)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jicai.tickets import actions, queries

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


class Clock:
    def __init__(self, day: dt.date):
        self.day = day

    def set(self, day: dt.date) -> None:
        self.day = day


@pytest.fixture
def clock(monkeypatch):
    c = Clock(dt.date(2025, 9, 30))
    monkeypatch.setattr(actions, "today", lambda: c.day)
    monkeypatch.setattr(queries, "today", lambda: c.day)
    return c


def pdf(name="证明.pdf", data=PDF):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def open_ticket(w, on: dt.date, *, actor=None, supplier=None, **kw):
    kw.setdefault("category", "shortage")
    kw.setdefault("description", "阿托伐他汀钙断货两周")
    kw.setdefault("product", w.product)
    return actions.open_ticket(actor=actor or w.pharmacist, supplier=supplier or w.maker, on=on, **kw)


def replied_ticket(w, opened: dt.date, replied: dt.date, promise: dt.date | None = None, **kw):
    t = open_ticket(w, opened, **kw)
    return actions.reply_ticket(
        actor=w.manufacturer, ticket=t, text="已安排补货", promised_fix_date=promise, on=replied
    )
