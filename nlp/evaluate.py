"""Evaluating sentiment on a labelled CSV: macro-F1 (binary and three-class), accuracy,
confusion matrix and throughput of the whole clean + segment + score path.

Scoring goes through :meth:`nlp.analysis.PostAnalyser.sentiments`, the path ingest uses (same
cleaning, same segmenter with the configured topics' user dictionary, same engine): build the
analyser the way ingest does (``pipeline.cli_nlp.ingest_analyser``) to measure what ships.

The CSV has ``text`` and ``polarity`` columns (positive, negative or neutral; rows with an empty
polarity are skipped), as in the SMP2020-EWECT files. Binary macro-F1 is computed on the rows
labelled positive or negative only, calling a post positive when its score is at least 0.5.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nlp.sentiment import LABELS

if TYPE_CHECKING:
    from nlp.analysis import PostAnalyser

BATCH = 1000


@dataclass
class Labelled:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    skipped: int = 0


def read_labelled_csv(path: Path) -> Labelled:
    """Rows of a ``text,polarity`` CSV; raises ValueError on a missing column or bad label."""
    found = Labelled()
    with Path(path).open(encoding="utf-8-sig", newline="") as source:
        reader = csv.DictReader(source)
        missing = {"text", "polarity"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            polarity = (row["polarity"] or "").strip()
            if not polarity:
                found.skipped += 1
                continue
            if polarity not in LABELS:
                raise ValueError(f"{path}:{line}: polarity {polarity!r} is not one of {LABELS}")
            found.texts.append(row["text"] or "")
            found.labels.append(polarity)
    return found


def macro_f1(gold: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> float:
    """Mean over ``classes`` of each class's F1 (0 for a class never predicted nor present)."""
    scores = []
    for cls in classes:
        tp = sum(g == cls and p == cls for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != cls and p == cls for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == cls and p != cls for g, p in zip(gold, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def score_posts(raw_texts: Sequence[str], analyser: PostAnalyser, batch: int = BATCH):
    """Raw posts scored as ingest scores them, in batches of ``batch``."""
    results = []
    for start in range(0, len(raw_texts), batch):
        results.extend(analyser.sentiments(raw_texts[start : start + batch]))
    return results


@dataclass
class Evaluation:
    n: int
    binary_macro_f1: float
    three_class_macro_f1: float
    accuracy: float
    posts_per_second: float
    confusion: dict[str, dict[str, int]]  # gold label -> predicted label -> count
    skipped: int = 0

    def summary(self) -> dict:
        """The five numbers ``yuqing nlp eval --json`` prints."""
        return {
            "n": self.n,
            "binary_macro_f1": round(self.binary_macro_f1, 4),
            "three_class_macro_f1": round(self.three_class_macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "posts_per_second": round(self.posts_per_second, 1),
        }


def evaluate(data: Labelled, analyser: PostAnalyser) -> Evaluation:
    # Keep one-off costs (dictionary and model loading, first allocations) out of the timing.
    score_posts(data.texts[:100], analyser)
    started = time.perf_counter()
    results = score_posts(data.texts, analyser)
    elapsed = time.perf_counter() - started
    predicted = [r.label for r in results]
    gold = data.labels
    polar = [i for i, g in enumerate(gold) if g != "neutral"]
    binary_pred = ["positive" if results[i].score >= 0.5 else "negative" for i in polar]
    confusion = {g: dict.fromkeys(LABELS, 0) for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    n = len(gold)
    return Evaluation(
        n=n,
        binary_macro_f1=macro_f1([gold[i] for i in polar], binary_pred, ("negative", "positive"))
        if polar
        else 0.0,
        three_class_macro_f1=macro_f1(gold, predicted, LABELS) if n else 0.0,
        accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / n if n else 0.0,
        posts_per_second=n / elapsed if elapsed > 0 else 0.0,
        confusion=confusion,
        skipped=data.skipped,
    )


def negative_share(raw_texts: Sequence[str], analyser: PostAnalyser) -> float:
    """Share of ``raw_texts`` labelled negative on the ingest path: on a set of explicit
    complaints, how many of them an alert on negative mentions would count."""
    if not raw_texts:
        return 0.0
    results = score_posts(raw_texts, analyser)
    return sum(r.label == "negative" for r in results) / len(results)
