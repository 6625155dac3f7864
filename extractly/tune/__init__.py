"""Schema-specific fine-tuning: ``tune(schema, "train.jsonl")`` -> a llama.cpp LoRA adapter.

Pipeline: ``dataset`` (read, validate, tokenize the exact decoder target), optionally
``augment`` (synthetic values for free-text fields) -> ``train`` (LoRA
with peft on the CPU) -> ``export`` (adapter GGUF) -> ``registry`` (stored by schema
fingerprint and base-model sha256). An ``Extractor(schema, adapter="auto")`` then finds it and
sends only the text. ``train`` needs the ``[tune]`` extra (torch, transformers, peft); the
other modules need only the base install, so extraction with an adapter never imports torch.
"""

from __future__ import annotations

import json
import os
import resource
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..adapter_registry import make_manifest, register
from ..constraint import compile_constraint
from ..engine.tokenizer import tokenizer_for
from ..errors import TuneDataError
from ..model_files import file_sha256, resolve_model_path
from ..prompt import document_frame
from ..schema import load_schema
from ..settings import Safeguards
from ..verbatim import verbatim_fields
from .augment import synthesize_values
from .config import Progress, TuneConfig, stderr_progress
from .dataset import data_hash, encode, read_pairs
from .export import write_adapter

__all__ = ["TuneConfig", "TuneDataError", "TuneResult", "tune"]

PROMPT_TEMPLATE = f"BOS + {document_frame('<text>')!r}"
"""The manifest's description of the prompt an adapter is trained on and used with:
``prompt.build_prompt(..., instruction_free=True)``, i.e. only the document's frame."""


@dataclass(frozen=True)
class TuneResult:
    adapter: Path
    """The adapter GGUF written to the output directory."""
    registered: Path | None
    """Its copy in the adapter registry (None with ``register=False``)."""
    manifest: dict[str, Any]


def tune(
    schema: type[BaseModel] | Mapping[str, Any],
    train_path: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = None,
    config: TuneConfig | None = None,
    safeguards: Safeguards | None = None,
    register_adapter: bool = True,
    progress: Progress | None = stderr_progress,
) -> TuneResult:
    """Fine-tune a LoRA for ``schema`` on ``train_path`` (JSONL of ``{"text", "output"}`` or
    ``{"text", "gold"}``) and export it as a llama.cpp adapter.

    ``safeguards`` must match the Extractor's (default ``Safeguards()``): they shape the decode
    schema, hence the training target and the registry key.
    """
    from ..engine.llama import load_model
    from .train import load_base, train_lora

    started = time.monotonic()
    config = config or TuneConfig()
    spec = load_schema(schema, safeguards or Safeguards())
    pairs = read_pairs(train_path, spec)  # validate everything before the slow part
    model_path = resolve_model_path(model)
    llama = load_model(model_path)
    tokenizer = tokenizer_for(llama)
    copied = verbatim_fields(spec, True if config.verbatim else None)
    constraint = compile_constraint(
        spec.decode_schema, tokenizer, allow_post_checks=True, verbatim_fields=copied
    )
    trained = synthesize_values(pairs, spec.decode_schema, config.synthetic_values, config.seed)
    encoded = encode(
        trained, spec, llama.tokenize, llama.bos if llama.add_bos else None, constraint, tokenizer
    )
    base_sha = file_sha256(model_path)
    with warnings.catch_warnings():
        # transformers deprecations fired from inside its own code are not the caller's to fix
        warnings.simplefilter("ignore", FutureWarning)
        base = load_base(model_path, base_sha)
        outcome = train_lora(base, encoded, config, progress=progress)
    info = {
        "data_file": str(train_path),
        "data_sha256": data_hash(pairs),
        "pairs": len(pairs),
        "verbatim": list(copied),
        "prompt_template": PROMPT_TEMPLATE,
        "metrics": outcome.metrics
        | {
            # the whole call: model load, tokenization, training; RSS is this process's peak
            "wall_seconds": round(time.monotonic() - started, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    }
    manifest = make_manifest(spec, base_sha, info)
    out = Path(out_dir) if out_dir is not None else Path(train_path).with_suffix(".adapter")
    out.mkdir(parents=True, exist_ok=True)
    adapter = write_adapter(
        out / "adapter.gguf",
        outcome.lora,
        alpha=config.alpha,
        metadata={"schema_fingerprint": spec.fingerprint, "base_model_sha256": base_sha},
    )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    registered = register(spec, model_path, adapter, info) if register_adapter else None
    return TuneResult(adapter=adapter, registered=registered, manifest=manifest)
