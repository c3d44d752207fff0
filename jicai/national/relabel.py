"""A province's export copied as another province (for bench/national.py's K provinces and the tests of
provinces whose ids coincide): every column that carries the province code or the region path is rewritten —
regions.code, regions.path, the province's name (so rankings tell the copies apart) and institutions.code
(letters + region code + serial). Ids stay as they are: they are per province, so the copy's ids are the
source's, as two provinces' databases would have."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def _relabel_column(table: pa.Table, name: str, pattern: str, replacement: str) -> pa.Table:
    column = pc.replace_substring_regex(table.column(name), pattern=pattern, replacement=replacement)
    return table.set_column(table.schema.get_field_index(name), table.schema.field(name), column)


def relabel(source: Path, target: Path, old: str, new: str) -> None:
    """Copy province folder `source` (code `old`) to `target` as province `new`: the same two-digit prefix
    is swapped in every region code, path segment and institution code; the province's name gets the code.
    Files are copied, not linked (K provinces are K times the bytes, as real provinces would be)."""
    tmp = target.with_name(f".{target.name}-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    a, b = old[:2], new[:2]
    for path in sorted(source.glob("*.parquet")):
        if path.name == "regions.parquet":
            table = pq.read_table(path)
            table = _relabel_column(table, "code", f"^{a}", b)
            table = _relabel_column(table, "path", f"(^|/){a}", rf"\1{b}")
            names = [
                f"{n}（{new}）" if code == new else n
                for n, code in zip(
                    table.column("name").to_pylist(), table.column("code").to_pylist(), strict=True
                )
            ]
            table = table.set_column(
                table.schema.get_field_index("name"), table.schema.field("name"), pa.array(names, pa.string())
            )
            bad = [c for c in table.column("code").to_pylist() if not c.startswith(b)]
            if bad or new not in table.column("code").to_pylist():
                raise ValueError(f"{path}: region codes not all under {old}: {bad[:5]}")
            pq.write_table(table, tmp / path.name, compression="zstd")
        elif path.name == "institutions.parquet":
            table = _relabel_column(pq.read_table(path), "code", f"^([A-Z]*){a}", rf"\1{b}")
            pq.write_table(table, tmp / path.name, compression="zstd")
        else:
            shutil.copyfile(path, tmp / path.name)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
