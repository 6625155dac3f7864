"""The promotion gate: a new adapter replaces the registered one only if it scores better.

``score_contenders`` extracts a held-out slice of teacher labels with each contender (the new
adapter, the adapter registered for the schema now, the general adapter shipped in the package,
the few-shot base model) and scores it per
field as ``extractly eval`` does; ``decide`` promotes the candidate only when its micro F1 is
higher than every other contender's, and says why either way. A tie is not a win: replacing an
adapter that is as good costs the user a change they cannot see a reason for.

Not here: labelling, tuning, writing the registry (``job``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..evaluation import EvalReport, GoldRow, evaluate
from ..extractor import Extractor
from ..settings import Safeguards

CANDIDATE = "candidate"
REGISTERED = "registered"
GENERAL = "general (shipped)"
BASE = "base few-shot"


@dataclass(frozen=True)
class Contender:
    name: str
    adapter: Path | None
    """An adapter GGUF, or None for the base model prompted with the schema's examples."""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    scores: Mapping[str, float]
    """Micro F1 on the held-out slice, per contender name."""


def score_contenders(
    schema: type[BaseModel] | Mapping[str, Any],
    rows: Sequence[GoldRow],
    contenders: Sequence[Contender],
    *,
    model: str | os.PathLike[str] | None = None,
    safeguards: Safeguards | None = None,
    batch_size: int | None = None,
) -> dict[str, EvalReport]:
    """Each contender's report on ``rows``. An adapter is used as an Extractor would use it
    (only the text, its tuned verbatim fields copied); ``None`` is the base model's few-shot
    prompt (``adapter=None``)."""
    reports = {}
    for contender in contenders:
        with Extractor(
            schema, adapter=contender.adapter, model=model, safeguards=safeguards
        ) as extractor:
            reports[contender.name] = evaluate(extractor, rows, batch_size=batch_size)
    return reports


def decide(reports: Mapping[str, EvalReport], candidate: str = CANDIDATE) -> Decision:
    """Promote ``candidate`` when its held-out micro F1 beats every other report's."""
    scores = {name: report.micro.f1 for name, report in reports.items()}
    mine = scores[candidate]
    rivals = {name: f1 for name, f1 in scores.items() if name != candidate}
    if not rivals:
        return Decision(True, "nothing to compare with", scores)
    best_name = max(rivals, key=lambda name: rivals[name])
    best = rivals[best_name]
    n = reports[candidate].n
    if mine > best:
        return Decision(
            True, f"held-out F1 {mine:.3f} beats {best_name} ({best:.3f}) on {n} texts", scores
        )
    return Decision(
        False,
        f"held-out F1 {mine:.3f} does not beat {best_name} ({best:.3f}) on {n} texts; "
        "the new adapter is kept but not registered",
        scores,
    )
