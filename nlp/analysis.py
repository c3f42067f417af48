"""Everything the pipeline wants to know about a batch of posts, from one segmentation:
sentiment, complaint cause (negative posts only) and keywords.

:meth:`PostAnalyser.sentiments` is the one sentiment path: ingest (through :meth:`analyse`),
``yuqing nlp eval`` and ``bench/nlp_sentiment.py`` all call it, so a published score is the
score a stored mention gets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from nlp.causes import CauseClassifier
from nlp.clean import clean, opinion_text
from nlp.segment import Segmenter
from nlp.sentiment import Sentiment, SentimentEngine, analyse
from nlp.sentiment_tiers import TieredEngine


def prepare(raw: str) -> str:
    """A raw post as ingest scores it: cleaned (pipeline/normalise.py), then joined with the
    repost chain it passes on (pipeline/enrich.py ``scoring_text``, for a post without title)."""
    return opinion_text(clean(raw))


@dataclass
class PostAnalysis:
    score: float
    label: str
    cause: str | None
    keywords: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


class PostAnalyser:
    def __init__(
        self,
        engine: SentimentEngine,
        *,
        user_words: Iterable[str] = (),
        cause_lexicon: Mapping[str, Sequence[str]] | None = None,
        negative_below: float = 0.4,
        positive_above: float = 0.6,
        keywords_per_post: int = 5,
    ):
        self.engine = engine
        # Kept so a test can check that eval and ingest build the same dictionary.
        self.user_words = tuple(sorted(set(user_words)))
        self.segmenter = Segmenter(self.user_words)
        self.causes = CauseClassifier(cause_lexicon)
        self.negative_below = negative_below
        self.positive_above = positive_above
        self.keywords_per_post = keywords_per_post

    def sentiments(
        self,
        texts: Sequence[str],
        *,
        cleaned: bool = False,
        tokens: Sequence[Sequence[str]] | None = None,
        important: Sequence[bool] | None = None,
    ) -> list[Sentiment]:
        """Sentiment of a batch; raw posts are prepared as ingest prepares them unless
        ``cleaned`` says they are; ``tokens`` (this analyser's segmentation) saves cutting.

        With a tiered engine, ``important`` posts (an account with reach) get
        the precise score whatever the fast one says."""
        if not cleaned:
            texts = [prepare(t) for t in texts]
        if tokens is None:
            tokens = self.segmenter.cut_many(texts)
        if important is not None and isinstance(self.engine, TieredEngine):
            return self.engine.predict(texts, tokens, important=important)
        return analyse(texts, self.engine, self.negative_below, self.positive_above, tokens=tokens)

    def analyse(
        self,
        texts: Sequence[str],
        *,
        cleaned: bool = False,
        important: Sequence[bool] | None = None,
    ) -> list[PostAnalysis]:
        """Analyse a batch; raw posts are cleaned first unless ``cleaned`` says they are."""
        if not cleaned:
            texts = [prepare(t) for t in texts]
        tokens = self.segmenter.cut_many(texts)
        sentiments = self.sentiments(texts, cleaned=True, tokens=tokens, important=important)
        results = []
        for text, words, sentiment in zip(texts, tokens, sentiments, strict=True):
            # A cause explains a complaint; positive and neutral posts have none.
            cause = self.causes.classify(text) if sentiment.label == "negative" else None
            keywords = self.segmenter.keywords(text, self.keywords_per_post, tokens=words)
            results.append(PostAnalysis(sentiment.score, sentiment.label, cause, keywords))
        return results
