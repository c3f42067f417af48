"""Step 3 of the item path: NLP on normalised rows (sentiment, cause, keywords, near-duplicates).

Works on batches because the sentiment model is much faster per post on a batch. The segmenter's
user dictionary holds every configured topic keyword, so a brand name stays one token.

Two halves: :meth:`Enricher.analyse` (sentiment, cause, keywords, sentiment toward each topic)
needs nothing but the post, so ``yuqing ingest`` runs it in worker processes;
:meth:`Enricher.cluster` (near-duplicates) must see posts in order, in the process that stores.

Near-duplicate clusters must be the same whichever run stores a post, so the first batch seeds the
index with the clustered posts of the last ``nlp.near_duplicate_days`` days from the database.

With the two-tier ``weibo`` engine, a post is *important* (always gets the precise score) when
its author has reach (verified, or ``nlp.precise_followers`` followers). Posts on a topic with
a live incident are not: the precise tier calls more ordinary chatter negative than the fast
one, so sending a spiking topic's every post to it fed the spike it was measuring (the demo's
first 关注 turned its chatter negative).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nlp.analysis import PostAnalyser
from nlp.dedup import NearDuplicateIndex
from nlp.sentiment import get_engine, label_for
from nlp.target_sentiment import TargetSentiment, brands_for
from pipeline.config import Config
from storage.mentions import MentionRow

log = logging.getLogger(__name__)

# (platform, post_id, text, cluster_id) of stored posts, oldest first.
RecentPosts = Callable[[], Iterable[tuple[str, str, str, int]]]


def scoring_text(row: MentionRow) -> str:
    """What sentiment is judged on: title, own text and, for a repost, the chain it passes on
    (a "转发微博" adds nothing of its own but spreads the opinion it quotes)."""
    parts = [row.get("title"), row.get("text"), (row.get("extra") or {}).get("repost_chain")]
    return "。".join(p for p in parts if p)


def own_text(row: MentionRow) -> str:
    """What near-duplicates are judged on: what the author wrote (a repost chain is spread, not
    copy-paste). Must match how :func:`storage.clusters.recent_cluster_posts` joins it."""
    return "\n".join(filter(None, [row.get("title"), row.get("text")]))


def post_key(platform: str, post_id: str) -> str:
    return f"{platform}:{post_id}"


def recent_posts_from_database(config: Config) -> RecentPosts:
    """Reads the seed posts from the configured database, if it exists; never creates one."""

    def load() -> list[tuple[str, str, str, int]]:
        from sqlalchemy.engine import make_url

        from storage.clusters import recent_cluster_posts
        from storage.db import Store

        url = config.database_url()
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and (
            not parsed.database
            or parsed.database == ":memory:"
            or not Path(parsed.database).exists()
        ):
            return []
        store = Store.open(url, auto_migrate=False)
        try:
            since = datetime.now(UTC) - timedelta(days=config.nlp.near_duplicate_days)
            return recent_cluster_posts(store, since)
        finally:
            store.close()

    return load


class Enricher:
    def __init__(self, config: Config, recent_posts: RecentPosts | None = None):
        nlp = config.nlp
        words = [w for t in config.topics for w in (*t.keywords.must, *t.keywords.any, t.name)]
        self.analyser = PostAnalyser(
            get_engine(nlp.sentiment_engine, nlp.sentiment_model),
            user_words=words,
            cause_lexicon=nlp.causes,
            negative_below=nlp.negative_below,
            positive_above=nlp.positive_above,
            keywords_per_post=nlp.keywords_per_mention,
        )
        self.brands = brands_for(
            {t.name: [*t.keywords.must, *t.keywords.any] for t in config.topics},
            {t.name: t.competitors for t in config.topics},
        )
        self.toward = TargetSentiment(self._score_clauses)
        self.thresholds = (nlp.negative_below, nlp.positive_above)
        self.clusters = NearDuplicateIndex(threshold=nlp.near_duplicate_threshold)
        self._recent_posts = recent_posts or recent_posts_from_database(config)
        self._seeded = False
        self.precise_followers = nlp.precise_followers

    def important(self, row: MentionRow) -> bool:
        """Does this post always get the precise score (an account with reach)?"""
        followers = row.get("author_followers")
        if row.get("author_verified") or self.precise_followers == 0:
            return True
        return followers is not None and followers >= self.precise_followers

    def _seed(self) -> None:
        self._seeded = True
        try:
            posts = self._recent_posts()
            self.clusters.add_known_many(
                (post_key(platform, post_id), text, cluster)
                for platform, post_id, text, cluster in posts
            )
        except Exception as exc:
            # Clustering still works within this run; only links to older posts are lost.
            log.warning("near-duplicate index not seeded from the database: %s", exc)
            return
        log.debug("near-duplicate index seeded with %d posts", len(self.clusters))

    def load(self) -> None:
        """Load every model, dictionary and table now rather than on the first post (before
        forking ingest's workers, so that they share them)."""
        self.analyse([{"platform": "weibo", "post_id": "0", "text": "星澜咖啡的服务态度太差了"}])

    def enrich(self, rows: Sequence[MentionRow]) -> Sequence[MentionRow]:
        self.analyse(rows)
        self.cluster(rows)
        return rows

    def analyse(self, rows: Sequence[MentionRow]) -> Sequence[MentionRow]:
        """Sentiment, cause, keywords and sentiment toward each topic of a batch."""
        texts = [scoring_text(r) for r in rows]
        results = self.analyser.analyse(
            texts, cleaned=True, important=[self.important(r) for r in rows]
        )
        scores = [result.score for result in results]
        for row, result, toward in zip(
            rows, results, self.topic_sentiments(rows, texts, scores), strict=True
        ):
            row["sentiment_score"] = result.score
            row["sentiment_label"] = result.label
            row["cause"] = result.cause
            row["keywords"] = result.keywords
            row["topic_sentiment"] = toward
        return rows

    def cluster(self, rows: Sequence[MentionRow]) -> Sequence[MentionRow]:
        """Near-duplicate cluster of each row of a batch, in order (after the earlier ones)."""
        if not self._seeded:
            self._seed()
        clusters = self.clusters.assign_many(
            [post_key(row["platform"], row["post_id"]) for row in rows],
            [own_text(row) for row in rows],
        )
        for row, cluster in zip(rows, clusters, strict=True):
            row["cluster_id"] = cluster
        return rows

    def _score_clauses(self, texts: Sequence[str]) -> list[float]:
        return [s.score for s in self.analyser.sentiments(list(texts), cleaned=True)]

    def topic_sentiments(
        self, rows: Sequence[MentionRow], texts: Sequence[str], scores: Sequence[float]
    ) -> list[dict[str, tuple[float, str]]]:
        """Score and label toward each matched topic, per row; the post's own where the post
        names no rival and rebuts nothing (nearly always: nothing more is computed then). The
        clauses of the batch's other posts are scored in one engine call."""
        matched = [i for i, row in enumerate(rows) if row.get("topics")]
        toward = self.toward.brand_scores_many(
            [texts[i] for i in matched], [scores[i] for i in matched], self.brands
        )
        results: list[dict[str, tuple[float, str]]] = [{} for _ in rows]
        for i, by_brand in zip(matched, toward, strict=True):
            results[i] = {
                topic: (score, label_for(score, *self.thresholds))
                for topic in rows[i]["topics"]
                for score in [by_brand.get(topic, scores[i])]
            }
        return results


class EnrichPipeline:
    """Scrapy item pipeline around :class:`Enricher` (one item at a time)."""

    def __init__(self, enricher: Enricher):
        self.enricher = enricher

    @classmethod
    def from_crawler(cls, crawler):
        from pipeline.config import config_for_crawler

        return cls(Enricher(config_for_crawler(crawler)))

    def process_item(self, item, spider=None):
        self.enricher.enrich([item])
        return item
