"""A Scrapy scheduler that shares one crawl's request queue and dupefilter in Redis, so crawler
processes on several machines split the work of one (spider, topic) without fetching a page twice.

Built on scrapy-redis (its priority queue and dupefilter), plus what yuqing's incremental crawling
needs and scrapy-redis leaves out:

- **Rounds.** The processes crawling one (spider, topic) at the same time form a *round*, its
  members listed in a sorted set with an expiry. The queue and dupefilter live as long as the
  round: the last member to leave deletes them, so the next scheduled crawl starts afresh (a
  dupefilter kept forever would skip page 1 of every later run). A member that died (killed,
  machine lost) is dropped once its expiry passes.
- **One watermark decision.** Each member pages through part of a stream, so none of them alone
  knows whether the stream was covered completely. Members leave their stream progress in the
  round; the last one merges it and only then may the crawl-state extension move watermarks. A
  round that lost a member, or whose member stopped early, moves nothing (the next run re-reads).
- **Waiting for the others.** A member with nothing queued stays open while another member is
  busy, since that one may yet queue requests (Scrapy's engine polls again every 5 seconds).

Requests are pickled into Redis (scrapy-redis's default; a MentionItem rides along in
``cb_kwargs``), so the Redis server must be as trusted as the crawler machines: password, private
network. The URL comes from ``$YUQING_REDIS_URL`` (``REDIS_URL_ENV``), never from a setting,
because Scrapy logs its settings.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from datetime import datetime
from urllib.parse import urlsplit

import redis
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawlers.spiders.base import StreamProgress

log = logging.getLogger(__name__)

# A member not heard of for its crawl timeout plus this long is taken for dead.
EXPIRY_MARGIN_SECONDS = 180
# Rounds of a crawl without a timeout (a manual `scrapy crawl`) still end.
DEFAULT_LIFETIME_SECONDS = 24 * 3600

# KEYS: members, queue, dupefilter, progress, tainted, idle. ARGV: me, lifetime seconds.
# A round with no live member left over from a crash is cleared before joining; one that lost a
# member while others lived on is marked tainted (its watermarks must not move).
_JOIN = """
local now = tonumber(redis.call('TIME')[1])
local dead = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
elseif dead > 0 then
  redis.call('SET', KEYS[5], '1')
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZCARD', KEYS[1])
"""

# KEYS as above. ARGV: me, my progress (JSON). Returns nil while others remain; for the last
# member, {tainted, [progress of every member]} after deleting the round.
_LEAVE = """
local now = tonumber(redis.call('TIME')[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
if redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) > 0 then
  redis.call('SET', KEYS[5], '1')
end
if redis.call('ZCARD', KEYS[1]) > 0 then
  return nil
end
local all = redis.call('HVALS', KEYS[4])
local tainted = redis.call('EXISTS', KEYS[5])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return {tainted, all}
"""


def redacted(url: str) -> str:
    """The Redis URL without its password, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


def round_key(prefix: str, spider) -> str:
    return f"{prefix}:{spider.name}:{getattr(spider, 'topic', None) or '-'}"


def progress_to_json(progress: dict[str, StreamProgress], ok: bool, reason: str) -> str:
    return json.dumps(
        {
            "ok": ok,
            "reason": reason,
            "streams": {
                name: {
                    "pages": p.pages,
                    "newest": p.newest.isoformat() if p.newest else None,
                    "stopped": p.stopped,
                    "failed": p.failed,
                }
                for name, p in progress.items()
            },
        }
    )


def merge_progress(members: list[dict], tainted: bool) -> dict[str, StreamProgress]:
    """One stream's progress over every member: pages add up, the newest post is the newest any
    saw, it stopped where some member stopped it, and any member's failure (or a member that
    stopped early or died) leaves it incomplete."""
    merged: dict[str, StreamProgress] = {}
    for member in members:
        for name, s in member["streams"].items():
            p = merged.setdefault(name, StreamProgress())
            p.pages += s["pages"]
            newest = datetime.fromisoformat(s["newest"]) if s["newest"] else None
            if newest and (p.newest is None or newest > p.newest):
                p.newest = newest
            p.stopped = p.stopped or s["stopped"]
            p.failed = p.failed or s["failed"]
    broken = "member_lost" if tainted else None
    for member in members:
        broken = broken or (None if member["ok"] else f"member_{member['reason']}")
    if broken:
        for p in merged.values():
            p.failed = p.failed or broken
    return merged


class RedisScheduler(Scheduler):
    """scrapy-redis's scheduler with per-(spider, topic) keys and rounds (module docstring)."""

    def __init__(self, server, crawler, prefix: str, lifetime: int):
        # persist: the queue outlives this process (other members still use it); the round's
        # last member deletes it instead.
        super().__init__(server, persist=True, queue_cls="scrapy_redis.queue.PriorityQueue")
        self.crawler = crawler
        self.stats = crawler.stats
        self.prefix = prefix
        self.lifetime = lifetime
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.busy = False
        self._join = server.register_script(_JOIN)
        self._leave = server.register_script(_LEAVE)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        url = os.environ.get(settings.get("REDIS_URL_ENV", "YUQING_REDIS_URL"), "")
        if not url:
            raise NotConfigured("no Redis URL: set [crawl.redis] url or $YUQING_REDIS_URL")
        server = redis.Redis.from_url(url, socket_timeout=30, health_check_interval=30)
        try:
            server.ping()
        except redis.RedisError as exc:
            # The message names the server but never the password.
            raise RuntimeError(f"Redis at {redacted(url)} is unreachable: {exc}") from None
        timeout = settings.getint("CLOSESPIDER_TIMEOUT") or DEFAULT_LIFETIME_SECONDS
        log.info("sharing the request queue through Redis at %s", redacted(url))
        prefix = settings.get("YUQING_REDIS_PREFIX", "yuqing")
        return cls(server, crawler, prefix, timeout + EXPIRY_MARGIN_SECONDS)

    def keys(self) -> list[str]:
        names = ("members", "requests", "dupefilter", "progress", "tainted", "idle")
        return [f"{self.base}:{name}" for name in names]

    def open(self, spider):
        self.base = round_key(self.prefix, spider)
        self.queue_key = f"{self.base}:requests"
        self.df = RFPDupeFilter(self.server, key=f"{self.base}:dupefilter")
        members = self._join(keys=self.keys(), args=[self.me, self.lifetime])
        log.info("joined crawl round %s (%d member(s))", self.base, members)
        self.spider = spider
        # The queue formats its key with %; a topic may contain one.
        self.queue = PriorityQueue(self.server, spider, self.queue_key.replace("%", "%%"))
        spider.shared_round = "member"

    def next_request(self):
        request = super().next_request()
        if request is not None and not self.busy:
            self.busy = True
            self.server.hdel(f"{self.base}:idle", self.me)
        return request

    def spider_idle(self, spider):
        """Stay open while requests are queued or another member is busy (it may queue more).
        A member that joined but has not yet gone idle counts as busy: its first requests may
        still be on their way."""
        self.busy = False
        self.server.hset(f"{self.base}:idle", self.me, 1)
        now = self.server.time()[0]
        alive = self.server.zrangebyscore(f"{self.base}:members", now, "+inf")
        members = {m.decode() for m in alive}
        idle = {m.decode() for m in self.server.hkeys(f"{self.base}:idle")}
        if len(self.queue) or members - idle - {self.me}:
            raise DontCloseSpider("other crawler processes of this round are still busy")

    def close(self, reason):
        """Leave the round. The last member gets everyone's stream progress, merged, for the
        crawl-state extension (which runs after this) to move the watermarks."""
        spider = self.spider
        stats = self.stats.get_stats()
        ok = reason == "finished" and not stats.get("yuqing/store/failed_flushes")
        mine = progress_to_json(getattr(spider, "progress", {}), ok, reason)
        result = self._leave(keys=self.keys(), args=[self.me, mine])
        if result is None:
            log.info("left crawl round %s; other members carry on", self.base)
            return
        tainted, members = result
        spider.progress = merge_progress([json.loads(m) for m in members], bool(tainted))
        spider.shared_round = "last"
        log.info("last of crawl round %s (%d member(s)): round closed", self.base, len(members))
