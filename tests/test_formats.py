from __future__ import annotations

import datetime
import re
from typing import Any

import pytest

from extractly.formats import DATE, DATE_TIME, with_exact_formats

_date = re.compile(f"^{DATE}$")


@pytest.mark.parametrize("year", [1, 4, 100, 400, 1900, 2000, 2023, 2024, 9999])
def test_date_pattern_admits_exactly_the_dates_python_accepts(year: int) -> None:
    for month in range(1, 13):
        for day in range(1, 32):
            text = f"{year:04d}-{month:02d}-{day:02d}"
            try:
                datetime.date(year, month, day)
                ok = True
            except ValueError:
                ok = False
            assert bool(_date.match(text)) == ok, text


def test_year_zero_and_garbage_are_refused() -> None:
    assert not _date.match("0000-01-01")
    assert not _date.match("2024-1-01")
    assert re.match(f"^{DATE_TIME}$", "2024-02-29T23:59:59.5+01:00")
    assert not re.match(f"^{DATE_TIME}$", "2023-02-29T23:59:59Z")


def test_only_the_grammar_copy_is_rewritten() -> None:
    schema: dict[str, Any] = {"type": "object",
                              "properties": {"d": {"type": "string", "format": "date"}}}
    out = with_exact_formats(schema)
    assert out["properties"]["d"]["pattern"].startswith("^(")
    assert "format" not in out["properties"]["d"]
    assert schema["properties"]["d"] == {"type": "string", "format": "date"}
