"""``yuqing stats`` and ``yuqing export``: aggregations and file exports for analysts.

Both take the same filter options as ``yuqing mentions`` and call one library function each
(:func:`storage.stats.stats`, :func:`pipeline.export.export_mentions`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.mention_filter import build_filter, filter_options
from pipeline.output import console, terminal_safe
from pipeline.time_args import Count

if TYPE_CHECKING:
    from rich.text import Text

    from storage.stats import Stats

# The choices of --bucket and --format, spelt out here so that building the options (every
# `yuqing` start, --help included) does not import storage.stats and pipeline.export, and with
# them SQLAlchemy (issue 17). tests/test_startup_imports.py checks they match those modules'.
BUCKET_NAMES = ("hour", "day")
EXPORT_FORMATS = ("csv", "xlsx", "jsonl", "parquet")


@click.command("stats")
@filter_options
@click.option(
    "--bucket",
    type=click.Choice(BUCKET_NAMES),
    default="day",
    show_default=True,
    help="Time bucket of the volume counts (in the config's time zone).",
)
@click.option(
    "--top",
    type=Count(minimum=1, maximum=1000),
    default=10,
    show_default=True,
    help="How many authors and keywords.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    # Several sections do not fit one CSV; tabular data goes through `yuqing export`.
    help="Output format.",
)
@click.pass_obj
def stats_command(app, bucket: str, top: int, fmt: str, **values) -> None:
    """Counts by time x platform x sentiment, top authors by reach, top keywords, complaint
    causes and the near-duplicate share of the mentions matching the filter.

    \b
    Example:
        yuqing stats --topic 星澜咖啡 --since 7d
        yuqing stats --search '退款 NOT 招聘' --bucket hour --since 24h --format json
    """
    from storage.stats import stats

    f = build_filter(app, values)
    store = app.store()
    try:
        result = stats(store, f, bucket=bucket, tz=app.config.tz, top=top)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(_as_json(result), ensure_ascii=False, indent=2))
    else:
        _print_stats(result, bucket)


def _as_json(result: Stats) -> dict:
    return {
        "total": result.total,
        "near_duplicates": result.near_duplicates,
        "volume": [r | {"bucket": r["bucket"].isoformat()} for r in result.volume],
        "authors": result.authors,
        "keywords": [{"keyword": k, "mentions": n} for k, n in result.keywords],
        "causes": [{"cause": c, "mentions": n} for c, n in result.causes],
    }


def _cells(*values) -> list[Text]:
    from rich.text import Text

    # Crawled text (author names, keywords) is printed as plain Text, never as markup.
    return [Text(terminal_safe(v)) for v in values]


def _print_stats(result: Stats, bucket: str) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()
    dup = result.near_duplicates
    out.print(
        Text(
            f"{result.total} mention(s); near-duplicates {dup.get('duplicates', 0)} "
            f"({dup.get('share', 0):.1%})"
        )
    )
    shape = "%Y-%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d"
    volume = Table(title="声量 volume")
    for header in ("时间", "平台", "负面", "中性", "正面", "未评分", "合计"):
        volume.add_column(header, justify="left" if header in ("时间", "平台") else "right")
    for r in result.volume:
        volume.add_row(
            *_cells(
                r["bucket"].strftime(shape),
                r["platform"],
                r["negative"],
                r["neutral"],
                r["positive"],
                r["unscored"],
                r["total"],
            )
        )
    out.print(volume)
    authors = Table(title="作者 top authors by reach")
    for header in ("平台", "作者", "粉丝", "认证", "提及", "互动", "负面"):
        authors.add_column(header)
    for a in result.authors:
        authors.add_row(
            *_cells(
                a["platform"],
                a["author_name"] or a["author_id"],
                a["followers"] if a["followers"] is not None else "-",
                "V" if a["verified"] else "",
                a["mentions"],
                a["engagement"],
                a["negative"],
            )
        )
    out.print(authors)
    for title, pairs in (("关键词 keywords", result.keywords), ("投诉原因 causes", result.causes)):
        table = Table(title=title)
        table.add_column("")
        table.add_column("提及", justify="right")
        for name, count in pairs:
            table.add_row(*_cells(name, count))
        out.print(table)


@click.command("export")
@filter_options
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write (replaced when complete).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    help="csv (UTF-8 with BOM, for Excel), xlsx, jsonl or parquet; default: from --out's suffix.",
)
@click.option("--limit", type=Count(), default=0, show_default=True, help="0 = all.")
@click.pass_obj
def export_command(app, out_path: Path, fmt: str | None, limit: int, **values) -> None:
    """Export the mentions matching the filter, newest first, to a file.

    CSV and XLSX cells that would start a spreadsheet formula are prefixed with '.

    \b
    Example:
        yuqing export --topic 星澜咖啡 --since 30d --out 星澜.xlsx
        yuqing export --search '退款 OR 投诉' --format parquet --out complaints.parquet
    """
    from pipeline.export import ExportError, export_mentions, format_for

    f = build_filter(app, values, limit=limit or None)
    try:
        fmt = format_for(out_path, fmt)
    except ExportError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from None
    store = app.store()
    try:
        count = export_mentions(store, f, out_path, fmt, tz=app.config.tz)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"wrote {count} mention(s) to {out_path} ({fmt})", err=True)
