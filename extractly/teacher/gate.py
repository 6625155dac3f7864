"""The promotion gate: a new adapter replaces the registered one only if it scores better.

``score_contenders`` extracts a held-out slice of teacher labels with each contender (the new
adapter, the adapter registered for the schema now, the general adapter shipped in the package,
the few-shot base model) and scores it per
field as ``extractly eval`` does; ``decide`` promotes the candidate only when its micro F1 is
higher than every other contender's, and says why either way. A tie is not a win: replacing an
adapter that is as good costs the user a change they cannot see a reason for.

A held-out slice is small (50 texts by default), so the reason also gives the F1 difference
from the strongest rival with its 95% interval (``f1_difference``: a paired bootstrap over the
documents, both contenders scored on the same resampled texts) and says when the lead is inside
that noise. ``strict=True`` promotes only a lead clear of it against every rival.

Not here: labelling, tuning, writing the registry (``job``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
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


CONFIDENCE = 0.95
DRAWS = 4000
"""Bootstrap resamples: the interval's ends move by about 0.002 F1 from seed to seed."""


@dataclass(frozen=True)
class Difference:
    """The candidate's micro F1 minus a rival's on the same texts, with a bootstrap interval."""

    f1: float
    low: float
    high: float

    @property
    def clear(self) -> bool:
        """The whole interval is above zero: a lead the slice's noise does not explain."""
        return self.low > 0

    @property
    def noise(self) -> bool:
        """The interval holds zero: the slice cannot tell the two apart (a loss below the
        whole interval is as clear as a lead above it)."""
        return self.low <= 0 <= self.high

    def describe(self) -> str:
        return (f"difference {self.f1:+.3f}, {CONFIDENCE:.0%} interval {self.low:+.3f} to "
                f"{self.high:+.3f}")


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    scores: Mapping[str, float]
    """Micro F1 on the held-out slice, per contender name."""
    differences: Mapping[str, Difference] | None = None
    """The candidate against each rival; None when the reports hold no per-document counts."""


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


def f1_difference(
    mine: EvalReport, rival: EvalReport, *, draws: int = DRAWS, level: float = CONFIDENCE,
    seed: int = 0,
) -> Difference:
    """Micro F1 of ``mine`` minus ``rival``'s and a ``level`` paired-bootstrap interval.

    Both reports must score the same rows in the same order (``EvalReport.documents``): each
    resample draws texts with replacement and scores both contenders on those texts, so a
    text that is hard for both moves both scores alike.
    """
    a, b = _counts(mine), _counts(rival)
    if a.shape != b.shape or not len(a):
        raise ValueError(
            f"paired comparison needs per-document counts of the same rows: {len(a)} and "
            f"{len(b)} documents (build the reports with extractly.evaluation.evaluate)"
        )
    picks = np.random.default_rng(seed).integers(0, len(a), size=(draws, len(a)))
    diffs = _f1(a[picks].sum(axis=1)) - _f1(b[picks].sum(axis=1))
    tail = (1 - level) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    return Difference(float(_f1(a.sum(axis=0)) - _f1(b.sum(axis=0))), float(low), float(high))


def _counts(report: EvalReport) -> npt.NDArray[np.int64]:
    return np.array([[d.tp, d.fp, d.fn] for d in report.documents], dtype=np.int64).reshape(-1, 3)


def _f1(tp_fp_fn: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Micro F1 of ``[..., (tp, fp, fn)]``, 0 where nothing was predicted or expected."""
    tp, fp, fn = np.moveaxis(tp_fp_fn, -1, 0)
    bottom = 2 * tp + fp + fn
    return np.where(bottom > 0, 2 * tp / np.maximum(bottom, 1), 0.0)


def decide(
    reports: Mapping[str, EvalReport], candidate: str = CANDIDATE, *, strict: bool = False
) -> Decision:
    """Promote ``candidate`` when its held-out micro F1 beats every other report's; with
    ``strict``, only when it beats each by more than the slice's noise (``f1_difference``)."""
    scores = {name: report.micro.f1 for name, report in reports.items()}
    mine = scores[candidate]
    rivals = {name: f1 for name, f1 in scores.items() if name != candidate}
    if not rivals:
        return Decision(True, "nothing to compare with", scores)
    best_name = max(rivals, key=lambda name: rivals[name])
    best = rivals[best_name]
    n = reports[candidate].n
    differences = _differences(reports, candidate, rivals)
    noise = ""
    if differences is not None:
        noise = f" ({differences[best_name].describe()}"
        noise += f": inside the noise of {n} texts)" if differences[best_name].noise else ")"
    if mine > best:
        unclear = [] if differences is None else [
            name for name, d in differences.items() if not d.clear]
        if strict and (differences is None or unclear):
            why = ("no per-document counts to measure the noise" if differences is None else
                   f"the lead over {', '.join(unclear)} is inside the noise")
            return Decision(
                False,
                f"held-out F1 {mine:.3f} beats {best_name} ({best:.3f}) on {n} texts{noise}, "
                f"but the strict gate needs a clear lead ({why}); the new adapter is kept but "
                "not registered",
                scores, differences,
            )
        return Decision(
            True, f"held-out F1 {mine:.3f} beats {best_name} ({best:.3f}) on {n} texts{noise}",
            scores, differences,
        )
    return Decision(
        False,
        f"held-out F1 {mine:.3f} does not beat {best_name} ({best:.3f}) on {n} texts{noise}; "
        "the new adapter is kept but not registered",
        scores, differences,
    )


def _differences(
    reports: Mapping[str, EvalReport], candidate: str, rivals: Mapping[str, float]
) -> dict[str, Difference] | None:
    """The candidate against each rival, or None when a report has no per-document counts
    (one built by hand) or the reports cover different numbers of texts."""
    mine = reports[candidate]
    if any(len(reports[name].documents) != mine.n or not mine.documents
           for name in [candidate, *rivals]):
        return None
    return {name: f1_difference(mine, reports[name]) for name in rivals}
