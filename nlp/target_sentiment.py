"""Sentiment toward each brand a post names, not just the post's overall tone.

"还是星澜咖啡靠谱，瑞幸太坑了" is a negative-sounding post that praises the client; "有人说星澜
咖啡有虫子，纯属造谣" quotes an attack to rebut it. The post-level score gets both wrong for the
client, and the alert rules count what is said *about the topic*.

How (rules over the post-level model; they only act where the text allows):

1. Find the brands named: each matched topic's keywords, and rival names (``competitors`` of
   the topics and every other topic's keywords). A post that names only the topic, with no
   rebuttal, keeps its post-level score: the post is about the topic.
2. Otherwise split the post into clauses (punctuation, and before 但是/不过/可是/而); a clause
   that names no brand is about the brand of the clause before it ("瑞幸出事了，…也好不到哪去").
3. A clause naming two brands is read as a comparison where it says so: "A比B好" (A gets the
   clause's polarity, B the opposite; "A不比B差" the reverse), "A不如B"/"A比不上B" (A worse),
   "A吊打B"/"完爆"/"秒杀"/"碾压" (A better); "A和B都…" gives both the clause's score.
4. A clause that rebuts (造谣, 谣言, 辟谣, 抹黑, 别信 …, not negated as in "没乱说") makes the
   brands it defends positive: the claim it quotes is what it denies.
5. A brand's score is the mean of its clauses' scores.

Measured on a hand-written set (tests/fixtures/nlp/topic_sentiment_*.csv; see docs/nlp.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# Scores for posts' clauses, in [0, 1], 1 = positive (the sentiment engine's scale).
ScoreFn = Callable[[Sequence[str]], Sequence[float]]

_CLAUSE_END = re.compile(r"[，,。.!！?？;；\n~～…]+")
_CONTRAST = re.compile(r"(?=但是|但|不过|可是|而是|然而)")
# "A不如B", "A比不上B", "A没法和B比": A is the worse one.
_WORSE_THAN = ("不如", "比不上", "赶不上", "没法和", "没法跟", "差远了")
# "A吊打B": A is the better one.
_BETTER_THAN = ("吊打", "完爆", "秒杀", "碾压", "甩", "胜过", "强过", "好过")
_REBUTTAL = re.compile(
    r"造谣|谣言|辟谣|不实|抹黑|黑子|血口喷人|假新闻|是假的|假的吧|澄清|别信|不要信|乱说|"
    r"胡说|瞎说|拿出证据|别再黑|不要黑|别黑|洗白不了|没有网上说的|不觉得"
)
_NEGATED_REBUTTAL = re.compile(r"(没|不是|并非|没有)(乱说|胡说|瞎说|造谣)")
# Comparison words whose polarity the short clause itself may be too terse for the model.
_POSITIVE = re.compile(r"好|强|靠谱|便宜|实惠|流畅|划算|香|赞|稳|舒服|值")
_NEGATIVE = re.compile(
    r"差|难喝|难吃|难用|贵|坑|烂|卡|弱|垃圾|慢|丑|不行|一般|死机|发热|出事|翻车|恶心|失望"
)
# Choosing a brand over the others: "还是A", "只喝A", "换了A".
_PREFERRED = re.compile(r"(还是|只喝|只用|只买|只选|换了|换成|改喝|改用|转投)$")
# The clause after a contrast carries the point; a concession ("虽然…") gives it away.
_CONTRAST_START = re.compile(r"^(但是|但|不过|可是|而是|然而)")
_CONCESSION = re.compile(r"虽然|虽说|尽管")
REBUTTED = 0.8  # a defended brand: clearly positive, short of an outright rave


@dataclass(frozen=True)
class Brand:
    name: str
    words: tuple[str, ...]


def _spans(text: str, brands: Sequence[Brand]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, brand) mentions, longest word first."""
    found: list[tuple[int, int, str]] = []
    taken = [False] * len(text)
    pairs = sorted(((w, b.name) for b in brands for w in b.words if w), key=lambda p: -len(p[0]))
    for word, name in pairs:
        for match in re.finditer(re.escape(word), text):
            if not any(taken[match.start() : match.end()]):
                found.append((match.start(), match.end(), name))
                for i in range(match.start(), match.end()):
                    taken[i] = True
    return sorted(found)


def _clauses(text: str) -> list[tuple[int, str]]:
    """(offset, clause) pieces of ``text``."""
    pieces: list[tuple[int, str]] = []
    start = 0
    for part in [*_CLAUSE_END.finditer(text), None]:
        end = part.start() if part else len(text)
        chunk = text[start:end]
        offset = start
        for sub in _CONTRAST.split(chunk):
            if sub.strip():
                pieces.append((offset, sub))
            offset += len(sub)
        if part:
            start = part.end()
    return pieces


def _weight(clause: str) -> float:
    if _CONTRAST_START.match(clause.strip()):
        return 2.0
    return 0.5 if _CONCESSION.search(clause) else 1.0


def _polarity(fragment: str, model_score: float) -> float:
    """The polarity of a comparison's predicate ("好喝多了", "差远了"): a clear word decides,
    else the model's score of the whole clause."""
    positive, negative = bool(_POSITIVE.search(fragment)), bool(_NEGATIVE.search(fragment))
    if positive and not negative:
        return 0.85
    if negative and not positive:
        return 0.15
    return model_score


