"""The negative-volume spike rule: feeds each topic's negative-mention counts per bucket to the
online :class:`alerts.detectors.negative_spike.SpikeDetector` and turns its decisions into
signals.

The detector's state is stored per (topic, rule) between passes, so a pass only feeds the buckets
completed since the last one (a new topic replays ``history_days`` first). Only complete buckets
are fed: the bucket containing ``now`` is still filling.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.rules import Rule
from alerts.severity import SEVERITIES
from alerts.signals import Signal
from storage import aggregates, incidents
from storage.db import Store


def floor_time(moment: datetime, minutes: int) -> datetime:
    width = minutes * 60
    return datetime.fromtimestamp(int(moment.timestamp()) // width * width, UTC)


def make_detector(rule: Rule, bucket_minutes: int):
    from alerts.detectors.negative_spike import SpikeDetector, SpikeSettings

    return SpikeDetector(SpikeSettings(bucket_minutes=bucket_minutes, **rule.options.detector))


def evaluate_spikes(
    store: Store,
    rule: Rule,
    topics: list[str],
    now: datetime,
    bucket_minutes: int,
    language: str = "zh",
    late_arrival: timedelta = aggregates.LATE_ARRIVAL,
) -> list[Signal]:
    detector = make_detector(rule, bucket_minutes)
    width = timedelta(minutes=bucket_minutes)
    end = floor_time(now, bucket_minutes)  # buckets starting before this are complete
    history = timedelta(days=rule.options.history_days)
    # A state saved by another version of the detector (or settings with other windows) is
    # dropped: the topic replays its history into a fresh one.
    saved = {
        topic: (last, state)
        for topic, (last, state) in incidents.load_detector_states(store, rule.name).items()
        if detector.accepts(state)
    }
    # A new topic replays its history, but from its first mention only: zeros before the topic
    # existed would teach the detector a silence its real volume then looks like a spike to.
    fresh = [t for t in topics if t not in saved or saved[t][0] is None]
    first = aggregates.first_matches(store, fresh) if fresh else {}
    starts = {}
    for topic in topics:
        last, _ = saved.get(topic, (None, None))
        if last is not None:
            starts[topic] = last + width
        elif topic in first:
            starts[topic] = max(end - history, floor_time(first[topic], bucket_minutes))
        else:
            starts[topic] = end  # nothing to learn from yet
    pending = [t for t in topics if starts[t] < end]
    if not pending:
        return []
    counts = aggregates.bucket_counts(
        store,
        min(starts[t] for t in pending),
        end,
        bucket_minutes,
        topics=pending,
        late_arrival=late_arrival,
    )
    signals, updated = [], {}
    for topic in pending:
        state = saved[topic][1] if topic in saved else detector.initial_state()
        buckets = counts.get(topic, {})
        moment, decisions = starts[topic], []
        while moment < end:
            decision, state = detector.update(state, moment, buckets.get(moment, (0, 0))[1])
            decisions.append(decision)
            moment += width
        updated[topic] = (end - width, state)
        last = decisions[-1]
        if not last.in_alarm:
            continue
        # The alarm episode's peak within this pass decides the severity.
        level = max([d.level for d in decisions if d.in_alarm] + [1])
        severity = SEVERITIES[min(level, 3) - 1]
        window = max(last.run_minutes, bucket_minutes)
        if language == "zh":
            detail = (
                f"负面声量激增：近{window}分钟 {last.observed:.0f} 条，预期 {last.expected:.1f} 条"
            )
        else:
            detail = (
                f"negative volume spike: {last.observed:.0f} in the last {window} min, "
                f"expected {last.expected:.1f}"
            )
        signals.append(
            Signal(
                topic=topic,
                rule=rule.name,
                kind="negative_spike",
                severity=severity,
                detail=detail,
                observed=round(last.observed, 1),
                expected=round(last.expected, 2),
                window_minutes=window,
            )
        )
    incidents.save_detector_states(store, rule.name, updated, now)
    return signals
