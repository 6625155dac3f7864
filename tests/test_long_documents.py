"""Long documents with the real model: a 20,000-character report is split, extracted in
batched chunks and merged into a valid object whose string values carry correct spans."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from extractly import Extractor, InputTooLongError
from extractly.spans import normalize, string_leaves
from tests.support.long_report import FACTS, CompanyProfile, build_report

# Facts the merged object must contain. Measured with this report and these examples (greedy
# decoding is deterministic per batch size): 2 of 6 at 20,000 characters (54 chunks), 3 of 6 at
# 40,000 (107 chunks); see the README's "Long documents" section. The base model is the limit.
MIN_FACTS_FOUND = 2


@pytest.fixture(scope="module")
def splitter() -> Iterator[Extractor[CompanyProfile]]:
    with Extractor(CompanyProfile, long_documents="split", batch_size=8) as extractor:
        yield extractor


@pytest.fixture(scope="module")
def report() -> str:
    return build_report(20_000)


def test_a_20k_character_report_gives_a_valid_object_with_correct_spans(
    splitter: Extractor[CompanyProfile], report: str
) -> None:
    started = time.perf_counter()
    result = splitter.run(report)
    seconds = time.perf_counter() - started
    assert len(report) >= 20_000
    assert isinstance(result.value, CompanyProfile)
    CompanyProfile.model_validate(result.value.model_dump())
    # Chunks cover the whole report, in order, overlapping.
    assert result.chunks[0][0] == 0 and result.chunks[-1][1] == len(report.rstrip())
    assert all(b[0] < a[1] for a, b in itertools.pairwise(result.chunks))
    assert len(result.attempts) == len(result.chunks)
    # Every string value with a span: the span's substring is the value whenever the value
    # occurs verbatim, and equal after normalization otherwise (the model may write "Data
    # Platform" for "data platform"); that is what ``extractly.spans`` promises.
    values = dict(string_leaves(result.value.model_dump(mode="json")))
    assert result.spans, "no value of the merged object was found in the report"
    for pointer, (start, end) in result.spans.items():
        if values[pointer] in report:
            assert report[start:end] == values[pointer]
        else:
            assert normalize(report[start:end]) == normalize(values[pointer])
    # Facts that were found point at the sentence that states them.
    found = 0
    for fact in FACTS:
        extracted = getattr(result.value, fact.field)
        if fact.value not in (extracted if isinstance(extracted, list) else [extracted]):
            continue
        found += 1
        pointer = f"/{fact.field}"
        if isinstance(extracted, list):
            pointer += f"/{extracted.index(fact.value)}"
        start, end = result.spans[pointer]
        assert report[start:end] == fact.value
        sentence = report.index(fact.sentence)
        assert sentence <= start < end <= sentence + len(fact.sentence)
    print(f"\nfacts found {found}/{len(FACTS)}; {len(result.chunks)} chunks; {seconds:.1f} s")
    assert found >= MIN_FACTS_FOUND


def test_a_short_text_in_split_mode_is_extracted_in_one_pass(
    splitter: Extractor[CompanyProfile],
) -> None:
    text = "Chief Executive Officer Marisol Achterberg opened the meeting in Ljubljana."
    (split,) = list(splitter.run_many([text]))
    assert split.chunks == () and split.notes == ()
    assert split.value.ceo == "Marisol Achterberg"
    assert text[slice(*split.spans["/ceo"])] == "Marisol Achterberg"


def test_without_split_a_long_text_raises_and_names_the_option(
    splitter: Extractor[CompanyProfile], report: str
) -> None:
    with Extractor(CompanyProfile) as plain, pytest.raises(InputTooLongError) as info:
        plain.run(report[:12_000])
    assert "long_documents='split'" in str(info.value)
    with pytest.raises(ValueError, match="long_documents"):
        Extractor(CompanyProfile, long_documents="chunk")  # type: ignore[call-overload]
