"""Start-up time and peak memory of the commands cron and people run most (issue 17).

    nice .venv/bin/python bench/startup_bench.py --runs 7

Each command runs as a new ``yuqing`` process, as cron and a shell start it, in a temporary
folder holding the example config and a migrated SQLite database, ``--runs`` times, the
commands taking turns so that a burst of load on the (shared) machine falls on all of them.
For each: the median and the fastest wall time, the median CPU time (user + system, which
other processes' load inflates less than wall time) and the peak resident memory of the
process, from ``os.wait4``. Every ingest run stores a new post, so each does the whole item
path (validate, normalise, sentiment, cause, keywords, near-duplicates, store); the
``negative`` one is a complaint, which the two-tier engine sends to its precise tier.
``--prefill N`` first fills the database with N recent mentions, as on a live installation,
where an ingest seeds its near-duplicate index with the clustered posts of the last 7 days.

Python writes no bytecode cache when ``PYTHONDONTWRITEBYTECODE`` is set (this sandbox sets
it), so every start would compile yuqing's own modules again, which no installed copy does:
the children run without it unless ``--no-bytecode`` says otherwise. One warm-up run per
command comes first and is not counted (it writes the bytecode, and the keyword IDF table
cache, which ``--cold-cache`` measures instead).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import machine  # noqa: E402

# What the `yuqing` console script runs, taken from this checkout (PYTHONPATH below), so the
# numbers are those of the code beside this file whatever copy the virtualenv installed.
YUQING = [sys.executable, "-c", "from pipeline.cli import main; main()"]
EXAMPLE = ROOT / "pipeline" / "yuqing.example.toml"
# (name, arguments, target wall seconds, target peak MB) from issue 17.
COMMANDS = [
    ("yuqing --help", ["--help"], 0.3, None),
    ("yuqing mentions", ["mentions"], 0.3, None),
    ("yuqing status", ["status"], 0.3, None),
    ("yuqing alerts list", ["alerts", "list"], 0.3, None),
    ("yuqing alerts evaluate (nothing to do)", ["alerts", "evaluate"], 1.0, None),
    ("yuqing ingest (one line, neutral)", ["ingest", "{neutral}"], 1.5, 200),
    ("yuqing ingest (one line, negative)", ["ingest", "{negative}"], 1.5, 200),
]
POSTS = {
    "neutral": "星澜咖啡今天在南京西路开了新门店，下午路过看到排队的人不少",
    "negative": "星澜咖啡的新品燕麦拿铁喝完肚子疼了一晚上，客服还不给退款[怒] #星澜咖啡#",
}


@dataclass
class Result:
    name: str
    target_s: float | None
    target_mb: float | None
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    peaks_mb: list[float] = field(default_factory=list)

    def row(self) -> dict:
        return {
            "command": self.name,
            "median_wall_s": round(statistics.median(self.walls), 3),
            "fastest_wall_s": round(min(self.walls), 3),
            "median_cpu_s": round(statistics.median(self.cpus), 3),
            "peak_mb": round(max(self.peaks_mb), 1),
            "target_s": self.target_s,
            "target_mb": self.target_mb,
        }


def run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident MB of one ``yuqing`` process."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [*YUQING, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # wait4 gives this child's own resource use; RUSAGE_CHILDREN would sum all of them.
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    errors = child.stderr.read().decode("utf-8", "replace") if child.stderr else ""
    child.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 5):  # 5: status says the never-crawled demo sources need attention
        raise SystemExit(f"yuqing {' '.join(args)} exited {code}:\n{errors}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def release_alert_lease(folder: Path) -> None:
    """Free the evaluation's lease, as a minute passing would: each run holds it 45 s after it
    ends, and a run that finds it held exits 4 without evaluating anything."""
    with sqlite3.connect(folder / "yuqing.db") as db:
        db.execute("DELETE FROM job_lease WHERE name = 'alerts:evaluate'")


def prefill(folder: Path, rows: int, env: dict[str, str]) -> None:
    """N generated mentions (a share of them near-duplicates) published over the last 7 days,
    the window ingest seeds its near-duplicate index from (``nlp.near_duplicate_days``)."""
    end = datetime.now(UTC) - timedelta(minutes=5)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "generate_mentions.py"),
            f"--url=sqlite:///{folder / 'yuqing.db'}",
            f"--rows={rows}",
            "--days=7",
            f"--end={end.isoformat()}",
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"database prefilled with {rows:,} mentions of the last 7 days")


def mention_file(folder: Path, kind: str, serial: int) -> Path:
    """A one-line JSON Lines file holding a post no earlier run stored."""
    post_id = f"{kind}-{serial}-{time.time_ns()}"
    mention = {
        "platform": "weibo",
        "post_id": post_id,
        "url": f"https://m.weibo.cn/detail/{post_id}",
        "topics": ["星澜咖啡"],
        "author": {"id": f"u{serial}", "name": "路人", "followers": 120, "verified": False},
        "text": POSTS[kind],
        "published_at": "2026-12-07T10:00:00+08:00",
        "reposts": 1,
        "comments": 2,
        "likes": 3,
    }
    path = folder / f"{kind}-{serial}.jsonl"
    path.write_text(json.dumps(mention, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def arguments(template: list[str], folder: Path, serial: int) -> list[str]:
    out = []
    for arg in template:
        if arg.startswith("{"):
            arg = str(mention_file(folder, arg.strip("{}"), serial))
        out.append(arg)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="Counted runs per command.")
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="Keep PYTHONDONTWRITEBYTECODE (every start compiles yuqing's modules).",
    )
    parser.add_argument(
        "--cold-cache",
        action="store_true",
        help="Also time a first ingest with an empty cache folder (the IDF table is built).",
    )
    parser.add_argument(
        "--prefill",
        type=int,
        default=0,
        metavar="N",
        help="Fill the database with N mentions of the last 7 days first "
        "(bench/generate_mentions.py): ingest then seeds its near-duplicate index with them.",
    )
    parser.add_argument("--json", action="store_true", help="Print the rows as JSON too.")
    options = parser.parse_args()

    print(machine())
    print(f"runs per command: {options.runs} (after one warm-up run each)")
    folder = Path(tempfile.mkdtemp(prefix="yuqing-startup-"))
    env = dict(os.environ)
    if not options.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("YUQING_CONFIG", None)
    env.pop("YUQING_DATABASE_URL", None)
    env["YUQING_CACHE_DIR"] = str(folder / "cache")
    try:
        shutil.copyfile(EXAMPLE, folder / "yuqing.toml")
        if options.prefill:
            prefill(folder, options.prefill, env)
        run(["db", "upgrade"], folder, env)
        if options.cold_cache:
            cold = Result("first ingest, empty cache (one line, negative)", None, None)
            wall, cpu, peak = run(arguments(["ingest", "{negative}"], folder, 0), folder, env)
            cold.walls.append(wall), cold.cpus.append(cpu), cold.peaks_mb.append(peak)
        results = [Result(name, target_s, target_mb) for name, _, target_s, target_mb in COMMANDS]
        for serial in range(options.runs + 1):
            for result, (_, template, _, _) in zip(results, COMMANDS, strict=True):
                release_alert_lease(folder)
                wall, cpu, peak = run(arguments(template, folder, serial + 1), folder, env)
                if serial:  # the first round is the warm-up
                    result.walls.append(wall), result.cpus.append(cpu), result.peaks_mb.append(peak)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    rows = [r.row() for r in ([cold] if options.cold_cache else []) + results]
    header = f"{'command':<46} {'median':>7} {'fastest':>7} {'cpu':>6} {'peak MB':>8}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        target = ""
        if row["target_s"] is not None:
            target = f"<= {row['target_s']} s" + (
                f", < {row['target_mb']} MB" if row["target_mb"] else ""
            )
        print(
            f"{row['command']:<46} {row['median_wall_s']:>6.2f}s {row['fastest_wall_s']:>6.2f}s "
            f"{row['median_cpu_s']:>5.2f}s {row['peak_mb']:>8.0f}  {target}"
        )
    print(f"load average at the end: {load}")
    if options.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
