"""Early-warning benchmark of the negative-spike detector: injected spikes and the NAB score.

    .venv/bin/python bench/early_warning.py                 # default settings, print the tables
    .venv/bin/python bench/early_warning.py --set trim_share=0.3 --seeds 2   # try a setting
    .venv/bin/python bench/early_warning.py --census        # also count natural bursts
    # the documented numbers (about 6 minutes on two cores):
    .venv/bin/python bench/early_warning.py --loo bench/early_warning_grid.json --seeds 2 \
        --census --write-docs

**Spike injection.** Each shared NAB realTweets series (real, bursty Twitter volume per 5-minute
bucket) is thinned binomially to the volume of a brand's negative mentions (a mean of 2 and of 10
per bucket). Two-hour spikes of 3x and 5x the level of the hour before are added at seeded random
positions: the spike adds Poisson((ratio - 1) x level) mentions to each of its 24 buckets, where
the level is the thinned expectation of the previous hour (the raw hour's mean times the thinning
rate). Spikes start after the NAB probation period, at least a day apart, and neither they nor
the two hours after them touch a labelled window. A spike is detected when an alert (an incident
opening or escalating) fires within 2 hours of its start; the delay is counted to the end of the
bucket in which it fires (the earliest moment the count is known). False alarms are alerts
outside the spikes (and the 2 hours after each) and outside labelled windows, per week of the
scored part (after the probation period).

**NAB.** The same detector on the raw series, scored by NAB's standard profile
(``bench/nab_score.py``).

**Leave one series out** (``--loo GRID.json``, a list of settings overrides): every candidate is
run on every series; for each series the candidate that scores best on the other three is the one
reported on it. The result is never an in-sample number.

The data (``../shared/data/nab``) is not part of the repository.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from machine import machine  # noqa: E402
from nab_backtest import parse_overrides, write_docs  # noqa: E402
from nab_score import normalise, score_file  # noqa: E402

from alerts.backtest import infer_bucket_minutes, parse_timestamp, read_series, run_detector  # noqa: E402
from alerts.detectors.negative_spike import SpikeDetector, SpikeSettings  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nab"
SECTION = "## Early warning: injected spikes and NAB realTweets"

MEANS = (2.0, 10.0)
RATIOS = (3.0, 5.0)
SPIKE_BUCKETS = 24  # two hours of 5-minute buckets
AFTER_BUCKETS = 24  # an alert this soon after a spike is the spike's, not a false alarm
LEVEL_BUCKETS = 12  # "the last hour's level"
MIN_GAP = 288  # spikes at least a day apart
PROBATION = 0.15


@dataclass
class CellResult:
    """Additive results of one (series, mean, ratio) cell."""

    spikes: int = 0
    detected: int = 0
    delays: list[float] = field(default_factory=list)
    false_alarms: int = 0
    weeks: float = 0.0

    def add(self, other: CellResult) -> CellResult:
        return CellResult(
            self.spikes + other.spikes,
            self.detected + other.detected,
            self.delays + other.delays,
            self.false_alarms + other.false_alarms,
            self.weeks + other.weeks,
        )


@dataclass
class SeriesResult:
    name: str
    nab_raw: float
    nab_windows: int
    nab_detected: int
    nab_false_alarms: int
    nab_days: float
    nab_delays: list[float]
    cells: dict[tuple[float, float], CellResult]


def load(data: Path) -> list[tuple[str, Path, list]]:
    labels = json.loads((data / "windows.json").read_text())
    return [(Path(key).stem, data / Path(key).name, labels[key]) for key in sorted(labels)]


def window_rows(timestamps, windows) -> list[tuple[int, int]]:
    index = {t: i for i, t in enumerate(timestamps)}
    return sorted((index[parse_timestamp(a)], index[parse_timestamp(b)]) for a, b in windows)


def place_spikes(n: int, spans, count: int, rng: np.random.Generator) -> list[int]:
    """Seeded spike starts after probation, a day apart, clear of labelled windows."""
    first = int(math.floor(PROBATION * n))
    last = n - SPIKE_BUCKETS - AFTER_BUCKETS
    blocked = np.zeros(n, dtype=bool)
    for a, b in spans:
        blocked[max(a - SPIKE_BUCKETS - AFTER_BUCKETS, 0) : b + 1] = True
    starts: list[int] = []
    for _ in range(10_000):
        if len(starts) == count:
            break
        s = int(rng.integers(first, last))
        if blocked[s] or any(abs(s - o) < MIN_GAP for o in starts):
            continue
        starts.append(s)
    if len(starts) < count:
        raise RuntimeError(f"could not place {count} spikes")
    return sorted(starts)


def inject(values, spans, mean, ratio, count, seed):
    """(thinned counts with spikes added, spike starts)."""
    rng = np.random.default_rng(seed)
    raw = np.asarray(values, dtype=np.int64)
    p = min(mean / raw.mean(), 1.0)
    counts = rng.binomial(raw, p)
    starts = place_spikes(len(raw), spans, count, rng)
    for s in starts:
        level = p * raw[max(s - LEVEL_BUCKETS, 0) : s].mean()
        counts[s : s + SPIKE_BUCKETS] += rng.poisson((ratio - 1.0) * level, SPIKE_BUCKETS)
    return counts.tolist(), starts


def score_cell(alerts: list[bool], starts, spans, step_minutes: float) -> CellResult:
    n = len(alerts)
    first = int(math.floor(PROBATION * n))
    excluded = np.zeros(n, dtype=bool)
    excluded[:first] = True
    for a, b in spans:
        excluded[a : b + 1] = True
    result = CellResult(spikes=len(starts))
    for s in starts:
        excluded[s : s + SPIKE_BUCKETS + AFTER_BUCKETS] = True
        hit = next((i for i in range(s, s + SPIKE_BUCKETS) if alerts[i]), None)
        if hit is not None:
            result.detected += 1
            result.delays.append((hit - s + 1) * step_minutes)
    result.false_alarms = int(sum(1 for i in range(n) if alerts[i] and not excluded[i]))
    result.weeks = float((~excluded).sum()) * step_minutes / (7 * 1440)
    return result


def run_series(task) -> SeriesResult:
    name, path, windows, overrides, spikes_per_series, seeds = task
    timestamps, values = read_series(path)
    step = infer_bucket_minutes(timestamps)
    settings = SpikeSettings(bucket_minutes=step, **overrides)
    spans = window_rows(timestamps, windows)

    decisions = run_detector(timestamps, values, settings)
    nab = score_file(
        name,
        timestamps,
        [int(d.alarm) for d in decisions],
        [(parse_timestamp(a), parse_timestamp(b)) for a, b in windows],
    )
    cells: dict[tuple[float, float], CellResult] = {}
    for mean in MEANS:
        for ratio in RATIOS:
            total = CellResult()
            for seed in seeds:
                # The seed mixes in the series and the cell so every run differs.
                mixed = [seed, int(mean), int(ratio), sum(map(ord, name))]
                counts, starts = inject(values, spans, mean, ratio, spikes_per_series, mixed)
                alerts = [d.alarm for d in run_detector(timestamps, counts, settings)]
                total = total.add(score_cell(alerts, starts, spans, step))
            cells[(mean, ratio)] = total
    return SeriesResult(
        name=name,
        nab_raw=nab.raw,
        nab_windows=nab.windows,
        nab_detected=nab.detected,
        nab_false_alarms=nab.false_alarms,
        nab_days=nab.scored_days,
        nab_delays=nab.delays_minutes,
        cells=cells,
    )


def census_series(task) -> dict:
    """How often the series itself, with no spike added, bursts as much as the spikes do.

    Per cell: the median over the injected spikes of observed / expected over their two hours
    (expected: the detector's own baseline, frozen at each spike's start), and the number of
    two-hour stretches a week outside spikes and labelled windows whose observed / expected is at
    least that large (declustered: stretches less than two hours apart count once).
    """
    name, path, windows, overrides, spikes_per_series, seeds = task
    timestamps, values = read_series(path)
    settings = SpikeSettings(bucket_minutes=infer_bucket_minutes(timestamps), **overrides)
    detector = SpikeDetector(settings)
    spans = window_rows(timestamps, windows)
    out = {}
    for mean in MEANS:
        for ratio in RATIOS:
            ratios, weeks = [], 0.0
            for seed in seeds:
                mixed = [seed, int(mean), int(ratio), sum(map(ord, name))]
                counts, starts = inject(values, spans, mean, ratio, spikes_per_series, mixed)
                expected, state = [], detector.initial_state()
                for t, c in zip(timestamps, counts, strict=True):
                    expected.append(detector.expected(state, t) if state["level"] else c)
                    _, state = detector.update(state, t, c)
                x = np.asarray(counts, dtype=float)
                mu = np.asarray(expected)
                for s in starts:
                    ratios.append(x[s : s + SPIKE_BUCKETS].sum() / max(mu[s] * SPIKE_BUCKETS, 1e-9))
                n = len(x)
                excluded = np.zeros(n, dtype=bool)
                excluded[: int(math.floor(PROBATION * n))] = True
                for a, b in spans:
                    excluded[max(a - SPIKE_BUCKETS, 0) : b + 1] = True
                for s in starts:
                    excluded[max(s - SPIKE_BUCKETS, 0) : s + SPIKE_BUCKETS + AFTER_BUCKETS] = True
                cx = np.concatenate([[0.0], np.cumsum(x)])
                cm = np.concatenate([[0.0], np.cumsum(mu)])
                i = np.arange(0, n - SPIKE_BUCKETS)
                stretch = (cx[i + SPIKE_BUCKETS] - cx[i]) / np.maximum(
                    cm[i + SPIKE_BUCKETS] - cm[i], 1e-9
                )
                out.setdefault((mean, ratio), []).append((stretch, excluded[i], ratios))
                weeks += float((~excluded).sum()) * settings.bucket_minutes / (7 * 1440)
            out[(mean, ratio)] = (out[(mean, ratio)], weeks)
    return {"name": name, "cells": out}


def census_table(results: list[dict]) -> str:
    lines = [
        "| mean per bucket | spike | median spike observed / expected "
        "| natural 2-hour bursts at least as large, per week |",
        "|---:|---:|---:|---:|",
    ]
    for key in cells_keys():
        ratios = [r for res in results for parts in res["cells"][key][0] for r in parts[2]]
        median = float(np.median(ratios))
        found, weeks = 0, 0.0
        for res in results:
            parts, w = res["cells"][key]
            weeks += w
            for stretch, excluded, _ in parts:
                hits = np.flatnonzero((stretch >= median) & ~excluded)
                last = -(10**9)
                for h in hits:
                    if h - last >= SPIKE_BUCKETS:
                        found += 1
                    last = h
        lines.append(f"| {key[0]:g} | x{key[1]:g} | {median:.2f} | {found / weeks:.2f} |")
    return "\n".join(lines)


def run_all(data: Path, overrides: dict, spikes: int, seeds, jobs: int) -> list[SeriesResult]:
    tasks = [(name, path, w, overrides, spikes, tuple(seeds)) for name, path, w in load(data)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run_series, tasks))


# -- summaries -------------------------------------------------------------------------------


def nab_summary(results: list[SeriesResult]) -> dict:
    windows = sum(r.nab_windows for r in results)
    raw = sum(r.nab_raw for r in results)
    days = sum(r.nab_days for r in results)
    fa = sum(r.nab_false_alarms for r in results)
    return {
        "score": normalise(raw, -float(windows), float(windows)),
        "detected": sum(r.nab_detected for r in results),
        "windows": windows,
        "false_alarms": fa,
        "per_day": fa / days if days else 0.0,
        "delays": [d for r in results for d in r.nab_delays],
    }


def cell_summary(results: list[SeriesResult], key) -> CellResult:
    total = CellResult()
    for r in results:
        total = total.add(r.cells[key])
    return total


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def meets_targets(results: list[SeriesResult]) -> bool:
    for key in cells_keys():
        c = cell_summary(results, key)
        if c.detected < 0.9 * c.spikes or (c.weeks and c.false_alarms / c.weeks > 1.0):
            return False
    return True


def cells_keys():
    return [(m, r) for m in MEANS for r in RATIOS]


def objective(results: list[SeriesResult]) -> float:
    """What the leave-one-out selection maximises on the training series: the mean share of
    spikes detected within 2 hours over the four cells (in %), plus half the NAB score, minus
    50 for each false alarm a week above one (the issue's limit) on the injected series."""
    keys = cells_keys()
    cells = [cell_summary(results, key) for key in keys]
    detected = 100 * sum(c.detected / c.spikes for c in cells) / len(cells)
    per_week = sum(c.false_alarms / c.weeks for c in cells if c.weeks) / len(cells)
    return detected + 0.5 * nab_summary(results)["score"] - 50 * max(0.0, per_week - 1.0)


def spike_table(results: list[SeriesResult]) -> str:
    lines = [
        "| mean per bucket | spike | detected within 2 h | median delay | p90 delay "
        "| false alarms / week |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for mean, ratio in cells_keys():
        c = cell_summary(results, (mean, ratio))
        med = percentile(c.delays, 50)
        p90 = percentile(c.delays, 90)
        lines.append(
            f"| {mean:g} | x{ratio:g} | {c.detected}/{c.spikes} ({c.detected / c.spikes:.0%}) "
            f"| {med:.0f} min | {p90:.0f} min | {c.false_alarms / c.weeks:.2f} |"
        )
    return "\n".join(lines)


def nab_table(results: list[SeriesResult]) -> str:
    lines = [
        "| series | NAB standard | windows detected | median delay from window start "
        "| false alarms | false alarms / day |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def row(label, part):
        s = nab_summary(part)
        delay = f"{statistics.median(s['delays']) / 60:.1f} h" if s["delays"] else "-"
        lines.append(
            f"| {label} | {s['score']:.1f} | {s['detected']}/{s['windows']} | {delay} "
            f"| {s['false_alarms']} | {s['per_day']:.3f} |"
        )

    for r in results:
        row(r.name, [r])
    row("**all four**", results)
    return "\n".join(lines)


def leave_one_out(grid: list[dict], data: Path, spikes: int, seeds, jobs: int):
    """For each series, the candidate best on the other three, scored on it."""
    runs = [run_all(data, overrides, spikes, seeds, jobs) for overrides in grid]
    held_out: list[SeriesResult] = []
    chosen: list[tuple[str, int, float]] = []
    for k in range(len(runs[0])):
        train_scores = [objective([r for j, r in enumerate(run) if j != k]) for run in runs]
        best = int(np.argmax(train_scores))
        held_out.append(runs[best][k])
        chosen.append((runs[best][k].name, best, train_scores[best]))
    return runs, held_out, chosen


def described_machine() -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return f"{machine()}, commit {commit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--spikes", type=int, default=6, help="spikes per series and seed")
    parser.add_argument("--seeds", type=int, default=1, help="injection runs per cell")
    parser.add_argument("--loo", type=Path, help="JSON list of settings overrides to select from")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--census", action="store_true", help="also count natural bursts as large as the spikes"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.write_docs and (args.set or not args.loo or not args.census):
        parser.error("--write-docs needs --loo and --census, and no --set")
    seeds = list(range(1, args.seeds + 1))
    started = time.perf_counter()
    lines: list[str] = []
    default_run = None
    if args.loo:
        grid = json.loads(args.loo.read_text())
        runs, results, chosen = leave_one_out(grid, args.data, args.spikes, seeds, args.jobs)
        for i, run in enumerate(runs):
            s = nab_summary(run)
            lines.append(
                f"- candidate {i} `{json.dumps(grid[i])}`: in-sample NAB {s['score']:.1f}, "
                f"objective {objective(run):.1f}"
            )
        for name, best, score in chosen:
            lines.append(
                f"- held out {name}: candidate {best} (objective on the other three {score:.1f})"
            )
        if grid and grid[0] == {}:
            default_run = runs[0]
    else:
        results = run_all(args.data, parse_overrides(args.set), args.spikes, seeds, args.jobs)
    print("\n".join(lines))
    census = ""
    if args.census:
        tasks = [(n, p, w, {}, args.spikes, tuple(seeds)) for n, p, w in load(args.data)]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            census = census_table(list(pool.map(census_series, tasks)))
        print(census + "\n")
    elapsed = time.perf_counter() - started
    spikes, nab = spike_table(results), nab_table(results)
    print(spikes)
    print()
    print(nab)
    print(f"\n{elapsed:.0f} s")
    if args.write_docs:
        write_docs(SECTION, docs_section(results, default_run, lines, census, args, elapsed))
        print("updated docs/benchmarks.md")
    return 0


def docs_section(results, default_run, lines, census, args, elapsed: float) -> str:
    default = ""
    if default_run is not None:
        default = f"""
The default settings (candidate 0) on all four series, **in-sample** (for reference only; the
tables above are the result):

{spike_table(default_run)}

{nab_table(default_run)}
"""
    per_cell = args.spikes * args.seeds * 4
    return f"""{SECTION}

Measured by `.venv/bin/python bench/early_warning.py --loo {args.loo} --seeds {args.seeds}
--census --write-docs` ({args.spikes} spikes per series, cell and seed: {per_cell} per cell;
{elapsed:.0f} s on {described_machine()}). Every number in the first two tables is
**out of sample**: each series is scored with the candidate setting that did best on the other
three (`objective` in the script: mean share of spikes detected + half the NAB score - 50 per
false alarm a week above one).

Injected spikes (two hours, 3x or 5x the previous hour's level, on real series thinned to a
mean of 2 or 10 negative mentions per 5-minute bucket; false alarms counted outside the spikes,
the two hours after them and the labelled windows):

{spike_table(results)}

NAB realTweets, standard profile:

{nab_table(results)}

Candidates and the leave-one-out choice:

{chr(10).join(lines)}
{default}
**How often the series burst by themselves as much as the spikes** (`--census`: median
observed / expected over an injected spike's two hours, against the detector's own baseline,
and the natural two-hour stretches at least that large per week, outside spikes and labelled
windows):

{census}

{TARGETS}
"""


TARGETS = """**Targets not met.** Issue 13 asks, in every cell, for 90 % of spikes detected within
two hours, a median delay of at most 30 minutes (x3) and 15 minutes (x5), at most one false alarm a
week, and NAB >= 85 at <= 0.05 false alarms a day, leave one out. The tables above show where it
stands. The census says why the detection target is out of reach for any detector that sees
only the volume of these series: they burst by themselves, outside every labelled window, as
much as the median 3x spike about one and a half to two times a week and as much as the median
5x spike about 0.6 times a week. Catching 90 % of the spikes means a threshold near the
weakest tenth of them, which these natural bursts cross several times a week; the budget
(`false_alarms_per_week`) chooses the point on that curve. NAB: the GOOG window of 2015-03-14
is a fall in volume, which a spike detector does not report, so 11/12 windows is its ceiling.

The previous detector (a negative-binomial CUSUM with a peaks-over-threshold tail, tuned on
these four series), on the same benchmark with 2 seeds, in-sample: 7/48, 18/48, 7/48 and 20/48
spikes (x3 and x5 at means 2 and 10) at 0.54-0.62 false alarms a week, median delays 50-82
minutes; NAB 75.3 at 0.129 false alarms a day (60.5 on six series it had not seen, as reported in
the issue).

What was tried for the new detector, in order (in-sample on all four series; spikes x3/x5 at
mean 2, then x3/x5 at mean 10; one seed of 24 spikes per cell unless said):

- Windows of 5-60 minutes, deviance over learned dispersion, each window's declustered
  excursions above 2.5 fitted with an exponential tail, budget 0.3 a week: 2, 3, 5, 8 of 24 at
  1.8-3.4 false alarms a week; NAB 38.3 at 0.54 a day. The fitted tails were far too light.
- The lower 95 % Poisson bound of observed / expected, in logs, as the statistic: 0-4 of 24 at
  0.1 a week. A generalised Pareto tail by moments: 1, 0, 1, 5 of 24; NAB 38.7.
- Daily maxima per window with the budget split between the windows: thresholds of 10-15
  standard deviations, almost nothing detected.
- One combined statistic (each window over the median of its daily maxima) calibrated on its
  daily maxima: the realised rate followed the budget (0.3 -> 0.4, 1 -> 1.0, 3 -> 3.5 a week on
  the thinned series). Kept.
- Each bucket clipped at 6x its baseline inside long windows, no 5-minute window: 9-14 of 24
  spikes, but NAB 17 (the 20-120x NAB events were capped at 6x). Trimming instead: the one
  bucket with the largest excess (NAB 50-55), then the top 20 % of a window's buckets (NAB 69,
  11/12; kept) and 34 % (NAB 70, fewer spikes).
- The alarm ended by the 60-minute window rather than the 15-minute one: fewer repeated
  openings within one burst (kept). A four-hour re-arm scored better on NAB (65.6 against 57.4
  then) but was not kept: it must equal the incident engine's resolve hold (60 minutes), or a
  re-trigger after an incident resolved would open an incident the detector never announced.
- The Gumbel law by quartiles, then by moments with each day's maximum capped: a cap of 1.2 to
  1.5 times the threshold gave 1.2-2.2 false alarms a week; 2x: NAB 71.2; 3x: NAB 73.0 at 0.138
  a day (kept).
- Budget 0.8 / 1.0 / 1.2 a week (2 seeds, 48 spikes per cell): 21, 35, 25, 46 % at 0.6-1.0 a
  week, NAB 73.0 / 23, 38, 31, 54 % at 0.7-1.1, NAB 72.1 / 23, 40, 38, 56 % at 0.9-1.5, NAB 68.9.
- Within the noise (two spikes per cell, five NAB points): level half-life 6 or 24 h, a 60-minute
  learning delay, `min_ratio` 1.5-2.5 for 关注, 14 or 56 days of calibration, 8 prior days,
  dispersion by clipped moments or by the median.
"""


if __name__ == "__main__":
    raise SystemExit(main())
