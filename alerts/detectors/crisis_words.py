"""Crisis words near a brand name: 爆炸, 起火, 维权, 曝光, 召回, 315 and the like.

"Near" is within ``distance`` characters of one of the topic's brand words, on case- and
width-folded text, so "星澜咖啡门店起火" fires while a post that mentions the brand in one
paragraph and an unrelated 曝光 three paragraphs later does not.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alerts.severity import severity_for
from alerts.signals import Signal
from nlp.topics import fold

DEFAULT_WORDS = ["爆炸", "起火", "维权", "曝光", "召回", "315", "中毒", "致癌", "死亡", "立案"]


class CrisisOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    words: list[str] = Field(default_factory=lambda: list(DEFAULT_WORDS), min_length=1)
    distance: int = Field(30, ge=1, description="max characters between brand and crisis word")
    window_minutes: int = Field(60, ge=5)
    # Number of matching mentions in the window needed for each severity.
    count: dict[str, float] = Field(default_factory=lambda: {"warning": 1, "critical": 5})

    @field_validator("words")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not w.strip() for w in value):
            raise ValueError("crisis words must not be blank")
        return value


def _positions(text: str, word: str) -> list[int]:
    """Where ``word`` occurs; a number (315) only as a whole number, not inside 3150 or 23156."""
    found, start = [], text.find(word)
    numeric = word.isdigit()
    while start >= 0:
        end = start + len(word)
        standalone = not numeric or (
            (start == 0 or not text[start - 1].isdigit())
            and (end == len(text) or not text[end].isdigit())
        )
        if standalone:
            found.append(start)
        start = text.find(word, start + 1)
    return found


def crisis_hits(text: str, brands: list[str], words: list[str], distance: int) -> list[str]:
    """The crisis words found within ``distance`` characters of a brand word in ``text``."""
    return list(_crisis_hits(text, tuple(brands), tuple(words), distance))


# Every pass reads its whole window again, so a post is checked once a pass for as long as it
# stays in the window (a dozen times in an hour of 5-minute passes): remember the answers.
@lru_cache(maxsize=4096)
def _crisis_hits(
    text: str, brands: tuple[str, ...], words: tuple[str, ...], distance: int
) -> tuple[str, ...]:
    folded = fold(text)
    brand_at = [p for b in brands for p in _positions(folded, fold(b))]
    if not brand_at:
        return ()
    hits = []
    for word in words:
        if any(abs(p - b) <= distance for p in _positions(folded, fold(word)) for b in brand_at):
            hits.append(word)
    return tuple(hits)


def check(
    rule: str,
    topic: str,
    brands: list[str],
    posts: list[dict[str, Any]],
    options: CrisisOptions,
    language: str = "zh",
) -> Signal | None:
    matched = []
    for post in posts:
        text = "\n".join(filter(None, [post.get("title"), post.get("text")]))
        hits = crisis_hits(text, brands, options.words, options.distance)
        if hits:
            matched.append((hits, post))
    severity = severity_for(len(matched), options.count)
    if not matched or severity is None:
        return None
    words = sorted({w for hits, _ in matched for w in hits})
    if language == "zh":
        detail = f"{len(matched)} 条内容在品牌附近出现危机词：{'、'.join(words)}"
    else:
        detail = f"{len(matched)} mention(s) with crisis words near the brand: {', '.join(words)}"
    matched.sort(key=lambda m: m[1].get("reposts", 0) + m[1].get("comments", 0), reverse=True)
    return Signal(
        topic=topic,
        rule=rule,
        kind="crisis_words",
        severity=severity,
        detail=detail,
        observed=len(matched),
        window_minutes=options.window_minutes,
        posts=[dict(p, crisis_words=h) for h, p in matched[:3]],
    )
