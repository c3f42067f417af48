"""``alerts.backtest``: CSV in, one alert flag per row out, causal by construction."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from alerts.backtest import backtest_csv, infer_bucket_minutes, parse_timestamp

START = datetime(2024, 5, 6, tzinfo=UTC)


def write_series(path, minutes=5, days=6, seed=11, spikes=((4.5, 12, 6.0),)):
    """Seasonal negative-binomial counts with (day, buckets, factor) bursts mixed in."""
    rng = np.random.default_rng(seed)
    per_day = 1440 // minutes
    n = days * per_day
    hours = (np.arange(n) * minutes / 60) % 24
    rate = 6.0 * (1 + 0.7 * np.sin((hours - 10) / 24 * 2 * np.pi))
    for day, length, factor in spikes:
        i = int(day * per_day)
        rate[i : i + length] *= factor
    counts = rng.poisson(rng.gamma(20.0, rate / 20.0))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "value"])
        for i, c in enumerate(counts):
            # NAB writes naive timestamps; they are read as UTC.
            w.writerow([(START + timedelta(minutes=i * minutes)).strftime("%Y-%m-%d %H:%M:%S"), c])
    return path


def read_alerts(path):
    with open(path, newline="") as f:
        return [(row["timestamp"], int(row["alert"])) for row in csv.DictReader(f)]


def test_writes_one_flag_per_row_and_finds_the_burst(tmp_path):
    src = write_series(tmp_path / "s.csv")
    out = tmp_path / "out.csv"
    summary = backtest_csv(src, out)
    rows = read_alerts(out)
    with open(src) as f:
        inputs = [row["timestamp"] for row in csv.DictReader(f)]
    assert [t for t, _ in rows] == inputs
    assert summary.rows == len(inputs) and summary.bucket_minutes == 5
    fired = [i for i, (_, a) in enumerate(rows) if a]
    burst = int(4.5 * 288)
    assert any(burst <= i < burst + 12 for i in fired)
    assert summary.alerts == len(fired) and 1 <= summary.incidents <= summary.alerts


def test_prefix_alerts_equal_the_start_of_full_alerts(tmp_path):
    src = write_series(tmp_path / "s.csv", spikes=((2.2, 6, 10.0), (3.5, 30, 3.0), (5.1, 12, 8.0)))
    full_out = tmp_path / "full.csv"
    backtest_csv(src, full_out)
    full = read_alerts(full_out)
    assert sum(a for _, a in full) >= 2
    with open(src) as f:
        lines = f.read().splitlines()
    for cut in (300, 640, 1013, 1200, len(lines) - 2):
        part = tmp_path / f"part{cut}.csv"
        part.write_text("\n".join(lines[: cut + 1]) + "\n")
        out = tmp_path / f"out{cut}.csv"
        backtest_csv(part, out)
        assert read_alerts(out) == full[:cut]


def test_bucket_size_is_inferred(tmp_path):
    src = write_series(tmp_path / "s.csv", minutes=15, days=8, spikes=((6.5, 4, 8.0),))
    summary = backtest_csv(src, tmp_path / "out.csv")
    assert summary.bucket_minutes == 15
    times = [parse_timestamp("2024-01-01 00:00"), parse_timestamp("2024-01-01 01:00")]
    times.append(parse_timestamp("2024-01-01T01:10:00+00:00"))
    times.append(parse_timestamp("2024-01-01T01:20:00Z"))
    assert infer_bucket_minutes(times) == 10


def test_bad_input_is_reported_with_its_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2024-01-01 00:00:00,3\n2024-01-01 00:05:00,x\n")
    with pytest.raises(ValueError, match=":3:"):
        backtest_csv(bad, tmp_path / "out.csv")
    unordered = tmp_path / "unordered.csv"
    unordered.write_text("timestamp,value\n2024-01-01 00:05:00,3\n2024-01-01 00:00:00,3\n")
    with pytest.raises(ValueError, match="increase"):
        backtest_csv(unordered, tmp_path / "out.csv")
    columns = tmp_path / "columns.csv"
    columns.write_text("time,count\n2024-01-01 00:00:00,3\n")
    with pytest.raises(ValueError, match="missing column"):
        backtest_csv(columns, tmp_path / "out.csv")
