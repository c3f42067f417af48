"""Train the complaint-cause model (``nlp/models/causes``) and cross-validate its settings.

Data recipe of the shipped model, rebuilt with::

    .venv/bin/python -m nlp.train_causes --out nlp/models/causes

It fits on ``nlp/data/causes_train.csv`` only (see ``nlp/data/causes_README.md``); settings are
chosen by 5-fold cross-validation on that file (``--grid`` prints every candidate), never on
``nlp/data/causes_heldout.csv``. ``--weak FILE`` adds unlabelled negative reviews (one a line, or
a CSV with a ``text`` column) labelled by the lexicon where it is sure, each weighing
``--weak-weight``; folds only ever add them to their training part. Needs scikit-learn
(``pip install 'yuqing[train]'``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from nlp.cause_model import DEFAULT_FOLDER, CauseModel, fit
from nlp.causes import CAUSES, LEXICON, OTHER, CauseClassifier, CauseLexicon

DATA = Path(__file__).parent / "data"
TRAIN = DATA / "causes_train.csv"
HELDOUT = DATA / "causes_heldout.csv"
SEED = 15


@dataclass
class Settings:
    c: float = 10.0
    lexicon_scale: float = 0.3
    min_df: int = 2
    weak_weight: float = 0.0
    # The lexicon's own answer as a one-hot feature: measured no better (cv 0.750 against 0.759).
    lexicon_vote: bool = False
    # "sqrt" (rare causes weigh more, less so than "balanced") tied in cv (0.825 against 0.821)
    # but lost on the 210 old lexicon posts, which nothing was fitted on (0.852 against 0.895).
    class_weight: str = "balanced"

    def label(self) -> str:
        return (
            f"C={self.c} lexicon_scale={self.lexicon_scale} min_df={self.min_df}"
            f" weak_weight={self.weak_weight} lexicon_vote={self.lexicon_vote}"
            f" class_weight={self.class_weight}"
        )


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def read_weak_texts(paths: Sequence[Path], exclude: set[str]) -> list[str]:
    """Unlabelled texts: a CSV's ``text`` column (negative rows only when it has ``polarity``)
    or one text a line; any text in ``exclude`` (the labelled sets) is left out."""
    texts: list[str] = []
    for path in paths:
        if path.suffix == ".csv":
            for row in read_rows(path):
                if row.get("polarity", "negative") == "negative":
                    texts.append(row["text"].strip())
        else:
            texts += [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [t for t in dict.fromkeys(texts) if 8 <= len(t) <= 300 and t not in exclude]


def weak_labels(texts: Sequence[str], lexicon: CauseLexicon) -> tuple[list[str], list[str]]:
    """The texts the lexicon is sure about, with its cause: the top score at least 4 and twice
    the runner-up. Unsure texts are dropped rather than guessed, and a text with no lexicon word
    is never taken for 其他 (finding nothing says little about what a text is about)."""
    kept, labels = [], []
    for text in texts:
        scores = sorted(lexicon.scores(text).items(), key=lambda kv: -kv[1])
        if not scores or scores[0][1] < 4:
            continue
        if len(scores) > 1 and scores[0][1] < 2 * scores[1][1]:
            continue
        kept.append(text)
        labels.append(scores[0][0])
    return kept, labels


def train_model(
    texts: Sequence[str],
    labels: Sequence[str],
    settings: Settings,
    *,
    weak: tuple[Sequence[str], Sequence[str]] = ((), ()),
    meta: dict | None = None,
) -> CauseModel:
    lexicon = CauseLexicon()
    weak_texts, weak_causes = weak if settings.weak_weight > 0 else ((), ())
    all_texts = [*texts, *weak_texts]
    weights = [1.0] * len(texts) + [settings.weak_weight] * len(weak_texts)
    return fit(
        all_texts,
        [*labels, *weak_causes],
        [lexicon.scores(t) for t in all_texts],
        causes=CAUSES,
        lexicon_causes=tuple(LEXICON),
        lexicon_scale=settings.lexicon_scale,
        lexicon_vote=settings.lexicon_vote,
        c=settings.c,
        min_df=settings.min_df,
        sample_weight=weights,
        class_weight=settings.class_weight,
        meta=meta,
    )


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    scores = []
    for cause in CAUSES:
        tp = sum(g == cause == p for g, p in zip(gold, predicted, strict=True))
        n_pred, n_gold = list(predicted).count(cause), list(gold).count(cause)
        if not n_gold:
            continue
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold
        scores.append(2 * precision * recall / (precision + recall) if tp else 0.0)
    return float(np.mean(scores))


def cross_validate(
    rows: Sequence[dict[str, str]],
    settings: Settings,
    *,
    weak: tuple[Sequence[str], Sequence[str]] = ((), ()),
    folds: int = 5,
) -> tuple[float, list[str]]:
    """Macro-F1 of out-of-fold predictions over ``rows``, and those predictions."""
    from sklearn.model_selection import StratifiedKFold

    texts = [r["text"] for r in rows]
    labels = [r["cause"] for r in rows]
    predicted = [OTHER] * len(rows)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for train_at, test_at in splitter.split(texts, labels):
        model = train_model(
            [texts[i] for i in train_at], [labels[i] for i in train_at], settings, weak=weak
        )
        classifier = CauseClassifier(model=model)
        for i in test_at:
            predicted[i] = classifier.classify(texts[i])
    return macro_f1(labels, predicted), predicted


def leave_one_domain_out(
    rows: Sequence[dict[str, str]], settings: Settings, domains: dict[str, Sequence[str]]
) -> dict[str, dict[str, float]]:
    """For each domain group: train on every other row, score that group's rows."""
    result = {}
    for name, members in domains.items():
        inside = [r for r in rows if r["domain"] in members]
        outside = [r for r in rows if r["domain"] not in members]
        model = train_model([r["text"] for r in outside], [r["cause"] for r in outside], settings)
        classifier = CauseClassifier(model=model)
        predicted = [classifier.classify(r["text"]) for r in inside]
        gold = [r["cause"] for r in inside]
        accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(inside)
        result[name] = {
            "n": len(inside),
            "macro_f1": round(macro_f1(gold, predicted), 3),
            "accuracy": round(accuracy, 3),
        }
    return result


