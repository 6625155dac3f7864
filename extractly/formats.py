"""Exact regular expressions for string formats whose generic grammar is too loose. Pure.

llguidance's built-in ``date`` accepts ``0000-01-01`` and ``2023-02-30``; Python (and so
Pydantic and jsonschema) rejects both. We replace such formats, in the schema handed to the
grammar compiler only, by a pattern that admits exactly the dates Python accepts, leap years
included. The user's schema keeps its ``format`` and still validates every output.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .json_schema import walk

_YEAR = r"([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = r"([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    r"((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    r"|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    r"|02-(0[1-9]|1[0-9]|2[0-8]))"
)
DATE = rf"({_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
TIME = (
    r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
DATE_TIME = rf"{DATE}T{TIME}"

PATTERNS = {"date": DATE, "date-time": DATE_TIME, "time": TIME}


def with_exact_formats(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` where ``format`` values in ``PATTERNS`` become anchored patterns."""
    out = copy.deepcopy(dict(schema))
    for _, sub in walk(out):
        fmt = sub.get("format")
        if isinstance(fmt, str) and fmt in PATTERNS and "pattern" not in sub:
            del sub["format"]
            sub["pattern"] = f"^{PATTERNS[fmt]}$"
    return out
