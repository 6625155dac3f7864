"""The seeded split of training pairs into the pairs trained on and a held-out slice. Pure."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def split(data: Sequence[T], share: float, seed: int) -> tuple[list[T], list[T]]:
    """Seeded train/validation split; validation gets at least one pair when there are >= 2."""
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    n_val = min(len(data) - 1, max(1, round(len(data) * share))) if len(data) >= 2 else 0
    val = [data[i] for i in order[:n_val]]
    train = [data[i] for i in order[n_val:]]
    return train, val
