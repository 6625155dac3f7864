"""Per-field confidence: plain-value tests of the mapping, and one real extraction."""

from __future__ import annotations

import math

from extractly import Extractor
from extractly.confidence import field_confidence, overall_confidence
from schemas.podcast import PodcastEpisode
from tests.support.texts import SHOW_NOTES


def test_a_field_takes_the_lowest_sampled_probability_inside_its_value() -> None:
    pieces = [b'{"a":"', b"Ne", b"w Y", b'ork",', b'"b":', b"12", b"}"]
    logprobs = [None, math.log(0.9), math.log(0.4), math.log(0.8), None, math.log(0.7), None]
    fields = field_confidence(pieces, logprobs)
    assert fields == {"/a": 0.4, "/b": 0.7}
    assert overall_confidence(fields) == 0.4


def test_forced_values_are_certain_and_nested_pointers_are_escaped() -> None:
    pieces = [b'{"x/y":[', b'"p"', b",", b"null", b'],"e":[]', b"}"]
    logprobs = [None, None, None, math.log(0.5), None, None]
    assert field_confidence(pieces, logprobs) == {"/x~1y/0": 1.0, "/x~1y/1": 0.5, "/e": 1.0}


def test_a_token_that_splits_a_character_counts_for_the_value_holding_it() -> None:
    snow = "❄".encode()
    pieces = [b'{"w":"', snow[:1], snow[1:], b'"}']
    logprobs = [None, math.log(0.3), math.log(0.9), None]
    assert field_confidence(pieces, logprobs) == {"/w": 0.3}


def test_truncated_json_yields_the_values_before_the_break() -> None:
    pieces = [b'{"a":1,', b'"b":"unfini']
    assert field_confidence(pieces, [math.log(0.5), math.log(0.5)]) == {"/a": 0.5}


def test_real_extraction_reports_a_confidence_for_every_field(
    podcast: Extractor[PodcastEpisode],
) -> None:
    result = podcast.run(SHOW_NOTES[1])
    top_level = {key.split("/")[1] for key in result.field_confidence}
    assert top_level == set(PodcastEpisode.model_fields)
    assert all(0.0 < c <= 1.0 for c in result.field_confidence.values())
    assert result.confidence == min(result.field_confidence.values())
    assert result.confidence < 1.0  # the model chose at least one token
