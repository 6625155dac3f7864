"""A schema that builds can decode (issue #20): oneOf, and the engine's first-step failures.

``oneOf`` whose branches may overlap is decoded as ``anyOf`` under ``allow_post_checks`` and
its exclusivity is enforced by the output validation; a string the grammar engine cannot start
(a bounded-repetition ``pattern`` with a large ``maxLength``) is refused when the Extractor is
built, naming the field and keyword. The sweep builds a spread sample of the MaskBench and
test-suite schemas as a user would and decodes a few tokens of one tiny document with each
(``benchmarks/schema_coverage.py --first-tokens`` runs it on all of them).
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import schema_coverage as coverage
from benchmarks.datasets import data_dir
from benchmarks.jsonschemabench import (
    MASKBENCH,
    TEST_SUITE,
    load_maskbench,
    load_test_suite,
)
from extractly import Extractor
from extractly.errors import OutputValidationError, TruncatedOutputError, UnsupportedSchemaError

OVERLAPPING = {
    "type": "object",
    "properties": {"code": {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}},
    "required": ["code"],
}
WORDS = "^(?:\\S+\\s+){0,99}\\S+$"
"""A pattern from MaskBench (Github_easy---o21053): fine alone, too big with maxLength 5000."""


def test_overlapping_one_of_needs_post_checks_and_is_refused_strictly() -> None:
    with pytest.raises(UnsupportedSchemaError, match=r"code.*oneOf.*allow_post_checks") as info:
        Extractor(OVERLAPPING)
    assert info.value.feature == "oneOf" and info.value.path == "/properties/code"
    with Extractor(OVERLAPPING, allow_post_checks=True) as ex:
        assert ex.post_checked == ("oneOf",)
        assert ex.validator.parse('{"code":"long enough"}', "complete") == {"code": "long enough"}
        with pytest.raises(OutputValidationError, match="code"):
            ex.validator.parse('{"code":"abc"}', "complete")  # both branches match


def test_disjoint_one_of_is_enforced_by_the_grammar_with_no_post_check() -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"oneOf": [{"type": "integer"}, {"type": "string"}]}},
        "required": ["id"],
    }
    with Extractor(schema) as ex:
        assert ex.post_checked == ()
        value = ex.run("Ticket 4411 was closed.").value
    assert isinstance(value["id"], int | str)


def _words(max_length: int | None) -> dict[str, Any]:
    question: dict[str, Any] = {"type": "string", "pattern": WORDS}
    if max_length is not None:
        question["maxLength"] = max_length
    return {"type": "object", "properties": {"question": question}, "required": ["question"]}


def test_a_pattern_the_engine_cannot_start_is_refused_at_build() -> None:
    with pytest.raises(UnsupportedSchemaError, match=r"field question: .*'maxLength'") as info:
        Extractor(_words(5000))
    assert info.value.feature == "maxLength" and info.value.path == "/properties/question"
    with Extractor(_words(None), max_tokens=16) as ex:  # the same pattern without the bound
        try:
            raw = ex.run("Why is the sky blue at noon?").raw_text
        except TruncatedOutputError as exc:
            raw = exc.raw_text
    assert raw.startswith('{"question":"') and len(raw) > len('{"question":"')


def test_a_later_field_the_engine_cannot_start_is_found_too() -> None:
    schema = _words(5000)
    schema["properties"] = {"first": {"type": "integer"}, **schema["properties"]}
    with pytest.raises(UnsupportedSchemaError) as info:
        Extractor(schema)
    assert info.value.path == "/properties/question"


# -- the sweep --------------------------------------------------------------------------------

SWEEP_STEP = 40
"""Every 40th schema of MaskBench + the test suite (files are ordered by split, so this spreads
over all of them): about 60 schemas, 20 s. The full sweep (some 2,300 schemas, about 13
minutes) is ``python benchmarks/schema_coverage.py --first-tokens``."""


@pytest.mark.skipif(
    not (data_dir() / MASKBENCH).is_file() or not (data_dir() / TEST_SUITE).is_file(),
    reason=f"coverage data not found under {data_dir()} (set $EXTRACTLY_DATA)",
)
def test_schemas_that_build_decode_their_first_tokens() -> None:
    cases = (load_maskbench() + load_test_suite())[::SWEEP_STEP]
    sweep = coverage.run_first_tokens(cases)
    assert not sweep["failures"]
    assert sweep["built"] >= 0.9 * len(cases)
