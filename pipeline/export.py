"""Exporting filtered mentions to files analysts open elsewhere: CSV, XLSX, JSONL and Parquet.

Rows are streamed from the database and written as they come, so an export of a million mentions
holds one chunk in memory, not the whole set. The file appears only when complete (written next
to its final path, then renamed), so a failed export never leaves half a spreadsheet behind.
The folder must exist (a mistyped path is an error, not a new folder tree); a path the system
cannot write is an :class:`ExportError` naming it, checked before the query runs.

Spreadsheets evaluate formulas: CSV and XLSX cells pass through :func:`pipeline.output.csv_safe`,
so a post starting with ``=`` or ``@`` cannot run anything in Excel. JSONL and Parquet are data
formats for programs and keep the text exactly as stored.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from pipeline.output import csv_safe
from storage.db import Store
from storage.query import MENTION_COLUMNS, MentionFilter, iter_mentions

FORMATS = ("csv", "xlsx", "jsonl", "parquet")
COLUMNS = (*MENTION_COLUMNS, "topics")
LIST_COLUMNS = ("keywords", "topics")
XLSX_MAX_ROWS = 1_048_575  # Excel's limit, less the header row
XLSX_MAX_CELL = 32_767  # characters Excel keeps in one cell


class ExportError(Exception):
    """The export cannot be written as asked."""


def format_for(path: Path, fmt: str | None) -> str:
    """``fmt`` when given, else the one the file name ends with."""
    if fmt:
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    if suffix == "json":
        return "jsonl"
    raise ExportError(f"cannot tell the format from {path.name!r}: pass --format")


def export_mentions(
    store: Store, f: MentionFilter, path: Path, fmt: str | None = None, tz: tzinfo | None = None
) -> int:
    """Write the mentions matching ``f`` to ``path``; returns how many rows were written.

    Times are written in ``tz`` (default UTC) with their offset where the format keeps one; XLSX
    cells cannot hold an offset, so they show the wall-clock time in ``tz``.
    """
    fmt = format_for(path, fmt)
    writer = {"csv": _csv, "xlsx": _xlsx, "jsonl": _jsonl, "parquet": _parquet}[fmt]
    tz = tz or UTC
    partial = _writable(path)
    try:
        count = writer(iter_mentions(store, f, chunk=2000), partial, tz)
        os.replace(partial, path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {_reason(exc)}") from None
    finally:
        _discard(partial)
    return count


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _discard(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # nothing was created under a name the system refuses


def _writable(path: Path) -> Path:
    """A new empty temporary file beside ``path``, once ``path`` itself is known to be
    creatable: a missing folder, a folder in its place, a name too long, a read-only folder
    or a missing permission is found before the query runs, not after a million rows."""
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: folder {folder} does not exist")
    try:
        if path.is_dir():
            raise ExportError(f"cannot write {path}: it is a folder")
        if not path.exists():
            path.open("wb").close()
            path.unlink()
        # A short unique name (the final one may already be as long as the system allows),
        # created as an ordinary file so the export gets the usual permissions.
        partial = folder / f".yuqing-export-{uuid.uuid4().hex[:16]}.partial"
        partial.open("xb").close()
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {_reason(exc)}") from None
    return partial


def _text_cell(value: Any, tz: tzinfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat(timespec="seconds")
    if isinstance(value, list):
        return "|".join(value)
    return value


def _csv(rows: Iterable[dict[str, Any]], path: Path, tz: tzinfo) -> int:
    count = 0
    # utf-8-sig writes the BOM that makes Excel read the file as UTF-8 instead of GBK.
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([csv_safe(_text_cell(row.get(c), tz)) for c in COLUMNS])
            count += 1
    return count


def _xlsx(rows: Iterable[dict[str, Any]], path: Path, tz: tzinfo) -> int:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(tz).replace(tzinfo=None)
        if isinstance(value, list):
            value = "|".join(value)
        if isinstance(value, str):
            # Control characters make openpyxl refuse the whole file; they carry no meaning.
            value = csv_safe(ILLEGAL_CHARACTERS_RE.sub("", value))[:XLSX_MAX_CELL]
        return value

    book = Workbook(write_only=True)
    sheet = book.create_sheet("mentions")
    sheet.append(list(COLUMNS))
    count = 0
    for row in rows:
        if count == XLSX_MAX_ROWS:
            sheet.close()  # ends its XML stream, which would complain when garbage-collected
            raise ExportError(
                f"more than {XLSX_MAX_ROWS:,} mentions do not fit in one Excel sheet: "
                "narrow the filter or export CSV or Parquet"
            )
        sheet.append([cell(row.get(c)) for c in COLUMNS])
        count += 1
    book.save(path)
    return count


def _jsonl(rows: Iterable[dict[str, Any]], path: Path, tz: tzinfo) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            data = {
                c: v.astimezone(tz).isoformat() if isinstance(v := row.get(c), datetime) else v
                for c in COLUMNS
            }
            out.write(json.dumps(data, ensure_ascii=False) + "\n")
            count += 1
    return count


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def parquet_schema(tz: tzinfo):
    import pyarrow as pa

    zone = getattr(tz, "key", None) or "UTC"
    types = {
        "id": pa.int64(),
        "author_followers": pa.int64(),
        "author_verified": pa.bool_(),
        "published_at": pa.timestamp("us", tz=zone),
        "crawled_at": pa.timestamp("us", tz=zone),
        "reposts": pa.int64(),
        "comments": pa.int64(),
        "likes": pa.int64(),
        "sentiment_score": pa.float64(),
        "keywords": pa.list_(pa.string()),
        "topics": pa.list_(pa.string()),
    }
    return pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])


def _parquet(rows: Iterable[dict[str, Any]], path: Path, tz: tzinfo) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema(tz)
    count = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in _batches(rows, 50_000):
            columns = {c: [r.get(c) for r in batch] for c in COLUMNS}
            writer.write_table(pa.table(columns, schema=schema))
            count += len(batch)
    return count
