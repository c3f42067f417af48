"""Backtest the negative-spike detector on NAB realTweets and score it by NAB's standard profile.

    .venv/bin/python bench/nab_backtest.py                   # default settings, print the table
    .venv/bin/python bench/nab_backtest.py --write-docs      # also update docs/benchmarks.md
    .venv/bin/python bench/nab_backtest.py --set shift_ratio=3 --alerts   # try a setting

The data (``../shared/data/nab``: four Twitter_volume_*.csv and windows.json) is not part of the
repository. The detector runs through :func:`alerts.backtest.run_detector`, the same path as
``yuqing alerts backtest``, with default settings for every series.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from nab_score import FileScore, normalise, score_file  # noqa: E402

from alerts.backtest import infer_bucket_minutes, parse_timestamp, read_series, run_detector  # noqa: E402
from alerts.detectors.negative_spike import SpikeSettings  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nab"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Negative-spike detector on NAB realTweets"


def parse_overrides(pairs: list[str]) -> dict:
    overrides: dict = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        value = json.loads(f"[{text}]") if "," in text else json.loads(text)
        overrides[key] = tuple(value) if isinstance(value, list) else value
    return overrides


def run_one(args: tuple[Path, list, dict]) -> tuple[FileScore, list[int]]:
    path, windows, overrides = args
    timestamps, values = read_series(path)
    settings = SpikeSettings(bucket_minutes=infer_bucket_minutes(timestamps), **overrides)
    decisions = run_detector(timestamps, values, settings)
    # The level where an alert fires (1..3), else 0; NAB only sees "fired or not".
    alerts = [d.level if d.alarm else 0 for d in decisions]
    spans = [(parse_timestamp(a), parse_timestamp(b)) for a, b in windows]
    return score_file(path.stem, timestamps, alerts, spans), alerts


def evaluate(data: Path, overrides: dict, jobs: int = 2) -> tuple[list[FileScore], list]:
    labels = json.loads((data / "windows.json").read_text())
    tasks = []
    for key in sorted(labels):
        path = data / Path(key).name
        tasks.append((path, labels[key], overrides))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(run_one, tasks))
    return [r[0] for r in results], [(t[0], r[1]) for t, r in zip(tasks, results, strict=True)]


def table(scores: list[FileScore]) -> str:
    lines = [
        "| series | NAB standard | windows detected | median delay from window start "
        "| false alarms | false alarms / day |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def row(name, score, detected, windows, delays, fa, days):
        delay = f"{statistics.median(delays) / 60:.1f} h" if delays else "-"
        lines.append(
            f"| {name} | {score:.1f} | {detected}/{windows} | {delay} | {fa} | {fa / days:.3f} |"
        )

    for s in scores:
        row(
            s.name,
            s.normalised,
            s.detected,
            s.windows,
            s.delays_minutes,
            s.false_alarms,
            s.scored_days,
        )
    raw = sum(s.raw for s in scores)
    null = sum(s.null for s in scores)
    perfect = sum(s.perfect for s in scores)
    row(
        "**all four**",
        normalise(raw, null, perfect),
        sum(s.detected for s in scores),
        sum(s.windows for s in scores),
        [d for s in scores for d in s.delays_minutes],
        sum(s.false_alarms for s in scores),
        sum(s.scored_days for s in scores),
    )
    return "\n".join(lines)


def write_docs(section: str, body: str) -> None:
    """Replace (or append) the ``## `` section titled ``section``, leaving the others alone."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == section), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + body.rstrip("\n") + "\n"
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        new = (
            "".join(lines[:start])
            + body.rstrip("\n")
            + "\n"
            + ("\n" + "".join(lines[end:]) if end < len(lines) else "")
        )
    DOCS.write_text(new, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a SpikeSettings field (JSON value)",
    )
    parser.add_argument("--alerts", action="store_true", help="list every alert")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    overrides = parse_overrides(args.set)

    started = time.perf_counter()
    scores, alerts = evaluate(args.data, overrides, args.jobs)
    elapsed = time.perf_counter() - started
    result = table(scores)
    print(result)
    print(f"\n{sum(len(a) for _, a in alerts)} buckets in {elapsed:.1f} s")
    if args.alerts:
        for (path, flags), s in zip(alerts, scores, strict=True):
            timestamps, values = read_series(path)
            fired = [f"{str(timestamps[i])[5:16]}#{f}" for i, f in enumerate(flags) if f]
            print(f"{s.name}: window scores {[round(w, 2) for w in s.window_scores]}")
            print("   " + ", ".join(fired))
    if args.write_docs:
        if overrides:
            parser.error("--write-docs reports default settings only")
        write_docs(SECTION, docs_section(result))
        print(f"updated {DOCS.relative_to(ROOT)}")
    return 0


