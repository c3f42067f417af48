"""Backtest the negative-spike detector on NAB realTweets and score it by NAB's standard profile.

    .venv/bin/python bench/nab_backtest.py                   # default settings, print the table
    .venv/bin/python bench/nab_backtest.py --set trim_share=0.3 --alerts  # one setting, its alerts

The documented numbers (with the injected-spike benchmark and leave-one-series-out selection)
come from ``bench/early_warning.py``; this script is for looking at one setting's alerts.

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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
