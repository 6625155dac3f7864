"""Keep evaluation texts out of training: ``near_copies`` finds training texts that contain most
of a protected text (the demo's show notes, hand-written evaluation notes), exactly or nearly
(reworded, numbers changed, cut). Measured as the share of the protected text's word trigrams
found in the candidate (containment), after lower-casing and dropping punctuation; a text
shorter than three words is compared by its words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NEAR = 0.5
"""A candidate holding half of a protected text's word trigrams is a near copy of it."""
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class NearCopy:
    protected: int
    """Index of the protected text."""
    candidate: str
    containment: float


def words(text: str) -> list[str]:
    """``text``'s words, lower-cased, punctuation dropped: what every comparison here sees."""
    return _WORD.findall(text.lower())


def shingles(text: str) -> set[tuple[str, ...]]:
    seq = words(text)
    if len(seq) < 3:
        return {tuple(seq)} if seq else set()
    return {tuple(seq[i:i + 3]) for i in range(len(seq) - 2)}


def near_copies(candidates: Iterable[str], protected: Sequence[str], *,
                threshold: float = NEAR) -> list[NearCopy]:
    """Every (protected text, candidate) pair with containment of at least ``threshold``."""
    guarded = [(i, shingles(p)) for i, p in enumerate(protected)]
    guarded = [(i, s) for i, s in guarded if s]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, grams in guarded:
        for gram in grams:
            index.setdefault(gram, []).append(i)
    sizes = dict(guarded)
    found: list[NearCopy] = []
    for text in candidates:
        hits: dict[int, int] = {}
        for gram in shingles(text):
            for i in index.get(gram, ()):
                hits[i] = hits.get(i, 0) + 1
        for i, n in hits.items():
            share = n / len(sizes[i])
            if share >= threshold:
                found.append(NearCopy(i, text, round(share, 3)))
    return found
