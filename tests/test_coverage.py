"""Schema coverage on a fixed slice of JSONSchemaBench (MaskBench) and the JSON-Schema-Test-Suite.

Real llguidance constraints over the real model's vocabulary, no decoding: every schema compiles
or is refused with the library's own ``SchemaError``; no compiled constraint accepts an instance
the suite marks invalid (in strict mode by the grammar alone, in post-check mode by the grammar
plus extractly's output validation); almost every valid instance is accepted. See
``benchmarks/schema_coverage.py`` for the full benchmark.
"""

from __future__ import annotations

import pytest

from benchmarks import schema_coverage as coverage
from benchmarks.datasets import data_dir
from benchmarks.jsonschemabench import (
    MASKBENCH,
    TEST_SUITE,
    Case,
    load_maskbench,
    load_test_suite,
)

MASKBENCH_PER_SPLIT = 15
SUITE_GROUPS = 40
MIN_VALID_ACCEPTED = 0.95

Results = dict[str, list[tuple[coverage.Compiled, list[coverage.Check]]]]

pytestmark = pytest.mark.skipif(
    not (data_dir() / MASKBENCH).is_file() or not (data_dir() / TEST_SUITE).is_file(),
    reason=f"coverage data not found under {data_dir()} (set $EXTRACTLY_DATA)",
)


def subset() -> list[Case]:
    """The first schemas of each MaskBench split and test-suite groups spread over all files."""
    suite = load_test_suite()
    step = max(1, len(suite) // SUITE_GROUPS)
    return load_maskbench(MASKBENCH_PER_SPLIT) + suite[::step][:SUITE_GROUPS]


@pytest.fixture(scope="module")
def results() -> Results:
    tok = coverage.tokenizer()
    cases = subset()
    out: Results = {}
    for mode, post in coverage.MODES.items():
        items = [coverage.compile_case(case, tok, post=post) for case in cases]
        out[mode] = [(i, coverage.check_case(i, tok) if i.constraint else []) for i in items]
    return out


def _check_for(mode: str) -> str:
    return "grammar" if mode == "strict" else "post"


@pytest.mark.parametrize("mode", list(coverage.MODES))
def test_every_schema_compiles_or_is_refused_with_schema_error(results: Results, mode: str) -> None:
    crashed = [(i.case.id, i.error) for i, _ in results[mode] if i.status == "crashed"]
    assert not crashed
    assert {i.status for i, _ in results[mode]} <= {"compiled", "rejected"}
    compiled = sum(1 for i, _ in results[mode] if i.status == "compiled")
    assert compiled >= len(results[mode]) // 2


@pytest.mark.parametrize("mode", list(coverage.MODES))
def test_under_default_safeguards_every_schema_builds_or_is_refused(mode: str) -> None:
    """What a user building ``Extractor(schema)`` gets: no crash, and about as many builds as
    with the safeguards off (the safeguards must not make a satisfiable schema unsatisfiable)."""
    tok = coverage.tokenizer()
    cases = subset()
    post = coverage.MODES[mode]
    built = [coverage.compile_case(c, tok, post=post, safeguards="default") for c in cases]
    plain = [coverage.compile_case(c, tok, post=post) for c in cases]
    assert not [(i.case.id, i.error) for i in built if i.status == "crashed"]
    lost = [b.case.id for b, p in zip(built, plain, strict=True)
            if p.status == "compiled" and b.status != "compiled"]
    assert not lost


@pytest.mark.parametrize("mode", list(coverage.MODES))
def test_instances_are_checked_without_errors(results: Results, mode: str) -> None:
    errors = [(i.case.id, c.error) for i, checks in results[mode] for c in checks if c.error]
    assert not errors


@pytest.mark.parametrize("mode", list(coverage.MODES))
def test_no_invalid_instance_is_accepted(results: Results, mode: str) -> None:
    """In any key order we try (as given, schema order, or one the matcher search finds)."""
    check = _check_for(mode)
    accepted = [
        (item.case.id, inst.description, verdict.grammar.reordered if verdict.grammar else None)
        for item, checks in results[mode]
        if item.constraint
        for inst, verdict in zip(item.case.instances, checks, strict=True)
        if not inst.valid and verdict.accepted(check, "schema_order")
    ]
    assert not accepted


@pytest.mark.parametrize("mode", list(coverage.MODES))
@pytest.mark.parametrize("order", ["given", "schema_order"])
def test_valid_instances_are_accepted(results: Results, mode: str, order: str) -> None:
    verdicts = [c for _, checks in results[mode] for c in checks if c.valid and c.grammar]
    accepted = sum(c.accepted(_check_for(mode), order) for c in verdicts)
    assert len(verdicts) > 100
    assert accepted / len(verdicts) >= MIN_VALID_ACCEPTED
