"""The one parser of the times, numbers and text people type, for the CLI and the web API alike.

Times: ``30m``/``24h``/``7d``/``2w`` ago, a date (``2026-11-20``) or ISO 8601; naive ones are in
the config's zone. Numbers: counts, limits and ids, whole and within a 64-bit signed integer
(what SQLite's INTEGER and PostgreSQL's bigint hold). Both raise :class:`ValueError` with a
one-line message that names no parameter: the CLI wraps it as a usage error (exit 2), the web
as HTTP 400. :class:`Count` and :func:`time_option_value` are the CLI's side of them.

Text (search words, topic names, notes): no NUL character, which PostgreSQL text cannot hold,
and no lone surrogate, which is what Python makes of bytes that are not UTF-8 in a command-line
argument and what a JSON ``"\ud800"`` decodes to; neither can be stored or encoded.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

import click

INT64_MAX = 2**63 - 1
# Every time must sit well inside what datetime, both databases and a report's period
# arithmetic (a week before the end) can hold; no mention predates 1900 or follows 2999.
FIRST_YEAR, LAST_YEAR = 1900, 2999
# The same bounds as instants, a day wider so that 1900-01-01 in any zone passes.
EARLIEST = datetime(FIRST_YEAR - 1, 12, 31, tzinfo=UTC)
LATEST = datetime(LAST_YEAR + 1, 1, 2, tzinfo=UTC)

_RELATIVE = re.compile(r"^(\d{1,12})\s*(m|min|h|d|w)$", re.I)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_FORMS = "use 30m, 24h, 7d, 2w, 2026-11-20 or 2026-11-20T08:00+08:00"


def _out_of_range(text: str) -> ValueError:
    return ValueError(
        f"{text!r} is out of range: use a time from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31"
    )


def _in_range(moment: datetime, text: str) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise _out_of_range(text)
    return moment


def parse_time_arg(text: str, tz: tzinfo, now: datetime | None = None) -> datetime:
    """An aware datetime: ``30m``/``24h``/``7d``/``2w`` ago, or a date/time (naive: in ``tz``)."""
    text = str(text).strip()
    if len(text) > 64:
        raise ValueError(f"{text[:20]!r}... is not a time: {_FORMS}")
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        try:
            moment = (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
        except OverflowError:  # 99999999999w: more weeks than a timedelta holds
            moment = EARLIEST - timedelta(days=1)
        return _in_range(moment, text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time: {_FORMS}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    # 0001-01-01 in a zone east of UTC is before year 1 in UTC: check before converting.
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise _out_of_range(text)
    return _in_range(parsed, text)


def check_text(value: str) -> str:
    """``value`` unchanged, or a ValueError when it holds a NUL or a lone surrogate."""
    if "\x00" in value:
        raise ValueError("holds a NUL character")
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("is not valid UTF-8 text")
    return value


def parse_count(value: object, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """A whole number from ``minimum`` to ``maximum`` (at most a 64-bit signed integer)."""
    text = str(value).strip()
    # Digits only (an optional sign): no "1e3", "0x10", "1_000" or full-width digits,
    # and no 4,300-digit string for int() to chew on.
    if not re.fullmatch(r"[+-]?[0-9]{1,20}", text):
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise ValueError(f"{shown!r} is not a whole number")
    number = int(text)
    top = min(maximum, INT64_MAX)
    if not minimum <= number <= top:
        raise ValueError(f"{number} is out of range: use {minimum} to {top}")
    return number


class Count(click.ParamType):
    """A click type over :func:`parse_count`: a clear usage error instead of an overflow."""

    name = "INTEGER"

    def __init__(self, minimum: int = 0, maximum: int = INT64_MAX):
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        try:
            return parse_count(value, minimum=self.minimum, maximum=self.maximum)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def time_option_value(text: str | None, tz: tzinfo, option: str) -> datetime | None:
    """A CLI option's time in ``tz``; a bad one is a usage error naming ``option``."""
    if not text:
        return None
    try:
        return parse_time_arg(text, tz)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
