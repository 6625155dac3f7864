"""The local backend's sessions with the real model: a tuned adapter survives a batch larger
than the context was built for, and a run nested in another run of the same Extractor gets the
same answers without disturbing the outer run's streams."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from extractly import EmptyInputError, Extraction, Extractor
from schemas.podcast import PodcastEpisode
from tests.golden.characterize import ADAPTER, WEATHER, WEATHER_TEXTS
from tests.support.texts import SHOW_NOTES


def fingerprint(result: Extraction[Any]) -> tuple[str, dict[str, float]]:
    """What the weights decide: the text and every chosen token's probability."""
    return result.raw_text, dict(result.field_confidence)


def test_an_adapter_is_kept_when_run_many_grows_the_batch() -> None:
    with Extractor(WEATHER, adapter=ADAPTER, batch_size=2) as tuned:
        one_by_one = [fingerprint(tuned.run(t)) for t in WEATHER_TEXTS]
        grown = list(tuned.run_many(WEATHER_TEXTS, batch_size=len(WEATHER_TEXTS)))
        assert [fingerprint(r) for r in grown] == one_by_one
        assert {r.backend for r in grown} == {f"llama.cpp:{tuned.model_path.name}+{ADAPTER.name}"}
        assert tuned.prefix_tokens == 1  # BOS only: the instruction-free prompt
    # The test can fail: the base weights with the same (instruction-free) prompt, which is
    # what a grown context without the adapter would run, answer differently.
    with Extractor(WEATHER, adapter=None, instructions="", examples=[]) as base:
        assert base.prefix_tokens == 1
        assert [fingerprint(base.run(t)) for t in WEATHER_TEXTS] != one_by_one


def test_a_run_nested_in_run_many_gets_its_own_context() -> None:
    with Extractor(PodcastEpisode) as podcast:
        expected = [podcast.run(t).raw_text for t in SHOW_NOTES]
        assert podcast.prefix_evaluations == 1
        outer: list[str] = []
        inner: list[str] = []
        for result in podcast.run_many(SHOW_NOTES, batch_size=3):
            outer.append(result.raw_text)
            inner.append(podcast.run(SHOW_NOTES[len(inner) % 3]).raw_text)
        assert outer == expected  # the suspended streams were not touched
        assert inner == expected
        assert podcast.prefix_evaluations == 2  # one second context, made once and reused


def test_a_raised_error_does_not_keep_the_session_busy(
    podcast: Extractor[PodcastEpisode],
) -> None:
    """The error raised from run_many keeps its frames alive in its traceback; the decode under
    it must still be closed, or another thread would wait as long as the error lives."""
    with pytest.raises(EmptyInputError) as info:
        list(podcast.run_many([SHOW_NOTES[1], "  ", SHOW_NOTES[2]], batch_size=2))
    got: list[str] = []
    worker = threading.Thread(
        target=lambda: got.append(podcast.run(SHOW_NOTES[1]).raw_text), daemon=True
    )  # a daemon, so that a failure here cannot keep the test process from exiting
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive() and len(got) == 1
    assert info.value is not None  # still alive here, with its traceback


def test_another_thread_waits_for_a_suspended_run_many(
    podcast: Extractor[PodcastEpisode],
) -> None:
    expected = podcast.run(SHOW_NOTES[1]).raw_text
    got: list[str] = []
    stream = podcast.run_many(SHOW_NOTES, batch_size=3)
    next(stream)  # the batch is under way and suspended
    worker = threading.Thread(
        target=lambda: got.append(podcast.run(SHOW_NOTES[1]).raw_text), daemon=True
    )
    worker.start()
    worker.join(timeout=1.0)
    assert worker.is_alive() and got == []  # serialized behind the suspended batch
    rest = list(stream)
    worker.join(timeout=120)
    assert got == [expected]
    assert len(rest) == 2 and rest[0].raw_text == expected  # the same text, the same answer
