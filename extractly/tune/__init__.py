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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..adapter_registry import MANIFEST_FILE, make_manifest, register
from ..constraint import compile_constraint
from ..engine.tokenizer import tokenizer_for
from ..errors import ExtractlyError, SchemaError, TuneDataError
from ..model_files import file_sha256, resolve_model_path
from ..prompt import document_frame
from ..schema import SchemaSpec, load_schema
from ..settings import Safeguards
from ..verbatim import free_string_properties
from ..verbatim import plan as plan_verbatim
from .augment import synthesize_values
from .config import Progress, TuneConfig, stderr_progress
from .dataset import Pair, data_hash, encode, read_pairs
from .export import write_adapter
from .plan import TunePlan, plan_tune
from .profile import DataProfile, drop_duplicates, profile_pairs
from .split import split
from .start import GENERAL_PROMPT_TEMPLATE, starting_adapter

if TYPE_CHECKING:
    from ..evaluation import EvalReport

__all__ = ["Inspection", "TuneConfig", "TuneDataError", "TuneResult", "inspect_data", "tune"]

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
    held_out: EvalReport | None = None
    """The new adapter's extraction of the held-out slice, scored per field."""


@dataclass(frozen=True)
class Inspection:
    """What the tune found in the data and chose from it, before any training."""

    spec: SchemaSpec
    pairs: list[Pair]
    """Every pair of the file, in order."""
    train: list[Pair]
    """The pairs trained on (duplicates dropped, the held-out slice set apart)."""
    held_out: list[Pair]
    profile: DataProfile
    plan: TunePlan


def inspect_data(
    schema: type[BaseModel] | Mapping[str, Any],
    train_path: str | os.PathLike[str],
    config: TuneConfig | None = None,
    safeguards: Safeguards | None = None,
) -> Inspection:
    """Read and check ``train_path``, measure the data (``profile.py``) and choose the tune's
    settings from it (``plan.py``; a setting given in ``config`` wins). Loads no model."""
    config = config or TuneConfig()
    spec = load_schema(schema, safeguards or Safeguards())
    pairs = read_pairs(train_path, spec)  # validate everything before the slow part
    profile = profile_pairs(pairs, spec.decode_schema)
    train, held_out = split(drop_duplicates(pairs), config.validation_share, config.seed)
    plan = plan_tune(profile, config, copyable=copyable_fields(spec), train_pairs=len(train),
                     validation_pairs=len(held_out))
    return Inspection(spec, pairs, train, held_out, profile, plan)


