"""Every golden record is reproduced byte for byte (see ``tests/golden/characterize.py``).

The records were written by the code before the redesign of the text-to-Extraction path;
decoding is greedy, so any difference is a change of behaviour, not noise. They are kept per
llama.cpp kernel set (AVX2 and AVX-512 builds differ in close calls); a build whose kernel set
has no records is skipped with the command that records it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.golden.characterize import RECORDS_DIR, cases, dumps, records_path

RECORD = records_path()
GOLDEN: dict[str, Any] | None = (
    json.loads(RECORD.read_text(encoding="utf-8")) if RECORD.is_file() else None
)


@pytest.mark.parametrize("name", sorted(cases()))
def test_golden_record_is_reproduced(name: str) -> None:
    if GOLDEN is None:
        pytest.skip(
            f"no golden records for this llama.cpp build's kernel set ({RECORD.stem}); record "
            "them from a trusted commit with: python -m tests.golden.characterize --write"
        )
    got = cases()[name]()
    assert dumps({name: got}) == dumps({name: GOLDEN[name]})


@pytest.mark.parametrize("path", sorted(RECORDS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_kernel_set_records_every_case(path: Path) -> None:
    assert set(json.loads(path.read_text(encoding="utf-8"))) == set(cases())
