"""Choosing texts to label (``extractly.teacher.select``): seeded, and covering every kind of
text before a second of any kind."""

from __future__ import annotations

from extractly.teacher.labels import Text
from extractly.teacher.select import diverse_pick, random_pick

KINDS = {
    "weather": "will it rain in {} tomorrow morning",
    "music": "play the latest album by {} on my speaker",
    "booking": "book a table for four at {} tonight please",
}
NAMES = ("Lyon", "Oslo", "Graz", "Cork", "Brno", "Turin", "Bergen", "Ghent", "Split", "Tartu")


def _texts(sizes: dict[str, int]) -> list[Text]:
    return [Text(f"{kind}-{i}", KINDS[kind].format(NAMES[i % len(NAMES)]))
            for kind, n in sizes.items() for i in range(n)]


def _kind(text: Text) -> str:
    return text.id.split("-")[0]


def test_diverse_pick_takes_one_of_each_kind_before_a_second_of_any() -> None:
    texts = _texts({"weather": 60, "music": 8, "booking": 4})
    picked = diverse_pick(texts, 3, seed=0)
    assert sorted(_kind(t) for t in picked) == ["booking", "music", "weather"]
    assert diverse_pick(texts, 3, seed=0) == picked  # seeded
    # a later round given what was chosen does not pick it again
    more = diverse_pick(texts, 6, chosen=picked, seed=0)
    assert not {t.id for t in more} & {t.id for t in picked} and len(more) == 6


def test_uncertainty_moves_picks_towards_what_the_student_gets_wrong() -> None:
    texts = _texts({"weather": 30, "music": 30, "booking": 30})
    unsure = {t.id: (0.9 if _kind(t) == "booking" else 0.05) for t in texts}
    picked = diverse_pick(texts, 6, uncertainty=unsure, seed=0)
    kinds = [_kind(t) for t in picked]
    assert kinds.count("booking") >= 4, kinds  # most picks where the student is unsure
    assert len({t.text for t in picked}) == 6  # and no two alike among them
    assert diverse_pick(texts, 6, seed=0) != picked


def test_random_pick_is_seeded_and_excludes() -> None:
    texts = _texts({"weather": 20})
    first = random_pick(texts, 5, seed=3)
    assert random_pick(texts, 5, seed=3) == first
    again = random_pick(texts, 20, seed=3, exclude=frozenset(t.id for t in first))
    assert len(again) == 15 and not {t.id for t in again} & {t.id for t in first}
