"""The negative-spike detector on synthetic seasonal count series (no external data)."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from alerts.detectors.negative_spike import SpikeDecision, SpikeDetector, SpikeSettings

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
STEP = timedelta(minutes=5)


def seasonal_rate(i: int, base: float) -> float:
    """Daily cycle (quiet at night, busy in the evening in UTC+8) and quieter weekends."""
    t = START + i * STEP
    local_hour = (t.hour + t.minute / 60 + 8) % 24
    daily = 1.0 + 0.8 * math.sin((local_hour - 9) / 24 * 2 * math.pi)
    weekend = 0.7 if (t + timedelta(hours=8)).weekday() >= 5 else 1.0
    return base * daily * weekend


def series(days: float, base: float = 8.0, seed: int = 1, dispersion: float = 0.05):
    """Negative-binomial counts around the seasonal rate (gamma-Poisson mixture)."""
    rng = np.random.default_rng(seed)
    n = int(days * 288)
    rates = np.array([seasonal_rate(i, base) for i in range(n)])
    lam = rng.gamma(1 / dispersion, rates * dispersion)
    return [START + i * STEP for i in range(n)], rng.poisson(lam).astype(int).tolist()


def run(times, counts, settings=None, state=None, roundtrip=False):
    det = SpikeDetector(settings)
    state = state or det.initial_state()
    out = []
    for t, c in zip(times, counts, strict=True):
        decision, state = det.update(state, t, c)
        if roundtrip:
            state = json.loads(json.dumps(state))
        out.append(decision)
    return out, state


def test_thresholds_come_from_the_target_rate():
    h = SpikeSettings().thresholds()
    # One false alarm a week of 5-minute buckets: e^h = 2016.
    assert h[0] == pytest.approx(math.log(2016))
    assert h[0] < h[1] < h[2]
    assert SpikeSettings(bucket_minutes=60).thresholds()[0] == pytest.approx(math.log(168))


def test_settings_are_checked():
    with pytest.raises(ValueError):
        SpikeSettings(false_alarms_per_week=(0.1, 1.0, 0.01))
    with pytest.raises(ValueError):
        SpikeSettings(min_ratio=(3.0, 2.0, 5.0))
    with pytest.raises(ValueError):
        SpikeSettings(no_such_option=1)


def test_quiet_seasonal_series_rarely_alarms():
    times, counts = series(days=21)
    decisions, _ = run(times, counts)
    alarms = [d for d in decisions if d.alarm and d.opened]
    # Three weeks at a target of at most one a week.
    assert len(alarms) <= 3


def test_spike_fires_fast_with_evidence_then_clears():
    times, counts = series(days=14, seed=2)
    start = 13 * 288 + 130  # a weekday afternoon, after two weeks of history
    for i in range(start, start + 12):  # five times the usual volume for an hour
        counts[i] = int(seasonal_rate(i, 8.0) * 5) + 3
    decisions, _ = run(times, counts)
    fired = [i for i, d in enumerate(decisions) if d.alarm]
    assert fired and start <= fired[0] <= start + 3
    first = decisions[fired[0]]
    assert first.opened and first.level >= 1 and first.in_alarm
    assert first.observed > 2 * first.expected
    assert max(d.level for d in decisions[start : start + 12]) >= 2
    # Escalations only rise, and the series leaves alarm once the spike is over.
    levels = [decisions[i].level for i in fired if start <= i < start + 12]
    assert levels == sorted(levels)
    assert not decisions[-1].in_alarm


def test_alarmed_period_is_not_learned():
    times, counts = series(days=10, seed=3)
    spiked = list(counts)
    start = 9 * 288
    for i in range(start, start + 36):
        spiked[i] = counts[i] * 6 + 20
    det = SpikeDetector()
    _, clean_state = run(times[: start + 36], counts[: start + 36])
    decisions, spiked_state = run(times[: start + 36], spiked[: start + 36])
    assert any(d.in_alarm for d in decisions[start:])
    after = times[start + 36]
    clean, raised = det.expected(clean_state, after), det.expected(spiked_state, after)
    assert raised == pytest.approx(clean, rel=0.1)


def test_small_numbers_never_fire():
    settings = SpikeSettings(min_count=10)
    times = [START + i * STEP for i in range(4 * 288)]
    counts = [0] * len(times)
    for i in range(0, len(times), 37):
        counts[i] = 1
    counts[-20:-16] = [2, 2, 2, 2]  # eight mentions where ~0.1 is usual: odd, but a handful
    decisions, _ = run(times, counts, settings)
    assert not any(d.alarm for d in decisions)


def test_state_survives_json_and_matches_in_memory_run():
    times, counts = series(days=5, seed=4)
    counts[4 * 288 : 4 * 288 + 6] = [80] * 6
    plain, state = run(times, counts)
    again, state2 = run(times, counts, roundtrip=True)
    assert plain == again
    assert json.loads(json.dumps(state)) == state2


def test_missing_buckets_count_as_zero():
    times, counts = series(days=3, seed=5)
    keep = [i for i, c in enumerate(counts) if c > 0 or i % 7 == 0]
    for i in range(len(counts)):
        if i not in set(keep):
            counts[i] = 0
    full, full_state = run(times, counts)
    sparse, sparse_state = run([times[i] for i in keep], [counts[i] for i in keep])
    assert sparse_state == full_state
    assert sparse == [full[i] for i in keep]


def test_long_outage_is_skipped_not_learned():
    times, counts = series(days=4, seed=6)
    det = SpikeDetector(SpikeSettings(max_fill_hours=6))
    _, state = run(times, counts)
    level = state["level"]
    decision, state = det.update(state, times[-1] + timedelta(days=2), counts[-1])
    assert isinstance(decision, SpikeDecision)
    assert state["level"] == pytest.approx(level, rel=0.2)


def test_bucket_order_and_timezone_are_enforced():
    det = SpikeDetector()
    state = det.initial_state()
    _, state = det.update(state, START, 3)
    with pytest.raises(ValueError):
        det.update(state, START, 3)
    with pytest.raises(ValueError):
        det.update(state, START.replace(tzinfo=None) + STEP, 3)
    with pytest.raises(ValueError):
        det.update(state, START + STEP, -1)


def test_update_is_fast_enough_for_a_thousand_topics():
    times, counts = series(days=7, seed=7)
    det = SpikeDetector()
    state = det.initial_state()
    started = time.perf_counter()
    for t, c in zip(times, counts, strict=True):
        _, state = det.update(state, t, c)
    per_update = (time.perf_counter() - started) / len(times)
    assert per_update < 0.5e-3  # 1,000 topics well under a second of detector time
