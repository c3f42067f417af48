"""Everything the pipeline wants to know about a batch of posts, from one segmentation:
sentiment, complaint cause (negative posts only) and keywords."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from nlp.causes import CauseClassifier
from nlp.clean import clean, opinion_text
from nlp.segment import Segmenter
from nlp.sentiment import SentimentEngine, analyse


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
        self.segmenter = Segmenter(user_words)
        self.causes = CauseClassifier(cause_lexicon)
        self.negative_below = negative_below
        self.positive_above = positive_above
        self.keywords_per_post = keywords_per_post

    def analyse(self, texts: Sequence[str], *, cleaned: bool = False) -> list[PostAnalysis]:
        """Analyse a batch; raw posts are cleaned first unless ``cleaned`` says they are."""
        if not cleaned:
            texts = [opinion_text(clean(t)) for t in texts]
        tokens = self.segmenter.cut_many(texts)
        sentiments = analyse(
            texts, self.engine, self.negative_below, self.positive_above, tokens=tokens
        )
        results = []
        for text, words, sentiment in zip(texts, tokens, sentiments, strict=True):
            # A cause explains a complaint; positive and neutral posts have none.
            cause = self.causes.classify(text) if sentiment.label == "negative" else None
            keywords = self.segmenter.keywords(text, self.keywords_per_post, tokens=words)
            results.append(PostAnalysis(sentiment.score, sentiment.label, cause, keywords))
        return results
