"""Fault injection: a full disk and a read-only database give a clear error and leave no
half-written batch; a corrupt config names the key. (PostgreSQL connection loss:
test_postgres_concurrency.py; channel outages: test_delivery.py; a killed crawl:
test_crawl_cli.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline import exit_codes
from storage.db import Store
from storage.models import EngagementSnapshot, Mention, TopicMatch
from tests.conftest import FIXTURES


def mentions_file(path: Path, n: int, text_size: int = 400) -> Path:
    template = json.loads(
        (FIXTURES / "mentions_good.jsonl").read_text(encoding="utf-8").splitlines()[0]
    )
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = dict(template, post_id=f"f{i}", url=f"https://m.weibo.cn/detail/f{i}")
            row["text"] = f"星澜咖啡 第{i}条 " + "这杯拿铁的味道和上周完全不一样了。" * (
                text_size // 16
            )
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def counts(url: str) -> tuple[int, int, int]:
    store = Store.open(url)
    try:
        with store.session() as s:
            return tuple(
                s.scalar(select(func.count()).select_from(model))
                for model in (Mention, TopicMatch, EngagementSnapshot)
            )
    finally:
        store.close()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1.5 MB tmpfs: room for the schema and some mentions, not for many."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def run_on(run, monkeypatch):
    def invoke(url, *args):
        monkeypatch.setenv("YUQING_DATABASE_URL", url)
        return run(*args)

    return invoke


def test_full_disk(run_on, tmp_path, tiny_disk):
    url = f"sqlite:///{tiny_disk / 'y.db'}"
    Store.open(url).close()
    source = mentions_file(tmp_path / "many.jsonl", 3000)
    result = run_on(url, "ingest", str(source))
    assert result.exit_code == exit_codes.FAILURE
    assert "database error: database or disk is full" in result.output
    assert "Re-run the same file" in result.output
    assert "Traceback" not in result.output
    # Whole batches only: every stored mention has its topic match and its first snapshot.
    shutil.copy(tiny_disk / "y.db", tmp_path / "copy.db")
    for suffix in ("-wal", "-shm"):
        if (tiny_disk / f"y.db{suffix}").exists():
            shutil.copy(tiny_disk / f"y.db{suffix}", tmp_path / f"copy.db{suffix}")
    mentions, matches, snapshots = counts(f"sqlite:///{tmp_path / 'copy.db'}")
    assert mentions % 400 == 0 and mentions < 3000
    assert matches == snapshots == mentions


def test_read_only_database(run_on, tmp_path):
    path = tmp_path / "ro.db"
    Store.open(f"sqlite:///{path}").close()
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    result = run_on(url, "ingest", str(FIXTURES / "mentions_good.jsonl"))
    assert result.exit_code == exit_codes.FAILURE
    assert "database error" in result.output and "readonly" in result.output.replace("-", "")
    assert counts(f"sqlite:///{path}")[0] == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\xff\xfe garbage", "not UTF-8"),
        (b"[storage]\nurl = \n", "not valid TOML"),
        (
            "[[topics]]\nname = '星澜'\n[topics.keywords]\nany = 'not a list'\n".encode(),
            "topics[0].keywords.any",
        ),
    ],
)
def test_corrupt_config_names_the_problem(tmp_path, content, expected):
    path = tmp_path / "broken.toml"
    path.write_bytes(content)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipeline.cli import main; main()",
            "--config",
            str(path),
            "mentions",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == exit_codes.CONFIG
    assert str(path) in done.stderr and expected in done.stderr
    assert "Traceback" not in done.stderr
