"""``chunks``: planning a long document's chunks at sentence boundaries (plain values, no model)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from extractly.chunks import plan_chunks, sentence_spans


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
    covered: set[int] = set()
    for s, e in chunks:
        covered.update(range(s, e))
    assert all(i in covered for i, ch in enumerate(text) if ch not in " \n")
