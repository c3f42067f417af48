"""The near-duplicate index under a copy-paste flood: bounded work per post, copies still
clustered, batches equal to one post at a time, memory bounded by the capacity."""

from __future__ import annotations

import random

import numpy as np
import pytest

from nlp import dedup
from nlp.dedup import NearDuplicateIndex, cluster_id_for, optimal_bands

TEMPLATES = [
    "星澜咖啡新品真的太好喝了，口感顺滑不苦涩，强烈推荐大家去门店试试，我已经第{n}次回购了{e}",
    "求扩散！星澜咖啡门店卫生太差了，杯子上有污渍，店长还说爱买不买，第{n}天了还没处理{e}",
    "星澜咖啡这次的周年庆活动就是套路，满{n}减的优惠券根本用不了，规则写得不清不楚{e}",
]


def flood(n: int, seed: int = 3) -> list[tuple[str, str, int]]:
    """(key, text, template) of ``n`` copies: a template, a number, an emoticon."""
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        t = rng.randrange(len(TEMPLATES))
        text = TEMPLATES[t].format(n=rng.randrange(1000), e=rng.choice(["", "[赞]", "！！", "~"]))
        posts.append((f"weibo:{i}", text, t))
    return posts


def shingles(text: str) -> set[str]:
    compact = NearDuplicateIndex._compact(text)
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


def test_flood_copies_share_one_cluster_per_template_and_work_is_capped(monkeypatch):
    compared: list[int] = []
    original = NearDuplicateIndex._top

    def counting(self, rows, other):
        rows, other = original(self, rows, other)
        if len(rows):
            compared.append(int(np.bincount(rows).max()))
        return rows, other

    monkeypatch.setattr(NearDuplicateIndex, "_top", counting)
    index = NearDuplicateIndex()
    posts = flood(3000)
    clusters = []
    for start in range(0, len(posts), 400):
        chunk = posts[start : start + 400]
        clusters += index.assign_many([k for k, _, _ in chunk], [t for _, t, _ in chunk])
    for template in range(len(TEMPLATES)):
        mine = [c for c, (_, _, t) in zip(clusters, posts, strict=True) if t == template]
        assert max(mine.count(c) for c in set(mine)) >= 0.95 * len(mine)
    # Each post was compared with at most MAX_CANDIDATES indexed posts, however big the flood.
    assert compared and max(compared) <= dedup.MAX_CANDIDATES


def test_a_batch_clusters_as_one_post_at_a_time():
    posts = flood(600, seed=5) + [
        (f"tieba:{i}", f"完全不同的第{i}条帖子内容，讲的是别的事情，编号{i * 37}", -1)
        for i in range(50)
    ]
    random.Random(2).shuffle(posts)
    single = NearDuplicateIndex()
    one_by_one = [single.assign(k, t) for k, t, _ in posts]
    batched = NearDuplicateIndex()
    together = []
    for start in range(0, len(posts), 128):
        chunk = posts[start : start + 128]
        together += batched.assign_many([k for k, _, _ in chunk], [t for _, t, _ in chunk])
    assert together == one_by_one
    assert together[0] == cluster_id_for(posts[0][0])


def test_a_repeated_key_keeps_its_first_cluster_within_a_batch():
    index = NearDuplicateIndex()
    text = TEMPLATES[0].format(n=1, e="")
    got = index.assign_many(["weibo:1", "weibo:1", "weibo:2"], [text, "短", "好评"])
    assert got == [cluster_id_for("weibo:1"), cluster_id_for("weibo:1"), None]


def test_estimated_similarity_follows_the_true_jaccard():
    index = NearDuplicateIndex()
    posts = [t for _, t, _ in flood(200, seed=9)]
    signatures = index.signatures([index._compact(t) for t in posts])
    errors = []
    for i in range(0, 200, 2):
        a, b = shingles(posts[i]), shingles(posts[i + 1])
        estimate = float((signatures[i] == signatures[i + 1]).mean())
        errors.append(estimate - len(a & b) / len(a | b))
    # 128 permutations: a standard error of at most 0.044 per pair; no bias beyond noise.
    assert abs(np.mean(errors)) < 0.02
    assert np.std(errors) < 0.06


def test_memory_is_bounded_by_the_capacity():
    rng = random.Random(8)
    pool = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"
    texts = ["".join(rng.sample(pool, 20)) for _ in range(3000)]
    index = NearDuplicateIndex(capacity=500)
    for start in range(0, 3000, 100):
        index.assign_many(
            [f"weibo:{i}" for i in range(start, start + 100)], texts[start : start + 100]
        )
    assert len(index) == 500
    assert len(index._signatures) == 500
    # Band keys of forgotten posts are dropped when runs merge: a few times the live ones.
    live_keys = 500 * (index.bands + 1)
    assert sum(len(run) for run in index._runs) <= 4 * live_keys
    # A forgotten post no longer decides anything: its copy starts a cluster of its own,
    # while a copy of a remembered one joins it.
    assert index.assign("weibo:new", texts[0]) == cluster_id_for("weibo:new")
    assert index.assign("weibo:newer", texts[2999]) == cluster_id_for("weibo:2999")


def test_rebuilding_from_stored_posts_gives_the_same_clusters():
    posts = flood(300, seed=11)
    first = NearDuplicateIndex()
    clusters = first.assign_many([k for k, _, _ in posts], [t for _, t, _ in posts])
    rebuilt = NearDuplicateIndex()
    rebuilt.add_known_many(
        (k, t, c) for (k, t, _), c in zip(posts, clusters, strict=True) if c is not None
    )
    later = flood(50, seed=12)
    fresh = [(k.replace("weibo", "tieba"), t) for k, t, _ in later]
    assert rebuilt.assign_many([k for k, _ in fresh], [t for _, t in fresh]) == (
        first.assign_many([k for k, _ in fresh], [t for _, t in fresh])
    )


@pytest.mark.parametrize("threshold", [0.3, 0.55, 0.6, 0.75])
def test_bands_are_chosen_as_datasketch_chooses_them(threshold):
    lsh = pytest.importorskip("datasketch.lsh")
    assert optimal_bands(threshold, 128) == lsh._optimal_param(threshold, 128, 0.5, 0.5)


def test_signatures_are_datasketchs():
    """The same MinHash values as datasketch's (crc32 of each pair's UTF-8, affine32), so the
    index clusters as the datasketch one did, multi-byte and astral characters included."""
    minhash = pytest.importorskip("datasketch").MinHash
    import zlib

    texts = [t for _, t, _ in flood(20, seed=13)] + [
        "abc中文混合😀测试一下这个文本的哈希值",
        "é" * 20,
    ]
    index = NearDuplicateIndex()
    compacts = [index._compact(t) for t in texts]
    permutations = minhash(num_perm=128).permutations
    for compact, signature in zip(compacts, index.signatures(compacts), strict=True):
        expected = minhash(
            num_perm=128, hashfunc=zlib.crc32, permutations=permutations, scheme="affine32"
        )
        expected.update_batch([compact[i : i + 2].encode() for i in range(len(compact) - 1)])
        assert (expected.hashvalues.astype(np.uint32) == signature).all()
