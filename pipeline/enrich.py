"""Step 3 of the item path: NLP scores on normalised rows (sentiment, keywords).

Works on batches because sentiment engines are much faster per post on a batch. The segmenter's
user dictionary holds every configured topic keyword, so a brand name stays one token.
"""

from __future__ import annotations

from collections.abc import Sequence

from nlp.segment import segmenter_for
from nlp.sentiment import analyse, get_engine
from pipeline.config import Config
from storage.mentions import MentionRow


def scoring_text(row: MentionRow) -> str:
    """What sentiment is judged on: title, own text and, for a repost, the chain it passes on
    (a "转发微博" adds nothing of its own but spreads the opinion it quotes)."""
    parts = [row.get("title"), row.get("text"), (row.get("extra") or {}).get("repost_chain")]
    return "。".join(p for p in parts if p)


class Enricher:
    def __init__(self, config: Config):
        words = [w for t in config.topics for w in (*t.keywords.must, *t.keywords.any, t.name)]
        self.segmenter = segmenter_for(frozenset(words))
        self.engine = get_engine(config.nlp.sentiment_engine)
        self.nlp = config.nlp

    def enrich(self, rows: Sequence[MentionRow]) -> Sequence[MentionRow]:
        texts = [scoring_text(r) for r in rows]
        sentiments = analyse(texts, self.engine, self.nlp.negative_below, self.nlp.positive_above)
        for row, text, sentiment in zip(rows, texts, sentiments, strict=True):
            row["sentiment_score"] = sentiment.score
            row["sentiment_label"] = sentiment.label
            row["keywords"] = self.segmenter.keywords(text, self.nlp.keywords_per_mention)
        return rows


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
