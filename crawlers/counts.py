"""Engagement counts as Chinese sites print them: 12, "1.2万", "100万+", "3亿", "1,234"."""

from __future__ import annotations

import re

_UNITS = {"": 1, "千": 1_000, "万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}
_COUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*([千万wW亿]?)\+?$")
# Weibo shows the action's name instead of a number when the count is zero.
_ZERO_WORDS = frozenset({"", "转发", "评论", "赞", "点赞", "回复"})


def parse_count(value) -> int:
    """A count as an int; ``100万+`` is read as its lower bound. Raises ValueError on garbage."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"not a count: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip().replace(",", "")
    if text in _ZERO_WORDS:
        return 0
    match = _COUNT.match(text)
    if not match:
        raise ValueError(f"not a count: {value!r}")
    number, unit = match.groups()
    # round(): 1.2 * 10000 is 11999.999... in binary floating point.
    return int(round(float(number) * _UNITS[unit]))
