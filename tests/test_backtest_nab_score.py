"""The NAB scorer used by ``bench/nab_backtest.py``, on hand-made alert sequences."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from nab_score import normalise, probation_rows, scaled_sigmoid, score_file  # noqa: E402

T = [datetime(2015, 3, 1, tzinfo=UTC) + timedelta(minutes=5 * i) for i in range(2000)]
WINDOW = (T[1000], T[1099])  # rows 1000..1099, width 100


def test_curve_and_probation_follow_nab():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0 and scaled_sigmoid(3.0) == -1.0
    assert probation_rows(2000) == 300
    assert probation_rows(15_000) == 750  # 15 % capped at 15 % of 5,000


def test_window_reward_first_alert_and_normalisation():
    alerts = [0] * 2000
    alerts[1000] = alerts[1050] = 1  # left edge, then a later one that must not count
    s = score_file("x", T, alerts, [WINDOW])
    assert s.raw == pytest.approx(1.0)
    assert s.detected == 1 and s.delays_minutes == [0.0] and s.false_alarms == 0
    assert s.normalised == pytest.approx(100.0)
    assert score_file("x", T, [0] * 2000, [WINDOW]).normalised == pytest.approx(0.0)
    assert normalise(-1.0, -2.0, 2.0) == pytest.approx(25.0)


def test_false_alarms_cost_less_right_after_a_window():
    early, late, just_after, probation = ([0] * 2000 for _ in range(4))
    early[500] = late[1500] = just_after[1101] = probation[100] = 1
    assert score_file("x", T, early, [WINDOW]).raw == pytest.approx(-1.0 - 0.11)
    after = score_file("x", T, just_after, [WINDOW])
    assert after.false_alarms == 1 and -1.0 - 0.11 < after.raw < -1.0
    assert score_file("x", T, late, [WINDOW]).raw == pytest.approx(-1.11)
    assert score_file("x", T, probation, [WINDOW]).raw == pytest.approx(-1.0)
