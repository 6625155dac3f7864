"""Chunk planning and the merge of chunk objects: plain-value tests (no model)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from extractly.chunks import plan_chunks, sentence_spans
from extractly.merge import ChunkValue, merge_chunks, trim_list


def words(text: str) -> int:
    return len(text.split())


def test_sentences_end_at_terminal_punctuation_and_blank_lines() -> None:
    text = 'He said "Go." Then left!  Why?\n\nNew part without stop\nstill same. End'
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        'He said "Go."',
        "Then left!",
        "Why?",
        "New part without stop\nstill same.",
        "End",
    ]


def test_chunks_are_whole_sentences_within_budget_and_overlap() -> None:
    sentences = [f"Sentence number {i} has five words." for i in range(30)]
    text = " ".join(sentences)
    chunks = plan_chunks(text, words, 40, overlap=2)
    pieces = [text[s:e] for s, e in chunks]
    assert pieces[0].startswith("Sentence number 0 ") and pieces[-1].endswith("29 has five words.")
    for piece in pieces:
        assert piece.startswith("Sentence") and piece.endswith(".")
        assert words(piece) <= 40
    for (s1, e1), (s2, _) in itertools.pairwise(chunks):
        assert s1 < s2 < e1  # consecutive chunks share text and move forward
        assert text[s2:e1].count("Sentence") == 2  # exactly two sentences of overlap


def test_a_sentence_longer_than_the_budget_is_cut_at_spaces() -> None:
    text = "Short one. " + " ".join(f"w{i}" for i in range(100)) + ". Tail."
    chunks = plan_chunks(text, words, 16, overlap=1)
    assert all(words(text[s:e]) <= 16 for s, e in chunks)
    covered = " ".join(text[s:e] for s, e in chunks).split()
    assert set(covered) == set(text.split())  # nothing lost


@given(st.text(alphabet="ab .!?\n", max_size=300), st.integers(2, 30), st.integers(0, 3))
def test_chunks_cover_every_word_in_order(text: str, budget: int, overlap: int) -> None:
    chunks = plan_chunks(text, words, budget, overlap=overlap)
    starts = [s for s, _ in chunks]
    assert starts == sorted(set(starts))
    covered = set()
    for s, e in chunks:
        covered.update(range(s, e))
    assert all(i in covered for i, ch in enumerate(text) if ch not in " \n")


def chunk(value: object, confidence: dict[str, float] | None = None, text: str = "") -> ChunkValue:
    return ChunkValue(value, confidence or {}, text)


def test_lists_concatenate_and_drop_normalized_duplicates() -> None:
    merged = merge_chunks(
        [
            chunk({"p": ["SonoGauge", "Tide  Link"]}, text="SonoGauge Tide Link"),
            chunk({"p": ["sonogauge", "BrineWatch"]}, text="BrineWatch"),
            chunk({"p": []}),
        ]
    )
    assert merged.value == {"p": ["SonoGauge", "Tide  Link", "BrineWatch"]}
    assert merged.origin == {"/p/0": 0, "/p/1": 0, "/p/2": 1}


def test_scalars_non_null_then_copied_then_confident_then_earliest() -> None:
    texts = ["Ana Ruiz", "Ben Stone", "Kim Lee"]
    merged = merge_chunks(
        [
            chunk({"a": None, "b": "Ana Ruiz", "c": "Invented", "d": 3},
                  {"/b": 0.5, "/c": 0.99, "/d": 0.5}, texts[0]),
            chunk({"a": "Ben Stone", "b": "Ben Stone", "c": "Ben Stone", "d": 4},
                  {"/a": 0.2, "/b": 0.9, "/c": 0.1, "/d": 0.9}, texts[1]),
            chunk({"a": None, "b": "Kim Lee", "c": None, "d": 5}, {"/b": 0.4, "/d": 0.9},
                  texts[2]),
        ]
    )  # fmt: skip
    # a: the only non-null. b: most confident. c: copied beats invented, whatever the
    # confidence. d: tie between chunks 1 and 2 -> the earlier.
    assert merged.value == {"a": "Ben Stone", "b": "Ben Stone", "c": "Ben Stone", "d": 4}
    assert merged.origin == {"/a": 1, "/b": 1, "/c": 1, "/d": 1}
    assert merged.confidence == {"/a": 0.2, "/b": 0.9, "/c": 0.1, "/d": 0.9}


def test_nested_objects_merge_field_by_field_and_null_objects_do_not_hide_found_ones() -> None:
    merged = merge_chunks(
        [
            chunk({"addr": {"city": "Ljubljana", "street": None}}, text="Ljubljana"),
            chunk({"addr": None}),
            chunk({"addr": {"city": None, "street": "Main St 4"}}, text="Main St 4"),
        ]
    )
    assert merged.value == {"addr": {"city": "Ljubljana", "street": "Main St 4"}}
    assert merged.origin == {"/addr/city": 0, "/addr/street": 2}


def test_all_null_stays_null() -> None:
    assert merge_chunks([chunk({"a": None}), chunk({"a": None})]).value == {"a": None}


def test_trim_keeps_the_most_confident_items_in_order_and_renumbers() -> None:
    merged = merge_chunks(
        [
            chunk({"p": ["a", "b"]}, {"/p/0": 0.3, "/p/1": 0.9}),
            chunk({"p": ["c", "d"]}, {"/p/0": 0.8, "/p/1": 0.3}),
        ]
    )
    assert trim_list(merged, ["p"], 2) == 2
    assert merged.value == {"p": ["b", "c"]}
    assert merged.origin == {"/p/0": 0, "/p/1": 1}
    assert merged.confidence == {"/p/0": 0.9, "/p/1": 0.8}
    assert trim_list(merged, ["p"], 5) == 0
