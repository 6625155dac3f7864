"""Input for ``extractly run``: a one-field weather schema and JSONL rows for it, with a few bad
lines mixed in. Shared by the ETL test and the Ray integration test."""

from __future__ import annotations

import json
import random

SCHEMA = {
    "type": "object",
    "title": "WeatherQuery",
    "properties": {"city": {"type": ["string", "null"], "maxLength": 40}},
    "required": ["city"],
    "additionalProperties": False,
    "x-extractly-examples": [
        {"text": "will it rain in Boston tomorrow", "output": {"city": "Boston"}},
        {"text": "what is the forecast for this weekend", "output": {"city": None}},
        {"text": "is it snowing in Oslo right now", "output": {"city": "Oslo"}},
    ],
}
CITIES = ["Paris", "Denver", "Lagos", "Kyoto", "Lima", "Austin", "Cairo", "Perth", "Dublin"]
WHEN = ["tomorrow", "on Friday", "next week", "tonight", "this afternoon", "in March"]
FORMS = [
    "will it rain in {c} {d}",
    "how hot is {c} going to be {d}",
    "weather forecast for {c} {d}",
    "should I bring an umbrella {d}",
    "is it windy in {c} {d}?",
]
BAD_LINES = [
    b'{"id": "bad-json", "text": \n',
    b'{"id": "empty", "text": "   "}\n',
    b'{"id": "number", "text": 42}\n',
    b'{"id": "no-text", "body": "rain in Rome"}\n',
    b'{"id": "latin1", "text": "caf\xe9 in Nice"}\n',
]


def input_lines(n: int) -> list[bytes]:
    """``n`` weather queries as JSONL lines (seeded), with ``BAD_LINES`` spread through them."""
    rng = random.Random(3)
    lines = []
    for i in range(n):
        text = rng.choice(FORMS).format(c=rng.choice(CITIES), d=rng.choice(WHEN))
        lines.append(json.dumps({"id": f"r{i:03d}", "text": text}).encode() + b"\n")
    for k, bad in enumerate(BAD_LINES):  # spread the bad rows through the file
        lines.insert((k + 1) * n // (len(BAD_LINES) + 1), bad)
    return lines
