"""Which texts to ask the teacher about: ``random_pick`` (the baseline), ``diverse_pick`` and
``coverage_pick`` (its docstring).

A label teaches most where the texts are unlike those already labelled and where the student is
unsure. ``diverse_pick`` clusters the texts (spherical k-means over word and word-pair features,
seeded farthest-first, as many clusters as texts chosen in all) and takes one text from each cluster
that holds no chosen text yet, the largest clusters first: every kind of text gets a label, and
the common kinds first, instead of the common kind over and over (random) or the oddest texts
first (plain farthest-first k-center, which favours outliers: here a lone odd text is a
cluster of one and comes last). The text taken from a cluster is
the one nearest its centre. When the caller has scored the texts with a student
(``uncertainty``: one minus its least confident field), only the most uncertain texts are
clustered (``PREFILTER`` times as many as wanted), clusters are ranked by size times their mean
uncertainty, and the most uncertain text of a cluster's nearer half is taken. If fewer
clusters are uncovered than texts wanted, the rest are farthest-first picks.

Features are hashed (``FEATURES`` buckets) TF-IDF vectors of lower-cased words and adjacent word
pairs found in at least two texts, L2-normalised, so similarity is the cosine. Everything is
seeded: the same texts, seed and scores give the same picks. Not here: scoring texts with a
student (``job``), labelling.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from .labels import Text

PREFILTER = 2
"""With student scores, only the ``PREFILTER * n`` most uncertain texts compete (as in
Zhdanov's diverse mini-batch active learning): uncertainty decides where, diversity which.
Below ``job.DistillConfig.pool`` (the candidates scored per wanted label), or it filters
nothing."""
LENGTH_STRATA = 20
"""``coverage_pick`` takes texts of each twentieth of the word-count distribution in proportion
(fifths were too coarse: within each the longest texts still won, 8.0 words on average against
the texts' 7.1 on US addresses, and no 3-word address among 150 picks)."""
FEATURES = 2048
"""Hash buckets of the text features (collisions only blur distances a little)."""
_WORD = re.compile(r"\w+")


def random_pick(texts: Sequence[Text], n: int, *, seed: int = 0,
                exclude: frozenset[str] = frozenset()) -> list[Text]:
    """``n`` texts drawn uniformly without replacement (ids in ``exclude`` are never drawn)."""
    pool = [t for t in texts if t.id not in exclude]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def diverse_pick(
    texts: Sequence[Text],
    n: int,
    *,
    chosen: Sequence[Text] = (),
    uncertainty: Mapping[str, float] | None = None,
    seed: int = 0,
) -> list[Text]:
    """``n`` texts of ``texts`` (none of ``chosen``) covering the clusters ``chosen`` leaves
    uncovered (the module docstring); ``uncertainty``: id -> 0..1, a text without a score
    counts as fully uncertain."""
    pool, n = _contenders(texts, n, chosen, uncertainty)
    if n <= 0:
        return []
    vectors = featurize([t.text for t in pool] + [t.text for t in chosen])
    doubt = np.ones(len(pool), dtype=np.float32)
    if uncertainty is not None:
        doubt = np.array([uncertainty.get(t.id, 1.0) for t in pool], dtype=np.float32)
    labels = spherical_kmeans(vectors, len(chosen) + n, seed)
    own, anchor = labels[: len(pool)], labels[len(pool):]
    covered = set(anchor.tolist())
    sims = (vectors[: len(pool)] * _centres(vectors, labels)[own]).sum(axis=1)
    ranked: list[tuple[float, int]] = []
    for cluster in set(own.tolist()) - covered:
        members = np.flatnonzero(own == cluster)
        weight = float(len(members) * (doubt[members].mean() if uncertainty is not None else 1))
        near = members[np.argsort(-sims[members], kind="stable")]
        if uncertainty is not None:  # the most uncertain of the nearer half
            half = near[: max(1, (len(near) + 1) // 2)]
            best = int(half[np.argmax(doubt[half])])
        else:
            best = int(near[0])
        ranked.append((weight, best))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    picked = [index for _, index in ranked[:n]]
    if len(picked) < n:
        picked += farthest_first(vectors[: len(pool)], n - len(picked),
                                 anchors=np.concatenate([vectors[len(pool):],
                                                         vectors[picked]]), seed=seed)
    return [pool[i] for i in picked]


def coverage_pick(
    texts: Sequence[Text],
    n: int,
    *,
    chosen: Sequence[Text] = (),
    uncertainty: Mapping[str, float] | None = None,
    seed: int = 0,
) -> list[Text]:
    """``n`` texts of ``texts`` (none of ``chosen``) that together, with ``chosen``, cover the
    wording of all the texts best, in the texts' mix of lengths: greedy maximisation of a
    feature-based submodular function (Wei, Iyer and Bilmes, ICML 2015), f(S) = sum over terms
    u of w_u * sqrt(m_u(S)), where m_u(S) counts u's occurrences in S and w_u = sqrt(share of
    texts using u), under a quota per length stratum (a partition matroid).

    Why these: with sqrt, a term's next occurrence gains less than its first (wording already
    covered counts less), and the greedy picks from two kinds of text in the ratio
    (w_a / w_b)^2, which with this w_u is the ratio of their counts: the kinds in proportion, as
    random selection gives them on average, but every kind and never the same wording twice
    while other wording is uncovered. Within a stratum, a text that states more (more fields to
    learn from) gains more than a short one. The quotas (``LENGTH_STRATA``) exist because
    without them the gain favours long texts outright: on US addresses the 150 picks averaged 11
    words against the texts' 7, and the student tuned on them invented a city, state and ZIP
    for the short addresses it met (slot F1 0.696 against 0.808 for 150 random picks). With
    student scores, only the ``PREFILTER * n`` most uncertain texts compete, and the quotas
    follow all of ``texts``. Lazy greedy (gains only shrink); ties are broken by a seeded
    order; if the quotas cannot be filled, the rest are plain greedy picks."""
    pool, n = _contenders(texts, n, chosen, uncertainty)
    if n <= 0:
        return []
    counts = [Counter(_terms(t.text)) for t in [*pool, *chosen]]
    df = Counter(term for c in counts for term in c)
    weight = {term: math.sqrt(k / len(counts)) for term, k in df.items()}
    mass: dict[int, float] = {}
    for c in counts[len(pool):]:
        for term, k in c.items():
            if term in weight:
                mass[term] = mass.get(term, 0.0) + k
    words = {t.id: len(_WORD.findall(t.text)) for t in [*texts, *chosen]}
    edges = length_edges([words[t.id] for t in texts])
    stratum_of = {i: bisect.bisect_right(edges, k) for i, k in words.items()}
    stratum = [stratum_of[t.id] for t in [*pool, *chosen]]
    quota = stratum_quotas(Counter(stratum_of[t.id] for t in texts),
                           Counter(stratum[len(pool):]), n)

    def gain(i: int) -> float:
        return sum(weight[term] * (math.sqrt(mass.get(term, 0.0) + k)
                                   - math.sqrt(mass.get(term, 0.0)))
                   for term, k in counts[i].items() if term in weight)

    tiebreak = random.Random(seed).sample(range(len(pool)), len(pool))
    picked: list[int] = []
    for capped in (True, False):
        done = set(picked)
        heap = [(-gain(i), tiebreak[i], i) for i in range(len(pool)) if i not in done]
        heapq.heapify(heap)
        while heap and len(picked) < n:
            _, order_key, i = heapq.heappop(heap)
            if capped and quota.get(stratum[i], 0) <= 0:
                continue
            fresh = gain(i)
            if heap and -fresh > heap[0][0]:  # stale: another text may gain more now
                heapq.heappush(heap, (-fresh, order_key, i))
                continue
            picked.append(i)
            quota[stratum[i]] = quota.get(stratum[i], 0) - 1
            for term, k in counts[i].items():
                if term in weight:
                    mass[term] = mass.get(term, 0.0) + k
    return [pool[i] for i in picked]


def length_edges(words: Sequence[int]) -> list[int]:
    """Word counts splitting texts of these ``words`` counts into at most ``LENGTH_STRATA``
    strata of about equal size (quantiles; equal quantiles merge, so a set of near-equal lengths
    has fewer strata). A text's stratum is ``bisect.bisect_right(edges, its word count)``."""
    if not words:
        return []
    cuts = np.quantile(np.array(words, dtype=np.float64),
                       [k / LENGTH_STRATA for k in range(1, LENGTH_STRATA)], method="lower")
    return sorted({int(c) for c in cuts})


def stratum_quotas(shares: Mapping[int, int], have: Mapping[int, int], n: int) -> dict[int, int]:
    """How many of ``n`` new picks each stratum may take, so that with ``have`` (picks made
    before, per stratum) the picks follow ``shares`` (texts per stratum): largest remainder, a
    stratum already past its share takes none."""
    size = sum(shares.values())
    if size == 0:
        return {}
    total = n + sum(have.values())
    want = {s: max(0.0, total * k / size - have.get(s, 0)) for s, k in shares.items()}
    scale = n / sum(want.values()) if sum(want.values()) > n else 1.0
    want = {s: w * scale for s, w in want.items()}
    quota = {s: math.floor(w) for s, w in want.items()}
    by_remainder = sorted(want, key=lambda s: (quota[s] - want[s], s))
    for s in by_remainder[: n - sum(quota.values())]:
        quota[s] += 1
    return quota


def _contenders(
    texts: Sequence[Text], n: int, chosen: Sequence[Text],
    uncertainty: Mapping[str, float] | None,
) -> tuple[list[Text], int]:
    """The texts a pick chooses among (none of ``chosen``; with student scores only the
    ``PREFILTER * n`` most uncertain, in input order) and how many it can take."""
    taken = {t.id for t in chosen}
    pool = [t for t in texts if t.id not in taken]
    n = min(n, len(pool))
    if uncertainty is not None and n > 0:
        order = sorted(range(len(pool)), key=lambda i: -uncertainty.get(pool[i].id, 1.0))
        pool = [pool[i] for i in sorted(order[: max(n, PREFILTER * n)])]
    return pool, n


def spherical_kmeans(
    vectors: npt.NDArray[np.float32], k: int, seed: int, rounds: int = 15
) -> npt.NDArray[np.int64]:
    """Cluster labels of unit ``vectors`` into at most ``k`` clusters by cosine similarity:
    centres seeded farthest-first (so a small group of texts unlike the rest gets a centre of
    its own, which k-means++ leaves to chance), then ``rounds`` of Lloyd's updates."""
    seeds = farthest_first(vectors, min(k, len(vectors)), anchors=vectors[:0], seed=seed)
    centre = vectors[seeds].copy()
    labels = np.argmax(vectors @ centre.T, axis=1)
    for _ in range(rounds):
        for c in range(len(centre)):
            members = vectors[labels == c]
            if len(members):
                mean = members.sum(axis=0)
                norm = float(np.linalg.norm(mean))
                centre[c] = mean / norm if norm else centre[c]
        new = np.argmax(vectors @ centre.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    out: npt.NDArray[np.int64] = labels.astype(np.int64)
    return out


def _centres(
    vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]
) -> npt.NDArray[np.float32]:
    out = np.zeros((int(labels.max()) + 1, vectors.shape[1]), dtype=np.float32)
    np.add.at(out, labels, vectors)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def farthest_first(
    vectors: npt.NDArray[np.float32], n: int, *, anchors: npt.NDArray[np.float32], seed: int
) -> list[int]:
    """Greedy k-center: ``n`` rows of ``vectors``, each the farthest from ``anchors`` and the
    rows already picked."""
    if len(anchors):
        nearest = 1.0 - (vectors @ anchors.T).max(axis=1)
    else:
        nearest = np.full(len(vectors), 2.0, dtype=np.float32)
    jitter = np.random.default_rng(seed).random(len(vectors)).astype(np.float32) * 1e-6
    picked: list[int] = []
    for _ in range(min(n, len(vectors))):
        score = nearest + jitter
        score[picked] = -1.0
        best = int(np.argmax(score))
        picked.append(best)
        nearest = np.minimum(nearest, 1.0 - vectors @ vectors[best])
    return picked


def featurize(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Hashed TF-IDF of words and word pairs, one L2-normalised row per text. Terms found in
    one text only are left out: they cannot make two texts alike, and with IDF they would
    outweigh the wording texts share (every text would look equally unlike every other)."""
    rows = [_terms(text) for text in texts]
    df: dict[int, int] = {}
    for terms in rows:
        for term in set(terms):
            df[term] = df.get(term, 0) + 1
    out = np.zeros((len(texts), FEATURES), dtype=np.float32)
    for i, terms in enumerate(rows):
        for term in terms:
            if df[term] > 1:
                out[i, term] += math.log((1 + len(texts)) / (1 + df[term])) + 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _terms(text: str) -> list[int]:
    words = _WORD.findall(text.lower())
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return [_bucket(g) for g in grams]


def _bucket(term: str) -> int:
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % FEATURES