def copyable_fields(spec: SchemaSpec) -> tuple[str, ...]:
    """The fields a verbatim constraint can hold in ``spec``'s decode schema: its top-level
    free strings, or none when the schema cannot have verbatim fields at all (a root that is
    not an object, or the ``all_keys_present`` safeguard turned off)."""
    names = free_string_properties(spec.decode_schema)
    try:
        plan_verbatim(spec.decode_schema, names)
    except SchemaError:
        return ()
    return names


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
    inspection: Inspection | None = None,
) -> TuneResult:
    """Fine-tune a LoRA for ``schema`` on ``train_path`` (JSONL of ``{"text", "output"}`` or
    ``{"text", "gold"}``) and export it as a llama.cpp adapter.

    Settings ``config`` leaves as ``None`` are chosen from the data (``inspect_data``); the
    choices and their reasons go to ``progress`` and the manifest. A seeded slice of the pairs
    (``config.validation_share``) is held out: validation loss there picks the checkpoint, and
    the new adapter's extraction of it is scored per field at the end (``TuneResult.held_out``,
    the table ``extractly eval`` prints).

    ``safeguards`` must match the Extractor's (default ``Safeguards()``): they shape the decode
    schema, hence the training target and the registry key.

    ``inspection``: what ``inspect_data`` returned for these same arguments (the CLI's
    ``--explain`` has already read and measured the file); ``None`` reads it here.
    """
    from ..engine.llama import load_model
    from .train import load_base, load_torch, train_lora

    started = time.monotonic()
    load_torch()  # before llama.cpp sets its OpenMP wait policy: torch's threads keep spinning
    config = config or TuneConfig()
    safeguards = safeguards or Safeguards()
    found = inspection or inspect_data(schema, train_path, config, safeguards)
    spec, plan = found.spec, found.plan
    if progress is not None:
        for line in plan.summary():
            progress(line)
    model_path = resolve_model_path(model)
    base_sha = file_sha256(model_path)
    start = starting_adapter(config.start_from, base_sha)
    if start is not None:
        config = replace(config, rank=start.stored.rank, alpha=int(start.stored.alpha))
        if progress is not None:
            progress(f"tune: starting from {config.start_from} (rank {config.rank}, alpha "
                     f"{config.alpha}, prompt {start.prompt_name or 'text only'})")
    prompt = start.prompt(spec) if start is not None else None
    llama = load_model(model_path)
    tokenizer = tokenizer_for(llama)
    constraint = compile_constraint(
        spec.decode_schema, tokenizer, allow_post_checks=True, verbatim_fields=plan.verbatim
    )
    trained = synthesize_values(
        found.train, spec.decode_schema, plan.synthetic_share, config.seed,
        fields=plan.synthetic_fields, enums=plan.swap_enums,
    )
    bos = llama.bos if llama.add_bos else None
    encoded = encode(trained, spec, llama.tokenize, bos, constraint, tokenizer, prompt)
    encoded_val = encode(found.held_out, spec, llama.tokenize, bos, constraint, tokenizer, prompt)
    budget = plan.schedule.budget_seconds
    reserve = _report_seconds(len(found.held_out)) if config.held_out_report else 0.0
    deadline = None if budget is None else started + budget - reserve - EXPORT_SECONDS
    with warnings.catch_warnings():
        # transformers deprecations fired from inside its own code are not the caller's to fix
        warnings.simplefilter("ignore", FutureWarning)
        base = load_base(model_path, base_sha)
        outcome = train_lora(
            base, encoded, encoded_val, config, plan.schedule, deadline=deadline,
            progress=progress, initial=None if start is None else start.stored.tensors,
        )
    del base
    info = {
        "data_file": str(train_path),
        "data_sha256": data_hash(found.pairs),
        "pairs": len(found.pairs),
        "verbatim": list(plan.verbatim),
        "prompt_template": PROMPT_TEMPLATE if start is None or not start.prompt_name
        else GENERAL_PROMPT_TEMPLATE,
        **({} if start is None else start.record()),
        "data_profile": found.profile.to_json(),
        "plan": plan.to_json(),
        "metrics": outcome.metrics,
    }
    out = Path(out_dir) if out_dir is not None else Path(train_path).with_suffix(".adapter")
    out.mkdir(parents=True, exist_ok=True)
    metadata = {"schema_fingerprint": spec.fingerprint, "base_model_sha256": base_sha}
    if start is not None and start.prompt_name:
        metadata["prompt"] = start.prompt_name
    adapter = write_adapter(out / "adapter.gguf", outcome.lora, alpha=config.alpha,
                            metadata=metadata)
    # the manifest beside the adapter says which prompt it takes; the held-out extraction
    # below reads it, so it is written now and again once the report is in
    (out / MANIFEST_FILE).write_text(json.dumps(make_manifest(spec, base_sha, info), indent=2,
                                                ensure_ascii=False))
    held_out = None
    if config.held_out_report and found.held_out:
        try:
            held_out = score_held_out(schema, adapter, model_path, safeguards, plan.verbatim,
                                      found.held_out)
        except ExtractlyError as exc:  # the adapter is written: report, never lose the tune
            info["held_out_error"] = f"{type(exc).__name__}: {exc}"
            if progress is not None:
                progress(f"tune: the held-out slice could not be extracted ({exc})")
        else:
            info["held_out"] = _held_out_json(held_out)
            if progress is not None:
                progress(f"tune: the new adapter on the {len(found.held_out)} held-out pairs:\n"
                         + held_out.format_table())
    info["metrics"] = outcome.metrics | {
        # the whole call: reading, model load, tokenization, training, held-out extraction;
        # RSS is this process's peak
        "wall_seconds": round(time.monotonic() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    manifest = make_manifest(spec, base_sha, info)
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    registered = register(spec, model_path, adapter, info) if register_adapter else None
    return TuneResult(adapter=adapter, registered=registered, manifest=manifest,
                      held_out=held_out)


EXPORT_SECONDS = 15.0
"""Writing the adapter and the manifest, kept out of the training budget."""


def _report_seconds(held_out: int) -> float:
    """Time kept from the training budget for extracting the held-out slice (a generous
    2 s a document plus loading)."""
    return 10.0 + 2.0 * held_out


def score_held_out(
    schema: type[BaseModel] | Mapping[str, Any],
    adapter: Path,
    model_path: Path,
    safeguards: Safeguards,
    verbatim: tuple[str, ...],
    pairs: list[Pair],
) -> EvalReport:
    """Extract ``pairs`` with ``adapter`` as an Extractor using it would (only the text, the
    tuned fields copied) and score them per field, as ``extractly eval`` does."""
    from ..evaluation import GoldRow, evaluate
    from ..extractor import Extractor

    rows = [GoldRow(text=p.text, gold=json.loads(p.target), where=p.where) for p in pairs]
    with Extractor(
        schema, adapter=adapter, model=model_path, safeguards=safeguards, verbatim=list(verbatim)
    ) as extractor:
        return evaluate(extractor, rows)


def _held_out_json(report: EvalReport) -> dict[str, Any]:
    data = report.to_json()
    return {k: data[k] for k in ("n", "valid_rate", "exact_match", "micro", "fields")}
