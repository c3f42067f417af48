"""Step 2 of the item path: a validated mention becomes a storage row.

Cleans the text (``nlp.clean``), converts times to UTC, fills defaults and decides the topics:
a topic the crawler searched for is kept unless the text hits that topic's exclude words, and
every configured topic whose keywords match is added.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nlp.clean import clean, strip_html
from nlp.topics import fold
from pipeline.config import Config
from pipeline.validate import MentionIn
from storage.mentions import MentionRow


class Normaliser:
    def __init__(self, config: Config):
        self._rules = {rule.name: rule for rule in config.topic_rules}
        self._platforms = {t.name: set(t.platforms) for t in config.topics}

    def topics_for(self, mention: MentionIn, text: str) -> dict[str, list[str]]:
        folded = fold(text)
        found: dict[str, list[str]] = {}
        for name in mention.topics:
            rule = self._rules.get(name)
            if rule is None or not rule.excludes(folded):
                found[name] = []
        for name, rule in self._rules.items():
            if mention.platform not in self._platforms[name]:
                continue
            hits = rule.match(folded)
            if hits is not None:
                found[name] = hits
        return found

    def normalise(self, mention: MentionIn, now: datetime | None = None) -> MentionRow:
        cleaned = clean(mention.text)
        title = " ".join(strip_html(mention.title).split()) if mention.title else None
        extra = dict(mention.extra)
        for key in ("hashtags", "mentions", "emoticons", "links"):
            if getattr(cleaned, key):
                extra[key] = getattr(cleaned, key)
        if cleaned.repost_chain:
            extra["repost_chain"] = cleaned.repost_chain
        author = mention.author
        searchable = "\n".join(filter(None, [title, cleaned.text, cleaned.repost_chain]))
        return MentionRow(
            platform=mention.platform,
            post_id=mention.post_id,
            url=mention.url,
            author_id=author.id if author else None,
            author_name=author.name if author else None,
            author_followers=author.followers if author else None,
            author_verified=author.verified if author else False,
            author_verified_type=author.verified_type if author else None,
            title=title,
            text=cleaned.text,
            raw_text=mention.text,
            published_at=mention.published_at,
            crawled_at=mention.crawled_at or now or datetime.now(UTC),
            reposts=mention.reposts,
            comments=mention.comments,
            likes=mention.likes,
            parent_post_id=mention.parent_post_id,
            extra=extra,
            topics=self.topics_for(mention, searchable),
        )


class NormalisePipeline:
    """Scrapy item pipeline around :class:`Normaliser`."""

    def __init__(self, normaliser: Normaliser):
        self.normaliser = normaliser

    @classmethod
    def from_crawler(cls, crawler):
        from pipeline.config import config_for_crawler

        return cls(Normaliser(config_for_crawler(crawler)))

    def process_item(self, item, spider=None):
        return self.normaliser.normalise(item)