# A first, wider grid (C 3-30, lexicon_scale 0-2, min_df 1-2) showed min_df and C above 10 make
# no difference and the lexicon block the most (cv 0.64 without it, 0.76 at scale 0.5).
# With 1,393 training rows (issue 15, second round) C 1-30, lexicon_scale 0.3-1.0 and the class
# weights all landed within 0.02 of each other (cv 0.78-0.80 before the last lexicon words);
# lexicon_scale 0.3 was best at every C.
GRID = [
    Settings(c=c, lexicon_scale=scale, class_weight=weight)
    for c in (3.0, 10.0)
    for scale in (0.3, 0.5)
    for weight in ("balanced", "sqrt")
]


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--grid", action="store_true", help="cross-validate every candidate")
    parser.add_argument("--c", type=float, default=Settings.c)
    parser.add_argument("--lexicon-scale", type=float, default=Settings.lexicon_scale)
    parser.add_argument("--min-df", type=int, default=Settings.min_df)
    parser.add_argument("--weak", type=Path, nargs="*", default=[])
    parser.add_argument("--weak-weight", type=float, default=0.0)
    parser.add_argument("--lexicon-vote", action="store_true")
    parser.add_argument(
        "--class-weight", choices=("balanced", "sqrt", "none"), default=Settings.class_weight
    )
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    rows = read_rows(TRAIN)
    labelled = {r["text"] for r in rows} | {r["text"] for r in read_rows(HELDOUT)}
    weak = ((), ())
    if args.weak:
        weak = weak_labels(read_weak_texts(args.weak, labelled), CauseLexicon())
        counts = {c: weak[1].count(c) for c in CAUSES if weak[1].count(c)}
        print(f"weak labels: {len(weak[0])} texts {counts}")
    settings = Settings(
        args.c,
        args.lexicon_scale,
        args.min_df,
        args.weak_weight,
        args.lexicon_vote,
        args.class_weight,
    )
    candidates = GRID if args.grid else [settings]
    best = None
    for candidate in candidates:
        score, _ = cross_validate(rows, candidate, weak=weak)
        print(f"cv macro-F1 {score:.3f}  {candidate.label()}", flush=True)
        if best is None or score > best[0]:
            best = (score, candidate)
    score, settings = best
    if args.grid and settings != Settings():
        # Candidates within cv noise of each other: the defaults were chosen with a second check
        # (see Settings), so a grid run says what it would pick but ships the defaults.
        print(f"best in the grid: {settings.label()}; shipping the defaults")
        settings = Settings()
        score, _ = cross_validate(rows, settings, weak=weak)
    if args.no_save:
        return
    meta = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "trained_on": [{"file": TRAIN.name, "sha256_16": _fingerprint(TRAIN), "rows": len(rows)}],
        "weak_files": [p.name for p in args.weak] if settings.weak_weight > 0 else [],
        "settings": settings.__dict__,
        "cv_macro_f1": round(score, 4),
    }
    model = train_model(
        [r["text"] for r in rows], [r["cause"] for r in rows], settings, weak=weak, meta=meta
    )
    model.save(args.out)
    print(f"saved {args.out} ({len(model.vocabulary)} features, cv macro-F1 {score:.3f})")


if __name__ == "__main__":
    main()
