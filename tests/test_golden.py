"""Every golden record is reproduced byte for byte (see ``tests/golden/characterize.py``).

The records were written by the code before the redesign of the text-to-Extraction path;
decoding is greedy, so any difference is a change of behaviour, not noise.
"""

from __future__ import annotations

import json

import pytest

from tests.golden.characterize import RECORDS, cases, dumps

GOLDEN = json.loads(RECORDS.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden_record_is_reproduced(name: str) -> None:
    got = cases()[name]()
    assert dumps({name: got}) == dumps({name: GOLDEN[name]})


def test_every_case_has_a_record() -> None:
    assert set(cases()) == set(GOLDEN)