def docs_section(result: str) -> str:
    return f"""{SECTION}

Data: NAB realTweets `Twitter_volume_{{AAPL,GOOG,IBM,KO}}.csv` (5-minute mention counts, about
55 days each) with their labelled windows, from `../shared/data/nab` (not in the repository).
Measured by `.venv/bin/python bench/nab_backtest.py --write-docs`: default `SpikeSettings`, the
same for every series, through `alerts.backtest.run_detector` (the code path of
`yuqing alerts backtest`). An alert is a bucket where an incident opens or escalates.

{result}

**Targets not met.** The issue asks for at least 85 with at most 0.05 false alarms a day; the
detector scores 75.3 at 0.129 false alarms a day (ARTime, the best published detector on these
four series, scores 80.5 at 0.14 a day). GOOG's window of 2015-03-22 shows no rise this statistic
can see (its CUSUM peaks at a fifth of the alarm threshold), so 11 of 12 windows is the ceiling
here, and with 11 windows a perfect-timing, zero-false-alarm run would still score about 92.

How the score is computed (`bench/nab_score.py`, from NAB's `sweeper.py` and `runner.py`):
probation is the first min(15 %, 750) rows of each file, as NAB's code does (the README's
"15 %" is capped at 750 rows there); a window's reward is NAB's scaled sigmoid of the first alert's
position in it, divided by its value at the left edge (so 1.0 at the left edge, 0 at the right);
a missed window costs 1.0; an alert outside every window costs 0.11 times the sigmoid of its
distance past the previous window (full 0.11 before the first window or three widths after
one); the total over the four files is normalised with null = -(windows) and perfect =
+(windows). Per-series scores are normalised the same way per file. False alarms a day are
alerts outside windows divided by the scored (post-probation) days; the delay is the first alert
in a window minus the window start.

Trade-off with the target rate (the only setting the issue names; every other setting default):

| `false_alarms_per_week` (info, warning, critical) | NAB | windows | false alarms / day |
|---|---:|---:|---:|
| 2, 0.5, 0.05 | 69.2 | 11/12 | 0.205 |
| **1, 0.25, 0.02 (default)** | **75.3** | 11/12 | 0.129 |
| 0.5, 0.15, 0.02 | 61.0 | 9/12 | 0.105 |
| 0.25, 0.1, 0.02 | 54.6 | 8/12 | 0.086 |

The measured false-alarm rate follows the target (about 0.9 a week outside windows at the
default), which is what the calibration is for; but the labelled IBM and KO windows are not the
largest excursions of those series (unlabelled overnight surges and single-bucket bursts are
larger), so no rate reaches 0.05 a day without losing windows.

What was tried, in order (overall NAB, false alarms a day):
- NB CUSUM with thresholds from Wald's bound only: -66, 1.8 a day. The per-bucket counts are
  far heavier-tailed than a negative binomial (AAPL's 99.9th percentile is 97 times the
  baseline), so the model's thresholds are much too low.
- Thresholds raised by a peaks-over-threshold (generalised Pareto) fit of the CUSUM's own
  excursions: 59.5, 0.31; with a larger cap on the statistic: 64.2, 0.25.
- A tail prior so the first days (before any excursions are seen) are not over-sensitive:
  75-78. A prior that never fades scored 79.9 at 0.081 a day, but it also kept a quiet,
  well-modelled series insensitive for weeks (the alert-engine test of a clear spike after three
  days failed), so the prior now fades over the first 10 days and only counts once the series
  has shown excursions of its own: 75.3, 0.129.
- Not testing quiet hours against less than 0.7 of the day's average: +1.4 (fewer overnight
  surges in IBM).
- A variance-stabilised (asinh) Gaussian CUSUM instead of the NB likelihood ratio: 38-47 (the
  single-bucket bursts that make up KO's windows no longer stand out).
- `shift_ratio` 1.5 or 3, level half-life 12-48 h, minimum ratios per severity: within 2
  points, or losing windows; defaults left at round values to avoid fitting these four series.
"""


if __name__ == "__main__":
    raise SystemExit(main())
