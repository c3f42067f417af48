"""Near-duplicate clusters of posts (copy-paste campaigns, forwarded press releases).

MinHash over character pairs with datasketch's LSH index. A post joins the cluster of the most
similar indexed post whose estimated Jaccard similarity reaches ``threshold``; otherwise it starts
its own cluster. A cluster's id is derived from its first post's key (``platform:post_id``), so
ids do not depend on the order of runs or on database row ids: rebuilding the index from stored
posts (:meth:`NearDuplicateIndex.add_known`) and ingesting again gives the same ids.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import OrderedDict

from datasketch import MinHash, MinHashLSH

# Character pairs: Chinese words are mostly two characters, and one edited character then
# changes only two shingles.
SHINGLE = 2
# LSH only proposes candidates; it looks a little below the threshold so that pairs whose MinHash
# estimate is noisy are still compared, and the estimate itself decides.
CANDIDATE_MARGIN = 0.15
# Below this many characters (after dropping punctuation) every "好评" looks like every other:
# such posts get no cluster.
MIN_CHARS = 12
# What is ignored when comparing: punctuation, spaces, @names, links and emoticon brackets.
_NOISE = re.compile(r"@[\w\u4e00-\u9fff-]{1,30}|[^\w\u4e00-\u9fff]+")


def cluster_id_for(key: str) -> int:
    """A stable positive 63-bit id (fits a signed BIGINT) for the cluster seeded by ``key``."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _crc32(data: bytes) -> int:
    # datasketch expects 32-bit hash values; crc32 is far faster than its default sha1.
    return zlib.crc32(data)


class NearDuplicateIndex:
    """The recent posts' MinHashes; at most ``capacity`` posts, oldest forgotten first."""

    def __init__(self, threshold: float = 0.7, num_perm: int = 128, capacity: int = 200_000):
        self.threshold = threshold
        self.num_perm = num_perm
        self.capacity = capacity
        self._lsh = MinHashLSH(threshold=max(0.1, threshold - CANDIDATE_MARGIN), num_perm=num_perm)
        # key -> (cluster id, MinHash, compared text), in insertion order for eviction.
        self._items: OrderedDict[str, tuple[int, MinHash, str]] = OrderedDict()
        # compared text -> key of the newest indexed post with exactly that text. A verbatim copy
        # (the bulk of a copy-paste campaign) has similarity 1.0 with it, the highest there is,
        # so it joins that cluster without a MinHash or an LSH query: the query could only add
        # other posts tied at 1.0, and among ties the pick was already arbitrary (set order).
        self._exact: dict[str, str] = {}
        # datasketch draws the permutations from a seeded RNG for every MinHash it makes, which
        # cost more than hashing the text; they are the same for every sketch, so draw them once.
        self._permutations = MinHash(num_perm=num_perm).permutations

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def _compact(text: str | None) -> str | None:
        """What is compared: the text without noise, lower-cased; None when too short."""
        compact = _NOISE.sub("", text or "").lower()
        return compact if len(compact) >= MIN_CHARS else None

    def _minhash(self, compact: str) -> MinHash:
        shingles = {compact[i : i + SHINGLE] for i in range(len(compact) - SHINGLE + 1)}
        minhash = MinHash(
            num_perm=self.num_perm,
            hashfunc=_crc32,
            permutations=self._permutations,
            scheme="affine32",  # datasketch's default, stated because permutations are given
        )
        minhash.update_batch([s.encode("utf-8") for s in shingles])
        return minhash

    def signature(self, text: str) -> MinHash | None:
        compact = self._compact(text)
        return None if compact is None else self._minhash(compact)

    def _insert(self, key: str, cluster: int, minhash: MinHash, compact: str) -> None:
        self._lsh.insert(key, minhash)
        self._items[key] = (cluster, minhash, compact)
        self._exact[compact] = key
        while len(self._items) > self.capacity:
            old, (_, _, old_compact) = self._items.popitem(last=False)
            self._lsh.remove(old)
            if self._exact.get(old_compact) == old:
                del self._exact[old_compact]

    def add_known(self, key: str, text: str, cluster: int | None) -> None:
        """Index a stored post with the cluster it was given then (rebuilding after a restart)."""
        if key in self._items or cluster is None:
            return
        compact = self._compact(text)
        if compact is not None:
            self._insert(key, cluster, self._minhash(compact), compact)

    def assign(self, key: str, text: str) -> int | None:
        """The cluster of post ``key``; None when the text is too short to compare."""
        known = self._items.get(key)
        if known is not None:
            return known[0]
        compact = self._compact(text)
        if compact is None:
            return None
        copied = self._exact.get(compact)
        if copied is not None:
            cluster, minhash, _ = self._items[copied]  # same text, same MinHash
            self._insert(key, cluster, minhash, compact)
            return cluster
        minhash = self._minhash(compact)
        best, best_similarity = None, self.threshold
        for candidate in self._lsh.query(minhash):
            cluster, other, _ = self._items[candidate]
            similarity = minhash.jaccard(other)
            if similarity >= best_similarity:
                best, best_similarity = cluster, similarity
        cluster = best if best is not None else cluster_id_for(key)
        self._insert(key, cluster, minhash, compact)
        return cluster
