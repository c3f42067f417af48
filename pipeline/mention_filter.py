"""The mention filter options every listing command shares (``yuqing mentions``, ``stats``,
``export``), and turning their values into a :class:`storage.query.MentionFilter`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from pipeline.time_args import Count, time_option_value

if TYPE_CHECKING:
    from storage.query import MentionFilter

FILTER_FIELDS = (
    "topic",
    "platform",
    "sentiment",
    "since",
    "until",
    "contains",
    "search",
    "cause",
    "min_engagement",
)


def filter_options(func: Callable) -> Callable:
    """The mention filter options, as click options (added in this order)."""
    options = [
        click.option("--topic", help="Only mentions matched to this topic."),
        click.option("--platform", help="weibo, tieba, discuz, news, ..."),
        click.option(
            "--sentiment",
            type=click.Choice(["negative", "neutral", "positive"]),
            help="Sentiment label.",
        ),
        click.option(
            "--since", metavar="TIME", help="Published at or after: 24h, 7d, 2026-11-20, ISO 8601."
        ),
        click.option("--until", metavar="TIME", help="Published before (same forms as --since)."),
        click.option("--contains", help="Text or title contains this string."),
        click.option(
            "--search",
            metavar="QUERY",
            help='Full-text search: words, "phrases", AND, OR, NOT, parentheses.',
        ),
        click.option("--cause", help="Complaint cause, e.g. 产品质量."),
        click.option(
            "--min-engagement",
            type=Count(),
            help="At least this many reposts + comments + likes.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_filter(app, values: dict, limit: int | None = None) -> MentionFilter:
    """A :class:`MentionFilter` from the options' values; bad times or queries are usage errors."""
    # Imported here: storage.query loads SQLAlchemy, which the options themselves (and --help)
    # do not need.
    from storage.query import MentionFilter

    tz = app.config.tz
    kwargs = {k: values[k] for k in FILTER_FIELDS}
    for name in ("since", "until"):
        kwargs[name] = time_option_value(kwargs[name], tz, f"--{name}")
    try:
        return MentionFilter(**kwargs, limit=limit)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--search") from None
