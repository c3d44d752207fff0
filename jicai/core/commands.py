"""Pieces every `jicai` report command shares: the --as-of date and the plain-text table of --format table."""

import datetime as dt

from django.core.management.base import CommandError


def parse_as_of(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of 应为 YYYY-MM-DD，实际为“{text}”") from None


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def write_table(stdout, columns, rows: list[dict]) -> None:
    """Rows as left-aligned columns under a header of the column names."""
    cells = [{c: cell(r[c]) for c in columns} for r in rows]
    widths = {c: max([len(c), *(len(r[c]) for r in cells)]) for c in columns}
    stdout.write("  ".join(c.ljust(widths[c]) for c in columns))
    for r in cells:
        stdout.write("  ".join(r[c].ljust(widths[c]) for c in columns))
