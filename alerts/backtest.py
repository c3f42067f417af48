"""Backtest the negative-spike detector on a recorded series: ``timestamp,value`` in, alerts out.

It drives the very :class:`~alerts.detectors.negative_spike.SpikeDetector` the live evaluation
uses, one bucket at a time in time order, so the output for any prefix of a series is the prefix
of the output for the whole series. ``yuqing alerts backtest`` is a thin wrapper over
:func:`backtest_csv`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alerts.detectors.negative_spike import SpikeDecision, SpikeDetector, SpikeSettings


@dataclass
class BacktestSummary:
    rows: int
    bucket_minutes: int
    alerts: int  # buckets where an incident opened or escalated
    incidents: int  # alerts that opened an incident (the rest escalated one)
    first: datetime | None
    last: datetime | None

    @property
    def days(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first).total_seconds() / 86400 + self.bucket_minutes / 1440


def parse_timestamp(text: str) -> datetime:
    """ISO-like text; a timestamp without a zone is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def infer_bucket_minutes(timestamps: Sequence[datetime]) -> int:
    """The most common positive spacing between consecutive timestamps, in whole minutes."""
    gaps: dict[int, int] = {}
    for a, b in zip(timestamps, timestamps[1:], strict=False):
        minutes = round((b - a).total_seconds() / 60)
        if minutes > 0:
            gaps[minutes] = gaps.get(minutes, 0) + 1
    if not gaps:
        return SpikeSettings().bucket_minutes
    return max(gaps.items(), key=lambda item: (item[1], -item[0]))[0]


def run_detector(
    timestamps: Sequence[datetime],
    values: Iterable[float],
    settings: SpikeSettings,
) -> list[SpikeDecision]:
    """One decision per row, feeding the rows in order through a fresh detector state."""
    detector = SpikeDetector(settings)
    state = detector.initial_state()
    decisions = []
    for t, value in zip(timestamps, values, strict=True):
        decision, state = detector.update(state, t, value)
        decisions.append(decision)
    return decisions


def read_series(path: str | Path) -> tuple[list[datetime], list[float]]:
    timestamps: list[datetime] = []
    values: list[float] = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"timestamp", "value"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                t = parse_timestamp(row["timestamp"])
                v = float(row["value"])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{line}: {exc}") from None
            if v < 0:
                raise ValueError(f"{path}:{line}: negative count {v:g}")
            if timestamps and t <= timestamps[-1]:
                raise ValueError(f"{path}:{line}: timestamps must increase ({row['timestamp']})")
            timestamps.append(t)
            values.append(v)
    return timestamps, values


def backtest_csv(
    in_path: str | Path,
    out_path: str | Path,
    options: dict | None = None,
) -> BacktestSummary:
    """Read ``timestamp,value`` rows, write ``timestamp,alert`` (1 where an alert fires).

    ``options`` are :class:`SpikeSettings` fields (a spike rule's ``options.detector``); the
    bucket size is inferred from the timestamps unless they give one. The output repeats each
    input timestamp as written.
    """
    timestamps, values = read_series(in_path)
    with open(in_path, newline="", encoding="utf-8") as f:
        raw_times = [row["timestamp"] for row in csv.DictReader(f)]
    options = dict(options or {})
    options.setdefault("bucket_minutes", infer_bucket_minutes(timestamps))
    settings = SpikeSettings(**options)
    decisions = run_detector(timestamps, values, settings)
    with open(out_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["timestamp", "alert"])
        for raw, d in zip(raw_times, decisions, strict=True):
            writer.writerow([raw, int(d.alarm)])
    alerts = sum(d.alarm for d in decisions)
    opened = sum(d.opened for d in decisions)
    return BacktestSummary(
        rows=len(timestamps),
        bucket_minutes=settings.bucket_minutes,
        alerts=alerts,
        incidents=opened,
        first=timestamps[0] if timestamps else None,
        last=timestamps[-1] if timestamps else None,
    )
