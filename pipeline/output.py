"""Printing rows for people and tools: ``--format table|csv|json``.

Crawled text is untrusted. Tables render it as plain ``rich.text.Text`` (never as markup, so
``[bold]`` in a post is just text) with control characters removed, so a post cannot move the
cursor, clear the screen or forge output lines.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "csv", "json")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(value: Any, *, one_line: bool = True) -> str:
    """``value`` as text with control and bidi-override characters removed."""
    text = "" if value is None else str(value)
    if one_line:
        text = text.replace("\n", " ").replace("\r", " ")
    return _CONTROL.sub("", text)


def format_option(func: Callable) -> Callable:
    """The shared ``--format`` option of every listing command."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format.",
    )(func)


def console(out: TextIO | None = None, wide: int = 160) -> Console:
    """A console for people: the terminal's width, or ``wide`` columns when piped (80 would fold
    every table into a tower)."""
    # Imported here: rich costs ~50 ms, and CSV/JSON output and most commands never need it.
    from rich.console import Console

    out = out or sys.stdout
    return Console(file=out, width=None if out.isatty() else wide)


def csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formulas: a cell starting with = + - @ (or tab/CR) is prefixed with '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _plain(value: Any, tz: tzinfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat(timespec="seconds")
    return value


def write_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    tz: tzinfo,
    *,
    title: str | None = None,
    table_columns: dict[str, Callable[[dict[str, Any]], Any]] | None = None,
    out: TextIO | None = None,
) -> None:
    """Write ``rows`` as a table (``table_columns`` maps header -> cell function), CSV or JSON."""
    out = out or sys.stdout
    if fmt == "json":
        data = [{c: _plain(r.get(c), tz) for c in columns} for r in rows]
        out.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            values = [_plain(r.get(c), tz) for c in columns]
            writer.writerow([csv_safe("|".join(v) if isinstance(v, list) else v) for v in values])
    else:
        from rich.table import Table
        from rich.text import Text

        cells = table_columns or {c: (lambda r, c=c: r.get(c)) for c in columns}
        table = Table(title=title, show_lines=False, expand=False)
        last = len(cells) - 1
        for i, header in enumerate(cells):
            # The last column is the text: give it room and let the short ones shrink first.
            table.add_column(header, overflow="fold", min_width=24 if i == last else None)
        for r in rows:
            table.add_row(*[Text(terminal_safe(_plain(fn(r), tz))) for fn in cells.values()])
        console(out, wide=200).print(table)
