"""What a distill round's adapter was tuned from, so a resumed run keeps it only while that
still holds: ``round_inputs(...)`` describes a tune about to run, ``changes(earlier, now)``
says what differs from the one recorded beside a kept adapter (``ROUND_INPUTS_FILE``).

A round's adapter is kept by a resumed ``distill`` to save minutes of tuning, but it must be
the adapter this run would tune: the same labels (``--retry-failed`` can add answers to a
round that was tuned without them), the same base model (``--model``; an adapter never
serves another model), the same starting adapter (``--start-from``, by content: a package
upgrade may ship another general adapter) and the same settings that shape the weights
(learning rate, epochs, rank, ...). Settings that only bound the run or the report
(``RUN_ONLY``) are not compared. Not here: tuning (``extractly.tune``), the plan of picks
(``job``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..adapter_registry import write_atomic
from ..model_files import file_sha256
from ..tune.config import TuneConfig
from ..tune.start import start_path

ROUND_INPUTS_FILE = "tuned-on.json"
"""Beside ``round-N/adapter/``; written once the round's tune has finished."""
RUN_ONLY = frozenset({"budget", "threads", "held_out_report", "micro_batch"})
"""``TuneConfig`` fields that do not change the weights of a finished tune: a time limit,
torch's thread count, the held-out report, and the micro-batch split (its gradient is
accumulated to the whole batch's)."""


def round_inputs(train: bytes, model: Path, config: TuneConfig) -> dict[str, Any]:
    """The inputs of a tune on ``train`` (the round's train.jsonl) over ``model``."""
    settings = {k: v for k, v in asdict(config).items() if k not in RUN_ONLY}
    return {
        "train_sha256": hashlib.sha256(train).hexdigest(),
        "base_model_sha256": file_sha256(model),
        "start_from_sha256": _start_sha256(config.start_from),
        # as JSON gives it back (tuples as lists), so a recorded copy compares equal
        "tune": json.loads(json.dumps(settings)),
    }


def changes(earlier: dict[str, Any] | None, now: dict[str, Any]) -> list[str]:
    """What differs between the inputs recorded beside a kept adapter and this run's, in
    words (empty: the adapter is the one this run would tune)."""
    if earlier is None:
        return [f"no record of its inputs ({ROUND_INPUTS_FILE})"]
    out = []
    if earlier.get("train_sha256") != now["train_sha256"]:
        out.append("other labels")
    if earlier.get("base_model_sha256") != now["base_model_sha256"]:
        out.append("another base model")
    if earlier.get("start_from_sha256") != now["start_from_sha256"]:
        out.append("another starting adapter")
    before, after = earlier.get("tune") or {}, now["tune"]
    settings = sorted(k for k in before.keys() | after.keys()
                      if k != "start_from" and before.get(k) != after.get(k))
    out += [f"{k} {before.get(k)!r} (now {after.get(k)!r})" for k in settings]
    return out


def read_round_inputs(folder: Path) -> dict[str, Any] | None:
    """The inputs recorded in ``folder`` (a ``round-N``), None when there is no readable
    record (a tune that was killed before it finished, or a folder from an older version)."""
    try:
        recorded = json.loads((folder / ROUND_INPUTS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return recorded if isinstance(recorded, dict) else None


def write_round_inputs(folder: Path, inputs: dict[str, Any]) -> None:
    write_atomic(folder / ROUND_INPUTS_FILE, json.dumps(inputs, indent=1).encode())


def forget_round_inputs(folder: Path) -> None:
    """Before a round is tuned again: until the new tune has finished, no record says its
    adapter (the old one, or a torn new one) fits."""
    (folder / ROUND_INPUTS_FILE).unlink(missing_ok=True)


def _start_sha256(start_from: str | None) -> str | None:
    if start_from is None:
        return None
    path = start_path(start_from)
    return file_sha256(path) if path.is_file() else f"missing: {path}"
