"""Near-duplicate clusters of posts (copy-paste campaigns, forwarded press releases).

MinHash over character pairs and a banded LSH index, both in numpy over whole batches (the
signatures are bit for bit datasketch's ``MinHash`` with crc32 and its band choice). A post
joins the cluster of the most similar indexed post whose estimated Jaccard similarity reaches
``threshold``; otherwise it starts its own cluster. A cluster's id is derived from its first
post's key (``platform:post_id``), so ids do not depend on the order of runs or on database row
ids: rebuilding the index from stored posts (:meth:`NearDuplicateIndex.add_known`) and ingesting
again gives the same ids.

This replaced datasketch's ``MinHashLSH``: a Python ``MinHash`` object per post and Python sets
per band bucket cost about 7 KB and 140-160 µs a post, every member of a copy-paste flood was a
candidate of the next one (4.6 M comparisons for 8,000 posts), and importing it took 2.4 s. Here
a batch is hashed at once, band keys live in sorted numpy arrays, a bucket is read for its
newest few posts only and at most :data:`MAX_CANDIDATES` posts are compared with a new one, so
a flood costs what distinct posts cost (about 25 and 45 µs a post). The clusters stayed those
of the old index: 19,995 of 20,000 distinct posts and 7,892 of 8,000 flood posts got the same
cluster id (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import cache

import numpy as np

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
# A new post is compared with at most this many indexed posts: those sharing the most bands with
# it (a verbatim copy shares every band, and the whole-signature key besides). Without a cap a
# flood's bucket made every earlier member a candidate of the next.
MAX_CANDIDATES = 32
# Per band bucket, only the newest few posts of each sorted run (and of the batch) are read:
# in a flood's bucket the newest copies stand for all the older ones.
_PER_BUCKET = 4
_SEQ_BITS = 32
_SEQ_MASK = np.uint64((1 << _SEQ_BITS) - 1)
# Band-key hashing (splitmix64's finaliser) and the permutations' seed (datasketch's).
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SEED = 1
# Shingles hashed through the permutations at a time: bounds the (shingles x num_perm) array
# of a long article to a few MB.
_CHUNK = 16384


def cluster_id_for(key: str) -> int:
    """A stable positive 63-bit id (fits a signed BIGINT) for the cluster seeded by ``key``."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _mix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _MIX_1
        x = x ^ (x >> np.uint64(27))
        x = x * _MIX_2
        return x ^ (x >> np.uint64(31))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, which datasketch applies to every input hash."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint32(16))
        h = h * np.uint32(0x85EBCA6B)
        h = h ^ (h >> np.uint32(13))
        h = h * np.uint32(0xC2B2AE35)
        return h ^ (h >> np.uint32(16))


def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1)
    return table.astype(np.uint32)


_CRC_TABLE = _crc_table()


