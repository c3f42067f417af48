"""Parsing the times users type on the command line: ``24h``, ``7d``, ``2026-11-20``, ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_RELATIVE = re.compile(r"^(\d+)\s*(m|min|h|d|w)$", re.I)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time_arg(text: str, tz: tzinfo, now: datetime | None = None) -> datetime:
    """An aware datetime: ``30m``/``24h``/``7d``/``2w`` ago, or a date/time (naive: in ``tz``)."""
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use 30m, 24h, 7d, 2w, 2026-11-20 or 2026-11-20T08:00+08:00"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed
