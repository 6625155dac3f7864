"""The adapter a schema tune starts from (``TuneConfig.start_from``, ``--start-from``): a
general adapter (``extractly.general``) whose weights already know the task, so the tune
begins there instead of at PEFT's zero initialization, and trains and serves behind the
general adapter's prompt (instructions and field list before the text) that those weights
were trained with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..adapter_registry import GENERAL_PROMPT, SHIPPED_GENERAL, adapter_prompt
from ..errors import TuneDataError
from ..model_files import file_sha256
from ..prompt import Prompt, build_prompt
from ..schema import SchemaSpec
from .export import StoredAdapter, read_adapter

GENERAL_PROMPT_TEMPLATE = "BOS + instructions + field list + document frame (zero-shot)"
"""The manifest's ``prompt_template`` of a tune that started from a general adapter."""


SHIPPED = "general"
"""``start_from`` naming the general adapter shipped in the package."""


@dataclass(frozen=True)
class StartingAdapter:
    """The adapter a tune starts from (``TuneConfig.start_from``)."""

    path: Path
    stored: StoredAdapter
    prompt_name: str | None
    """Its manifest's ``prompt`` (``GENERAL_PROMPT``), None for a text-only adapter."""

    def prompt(self, spec: SchemaSpec) -> Prompt | None:
        """The prompt the tune trains behind: the starting adapter's (None: text only)."""
        return build_prompt(spec, zero_shot=True) if self.prompt_name == GENERAL_PROMPT else None

    def record(self) -> dict[str, Any]:
        """The manifest keys of a tune that started here: where from, and the prompt."""
        out: dict[str, Any] = {
            "started_from": {"path": str(self.path), "sha256": file_sha256(self.path)}}
        if self.prompt_name:
            out["prompt"] = self.prompt_name
        return out


def start_path(start_from: str | os.PathLike[str]) -> Path:
    """The file ``start_from`` names (``"general"``: the general adapter shipped in the
    package), whether or not it exists."""
    return SHIPPED_GENERAL if str(start_from) == SHIPPED else Path(start_from)


def starting_adapter(path: str | os.PathLike[str] | None,
                     base_sha256: str) -> StartingAdapter | None:
    """``path`` read as the adapter a tune starts from (``"general"``: the general adapter
    shipped in the package); ``TuneDataError`` (before any training) for a file that is not an
    adapter, was trained on another base model, or asks for a prompt this version does not
    know."""
    if path is None:
        return None
    if str(path) == SHIPPED and not SHIPPED_GENERAL.is_file():
        raise TuneDataError(f"--start-from {SHIPPED}: this install has no general adapter "
                            f"({SHIPPED_GENERAL} is missing); reinstall extractly or give "
                            "an adapter.gguf")
    where = start_path(path)
    if not where.is_file():
        raise TuneDataError(f"--start-from {where}: no such file; give an adapter.gguf (a "
                            "general adapter's, from python -m extractly.general.train)")
    try:
        stored = read_adapter(where)
    except ValueError as exc:
        raise TuneDataError(f"--start-from {exc}") from None
    trained_on = stored.metadata.get("base_model_sha256")
    if trained_on and trained_on != base_sha256:
        raise TuneDataError(f"--start-from {where}: trained on base model {trained_on[:12]}, "
                            f"this tune uses {base_sha256[:12]}; start from an adapter of "
                            "this model (or pass its --model)")
    name = adapter_prompt(where) or stored.metadata.get("prompt")
    if name not in (None, GENERAL_PROMPT):
        raise TuneDataError(f"--start-from {where}: prompt {name!r} is unknown to this version")
    return StartingAdapter(where, stored, name)