def _utf8(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of code points: ``(n, 4)`` uint32 (unused bytes 0) and each one's length."""
    length = 1 + (code >= 0x80) + (code >= 0x800) + (code >= 0x10000)
    out = np.zeros((len(code), 4), dtype=np.uint32)
    for size, lead in ((1, 0), (2, 0xC0), (3, 0xE0), (4, 0xF0)):
        rows = np.flatnonzero(length == size)
        if not len(rows):
            continue
        c = code[rows]
        for k in range(size):  # byte k of the sequence carries bits from 6 * (size - 1 - k) up
            shift = np.uint32(6 * (size - 1 - k))
            if k == 0:
                out[rows, 0] = (c >> shift) | np.uint32(lead) if size > 1 else c
            else:
                out[rows, k] = ((c >> shift) & np.uint32(0x3F)) | np.uint32(0x80)
    return out, length


def _crc32_pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``zlib.crc32`` of the UTF-8 of each two-character string ``first[i] + second[i]``."""
    one, n1 = _utf8(first)
    two, n2 = _utf8(second)
    data = np.concatenate([one, two], axis=1)
    # The second character's bytes follow the first's: bytes 0..n1-1 from one, then two.
    position = np.arange(8)[None, :]
    source = np.where(position < n1[:, None], position, position - n1[:, None] + 4)
    source = np.where(position < (n1 + n2)[:, None], source, 0)
    data = np.take_along_axis(data, source, axis=1)
    total = n1 + n2
    crc = np.full(len(first), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    for k in range(8):
        active = k < total
        if not active.any():
            break
        step = _CRC_TABLE[(crc ^ data[:, k]) & np.uint32(0xFF)] ^ (crc >> np.uint32(8))
        crc = np.where(active, step, crc)
    return crc ^ np.uint32(0xFFFFFFFF)


@cache
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) minimising the false positive plus false negative probability
    mass around ``threshold``, as datasketch's ``MinHashLSH`` chooses them (equal weights)."""
    s = np.linspace(0.0, 1.0, 2001)
    below, above = s <= threshold, s >= threshold
    best, choice = float("inf"), (1, 1)
    # One band count at a time: all ~700 pairs at once held a 28 MB transient at start-up.
    for b in range(1, num_perm + 1):
        r = np.arange(1, num_perm // b + 1, dtype=np.float64)[:, None]
        hit = 1 - (1 - s**r) ** b  # probability that two posts of similarity s share a bucket
        error = np.trapezoid(hit[:, below], s[below], axis=1) + np.trapezoid(
            1 - hit[:, above], s[above], axis=1
        )
        at = int(np.argmin(error))
        if error[at] < best:
            best, choice = float(error[at]), (b, at + 1)
    return choice


class NearDuplicateIndex:
    """The recent posts' MinHashes; at most ``capacity`` posts, oldest forgotten first.

    Memory is bounded by ``capacity``: per post a 16-bit MinHash signature (``num_perm`` x 2
    bytes), its cluster id, its key, and 8 bytes per band key in sorted numpy runs (a batch's
    keys become one run; runs of similar size are merged, forgotten posts dropped then).
    """

    def __init__(self, threshold: float = 0.7, num_perm: int = 128, capacity: int = 200_000):
        self.threshold = threshold
        self.num_perm = num_perm
        self.capacity = capacity
        self.bands, self.rows = optimal_bands(max(0.1, threshold - CANDIDATE_MARGIN), num_perm)
        # Affine permutations of 32-bit hashes (a odd: a bijection), datasketch's "affine32".
        rng = np.random.RandomState(_SEED)
        self._a = rng.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self._b = rng.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        self._band_salt = _mix64(np.arange(1, self.bands + 2, dtype=np.uint64))
        self._position_salt = _mix64(np.arange(1, num_perm + 1, dtype=np.uint64) << np.uint64(20))
        self._seq = 0  # sequence number of the next indexed post; its slot is seq % capacity
        # Signatures are kept to 16 bits a value (b-bit MinHash): two different values agree by
        # chance once in 65,536, which moves a similarity estimate by 1/num_perm about once in
        # 500 comparisons; it halves the largest part of the index.
        self._signatures = np.zeros((0, num_perm), dtype=np.uint16)
        self._clusters = np.zeros(0, dtype=np.int64)
        self._keys: list[str | None] = []
        self._seq_of: dict[str, int] = {}  # key -> sequence number
        # Sorted uint64 arrays of (band key << 32 | low 32 bits of the sequence number).
        self._runs: list[np.ndarray] = []
        # Stored posts given one at a time (add_known), indexed together before the next use.
        self._known: list[tuple[str, str, int]] = []

    def __len__(self) -> int:
        self._index_known()
        return len(self._seq_of)

    @staticmethod
    def _compact(text: str | None) -> str | None:
        """What is compared: the text without noise, lower-cased; None when too short."""
        compact = _NOISE.sub("", text or "").lower()
        return compact if len(compact) >= MIN_CHARS else None

    def signatures(self, compacts: Sequence[str]) -> np.ndarray:
        """``(len(compacts), num_perm)`` uint32 MinHash signatures of compared texts: the
        values datasketch's ``MinHash`` (crc32 of each pair's UTF-8, scheme affine32) gives."""
        out = np.full((self.num_perm, len(compacts)), np.uint32(0xFFFFFFFF), dtype=np.uint32)
        if not compacts:
            return out.T
        # surrogatepass: a lone surrogate (possible in a crawled item) is hashed, not fatal.
        joined = "\x00".join(compacts).encode("utf-32-le", "surrogatepass")
        codes = np.frombuffer(joined, dtype=np.uint32)
        # A shingle is a pair of code points; pairs across the separator are dropped. Repeated
        # shingles need no removal: the minimum of a set ignores repeats.
        valid = (codes[:-1] != 0) & (codes[1:] != 0)
        owner = np.cumsum(codes == 0)[:-1][valid]
        hashes = _fmix32(_crc32_pairs(codes[:-1][valid], codes[1:][valid]))
        a, b = self._a[:, None], self._b[:, None]
        for lo in range(0, len(hashes), _CHUNK):
            part, rows = hashes[lo : lo + _CHUNK], owner[lo : lo + _CHUNK]
            # (num_perm, shingles): the minimum then runs along contiguous rows, 2x faster.
            with np.errstate(over="ignore"):
                permuted = a * part + b
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            lows = np.minimum.reduceat(permuted, starts, axis=1)
            at = rows[starts]
            out[:, at] = np.minimum(out[:, at], lows)
        return out.T

    def _band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """``(n, bands + 1)`` 32-bit bucket keys: one per band, and one for the whole signature
        (posts with the same shingles find each other first through it)."""
        mixed = _mix64(signatures.astype(np.uint64) ^ self._position_salt)
        used = self.bands * self.rows
        with np.errstate(over="ignore"):
            per_band = mixed[:, :used].reshape(len(signatures), self.bands, self.rows).sum(axis=2)
            whole = mixed.sum(axis=1, keepdims=True)
            keys = _mix64(np.concatenate([per_band, whole], axis=1) + self._band_salt)
        return keys >> np.uint64(32)

    def _live(self, seq: int | None) -> bool:
        return seq is not None and seq >= self._seq - self.capacity

    def _full_seq(self, low: np.ndarray) -> np.ndarray:
        """Sequence numbers from their low 32 bits (as runs keep them): the latest such number
        before the next one, so a run stays right past 2**32 posts."""
        return self._seq - 1 - ((self._seq - 1 - low.astype(np.int64)) % (1 << _SEQ_BITS))

    def _from_runs(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of ``keys``, sequence number) of the live indexed posts sharing a bucket with
        each row, once per shared bucket: the newest :data:`_PER_BUCKET` of each bucket."""
        n, width = keys.shape
        flat = keys.ravel()
        order = np.argsort(flat)  # sorted look-ups: far fewer cache misses in searchsorted
        flat, post = flat[order], (order // width)
        wanted = np.full(len(flat), _PER_BUCKET, dtype=np.int64)
        found_seq, found_post = [], []
        for run in reversed(self._runs):  # newest first, until each bucket has its share
            lo = np.searchsorted(run, flat << np.uint64(_SEQ_BITS))
            hi = np.searchsorted(run, (flat + np.uint64(1)) << np.uint64(_SEQ_BITS))
            lo = np.maximum(lo, hi - wanted)
            counts = hi - lo
            total = int(counts.sum())
            if total:
                wanted -= counts
                first = np.cumsum(counts) - counts
                index = np.repeat(lo - first, counts) + np.arange(total)
                found_seq.append(self._full_seq(run[index] & _SEQ_MASK))
                found_post.append(np.repeat(post, counts))
        if not found_seq:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        seqs, posts = np.concatenate(found_seq), np.concatenate(found_post)
        live = seqs >= self._seq - self.capacity
        return posts[live], seqs[live]

    @staticmethod
    def _in_batch(keys: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, earlier row) pairs of ``members`` rows of ``keys`` sharing a bucket, each
        row paired with at most the :data:`_PER_BUCKET` latest earlier rows of a bucket."""
        width = keys.shape[1]
        flat = keys[members].ravel()
        rows = np.repeat(members, width)
        order = np.lexsort((rows, flat))
        flat, rows = flat[order], rows[order]
        later, earlier = [], []
        for back in range(1, _PER_BUCKET + 1):
            same = flat[back:] == flat[:-back]
            if not same.any():
                break
            later.append(rows[back:][same])
            earlier.append(rows[:-back][same])
        if not later:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(later), np.concatenate(earlier)

    def _top(self, rows: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's distinct candidates, at most :data:`MAX_CANDIDATES`: those sharing the
        most buckets with it, then the newest (a higher number is newer)."""
        if not len(rows):
            return rows, other
        pairs, shared = np.unique(rows * (1 << 40) + other, return_counts=True)
        rows, other = pairs >> 40, pairs & ((1 << 40) - 1)
        order = np.lexsort((-other, -shared, rows))
        rows, other = rows[order], other[order]
        start = np.searchsorted(rows, rows)  # first position of each row's group
        keep = np.arange(len(rows)) - start < MAX_CANDIDATES
        return rows[keep], other[keep]

    def _evict_and_store(self, keys: list[str], clusters: list[int], signatures, band_keys):
        """Index new posts (oldest first), forgetting the posts whose slots they take."""
        first = self._seq
        needed = min(self.capacity, first + len(keys))
        if needed > len(self._clusters):  # grow towards capacity, doubling
            size = min(self.capacity, max(needed, 1024, 2 * len(self._clusters)))
            grown = np.zeros((size, self.num_perm), dtype=np.uint16)
            grown[: len(self._signatures)] = self._signatures
            self._signatures = grown
            self._clusters = np.concatenate(
                [self._clusters, np.zeros(size - len(self._clusters), dtype=np.int64)]
            )
            self._keys.extend([None] * (size - len(self._keys)))
        seq_of, slot_keys, capacity = self._seq_of, self._keys, self.capacity
        for offset, key in enumerate(keys):
            seq = first + offset
            slot = seq % capacity
            old = slot_keys[slot]
            if old is not None and seq_of.get(old) == seq - capacity:
                del seq_of[old]
            slot_keys[slot] = key
            seq_of[key] = seq
        seqs = np.arange(first, first + len(keys), dtype=np.int64)
        self._signatures[seqs % capacity] = signatures.astype(np.uint16)
        self._clusters[seqs % capacity] = clusters
        self._seq = first + len(keys)
        packed = band_keys << np.uint64(_SEQ_BITS) | (seqs.astype(np.uint64) & _SEQ_MASK)[:, None]
        self._add_run(np.sort(packed.ravel()))

    def _add_run(self, run: np.ndarray) -> None:
        """Runs of similar size are merged (a binary counter: about log2(capacity / batch)
        runs), dropping the band keys of forgotten posts."""
        self._runs.append(run)
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            newer = self._runs.pop()
            merged = np.concatenate([self._runs.pop(), newer])
            del newer
            merged.sort()  # in place
            # Chunk by chunk: whole-array temporaries of a run at capacity (4.4 M keys) made
            # the merge the peak of a long ingest.
            live = np.empty(len(merged), dtype=bool)
            for lo in range(0, len(merged), _CHUNK * 16):
                part = merged[lo : lo + _CHUNK * 16] & _SEQ_MASK
                live[lo : lo + len(part)] = self._full_seq(part) >= self._seq - self.capacity
            self._runs.append(merged[live] if not live.all() else merged)

    def assign_many(self, keys: Sequence[str], texts: Sequence[str | None]) -> list[int | None]:
        """The cluster of each post ``keys[i]`` with text ``texts[i]``, in order (a post may
        join one earlier in the same batch); None where the text is too short to compare.
        A post already indexed keeps its cluster whatever its text now."""
        self._index_known()
        result: list[int | None] = [None] * len(keys)
        fresh: dict[str, int] = {}  # key -> index of its first new post in this batch
        todo: list[int] = []
        compacts: list[str] = []
        for i, key in enumerate(keys):
            seq = self._seq_of.get(key)
            if self._live(seq):
                result[i] = int(self._clusters[seq % self.capacity])
            elif key not in fresh:
                compact = self._compact(texts[i])
                if compact is not None:
                    fresh[key] = i
                    todo.append(i)
                    compacts.append(compact)
        if todo:
            clusters = self._cluster_new([keys[i] for i in todo], compacts)
            for i, cluster in zip(todo, clusters, strict=True):
                result[i] = cluster
        for i, key in enumerate(keys):  # a repeated key in the batch: its first post's cluster
            if result[i] is None and key in fresh:
                result[i] = result[fresh[key]]
        return result

    @staticmethod
    def _best_per_row(rows, other, similarity, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per row of ``n``: the highest similarity among its candidates (-1 without any) and
        that candidate (the newest, i.e. highest, among equals)."""
        best_sim = np.full(n, -1.0)
        best = np.full(n, -1, dtype=np.int64)
        if len(rows):
            order = np.lexsort((-other, -similarity, rows))
            first = order[np.unique(rows[order], return_index=True)[1]]
            best_sim[rows[first]] = similarity[first]
            best[rows[first]] = other[first]
        return best_sim, best

    def _cluster_new(self, keys: list[str], compacts: list[str]) -> list[int]:
        n = len(keys)
        signatures = self.signatures(compacts)
        band_keys = self._band_keys(signatures)
        small = signatures.astype(np.uint16)
        # Indexed posts sharing a bucket, and earlier posts of this batch sharing one.
        rows, seqs = self._top(*self._from_runs(band_keys))
        similarity = (self._signatures[seqs % self.capacity] == small[rows]).mean(axis=1)
        good = similarity >= self.threshold
        old_sim, old_seq = self._best_per_row(rows[good], seqs[good], similarity[good], n)
        found = old_seq >= 0
        old_cluster = np.zeros(n, dtype=np.int64)
        old_cluster[found] = self._clusters[old_seq[found] % self.capacity]
        old_cluster = old_cluster.tolist()
        later, earlier = self._top(*self._in_batch(band_keys, np.arange(n)))
        similarity = (small[earlier] == small[later]).mean(axis=1)
        good = similarity >= self.threshold
        new_sim, new_row = self._best_per_row(later[good], earlier[good], similarity[good], n)
        clusters: list[int] = []
        for row, (o_sim, n_sim, other) in enumerate(
            zip(old_sim.tolist(), new_sim.tolist(), new_row.tolist(), strict=True)
        ):
            # A post of this batch is newer than any indexed one, so it wins a tie.
            if n_sim >= 0 and n_sim >= o_sim:
                clusters.append(clusters[other])
            elif o_sim >= 0:
                clusters.append(old_cluster[row])
            else:
                clusters.append(cluster_id_for(keys[row]))
        self._evict_and_store(keys, clusters, signatures, band_keys)
        return clusters

    def assign(self, key: str, text: str) -> int | None:
        """The cluster of post ``key``; None when the text is too short to compare."""
        return self.assign_many([key], [text])[0]

    def add_known_many(self, posts: Iterable[tuple[str, str, int | None]]) -> None:
        """Index stored ``(key, text, cluster)`` posts with the clusters they were given then
        (rebuilding after a restart), oldest first."""
        self._known.extend((k, t, c) for k, t, c in posts if c is not None)
        self._index_known()

    def add_known(self, key: str, text: str, cluster: int | None) -> None:
        """Index a stored post with the cluster it was given then (rebuilding after a restart).
        Indexed with the others given before the index is next used: one at a time, each
        post would cost a batch's numpy calls."""
        if cluster is not None:
            self._known.append((key, text, cluster))

    def _index_known(self) -> None:
        known, self._known = self._known, []
        for start in range(0, len(known), 1024):
            batch = []
            for key, text, cluster in known[start : start + 1024]:
                compact = self._compact(text) if key not in self._seq_of else None
                if compact is not None:
                    batch.append((key, compact, cluster))
            if batch:
                keys, compacts, clusters = (list(x) for x in zip(*batch, strict=True))
                signatures = self.signatures(compacts)
                band_keys = self._band_keys(signatures)
                self._evict_and_store(keys, clusters, signatures, band_keys)
