"""Matching a mention's text against topic keyword rules (must / any / exclude).

Matching is substring-based on case-folded NFKC text: Chinese has no word boundaries to match on,
and a brand written ``ＸＩＮＧＬＡＮ`` or ``XingLan`` is still the brand.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field


def fold(text: str) -> str:
    """Case- and width-insensitive form used on both sides of a match."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class TopicRule:
    name: str
    must: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _folded: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = tuple(
            tuple(fold(w) for w in words) for words in (self.must, self.any, self.exclude)
        )
        object.__setattr__(self, "_folded", folded)

    def match(self, text: str) -> list[str] | None:
        """The keywords that made ``text`` match, or None when it does not match.

        ``text`` must already be folded with :func:`fold` (done once per mention, not per rule).
        """
        must, any_, exclude = self._folded
        if any(word in text for word in exclude):
            return None
        if not all(word in text for word in must):
            return None
        hits = [w for w, f in zip(self.any, any_, strict=True) if f in text]
        if any_ and not hits:
            return None
        return list(self.must) + hits

    def excludes(self, text: str) -> bool:
        """True when a folded ``text`` contains one of the exclude words."""
        return any(word in text for word in self._folded[2])


def match_topics(text: str, rules: tuple[TopicRule, ...] | list[TopicRule]) -> dict[str, list[str]]:
    """``{topic name: matched keywords}`` for every rule that ``text`` satisfies."""
    folded = fold(text)
    found = {}
    for rule in rules:
        hits = rule.match(folded)
        if hits is not None:
            found[rule.name] = hits
    return found
