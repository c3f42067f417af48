"""Benchmark: ``yuqing ingest`` end to end (read, validate, normalise, NLP, near-duplicates,
store) into SQLite and PostgreSQL with the default engine and the example config.

Input (made at bench time, never committed): distinct, realistic posts. The texts of the
labelled Weibo and review posts in ``../shared/data/sentiment/*.csv`` when that folder exists
(pairs of them joined when more lines are asked for than there are texts), else the synthetic
posts of ``bench/generate_mentions.py``; each names a configured brand, and ``--near-dup-share``
of the lines (default 8 %) are an earlier line's text with a small edit (a tail, a prefix, one
character changed), as reposted and lightly edited posts are. ``--flood`` makes a copy-paste
flood instead: every line is one of 20 templates with small variations (a number, swapped
words, emoticons, punctuation), the 水军 pattern; the bench then reports how well each
template's copies stayed together in one cluster.

Reported, each with the load average it ran under (the 2 cores are shared):
- start-up: ``yuqing ingest`` of a one-line file in a new process (wall time, peak resident);
- the whole file through ``yuqing ingest`` in a new process (rate including start-up, peak
  resident memory: what a user sees);
- steady state in this process after a warm-up, with microseconds per mention for each stage.

    nice .venv/bin/python bench/ingest_bench.py --lines 20000
    nice .venv/bin/python bench/ingest_bench.py --lines 200000 --flood --no-cli
    nice .venv/bin/python bench/ingest_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.machine import machine  # noqa: E402

SHARED_TEXTS = ROOT.parent / "shared" / "data" / "sentiment"
# (keyword written in the post, topic the crawler searched for it): the example config's topics.
BRANDS = [
    ("星澜咖啡", "星澜咖啡", 0.45),
    ("星澜", "星澜咖啡", 0.15),
    ("青禾手机", "青禾手机", 0.15),
    ("青禾X5", "青禾手机", 0.1),
    ("云朵出行", "云朵出行", 0.1),
    ("云朵打车", "云朵出行", 0.05),
]
RIVALS = ["瑞幸", "星巴克"]
TAILS = ["转发扩散", "[怒]", "！！！", "大家评评理", "[哈哈]", "顶一下", "+1", "同意"]


def shared_texts() -> list[str]:
    """The distinct texts of the shared labelled posts (their labels are not used here)."""
    seen: dict[str, None] = {}
    for path in sorted(SHARED_TEXTS.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file):
                body = " ".join((row.get("text") or "").split())
                if len(body) >= 4:
                    seen[body] = None
    return list(seen)


def generated_texts(n: int, seed: int) -> list[str]:
    """Distinct synthetic posts (``generate_mentions``' own near-duplicates left out)."""
    from bench.generate_mentions import generate

    end = datetime.now(UTC)
    found: dict[str, None] = {}
    for mention, _ in generate(int(n * 1.2) + 100, 3, 30, end, seed):
        if mention["cluster_id"] == mention["id"]:
            found[mention["text"]] = None
    return list(found)


def distinct_texts(n: int, seed: int, source: str) -> tuple[list[str], str]:
    rng = random.Random(seed)
    if source == "shared" or (source == "auto" and SHARED_TEXTS.is_dir()):
        base = shared_texts()
        label = f"shared labelled posts ({len(base):,} distinct texts)"
    else:
        base = generated_texts(n, seed)
        label = f"bench/generate_mentions.py ({len(base):,} distinct texts)"
    rng.shuffle(base)
    texts = base[:n]
    # More lines than texts: two different texts joined, as a longer post would read.
    while len(texts) < n:
        first, second = rng.sample(base, 2)
        texts.append(first + "。" + second)
    return texts[:n], label


def with_brand(body: str, rng: random.Random) -> tuple[str, str]:
    """The post naming a configured brand (and sometimes a rival), and the topic searched."""
    word, topic = rng.choices([(w, t) for w, t, _ in BRANDS], [p for *_, p in BRANDS])[0]
    cut = body.find("，")
    if cut < 0 or rng.random() < 0.5:
        body = word + body if rng.random() < 0.5 else body + " " + word
    else:
        body = body[: cut + 1] + word + body[cut + 1 :]
    if rng.random() < 0.05:
        body += f"，{rng.choice(RIVALS)}也差不多"
    return body, topic


def near_copy(body: str, rng: random.Random) -> str:
    """``body`` with one small edit, as a lightly edited repost reads."""
    edit = rng.randrange(4)
    if edit == 0:
        return body + rng.choice(TAILS)
    if edit == 1:
        return rng.choice(["转：", "转发：", "看到这个 "]) + body
    if edit == 2 and len(body) > 4:
        at = rng.randrange(len(body))
        return body[:at] + rng.choice("的了啊呢吧") + body[at + 1 :]
    return body + f" {rng.randrange(1, 100)}"


# 水军 posts are written once and pasted thousands of times by many accounts, each copy changed
# a little so that filters for identical text miss them.
FLOOD_TEMPLATES = [
    "{brand}新品真的太好喝了，口感顺滑不苦涩，强烈推荐大家去门店试试，我已经第{n}次回购了{emo}",
    "今天在{brand}排了{n}分钟队，店员态度非常好，出杯也快，环境干净整洁，周末约朋友再来{emo}",
    "{brand}就是良心企业，用料实在价格公道，这么多年品质一直稳定，支持国货，冲冲冲{emo}",
    "别信那些黑{brand}的，我喝了{n}年了从来没出过问题，网上那些都是竞争对手花钱请的水军{emo}",
    "{brand}又被造谣了，假的吧，我们全家都在喝，味道和品质都没得说，大家不要被带节奏{emo}",
    "{brand}太坑了，买的咖啡里喝出了异物，投诉了{n}次都没人管，客服只会说抱歉，大家避雷{emo}",
    "求扩散！{brand}门店卫生太差了，杯子上有污渍，店长还说爱买不买，第{n}天了还没处理{emo}",
    "在{brand}买的会员卡说好七天可以退，现在申请退款第{n}次被拒，完全是欺骗消费者{emo}",
    "{brand}门店卫生太差了，亲眼看到店员不戴手套做饮品，已经打12315投诉了，编号{n}{emo}",
    "{brand}这次的周年庆活动就是套路，满{n}减的优惠券根本用不了，规则写得不清不楚{emo}",
    "家人们谁懂啊，{brand}的新品拿铁{n}块钱买到手，奶香浓郁一点都不腻，真的值{emo}",
    "{brand}的新店开业了，地址在中山路{n}号，开业前三天全场五折，还送限量杯子{emo}",
    "抵制{brand}！卖过期的原料被曝光了还不道歉，转发{n}次让更多人看到真相{emo}",
    "{brand}客服终于回复了，说会在{n}个工作日内处理，但是之前的承诺一次都没兑现过{emo}",
    "{brand}yyds，每天一杯续命，上班摸鱼必备，已经安利给{n}个同事了，都说好喝{emo}",
    "刚看到新闻，{brand}被市场监管部门约谈了，原因是虚假宣传，涉及全国{n}家门店{emo}",
    "{brand}年终大促开始了，全场饮品第二杯半价，前{n}名下单还送定制保温杯{emo}",
    "{brand}的外卖太慢了，下单后等了{n}分钟才送到，咖啡都凉了，冰块全化了{emo}",
    "支持{brand}，疫情期间给医护人员免费送了{n}杯咖啡，这样有担当的企业值得我们支持{emo}",
    "{brand}的咖啡机坏了{n}次还在用，做出来的美式一股焦味，希望总部好好管管门店{emo}",
]
# Small edits a copy gets: a near synonym swapped in, the number, an emoticon, a prefix.
SWAPS = [("非常", "特别"), ("推荐", "安利"), ("大家", "朋友们"), ("真的", "确实"), ("太", "好")]
EMOTICONS = ["", "[赞]", "[哈哈]", "[怒]", "[泪]", "[心]", "！", "！！", "~", "[doge]"]


def flood_texts(n: int, seed: int) -> list[tuple[str, str, int]]:
    """``(text, topic, template)`` of a copy-paste flood: templates with small variations."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        template = rng.randrange(len(FLOOD_TEMPLATES))
        word, topic = ("星澜咖啡", "星澜咖啡") if rng.random() < 0.8 else ("星澜", "星澜咖啡")
        body = FLOOD_TEMPLATES[template].format(
            brand=word, n=rng.randrange(1, 1000), emo=rng.choice(EMOTICONS)
        )
        for old, new in SWAPS:
            if rng.random() < 0.2:
                body = body.replace(old, new, 1)
        if rng.random() < 0.3:  # an @name or a repost mark in front
            body = rng.choice(["@小号" + str(rng.randrange(100)) + " ", "【转】", "转："]) + body
        out.append((body, topic, template))
    return out


def write_input(
    path: Path, lines: int, seed: int, *, share: float, flood: bool, source: str
) -> tuple[str, dict[str, int]]:
    """Writes the JSON Lines input; returns what the texts are, and each flood line's template
    by post id (empty unless ``flood``)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    templates: dict[str, int] = {}
    if flood:
        posts = flood_texts(lines, seed)
        label = f"copy-paste flood: {len(FLOOD_TEMPLATES)} templates with small variations"
    else:
        distinct, label = distinct_texts(lines, seed, source)
        posts, recent = [], []
        for i in range(lines):
            if recent and rng.random() < share:
                body, topic = rng.choice(recent)
                body = near_copy(body, rng)
            else:
                body, topic = with_brand(distinct[i], rng)
                recent.append((body, topic))
                if len(recent) > 500:
                    recent.pop(0)
            posts.append((body, topic, -1))
        label += f"; {share:.0%} of lines a near copy of an earlier one"
    with path.open("w", encoding="utf-8") as out:
        for i, (body, topic, template) in enumerate(posts):
            post_id = f"{path.stem}{i}"
            if template >= 0:
                templates[post_id] = template
            published = now - timedelta(minutes=90, seconds=rng.randrange(3 * 86400))
            platform = "weibo" if rng.random() < 0.8 else "tieba"
            row = {
                "platform": platform,
                "post_id": post_id,
                "url": f"https://example.cn/{platform}/{post_id}",
                "topics": [topic],
                "author": {
                    "id": str(rng.randrange(1, 200_000)),
                    "name": f"用户{rng.randrange(10**6):06d}",
                    "followers": int(rng.lognormvariate(5, 2)),
                    "verified": rng.random() < 0.03,
                },
                "title": None if platform == "weibo" else body[:20],
                "text": body,
                "published_at": published.isoformat(),
                "crawled_at": (published + timedelta(minutes=rng.randrange(1, 90))).isoformat(),
                "reposts": int(rng.expovariate(0.2)),
                "comments": int(rng.expovariate(0.2)),
                "likes": int(rng.expovariate(0.05)),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return label, templates


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


class Stages:
    """Seconds spent in each stage of ``ingest_file``, by wrapping the functions it calls."""

    def __init__(self):
        self.seconds: Counter[str] = Counter()
        self._undo: list = []

    def wrap(self, owner, name: str, stage: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return
        seconds = self.seconds

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[stage] += time.perf_counter() - started

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


@contextmanager
def staged():
    import nlp.dedup
    import pipeline.enrich
    import pipeline.ingest
    import pipeline.normalise

    stages = Stages()
    stages.wrap(pipeline.ingest, "parse_line", "read + validate")
    stages.wrap(pipeline.ingest, "parse_lines", "read + validate")
    stages.wrap(pipeline.normalise.Normaliser, "normalise", "normalise")
    stages.wrap(pipeline.enrich.Enricher, "analyse", "NLP")
    stages.wrap(pipeline.ingest, "search_text", "NLP")
    stages.wrap(nlp.dedup.NearDuplicateIndex, "assign_many", "near-dup")
    stages.wrap(pipeline.ingest, "store_rows", "store")
    try:
        yield stages.seconds
    finally:
        stages.restore()


def in_process(
    path: Path, warm: Path, url: str, profile: Path | None, workers: int | None = 0
) -> dict:
    """Steady state: a warm-up file first (models, dictionaries, caches), then ``path``. With
    workers the stage times cover only this process (store, near-duplicates)."""
    from pipeline.config import EXAMPLE_PATH, parse_config
    from pipeline.ingest import ingest_file
    from storage.db import Store

    config = parse_config(EXAMPLE_PATH.read_text(encoding="utf-8"), "example")
    store = Store.open(url, auto_migrate=True)
    try:
        started = time.perf_counter()
        ingest_file(warm, config, store)
        warm_seconds = time.perf_counter() - started
        before = load()
        profiler = cProfile.Profile() if profile else None
        with staged() as seconds:
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            cpu = time.process_time()
            result = ingest_file(path, config, store, workers=workers)
            cpu = time.process_time() - cpu
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - started
        if profiler:
            profiler.dump_stats(profile)
        return {
            "seconds": elapsed,
            "cpu": cpu,
            "stored": result.stored.inserted,
            "warm_seconds": warm_seconds,
            "stages": dict(seconds),
            "load": f"{before} -> {load()}",
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    finally:
        store.close()


def cli_run(path: Path, url: str, folder: Path) -> dict:
    """``yuqing ingest`` in a new process: wall time and its peak resident memory."""
    from storage.db import Store

    Store.open(url, auto_migrate=True).close()  # `yuqing` migrates only SQLite by itself
    config = folder / f"{path.stem}.toml"
    example = (ROOT / "pipeline" / "yuqing.example.toml").read_text(encoding="utf-8")
    config.write_text(example.replace('url = "sqlite:///yuqing.db"', f"url = {json.dumps(url)}"))
    before = load()
    started = time.perf_counter()
    # Started by a small launcher that reports its child's peak: a process forked from this
    # one (which may hold a million generated lines) would count this one's pages as its own.
    launcher = [sys.executable, "-c", _LAUNCHER]
    process = subprocess.run(
        [*launcher, str(ROOT / ".venv" / "bin" / "yuqing"), "--config", str(config)]
        + ["ingest", str(path)],
        capture_output=True,
        text=True,
        cwd=folder,
    )
    elapsed = time.perf_counter() - started
    output = process.stdout + process.stderr
    if process.returncode != 0:
        raise SystemExit(f"yuqing ingest failed ({process.returncode}):\n{output}")
    peak_kb = int(output.strip().splitlines()[-1].split()[-1])
    return {
        "seconds": elapsed,
        "maxrss_mb": peak_kb / 1024,
        "load": f"{before} -> {load()}",
    }


# Runs argv[1:], passes its output on, and prints the peak resident KB of it (the largest of
# its processes, workers included) last.
_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print('peak KB', peak)\n"
    "sys.exit(code)\n"
)


@contextmanager
def database(kind: str, folder: Path, postgres: str | None):
    """A fresh database URL: a new SQLite file, or a new schema dropped afterwards."""
    if kind == "SQLite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        # The schema rides in the URL so that a `yuqing` child process uses it too.
        joiner = "&" if "?" in postgres else "?"
        yield f"{postgres}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def clustered(url: str, templates: dict[str, int]) -> str:
    """How the flood's copies were clustered: per template, the share of its lines in its
    largest cluster, and how many clusters its lines ended in."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT post_id, cluster_id FROM mention")).all()
    engine.dispose()
    by_template: dict[int, Counter] = defaultdict(Counter)
    for post_id, cluster in rows:
        if post_id in templates:
            by_template[templates[post_id]][cluster] += 1
    shares = [c.most_common(1)[0][1] / sum(c.values()) for c in by_template.values()]
    spread = [len(c) for c in by_template.values()]
    return (
        f"{len(by_template)} templates: share of a template's lines in its largest cluster "
        f"min {min(shares):.3f}, mean {sum(shares) / len(shares):.3f}; clusters per template "
        f"min {min(spread)}, max {max(spread)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--near-dup-share", type=float, default=0.08)
    parser.add_argument("--flood", action="store_true", help="a copy-paste flood instead")
    parser.add_argument("--texts", choices=["auto", "shared", "generated"], default="auto")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-cli", action="store_true", help="skip the new-process runs")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the steady state")
    parser.add_argument(
        "--workers",
        type=lambda text: (
            [None if w == "default" else int(w) for w in text.split(",") if w]
            if text != "none"
            else []
        ),
        default=[0, None],
        help="steady-state runs with these worker counts (default: 0,default; 0 = one "
        "process, with per-stage times; none: no steady-state run)",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    kinds = ([] if args.no_sqlite else ["SQLite"]) + (["PostgreSQL"] if args.postgres else [])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "input.jsonl"
        label, templates = write_input(
            data,
            args.lines,
            args.seed,
            share=args.near_dup_share,
            flood=args.flood,
            source=args.texts,
        )
        warm = folder / "warm.jsonl"
        write_input(warm, 400, args.seed + 1, share=0.08, flood=False, source=args.texts)
        one = folder / "one.jsonl"
        one.write_text(warm.read_text(encoding="utf-8").splitlines()[0] + "\n")
        print(f"input: {args.lines:,} lines; {label}")
        for kind in kinds:
            print(f"\n### {kind}")
            if not args.no_cli:
                with database(kind, folder, args.postgres) as url:
                    start = cli_run(one, url, folder)
                print(
                    f"start-up, `yuqing ingest` of one line: {start['seconds']:.2f} s, peak "
                    f"{start['maxrss_mb']:.0f} MB resident (load {start['load']})"
                )
                with database(kind, folder, args.postgres) as url:
                    whole = cli_run(data, url, folder)
                print(
                    f"`yuqing ingest` of the file: {whole['seconds']:.1f} s, "
                    f"{args.lines / whole['seconds']:,.0f} lines/s including start-up, peak "
                    f"{whole['maxrss_mb']:.0f} MB resident (load {whole['load']})"
                )
            for workers in args.workers:
                with database(kind, folder, args.postgres) as url:
                    profile = args.profile.with_suffix(f".{kind}.prof") if args.profile else None
                    run = in_process(data, warm, url, profile if not workers else None, workers)
                    if templates:
                        print(clustered(url, templates))
                shown_workers = "default" if workers is None else workers
                print(
                    f"steady state, workers {shown_workers} (this process, after a "
                    f"{run['warm_seconds']:.1f} s warm-up of 400 lines): {run['stored']:,} stored "
                    f"in {run['seconds']:.2f} s = **{run['stored'] / run['seconds']:,.0f} "
                    f"mentions/s**, this process's CPU {run['cpu'] / args.lines * 1e6:,.0f} µs "
                    f"per mention (load {run['load']})"
                )
                if workers == 0:
                    print_stages(run, args.lines)


def print_stages(run: dict, lines: int) -> None:
    stages = run["stages"]
    nlp = stages.get("NLP", 0.0)
    shown = [
        ("read + validate", stages.get("read + validate", 0.0)),
        ("normalise", stages.get("normalise", 0.0)),
        ("NLP (sentiment, cause, keywords, topic sentiment, search tokens)", nlp),
        ("near-duplicates", stages.get("near-dup", 0.0)),
        ("store", stages.get("store", 0.0)),
    ]
    shown.append(("other (file, batching)", run["seconds"] - sum(s for _, s in shown)))
    print("| stage | µs per mention |\n| --- | ---: |")
    for name, seconds in shown:
        print(f"| {name} | {seconds / max(lines, 1) * 1e6:,.0f} |")


if __name__ == "__main__":
    main()
