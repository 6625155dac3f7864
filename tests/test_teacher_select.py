"""Choosing texts to label (``extractly.teacher.select``): seeded, covering every kind of text
before a second of any kind, and (coverage) preferring texts that state more."""

from __future__ import annotations

import itertools
from pathlib import Path

from extractly.teacher.job import DistillConfig, pick_texts
from extractly.teacher.labels import Text
from extractly.teacher.select import coverage_pick, diverse_pick, random_pick, stratum_quotas

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
    texts = _texts({"weather": 10, "music": 10, "booking": 10})
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


def test_coverage_pick_takes_kinds_in_proportion_and_texts_that_state_more() -> None:
    texts = _texts({"weather": 30, "music": 10, "booking": 10})
    fuller = [Text(f"weather-full-{i}", KINDS["weather"].format(name) + f" and in {other} too")
              for i, (name, other) in enumerate(itertools.pairwise(NAMES))]
    picked = coverage_pick([*texts, *fuller], 10, seed=0)
    kinds = [_kind(t) for t in picked]
    # 39 of 59 texts are about weather: about two thirds of the picks, and every kind
    assert 5 <= kinds.count("weather") <= 8 and {"music", "booking"} <= set(kinds), kinds
    assert len({t.text for t in picked}) == 10  # never the same wording twice
    # the first weather text picked names two places: it covers more of the wording
    assert next(t for t in picked if _kind(t) == "weather").id.startswith("weather-full-")
    assert coverage_pick([*texts, *fuller], 10, seed=0) == picked  # seeded
    more = coverage_pick(texts, 5, chosen=picked, seed=0)
    assert not {t.id for t in more} & {t.id for t in picked} and len(more) == 5


def test_coverage_pick_with_student_scores_picks_among_the_least_sure() -> None:
    texts = _texts({"weather": 10, "music": 10, "booking": 10})
    unsure = {t.id: (0.9 if _kind(t) == "booking" else 0.05) for t in texts}
    picked = coverage_pick(texts, 6, uncertainty=unsure, seed=0)
    kinds = [_kind(t) for t in picked]
    assert kinds.count("booking") >= 4, kinds
    assert len({t.text for t in picked}) == 6


def test_coverage_pick_keeps_the_texts_mix_of_lengths() -> None:
    short = _texts({"weather": 40})
    long = [Text(f"long-{i}", f"book a table for four at {a} tonight, then play the latest album "
                 f"by {b} on my speaker while it rains in {c}")
            for i, (a, b, c) in enumerate(zip(NAMES, NAMES[3:] + NAMES[:3], NAMES[6:] + NAMES[:6],
                                              strict=True))]
    picked = coverage_pick([*short, *long], 10, seed=0)
    # a long text covers far more wording, yet they are a fifth of the texts: 2 picks of 10
    assert sum(t.id.startswith("long-") for t in picked) == 2, [t.id for t in picked]
    assert len(picked) == 10 and len({t.id for t in picked}) == 10


def test_stratum_quotas_follow_the_shares_given_earlier_picks() -> None:
    assert stratum_quotas({0: 50, 1: 30, 2: 20}, {}, 10) == {0: 5, 1: 3, 2: 2}
    # 10 short texts chosen before: the next 10 go to the strata still short of their share
    assert stratum_quotas({0: 50, 1: 30, 2: 20}, {0: 10}, 10) == {0: 0, 1: 6, 2: 4}
    assert sum(stratum_quotas({0: 7, 1: 5, 2: 1}, {}, 4).values()) == 4


def test_later_rounds_without_a_student_extend_the_cover_of_all_texts(tmp_path: Path) -> None:
    # --candidates 0: a round after the first picks among every text not labelled yet, without
    # opening the last round's adapter (here a file that does not exist)
    texts = _texts({"weather": 20, "music": 10, "booking": 10})
    chosen, held = texts[:4], texts[-3:]
    config = DistillConfig(selection="coverage", pool=0)
    picked = pick_texts(texts, 6, config, chosen=chosen, held=held,
                        student=tmp_path / "missing.gguf", schema={"type": "object"})
    free = [t for t in texts if t not in chosen and t not in held]
    assert picked == coverage_pick(free, 6, chosen=chosen, seed=0)
    assert len(picked) == 6 and not {t.id for t in picked} & {t.id for t in [*chosen, *held]}
