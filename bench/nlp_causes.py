"""Per-cause precision and recall of :mod:`nlp.causes` on the hand-labelled complaint set.

Run: ``.venv/bin/python bench/nlp_causes.py [--json]``. The set is
``tests/fixtures/nlp/causes_labelled.csv`` (210 posts written for this project; every one is a
complaint, so the classifier is asked for the cause of each).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from nlp.causes import CAUSES, CauseClassifier

LABELLED = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nlp" / "causes_labelled.csv"
)


def per_cause(gold: list[str], predicted: list[str]) -> dict[str, dict[str, float]]:
    table = {}
    for cause in CAUSES:
        tp = sum(g == cause and p == cause for g, p in zip(gold, predicted, strict=True))
        n_pred = predicted.count(cause)
        n_gold = gold.count(cause)
        table[cause] = {
            "n": n_gold,
            "precision": round(tp / n_pred, 3) if n_pred else 0.0,
            "recall": round(tp / n_gold, 3) if n_gold else 0.0,
        }
    return table


def main() -> None:
    with LABELLED.open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    classifier = CauseClassifier()
    gold = [r["cause"] for r in rows]
    predicted = [classifier.classify(r["text"]) for r in rows]
    table = per_cause(gold, predicted)
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(rows)
    if "--json" in sys.argv:
        print(
            json.dumps(
                {"n": len(rows), "accuracy": round(accuracy, 3), "causes": table},
                ensure_ascii=False,
            )
        )
        return
    print(f"{len(rows)} posts, accuracy {accuracy:.3f}")
    print("| cause | posts | precision | recall |\n| --- | ---: | ---: | ---: |")
    for cause, row in table.items():
        print(f"| {cause} | {row['n']} | {row['precision']:.3f} | {row['recall']:.3f} |")
    if "--errors" in sys.argv:
        for r, p in zip(rows, predicted, strict=True):
            if p != r["cause"]:
                print(f"{r['cause']} -> {p}: {r['text']}")


if __name__ == "__main__":
    main()
