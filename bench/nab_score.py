"""NAB scoring of binary alerts, written from the rules NAB publishes (numenta/NAB, nab/sweeper.py).

Per file, with n rows and the standard profile (TP 1.0, FP 0.11, FN 1.0):

- the first min(floor(0.15 n), 0.15 * 5000) rows are probationary and not scored at all;
- a row inside a window at index i, for a window spanning rows [l, r], is worth
  sigma(-(r - i + 1) / (r - l + 1)) / sigma(-1) * TP, where sigma(p) = 2 / (1 + e^(5p)) - 1,
  so about 1.0 at the left edge and about 0 at the right edge; a window's score is its best
  (first) alert, or -FN when no alert falls inside it;
- an alert outside every window costs FP * sigma(d / (w - 1)) (a negative number), where d is the
  distance in rows from the right edge of the preceding window and w that window's width in rows;
  with no preceding window, or 3 widths or more after it, the full -FP;
- the raw score is the sum of both; NAB normalises over the whole corpus as
  100 * (raw - null) / (perfect - null), with null = -FN * windows (never alerting) and
  perfect = TP * windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

STANDARD_PROFILE = {"tp": 1.0, "fp": 0.11, "fn": 1.0}


def scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: 0.987 at -1 (window start), 0 at 0 (its end), -1 from 3 on."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_rows(rows: int, percent: float = 0.15) -> int:
    """Probationary rows; NAB caps the 15 % at 750 rows (15 % of 5,000)."""
    return int(min(math.floor(percent * rows), percent * 5000))


@dataclass
class FileScore:
    name: str
    raw: float
    windows: int
    detected: int
    delays_minutes: list[float] = field(default_factory=list)
    false_alarms: int = 0
    scored_days: float = 0.0
    window_scores: list[float] = field(default_factory=list)

    @property
    def null(self) -> float:
        return -STANDARD_PROFILE["fn"] * self.windows

    @property
    def perfect(self) -> float:
        return STANDARD_PROFILE["tp"] * self.windows

    @property
    def normalised(self) -> float:
        return normalise(self.raw, self.null, self.perfect)

    @property
    def false_alarms_per_day(self) -> float:
        return self.false_alarms / self.scored_days if self.scored_days else 0.0


def normalise(raw: float, null: float, perfect: float) -> float:
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0


def score_file(
    name: str,
    timestamps: list[datetime],
    alerts: list[int],
    windows: list[tuple[datetime, datetime]],
    profile: dict[str, float] = STANDARD_PROFILE,
    probation_percent: float = 0.15,
) -> FileScore:
    """Score one series; ``windows`` are (start, end) timestamps that occur in ``timestamps``."""
    index = {t: i for i, t in enumerate(timestamps)}
    spans = sorted((index[a], index[b]) for a, b in windows)
    probation = probation_rows(len(timestamps), probation_percent)
    max_tp = scaled_sigmoid(-1.0)

    best = [-profile["fn"]] * len(spans)
    first_alert: list[int | None] = [None] * len(spans)
    fp_total = 0.0
    false_alarms = 0
    span_i = 0
    prev_right = prev_width = None
    for i, alert in enumerate(alerts):
        while span_i < len(spans) and i > spans[span_i][1]:
            prev_right = spans[span_i][1]
            prev_width = spans[span_i][1] - spans[span_i][0] + 1
            span_i += 1
        inside = span_i < len(spans) and spans[span_i][0] <= i <= spans[span_i][1]
        if not alert or i < probation:
            continue
        if inside:
            left, right = spans[span_i]
            width = right - left + 1
            value = scaled_sigmoid(-(right - i + 1) / width) * profile["tp"] / max_tp
            if value > best[span_i]:
                best[span_i] = value
            if first_alert[span_i] is None:
                first_alert[span_i] = i
        else:
            position = 3.0 if prev_right is None else abs(prev_right - i) / (prev_width - 1)
            fp_total += scaled_sigmoid(position) * profile["fp"]
            false_alarms += 1

    step_minutes = (
        (timestamps[1] - timestamps[0]).total_seconds() / 60 if len(timestamps) > 1 else 0.0
    )
    delays = [
        (timestamps[j] - timestamps[spans[k][0]]).total_seconds() / 60
        for k, j in enumerate(first_alert)
        if j is not None
    ]
    return FileScore(
        name=name,
        raw=sum(best) + fp_total,
        windows=len(spans),
        detected=sum(j is not None for j in first_alert),
        delays_minutes=delays,
        false_alarms=false_alarms,
        scored_days=(len(timestamps) - probation) * step_minutes / 1440,
        window_scores=best,
    )
