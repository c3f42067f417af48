"""Benchmark: end-to-end ingest throughput (validate -> normalise -> NLP enrich -> store) into
SQLite and PostgreSQL, with the default sentiment engine.

Input: ``--lines`` mentions made from the bundled demo sample (361 hand-written posts), each
copy with a new post id, author and time so every line is a new mention. Prints a table; one
process, as ``yuqing ingest`` runs.

    .venv/bin/python bench/ingest_bench.py --lines 20000
    .venv/bin/python bench/ingest_bench.py --lines 20000 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from pipeline.config import EXAMPLE_PATH, parse_config
from pipeline.ingest import ingest_file
from storage.db import Store

SAMPLE = Path(__file__).resolve().parent.parent / "pipeline" / "demo_data" / "mentions.jsonl"


def make_input(path: Path, lines: int, seed: int) -> None:
    rng = random.Random(seed)
    sample = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            row = dict(rng.choice(sample))
            row["post_id"] = f"b{i}"
            row["url"] = f"https://m.weibo.cn/detail/b{i}"
            row["parent_post_id"] = None
            published = datetime.fromisoformat(row["published_at"]) + timedelta(
                minutes=rng.randint(-5000, 5000)
            )
            row["published_at"] = published.isoformat()
            row["crawled_at"] = (published + timedelta(minutes=rng.randint(1, 90))).isoformat()
            author = dict(row.get("author") or {})
            author["id"] = str(rng.randint(1, 50_000))
            row["author"] = author
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def timed_ingest(path: Path, url: str, connect_args: dict | None = None) -> tuple[float, int]:
    config = parse_config(EXAMPLE_PATH.read_text(encoding="utf-8"), "example")
    store = Store.open(url, auto_migrate=True, connect_args=connect_args or {})
    try:
        ingest_file(path.with_name("warm.jsonl"), config, store)  # load models, jieba, caches
        started = time.perf_counter()
        result = ingest_file(path, config, store)
        return time.perf_counter() - started, result.stored.inserted
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database")
    args = parser.parse_args()
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.jsonl"
        make_input(path, args.lines, args.seed)
        make_input(path.with_name("warm.jsonl"), 200, args.seed + 1)
        # Distinct ids for the warm-up file so it does not pre-store the measured rows.
        warm = path.with_name("warm.jsonl")
        warm.write_text(warm.read_text(encoding="utf-8").replace('"b', '"w'), encoding="utf-8")
        seconds, stored = timed_ingest(path, f"sqlite:///{Path(tmp) / 'bench.db'}")
        rows.append(("SQLite (WAL)", stored, seconds))
        if args.postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                seconds, stored = timed_ingest(
                    path, args.postgres, {"options": f"-c search_path={schema}"}
                )
                rows.append(("PostgreSQL", stored, seconds))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    print(f"machine: {platform.machine()}, {platform.python_version()}; {args.lines} mentions")
    # The cores may be shared: a number means little without the load it was measured under.
    load = ", ".join(f"{a:.1f}" for a in load_before)
    print(f"load average before: {load}; after: {', '.join(f'{a:.1f}' for a in os.getloadavg())}")
    print("| database | mentions stored | seconds | mentions/s |")
    print("| --- | --- | --- | --- |")
    for name, stored, seconds in rows:
        print(f"| {name} | {stored} | {seconds:.1f} | {stored / seconds:,.0f} |")


if __name__ == "__main__":
    main()
