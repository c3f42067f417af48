"""Dates as Chinese sites print them, read without any locale: Weibo's ``created_at`` in all its
forms, forum dates, ``YYYY年MM月DD日 HH:MM`` news dates. Times without an offset are Beijing time.

Relative forms (刚刚, 5分钟前, 昨天 12:30) need "now"; callers pass it so tests are deterministic.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

# strptime's %a/%b follow the process locale; these names never change.
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_TWITTER_STYLE = re.compile(
    r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) "
    r"([+-])(\d{2})(\d{2}) (\d{4})$"
)
_MINUTES_AGO = re.compile(r"^(\d+)\s*分钟前$")
_HOURS_AGO = re.compile(r"^(\d+)\s*小时前$")
_SECONDS_AGO = re.compile(r"^(\d+)\s*秒前$")
_DAYS_AGO = re.compile(r"^(\d+)\s*天前$")
_DAY_TIME = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})$")
# 2023-12-23, 2023-12-23 17:12, 2023/12/23 17:12:54, 2023年12月23日 17时12分, 2023.12.23
_FULL_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?"
)
# 12-23, 12-23 17:12, 12月23日 (this year)
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-月]\s*(\d{1,2})\s*日?(?:\s+(\d{1,2}):(\d{2}))?$")
_TIME_ONLY = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_OFFSETS = {"今天": 0, "昨天": 1, "前天": 2}


def parse_weibo_time(text: str, now: datetime) -> datetime:
    """Any ``created_at`` form m.weibo.cn uses, as an aware datetime. Raises ValueError."""
    value = (text or "").strip()
    match = _TWITTER_STYLE.match(value)
    if match:
        mon, day, hh, mm, ss, sign, oh, om, year = match.groups()
        if mon not in _MONTHS:
            raise ValueError(f"unknown month in {text!r}")
        offset = timedelta(hours=int(oh), minutes=int(om)) * (1 if sign == "+" else -1)
        return datetime(
            int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss), tzinfo=timezone(offset)
        )
    return parse_chinese_time(value, now)


def parse_chinese_time(text: str, now: datetime) -> datetime:
    """Absolute or relative Chinese date text, read in Beijing time. Raises ValueError."""
    value = " ".join((text or "").split())
    local_now = now.astimezone(BEIJING)
    if value in ("刚刚", "刚才"):
        return local_now
    for pattern, unit in (
        (_SECONDS_AGO, "seconds"),
        (_MINUTES_AGO, "minutes"),
        (_HOURS_AGO, "hours"),
        (_DAYS_AGO, "days"),
    ):
        match = pattern.match(value)
        if match:
            return local_now - timedelta(**{unit: int(match.group(1))})
    match = _DAY_TIME.match(value)
    if match:
        day = local_now - timedelta(days=_DAY_OFFSETS[match.group(1)])
        return day.replace(
            hour=int(match.group(2)), minute=int(match.group(3)), second=0, microsecond=0
        )
    match = _TIME_ONLY.match(value)
    if match:  # forum lists print only the time for today's posts
        return local_now.replace(
            hour=int(match.group(1)), minute=int(match.group(2)), second=0, microsecond=0
        )
    match = _MONTH_DAY.match(value)
    if match:
        month, day, hh, mm = match.groups()
        found = datetime(
            local_now.year, int(month), int(day), int(hh or 0), int(mm or 0), tzinfo=BEIJING
        )
        # "12-31" read on 1 January is last year's.
        return (
            found
            if found <= local_now + timedelta(days=1)
            else found.replace(year=local_now.year - 1)
        )
    match = _FULL_DATE.search(value)
    if match:
        return _from_full_date(match)
    raise ValueError(f"unrecognised date {text!r}")


def find_chinese_date(text: str) -> datetime | None:
    """The first full date (with year) anywhere in ``text``, or None."""
    match = _FULL_DATE.search(text or "")
    if not match:
        return None
    try:
        return _from_full_date(match)
    except ValueError:
        return None


def _from_full_date(match: re.Match) -> datetime:
    year, month, day, hh, mm, ss = (int(g) if g else 0 for g in match.groups())
    return datetime(year, month, day, hh, mm, ss, tzinfo=BEIJING)