def _compare(clause: str, first: str, second: str, score: float) -> tuple[float, float] | None:
    """Scores of the two brand words (first, second, in the clause's order) when the clause
    compares them; None when it does not."""
    between = clause.split(first, 1)[-1].split(second, 1)[0]
    after = clause.split(second, 1)[-1]
    if any(word in between for word in _WORSE_THAN) or after.startswith(_WORSE_THAN):
        return 0.15, 0.85
    if any(word in between for word in _BETTER_THAN):
        return 0.85, 0.15
    if "比" in between:
        polarity = _polarity(after, score)
        if "不比" in between:  # "A不比B差": A is at least as good
            polarity = 1 - polarity
        return polarity, 1 - polarity
    return None


class TargetSentiment:
    """Per-brand scores of posts, from a clause scorer (the post-level sentiment model)."""

    def __init__(self, score: ScoreFn):
        self.score = score

    def brand_scores(
        self, text: str, post_score: float, brands: Sequence[Brand]
    ) -> dict[str, float]:
        """Score toward each of ``brands`` named in ``text`` (brands not named are absent)."""
        return self.brand_scores_many([text], [post_score], brands)[0]

    def brand_scores_many(
        self, texts: Sequence[str], post_scores: Sequence[float], brands: Sequence[Brand]
    ) -> list[dict[str, float]]:
        """:meth:`brand_scores` of a batch, with every clause that needs a score scored in one
        call of the scorer (one call per post cost more than the rest of a post's NLP)."""
        plans = []
        for text in texts:
            spans = _spans(text, brands)
            named = list(dict.fromkeys(name for _, _, name in spans))
            rebuts = bool(_REBUTTAL.search(text)) and not _NEGATED_REBUTTAL.search(text)
            # Most posts name one brand and rebut nothing: the post's own score is the answer.
            clauses = _clauses(text) if len(named) > 1 or rebuts else None
            plans.append((spans, named, clauses))
        flat = [c for _, _, clauses in plans for _, c in clauses or ()]
        scored = iter(list(self.score(flat)) if flat else [])
        results = []
        for (spans, named, clauses), post_score in zip(plans, post_scores, strict=True):
            if clauses is None:
                results.append({name: post_score for name in named})
                continue
            scores = [next(scored) for _ in clauses]
            results.append(_per_brand(spans, named, clauses, scores, post_score))
        return results


def _per_brand(spans, named, clauses, scores, post_score: float) -> dict[str, float]:
    """Each named brand's score from its clauses' scores (rebuttals, comparisons, terse
    clauses)."""
    # (score, weight) of each clause about a brand.
    per_brand: dict[str, list[tuple[float, float]]] = {name: [] for name in named}
    defended: set[str] = set()
    current: list[str] = []
    for (offset, clause), score in zip(clauses, scores, strict=True):
        inside = [n for s, e, n in spans if s >= offset and e <= offset + len(clause)]
        inside = list(dict.fromkeys(inside))
        if _REBUTTAL.search(clause) and not _NEGATED_REBUTTAL.search(clause):
            # A rebuttal defends the brand it names, or the one the post was about so far.
            defended.update(inside or current or named[:1])
            current = inside or current
            continue
        if len(inside) >= 2:
            (word1, name1), (word2, name2) = _first_two(clause, spans, offset)
            compared = _compare(clause, word1, word2, score)
            values = dict(zip((name1, name2), compared, strict=True)) if compared else {}
            for name in inside:  # not a comparison: "A和B都…" says it of both
                per_brand[name].append((values.get(name, _polarity(clause, score)), 1.0))
            current = inside
            continue
        current = inside or current
        # Terse clauses of a multi-brand post ("小米动不动就死机"): a clear polarity word
        # decides; choosing a brand ("还是A") is praise of it.
        value = _polarity(clause, score)
        if inside and _PREFERRED.search(clause[: _start_of(inside[0], spans, offset)]):
            value = max(value, 0.85) if not _NEGATIVE.search(clause) else value
        for name in current:
            per_brand[name].append((value, _weight(clause)))
    result = {}
    for name in named:
        if name in defended:
            result[name] = REBUTTED
        elif per_brand[name]:
            total = sum(weight for _, weight in per_brand[name])
            result[name] = sum(s * weight for s, weight in per_brand[name]) / total
        else:
            result[name] = post_score
    return result


def _start_of(name: str, spans, offset: int) -> int:
    """Where (within its clause) the first mention of ``name`` at or after ``offset`` starts."""
    return next(s - offset for s, _, n in spans if n == name and s >= offset)


def _first_two(clause: str, spans, offset: int) -> list[tuple[str, str]]:
    """(word, brand) of the first two different brands named in a clause, in order."""
    words: list[tuple[str, str]] = []
    for start, end, name in spans:
        if start >= offset and end <= offset + len(clause) and name not in {n for _, n in words}:
            words.append((clause[start - offset : end - offset], name))
    return words[:2]


def brands_for(
    topics: Mapping[str, Sequence[str]], competitors: Mapping[str, Sequence[str]]
) -> list[Brand]:
    """Every brand to look for: each topic with its keywords, each rival by its own name."""
    brands = [Brand(name, tuple(dict.fromkeys([name, *words]))) for name, words in topics.items()]
    known = {w for b in brands for w in b.words}
    for rivals in competitors.values():
        for rival in rivals:
            if rival not in known:
                brands.append(Brand(rival, (rival,)))
                known.add(rival)
    return brands
