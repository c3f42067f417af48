"""Training sentiment models: the default ``weibo`` model and SnowNLP's own Bayes model.

Data recipe of the shipped model (``nlp/models/weibo``), rebuilt with::

    yuqing nlp train ../shared/data/sentiment/smp2020_usual_train.csv \\
        ../shared/data/sentiment/smp2020_virus_train.csv --out nlp/models/weibo

Those files are the SMP2020-EWECT training sets (hand-labelled Weibo posts; see the README beside
them); rows without a polarity are skipped. The evaluation files are never trained on. The raw
data carries no licence, so it stays out of the repository; only the weights ship.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from nlp.clean import clean, opinion_text
from nlp.evaluate import Labelled, read_labelled_csv
from nlp.segment import Segmenter
from nlp.sentiment_model import DEFAULT_BITS, DEFAULT_C, HashedLinearModel, train


def read_training_files(paths: Sequence[Path]) -> Labelled:
    merged = Labelled()
    for path in paths:
        part = read_labelled_csv(path)
        merged.texts += part.texts
        merged.labels += part.labels
        merged.skipped += part.skipped
    return merged


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def train_weibo_model(
    paths: Sequence[Path],
    out: Path,
    *,
    bits: int = DEFAULT_BITS,
    c: float = DEFAULT_C,
    balanced: bool = True,
) -> HashedLinearModel:
    """Train the default engine's model on labelled CSVs and save it to ``out``."""
    data = read_training_files(paths)
    if len(set(data.labels)) < 2:
        raise ValueError("training needs at least two different polarities")
    # The same preparation as scoring: clean, then judge the post with its repost chain.
    texts = [opinion_text(clean(t)) for t in data.texts]
    tokens = Segmenter().cut_many(texts)
    meta = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "trained_on": [{"file": Path(p).name, "sha256_16": _fingerprint(p)} for p in paths],
        "label_counts": {label: data.labels.count(label) for label in sorted(set(data.labels))},
    }
    model = train(texts, tokens, data.labels, bits=bits, c=c, balanced=balanced, meta=meta)
    model.save(out)
    return model


def train_snownlp_model(paths: Sequence[Path], out: Path) -> Path:
    """Retrain SnowNLP's Bayes classifier with SnowNLP's own training on the positive and
    negative rows (it has no neutral class); returns the saved file (SnowNLP adds ``.3``)."""
    from snownlp import sentiment as snow_sentiment

    data = read_training_files(paths)
    negative = [t for t, label in zip(data.texts, data.labels, strict=True) if label == "negative"]
    positive = [t for t, label in zip(data.texts, data.labels, strict=True) if label == "positive"]
    if not negative or not positive:
        raise ValueError("SnowNLP training needs both positive and negative rows")
    classifier = snow_sentiment.Sentiment()
    classifier.train(negative, positive)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "snownlp-sentiment.marshal"
    classifier.save(str(target))
    return target.with_name(target.name + ".3")
