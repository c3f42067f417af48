"""Pytest fixtures that run real crawls (``pipeline.crawl.run_crawl``, one Scrapy process each)
against the replica, with settings that make them fast: no delays, short backoff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from crawlers.settings import ITEM_PIPELINES
from pipeline.config import load_config
from pipeline.crawl import CrawlResult, run_crawl
from storage.db import Store
from storage.models import CrawlRun, Mention, TopicMatch

from .server import Replica

# Relative dates (5分钟前) are read against this; every replica post is older.
CLOCK = "2025-06-01T12:00:00+08:00"

# NLP enrichment is tested elsewhere and loading its models takes seconds per crawl process.
PIPELINES_WITHOUT_NLP = json.dumps(
    {k: v for k, v in ITEM_PIPELINES.items() if k != "pipeline.enrich.EnrichPipeline"}
)

FAST = {
    "ITEM_PIPELINES": PIPELINES_WITHOUT_NLP,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_TIMES": 2,
    "RETRY_BACKOFF_BASE": 0.05,
    "RETRY_BACKOFF_MAX": 0.2,
    "DOWNLOAD_TIMEOUT": 5,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
    "YUQING_CLOCK": CLOCK,
    "LOG_LEVEL": "INFO",
}

TOPICS = """
[[topics]]
name = "星澜咖啡"
[topics.keywords]
any = ["星澜咖啡"]
exclude = ["招聘"]

[[topics]]
name = "青禾手机"
[topics.keywords]
any = ["青禾手机", "青禾X5"]
"""


class CrawlHarness:
    def __init__(self, tmp_path: Path, replica: Replica):
        self.tmp_path = tmp_path
        self.replica = replica
        self.db_url = f"sqlite:///{tmp_path / 'yuqing.db'}"
        self.config_path = tmp_path / "yuqing.toml"
        self.pages_dir = tmp_path / "pages"
        self.configure()

    def configure(self, crawl: str = "") -> None:
        """Write the config; ``crawl`` is extra TOML for the [crawl] table and its sub-tables."""
        base = self.replica.base_url
        self.config_path.write_text(
            f'[storage]\nurl = "{self.db_url}"\n{TOPICS}\n'
            f'[crawl]\nbase_urls = {{ weibo = "{base}", tieba = "{base}" }}\n'
            f'pages_dir = "{self.pages_dir}"\n{crawl}\n',
            encoding="utf-8",
        )

    def run(self, spider: str, topic: str | None = None, **settings) -> CrawlResult:
        result = run_crawl(
            spider,
            topic,
            load_config(self.config_path),
            timeout_seconds=settings.pop("timeout", 60),
            settings=FAST | settings,
            capture_output=True,
        )
        self.last_output = result.output
        return result

    def mentions(self) -> dict[str, dict]:
        """Stored mentions by post_id, each with its topics."""
        store = Store.open(self.db_url)
        try:
            with store.session() as session:
                rows = {m.post_id: _as_dict(m) for m in session.scalars(select(Mention))}
                for mention_id, topic in session.execute(
                    select(TopicMatch.mention_id, TopicMatch.topic)
                ):
                    for row in rows.values():
                        if row["id"] == mention_id:
                            row["topics"].append(topic)
            return rows
        finally:
            store.close()

    def run_record(self, run_id: int) -> dict:
        store = Store.open(self.db_url)
        try:
            with store.session() as session:
                return _as_dict(session.get(CrawlRun, run_id))
        finally:
            store.close()


def _as_dict(obj) -> dict:
    row = {c.name: getattr(obj, c.name) for c in obj.__table__.columns}
    if isinstance(obj, Mention):
        row["topics"] = []
    return row


@pytest.fixture
def replica():
    server = Replica()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def harness(tmp_path, replica) -> CrawlHarness:
    return CrawlHarness(tmp_path, replica)
