"""Source spans: plain-value tests of the search, and spans on a real extraction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from extractly import Extractor
from extractly.spans import normalize, source_spans, string_leaves
from schemas.podcast import PodcastEpisode
from tests.support.texts import SHOW_NOTES


def test_exact_occurrences_give_the_value_back() -> None:
    text = "Hosted by Sarah Johnson with Alan Park and Kim Lee."
    value = {"host": "Sarah Johnson", "guests": ["Alan Park", "Kim Lee"], "n": 3, "x": None}
    spans = source_spans(text, value)
    assert spans == {"/host": (10, 23), "/guests/0": (29, 38), "/guests/1": (43, 50)}
    assert all(
        text[s:e] == v for (p, v), (s, e) in zip(string_leaves(value), spans.values(), strict=True)
    )


def test_case_and_whitespace_differences_map_back_to_the_original_characters() -> None:
    text = "Notes:\n  ACME\n   Corp\tis based in new york."
    spans = source_spans(text, {"company": "Acme Corp", "city": "New York"})
    assert text[slice(*spans["/company"])] == "ACME\n   Corp"
    assert text[slice(*spans["/city"])] == "new york"
    assert normalize(text[slice(*spans["/city"])]) == normalize("New York")


def test_values_not_in_the_text_and_empty_strings_have_no_span() -> None:
    spans = source_spans("Alan Park spoke.", {"a": "Bob", "b": "", "c": "  ", "d": "Alan Park"})
    assert spans == {"/d": (0, 9)}


def test_the_occurrence_nearest_the_previous_value_wins() -> None:
    text = "Ben Stone founded it. ... Later: host Ana Ruiz, guest Ben Stone."
    spans = source_spans(text, {"host": "Ana Ruiz", "guest": "Ben Stone"})
    assert spans["/guest"] == (text.rindex("Ben Stone"), text.rindex("Ben Stone") + 9)
    # With nothing found before it, the first occurrence.
    assert source_spans(text, {"guest": "Ben Stone"}) == {"/guest": (0, 9)}


def test_a_region_is_searched_first_and_exact_beats_normalized() -> None:
    text = "kim lee ... Kim Lee ... Kim Lee"
    last = text.rindex("Kim Lee")
    assert source_spans(text, {"g": "Kim Lee"}, {"/g": (20, len(text))}) == {"/g": (last, last + 7)}
    # Verbatim elsewhere beats a normalized match inside the region.
    assert source_spans(text, {"g": "Kim Lee"}, {"/g": (0, 8)}) == {"/g": (12, 19)}


def test_pointers_escape_slash_and_tilde() -> None:
    assert source_spans("a b", {"x/y": {"~z": ["b"]}}) == {"/x~1y/~0z/0": (2, 3)}


def test_characters_that_lower_case_to_two_still_map_back() -> None:
    text = "Straße İstanbul Ltd"
    spans = source_spans(text, {"a": "İSTANBUL LTD", "b": "straße"})
    assert normalize(text[slice(*spans["/a"])]) == normalize("İSTANBUL LTD")
    assert text[slice(*spans["/b"])] == "Straße"


@given(st.text(max_size=60), st.lists(st.text(min_size=1, max_size=8), max_size=4))
def test_every_span_satisfies_the_documented_promise(text: str, values: list[str]) -> None:
    spans = source_spans(text, values)
    for pointer, value in string_leaves(values):
        if pointer not in spans:
            assert value not in text or not value.strip()
            continue
        start, end = spans[pointer]
        if value in text:
            assert text[start:end] == value
        else:
            assert normalize(text[start:end]) == normalize(value)


def test_a_real_extraction_carries_spans_of_its_copied_values(
    podcast: Extractor[PodcastEpisode],
) -> None:
    text = SHOW_NOTES[0]
    result = podcast.run(text)
    assert result.value.host == "Sarah Johnson"  # the base model copies this one reliably
    assert text[slice(*result.spans["/host"])] == "Sarah Johnson"
    for pointer, (start, end) in result.spans.items():
        assert pointer in result.field_confidence
        assert normalize(text[start:end]) != ""
