"""Which texts to ask the teacher about: ``random_pick`` (the baseline) and ``diverse_pick``.

A label teaches most where the student is unsure and where the texts are unlike those already
labelled. ``diverse_pick`` is greedy k-center selection (as in core-set active learning) over
the texts' word and word-pair features, each text's distance to the nearest text already
chosen weighted by the student's uncertainty about it (one minus its least confident field,
``Extraction.confidence``), when the caller has scored the texts with a student. Without
scores it is plain k-center: it covers the texts' variety (every phrasing, every kind of
document) instead of sampling the common kind over and over.

Features are hashed (``FEATURES`` buckets) TF-IDF vectors of lower-cased words and adjacent word
pairs, L2-normalised, so distance is ``1 - cosine``. Everything is seeded: the same texts, seed
and scores give the same picks. Not here: scoring texts with a student (``job``), labelling.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
import re
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from .labels import Text

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
    """``n`` texts of ``texts`` (none of ``chosen``), each the one farthest from everything
    chosen so far, distance times ``0.25 + uncertainty`` when ``uncertainty`` (id -> 0..1) is
    given; a text without a score counts as fully uncertain."""
    taken = {t.id for t in chosen}
    pool = [t for t in texts if t.id not in taken]
    if n <= 0 or not pool:
        return []
    vectors = featurize([t.text for t in pool] + [t.text for t in chosen])
    candidates, anchors = vectors[: len(pool)], vectors[len(pool):]
    weight = np.ones(len(pool), dtype=np.float32)
    if uncertainty is not None:
        weight = np.array([0.25 + uncertainty.get(t.id, 1.0) for t in pool], dtype=np.float32)
    if len(anchors):
        nearest = 1.0 - (candidates @ anchors.T).max(axis=1)
    else:
        nearest = np.full(len(pool), 2.0, dtype=np.float32)  # nothing chosen: all equally far
    # a seeded jitter far below any real distance breaks ties without favouring input order
    jitter = np.random.default_rng(seed).random(len(pool)).astype(np.float32) * 1e-6
    picked: list[int] = []
    for _ in range(min(n, len(pool))):
        score = nearest * weight + jitter
        score[picked] = -1.0
        best = int(np.argmax(score))
        picked.append(best)
        nearest = np.minimum(nearest, 1.0 - candidates @ candidates[best])
    return [pool[i] for i in picked]


def featurize(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Hashed TF-IDF of words and word pairs, one L2-normalised row per text."""
    rows = [_terms(text) for text in texts]
    df: dict[int, int] = {}
    for terms in rows:
        for term in set(terms):
            df[term] = df.get(term, 0) + 1
    out = np.zeros((len(texts), FEATURES), dtype=np.float32)
    for i, terms in enumerate(rows):
        for term in terms:
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
