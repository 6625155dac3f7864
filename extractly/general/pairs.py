"""Synthetic (text, output) pairs for many schemas: ``synth_pairs``.

Only object schemas are used (an extraction fills a record); each pair's output is a valid
instance and its text states exactly the properties the output has (``render``). A schema the
sampler cannot satisfy is reported through ``skipped``, never turned into wrong pairs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .instances import UnsupportedSchemaError, sample_instance
from .render import render


@dataclass(frozen=True)
class SynthPair:
    schema_id: str
    text: str
    output: dict[str, Any]


def synth_pairs(
    schemas: Iterable[tuple[str, Mapping[str, Any]]],
    per_schema: int,
    *,
    seed: int = 0,
    absent: float = 0.3,
    skipped: Callable[[str, str], None] | None = None,
) -> Iterator[SynthPair]:
    """``per_schema`` pairs for each ``(id, schema)`` whose root is an object; ``skipped(id,
    reason)`` hears about every schema that gives none. Seeded per schema id, so adding a
    schema does not change the pairs of the others."""
    for schema_id, schema in schemas:
        if schema.get("type") != "object" or not schema.get("properties"):
            if skipped:
                skipped(schema_id, "not an object schema with properties")
            continue
        rng = random.Random(f"{seed}:{schema_id}")
        try:
            for _ in range(per_schema):
                output = sample_instance(schema, rng, absent=absent)
                yield SynthPair(schema_id, render(output, schema, rng).text, output)
        except UnsupportedSchemaError as e:
            if skipped:
                skipped(schema_id, str(e))
